package io.hyprstream.api;

import java.util.List;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Field;

/**
 * Makes the {@link WindowAggregator} of each aggregated table. The engine calls {@link #create}
 * when a table's first batch fixes its key types, and {@link #restore} at a start that loads a
 * window snapshot.
 */
@FunctionalInterface
public interface WindowAggregatorFactory {

  /**
   * An empty aggregator for {@code spec}, whose key columns have the types of {@code keyFields} (in
   * the order of {@link AggregationSpec#keyColumns()}).
   *
   * @throws SchemaMismatchException naming a key column of a type the aggregator cannot key on
   */
  WindowAggregator create(AggregationSpec spec, List<Field> keyFields);

  /**
   * Whether aggregators of this factory export their state ({@link WindowAggregator#exportState})
   * and {@link #restore} reads it back. When true and the instance has a backend, the engine
   * snapshots window state periodically and a restart loads the newest snapshot instead of
   * re-aggregating every retained row from the backend. The default is false: no snapshots, and
   * windows are rebuilt from the backend's rows at a restart.
   */
  default boolean restores() {
    return false;
  }

  /**
   * An aggregator for {@code spec} holding the state {@link WindowAggregator#exportState} wrote;
   * every window it holds counts as changed, so the views receive them at their next sync. The
   * caller keeps the roots.
   *
   * @throws IllegalArgumentException when the state does not fit {@code spec}; the engine then
   *     rebuilds the windows from the backend
   * @throws UnsupportedOperationException when the factory does not {@link #restores() restore}
   *     (the default)
   */
  default WindowAggregator restore(AggregationSpec spec, List<VectorSchemaRoot> state) {
    throw new UnsupportedOperationException(getClass().getName() + " restores no snapshots");
  }
}
