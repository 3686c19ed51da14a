package io.hyprstream.api;

import java.util.List;
import java.util.function.Function;
import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * Told of every change to a table's windows, after each ingest, e.g. to publish them to a store
 * other services read ({@code RedisWindowPublisher}).
 */
public interface WindowListener extends AutoCloseable {

  /**
   * Called after {@code batches} were added to the windows of {@code spec}'s table, before the
   * ingest is acknowledged, on the ingesting thread: note what changed (e.g. the keys in {@code
   * batches}) and return at once, leaving reading and I/O to a thread of the listener's own. Must
   * not throw. The caller keeps ownership of {@code batches}; {@code windows} stays usable until
   * the listener is closed.
   */
  void windowsChanged(AggregationSpec spec, List<VectorSchemaRoot> batches, Windows windows);

  /** Delivers what is pending (bounded in time), then releases; safe to call twice. */
  @Override
  void close();

  /** Reads a table's windows, from any thread. */
  interface Windows {
    /**
     * Runs {@code read} on the table's windows while no ingest changes them, and returns its
     * result. Keep it short: ingest into the table waits meanwhile. Ownership of what {@code read}
     * returns is the caller's.
     */
    <T> T read(Function<WindowAggregator, T> read);
  }
}
