package io.hyprstream.api;

import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * Where hot rows and window views live and where SQL runs. The default is an in-memory DuckDB
 * database ({@code DuckDbCacheStore} in {@code hyprstream-core}); an embedder plugs another in with
 * {@code HyprstreamBuilder.cacheStore}, typically one that decorates the default (metrics, tracing,
 * a differently configured DuckDB).
 *
 * <p><b>Dialect.</b> The engine speaks DuckDB's SQL to the store: it passes clients' statements
 * through unchanged, and analyses them with DuckDB's own parser by running {@code
 * json_serialize_sql} and {@code json_serialize_plan} as queries. A store therefore runs DuckDB SQL
 * (DuckDB itself, or a decorator of it); a store with another dialect would answer clients wrongly,
 * and the engine makes no attempt to translate.
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
  default ArrowReader query(String sql, BufferAllocator allocator) {
    return query(sql, List.of(), allocator);
  }

  /**
   * Runs {@code sql} with its {@code ?} parameters bound in order and streams its result. A {@link
   * java.time.Instant} parameter binds as a UTC timestamp, other values as JDBC's {@code setObject}
   * binds them. While it executes, {@link #cancelQueryOf} from another thread can stop it.
   * Ownership: the caller closes the returned reader, whose buffers come from {@code allocator}.
   *
   * @throws TableNotFoundException if the statement names a table the store lacks
   * @throws QueryRejectedException if the statement fails or is not allowed
   */
  ArrowReader query(String sql, List<@Nullable Object> parameters, BufferAllocator allocator);

  /**
   * Runs {@code sql} as {@link #query} does, on a session of its own that ends when the returned
   * reader closes: first each of {@code inputs} is made readable under its name (each can be read
   * once), then the statements of {@code setup} run in order (typically creating temporary tables
   * from the inputs, which no other session sees), then {@code sql} with {@code parameters}. How
   * the engine reads rows the store does not hold (backend rows, partial aggregates, the rows of an
   * INSERT) together with the rows it does. Ownership: the store takes every reader of {@code
   * inputs} and closes it, also when it throws; the caller closes the returned reader.
   *
   * @throws QueryRejectedException if a statement fails
   */
  ArrowReader queryInSession(
      Map<String, ArrowReader> inputs,
      List<String> setup,
      String sql,
      List<@Nullable Object> parameters,
      BufferAllocator allocator);

  /**
   * Runs a statement that returns no rows (DDL, INSERT, UPDATE, DELETE, SET) with its {@code ?}
   * parameters bound as {@link #query} binds them. Returns the number of rows it changed, 0 for
   * DDL.
   *
   * @throws QueryRejectedException if the statement fails
   */
  long execute(String sql, List<@Nullable Object> parameters);

  /**
   * The schema of {@code sql}'s result without reading its rows; parameters are taken as NULL.
   *
   * @throws QueryRejectedException if the statement cannot be planned
   */
  Schema querySchema(String sql);

  /**
   * Stops the {@link #query} {@code thread} is executing, if any: that query then fails with an
   * "interrupted" {@link QueryRejectedException}. Used to enforce a server's time limit. Returns
   * whether a statement was cancelled. The default cancels nothing and returns false.
   */
  default boolean cancelQueryOf(Thread thread) {
    return false;
  }

  /** The schema of {@code table} as queries see it, or null when it does not exist. */
  @Nullable Schema tableSchema(String table);

  /** Every table and view the store holds. */
  List<String> tables();

  /**
   * Memory the store holds, in bytes (an estimate where the store cannot say exactly). Cheap enough
   * to call on every metrics scrape.
   */
  long sizeBytes();

  /** Releases the store; safe to call twice. */
  @Override
  void close();
}
