package io.hyprstream.api;

import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * Where hot rows and window views live and where SQL runs. The default is an in-memory DuckDB
 * database ({@code DuckDbCacheStore} in {@code hyprstream-core}).
 *
 * <p>Implementations are safe for use from many threads. Table names are passed as given and quoted
 * by the store.
 */
public interface CacheStore extends AutoCloseable {

  /**
   * Creates {@code table} from {@code schema} when it does not exist (fields that are not nullable
   * become NOT NULL columns); otherwise adds, as nullable columns, the fields the table lacks.
   *
   * @throws SchemaMismatchException if the store cannot hold a field's type
   */
  void ensureTable(String table, Schema schema);

  /**
   * Appends batches to {@code table} in order; columns are matched by name and columns a batch
   * lacks are NULL.
   *
   * <p>Ownership: the store takes every batch and closes it, also when it throws.
   */
  void append(String table, List<VectorSchemaRoot> batches);

  /**
   * Replaces the rows of {@code table} that match a row of {@code rows} on {@code keyColumns}, and
   * inserts the rest. The caller keeps ownership of {@code rows}.
   */
  void upsert(String table, List<String> keyColumns, VectorSchemaRoot rows);

  /**
   * Deletes the rows of {@code table} matching {@code whereSql}, a predicate the engine writes
   * (never user input). Returns the number deleted.
   */
  long delete(String table, String whereSql);

  /**
   * Runs {@code sql} and streams its result. Ownership: the caller closes the returned reader,
   * whose buffers come from {@code allocator}.
   *
   * @throws QueryRejectedException if the statement fails or is not allowed
   */
  ArrowReader query(String sql, BufferAllocator allocator);

  /** The schema of {@code table} as queries see it, or null when it does not exist. */
  @Nullable Schema tableSchema(String table);

  /** Every table and view the store holds. */
  List<String> tables();

  /** Memory the store holds, in bytes (an estimate where the store cannot say exactly). */
  long sizeBytes();

  /** Releases the store; safe to call twice. */
  @Override
  void close();
}
