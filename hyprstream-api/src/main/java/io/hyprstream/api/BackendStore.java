package io.hyprstream.api;

import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * The system of record behind the cache: every acknowledged row is written through to it, and
 * queries the cache cannot answer are routed to it.
 */
public interface BackendStore extends AutoCloseable {

  /** A backend that stores nothing: the cache is the only copy. */
  static BackendStore none() {
    return NoBackend.INSTANCE;
  }

  /** A short name for logs and status tables, e.g. {@code "postgresql"}. */
  String name();

  /**
   * Appends {@code batch} to {@code table} exactly once: a second call with the same {@code
   * batchId} changes nothing. The caller keeps ownership of {@code batch}.
   *
   * @throws BackendUnavailableException when the backend cannot be reached; the call may be retried
   */
  void append(String table, String batchId, VectorSchemaRoot batch);

  /**
   * Appends several batches of one table, each exactly once by its id ({@code batchIds.get(i)}
   * names {@code batches.get(i)}); a batch whose id the backend already holds is skipped. Backends
   * with transactions commit the whole group at once, which is how write-through batches many small
   * ingests into one round trip. The default appends them one by one. The caller keeps ownership of
   * the batches.
   *
   * @throws BackendUnavailableException when the backend cannot be reached; the call may be retried
   */
  default void appendAll(String table, List<String> batchIds, List<VectorSchemaRoot> batches) {
    if (batchIds.size() != batches.size()) {
      throw new IllegalArgumentException(
          batchIds.size() + " batch ids for " + batches.size() + " batches");
    }
    for (int i = 0; i < batches.size(); i++) {
      append(table, batchIds.get(i), batches.get(i));
    }
  }

  /**
   * True when the backend has committed batch {@code batchId}: an {@link #append} with that id
   * succeeded. A restart asks it of the batches its log still holds, so each acknowledged batch
   * comes back once: from the backend when it holds it, else from the log.
   *
   * @throws BackendUnavailableException when the backend cannot be reached
   */
  boolean contains(String batchId);

  /**
   * Runs {@code sql} on the backend. Ownership: the caller closes the returned reader.
   *
   * @throws QueryRejectedException when the backend refuses the statement
   */
  ArrowReader query(String sql, BufferAllocator allocator);

  /**
   * The rows of one table in a span of its time column, with the types they were appended with: how
   * the cache reads the rows it no longer holds. The default runs {@link TimeSlice#portableSql()}
   * with {@link #query}; a backend whose rows need another predicate (or no SQL at all) overrides
   * it. Ownership: the caller closes the returned reader.
   *
   * @throws BackendUnavailableException when the backend cannot be reached
   */
  default ArrowReader read(TimeSlice slice, BufferAllocator allocator) {
    return query(slice.portableSql(), allocator);
  }

  /** The tables the backend holds (its own bookkeeping tables left out). */
  List<String> tables();

  /**
   * The Arrow schema of {@code table} as a query of it returns it, or null when the backend has no
   * such table.
   *
   * @throws BackendUnavailableException when the backend cannot be reached
   */
  @Nullable Schema tableSchema(String table);

  /**
   * Refuses columns this backend could never write, before any row of them is acknowledged: a batch
   * it refuses after the acknowledgement would block write-through. Called with a table's whole
   * schema each time it grows. The default accepts everything.
   *
   * @throws SchemaMismatchException naming the column and why the backend cannot store it
   */
  default void checkWritable(String table, Schema schema) {}

  /**
   * Whether {@link #query} computes the partial aggregates of a query the cache splits (see {@code
   * docs/caching.md}, "Aggregates over rows the cache no longer holds") as DuckDB would: {@code
   * count}, {@code sum}, {@code min} and {@code max} with {@code GROUP BY} of text, boolean and
   * integer columns, {@code CAST(… AS numeric(38,0))} and {@code CAST(… AS double precision)}. When
   * false, such a query reads the rows themselves from the backend. The default is false.
   */
  default boolean computesPartialAggregates() {
    return false;
  }

  /**
   * Whether rows read back with {@link #read} equal the rows appended, so the cache may answer with
   * them for the rows it no longer holds. When false, such a query is refused with a clear error
   * instead of answered wrongly. The default is true.
   */
  default boolean readsBackExactly() {
    return true;
  }

  /** Releases the backend; safe to call twice. */
  @Override
  void close();
}
