package io.hyprstream.api;

import java.time.Instant;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * Turns ingested batches of one table into tumbling-window aggregates. The default keeps only
 * mergeable state per (key, window), never the raw rows; the engine relies on nothing but the view
 * rows, so how an implementation computes them is its own affair.
 *
 * <p>Implementations need not be thread-safe: the engine calls one aggregator from one thread at a
 * time. The engine makes one per aggregated table with a {@link WindowAggregatorFactory}; the
 * default is the heap aggregator of {@code hyprstream-core}.
 *
 * <p>View rows: for each window, the key columns, {@code window_start}, {@code window_end} (UTC
 * timestamps; windows are aligned as DuckDB's {@code time_bucket} aligns them), then {@code
 * <value>_<function>} per value column and function of the spec, equal to what DuckDB's {@code
 * time_bucket ... GROUP BY} computes over the rows ingested into that window.
 */
public interface WindowAggregator {

  /** What this aggregator maintains. */
  AggregationSpec spec();

  /**
   * Checks that batches of {@code schema} can be aggregated.
   *
   * @throws SchemaMismatchException naming the missing or mistyped column
   */
  void validate(Schema schema);

  /**
   * Adds the rows of {@code batch} to the windows, in row order. When the spec has a running window
   * and {@code running} is not null, writes each row's running sum, average and count into the
   * vectors {@code <value>_running_window_sum|avg|count} of {@code running} (same row count). A
   * batch without the value column but with those running columns is merged as pre-aggregated
   * partial state.
   *
   * <p>The caller keeps ownership of both roots. {@code now} decides which windows are retained.
   *
   * @return the rows left out of every window, by reason (rowsAccepted is the batch's row count)
   */
  IngestResult update(VectorSchemaRoot batch, @Nullable VectorSchemaRoot running, Instant now);

  /** The schema of the view for {@code window}. */
  Schema viewSchema(WindowSpec window);

  /**
   * The windows of {@code window} changed since the previous call, as view rows, and forgets them.
   * Ownership: the caller closes the returned root.
   */
  VectorSchemaRoot drainChanges(WindowSpec window, BufferAllocator allocator);

  /**
   * As {@link #drainChanges(WindowSpec, BufferAllocator)}, at most {@code maxRows} windows at a
   * time, so that a large change (a backfill of history) is copied in pieces of bounded memory.
   * Calls up to one that returns fewer than {@code maxRows} rows make a sweep, which returns every
   * window changed before its first call; a window changed again meanwhile may come again in the
   * next sweep. {@link #markAllChanged} starts a new sweep. Ownership: the caller closes the
   * returned root.
   *
   * <p>The default drains everything at once, which is correct, only not bounded.
   */
  default VectorSchemaRoot drainChanges(WindowSpec window, BufferAllocator allocator, int maxRows) {
    return drainChanges(window, allocator);
  }

  /**
   * Marks every window of {@code window} held as changed, so the next {@link #drainChanges} returns
   * them all. The engine calls it when it could not apply drained changes to the view's table: the
   * drained rows are gone, and a full re-delivery is how none of them is lost.
   */
  void markAllChanged(WindowSpec window);

  /**
   * The windows of one key, as view rows ordered by window start: those starting in {@code
   * [fromMicros, toMicros)} (epoch microseconds), at most {@code limit}, newest first when {@code
   * descending}. Ownership: the caller closes the returned root.
   */
  VectorSchemaRoot lookup(
      WindowSpec window,
      List<@Nullable Object> key,
      long fromMicros,
      long toMicros,
      boolean descending,
      int limit,
      BufferAllocator allocator);

  /**
   * The newest {@code limit} windows of each of {@code keys}, as view rows in one root: keys in the
   * order given (those with no window left out), each key's windows newest first. One call for the
   * keys an ingest touched, where a {@link #lookup} per key would build a root each. Ownership: the
   * caller closes the returned root. The default looks each key up and appends the rows.
   */
  default VectorSchemaRoot latest(
      WindowSpec window, List<List<@Nullable Object>> keys, int limit, BufferAllocator allocator) {
    VectorSchemaRoot out = VectorSchemaRoot.create(viewSchema(window), allocator);
    try {
      out.allocateNew();
      for (List<@Nullable Object> key : keys) {
        try (VectorSchemaRoot one =
            lookup(window, key, Long.MIN_VALUE, Long.MAX_VALUE, true, limit, allocator)) {
          org.apache.arrow.vector.util.VectorSchemaRootAppender.append(out, one);
        }
      }
      return out;
    } catch (RuntimeException e) {
      out.close();
      throw e;
    }
  }

  /**
   * Drops every window whose end is at or before {@code now - retention}. Returns windows dropped.
   */
  long expire(Instant now);

  /**
   * Drops every window of the keys {@code keys} accepts (each key as its values, one per key
   * column), as if none of their rows had arrived; returns how many windows went. A cluster calls
   * it for the keys of partitions that moved to another instance, so their state stops taking
   * memory here. The default drops nothing and returns -1: the keys then stay, left out of reads.
   */
  default long forget(java.util.function.Predicate<List<@Nullable Object>> keys) {
    return -1;
  }

  /** The number of (key, window) states held. */
  long windowCount();

  /** Heap bytes held by window state, including indexes. */
  long stateBytes();

  /**
   * The whole state as Arrow batches, for a window snapshot that {@link
   * WindowAggregatorFactory#restore} turns back into an equal aggregator; the layout is the
   * implementation's own. A copy: the aggregator may change right after. Called only when the
   * factory {@link WindowAggregatorFactory#restores() restores}. Ownership: the caller closes the
   * returned roots. The default refuses.
   *
   * @throws UnsupportedOperationException when the aggregator cannot export its state
   */
  default List<VectorSchemaRoot> exportState(BufferAllocator allocator) {
    throw new UnsupportedOperationException(getClass().getName() + " takes no snapshots");
  }

  /**
   * The state of the keys {@code keys} accepts (each key as its values, one per key column), in the
   * layout of {@link #exportState(BufferAllocator)}: a cluster checkpoints the keys of one
   * partition this way, and the partition's next owner adds them to its own aggregator with {@link
   * #importState}. A copy; the caller closes the returned roots. The default refuses, and the
   * cluster then rebuilds a moved partition from its whole log.
   *
   * @throws UnsupportedOperationException when the aggregator cannot export part of its state
   */
  default List<VectorSchemaRoot> exportState(
      BufferAllocator allocator, java.util.function.Predicate<List<@Nullable Object>> keys) {
    throw new UnsupportedOperationException(getClass().getName() + " exports no keys");
  }

  /**
   * Adds the keys and windows of a state that {@link #exportState(BufferAllocator,
   * java.util.function.Predicate)} wrote (this aggregator's own implementation, for the same
   * aggregation), as if their rows had arrived here; every window added counts as changed, so the
   * views receive them at their next sync. The keys must hold no window here. The caller keeps the
   * roots. The default refuses.
   *
   * @throws IllegalArgumentException when the state does not fit this aggregation or names a key
   *     that holds windows here (nothing is added then)
   * @throws UnsupportedOperationException when the aggregator cannot import state
   */
  default void importState(List<VectorSchemaRoot> state) {
    throw new UnsupportedOperationException(getClass().getName() + " imports no keys");
  }
}
