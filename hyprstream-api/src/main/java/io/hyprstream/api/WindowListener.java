package io.hyprstream.api;

import java.time.Instant;
import java.util.List;
import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * Told of every change to a table's windows, after each ingest, e.g. to publish them to a store
 * other services read ({@code RedisWindowPublisher}).
 */
public interface WindowListener extends AutoCloseable {

  /**
   * Called after {@code batches} were added to {@code windows}, before the ingest is acknowledged,
   * on the ingesting thread while the table's windows are locked: read what is needed from {@code
   * windows} (e.g. {@link WindowAggregator#lookup} of the keys in {@code batches}) and return at
   * once, leaving any I/O to a thread of the listener's own. Must not throw. The caller keeps
   * ownership of {@code windows} and {@code batches}.
   */
  void windowsChanged(
      AggregationSpec spec, WindowAggregator windows, List<VectorSchemaRoot> batches, Instant now);

  /** Delivers what is pending (bounded in time), then releases; safe to call twice. */
  @Override
  void close();
}
