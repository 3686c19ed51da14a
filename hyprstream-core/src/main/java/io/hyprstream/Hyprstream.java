package io.hyprstream;

import io.hyprstream.api.CacheStatistics;
import io.hyprstream.api.IngestResult;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.SchemaMismatchException;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * An embedded Hyprstream instance: ingests Arrow batches into a DuckDB cache, maintains window
 * aggregates at ingest and answers SQL. Safe for use from many threads.
 *
 * <pre>{@code
 * try (Hyprstream hs = Hyprstream.builder().build()) {
 *   IngestResult r = hs.ingest("metrics", reader);
 *   try (ArrowReader rows = hs.query("SELECT * FROM metrics_1h WHERE metric_id = 'cpu'")) {
 *     while (rows.loadNextBatch()) { ... }
 *   }
 * }
 * }</pre>
 *
 * <p>Read-your-writes: once {@code ingest} returns, every query sees those rows and their windows.
 */
public interface Hyprstream extends AutoCloseable {

  /** The name of the built-in metrics table. */
  String METRICS_TABLE = "metrics";

  /** The longest ingest id, in characters (see {@link #ingest(String, ArrowReader, String)}). */
  int MAX_INGEST_ID_LENGTH = 200;

  /** Starts configuring an instance. */
  static HyprstreamBuilder builder() {
    return new HyprstreamBuilder();
  }

  /**
   * Ingests every batch of {@code batches} into {@code table}, creating the table from the first
   * batch's schema when it does not exist. All or nothing: when any batch is rejected, nothing of
   * this call is stored. The caller keeps ownership of the reader and closes it.
   *
   * @throws SchemaMismatchException naming the column when a batch does not fit the table
   */
  IngestResult ingest(String table, ArrowReader batches);

  /**
   * Ingests {@code batches} as {@link #ingest(String, ArrowReader)} does, once per {@code
   * ingestId}: a client that did not get the acknowledgement retries with the same id, and when the
   * table remembers the id the call stores nothing and returns {@link IngestResult#repeat()}. Ids
   * are scoped per table; each table remembers the newest {@code
   * HyprstreamBuilder.ingestIdsRemembered} ids (the oldest are forgotten first), across restarts
   * while the write-ahead log or a window snapshot holds them. In cluster mode the partition owners
   * skip the repeat instead, after the acknowledgement, which then counts the rows sent.
   *
   * @param ingestId the client's id for this ingest: 1 to {@value #MAX_INGEST_ID_LENGTH} characters
   * @throws IllegalArgumentException when {@code ingestId} is empty or longer than the limit
   */
  IngestResult ingest(String table, ArrowReader batches, String ingestId);

  /** Ingests one batch; the caller keeps ownership of {@code batch}. */
  IngestResult ingest(String table, VectorSchemaRoot batch);

  /**
   * Ingests one batch once per {@code ingestId}, as {@link #ingest(String, ArrowReader, String)}
   * does; the caller keeps ownership of {@code batch}.
   */
  IngestResult ingest(String table, VectorSchemaRoot batch, String ingestId);

  /**
   * Ingests {@code batches} as {@link #ingest(String, ArrowReader)} does (all or nothing), taking
   * them over: this instance owns and closes them, on every path, and the caller must not use them
   * after the call. Batches allocated under the same root allocator as this instance's are kept
   * without copying their buffers, which {@code ingest} has to do because its caller keeps the
   * batch; the Flight server ingests every {@code DoPut} this way.
   */
  IngestResult ingestTransferred(String table, List<VectorSchemaRoot> batches);

  /**
   * Ingests {@code batches} as {@link #ingestTransferred(String, List)} does (taking them over),
   * once per {@code ingestId} as {@link #ingest(String, ArrowReader, String)} does.
   */
  IngestResult ingestTransferred(String table, List<VectorSchemaRoot> batches, String ingestId);

  /**
   * Runs a query and streams its result; buffers come from this instance's allocator. Ownership:
   * the caller closes the reader (before closing this instance).
   *
   * <p>A repeated query is served from the result cache, without running it, for as long as no
   * ingest or statement changed what it read. The result's {@link QueryResult#freshness()} says
   * where the answer came from and how current it is.
   *
   * @throws QueryRejectedException when the SQL is invalid or not allowed
   */
  QueryResult query(String sql);

  /**
   * Runs a query with {@code ?} parameters bound in order, as {@link #query(String)} does: buffers
   * come from this instance's allocator and the caller closes the reader. A time bound written as a
   * parameter routes the query with its value, as a literal would.
   *
   * @throws QueryRejectedException when the SQL is invalid or not allowed, or a parameter's value
   *     does not fit where it is used
   */
  QueryResult query(String sql, List<@Nullable Object> parameters);

  /**
   * Runs a query with {@code ?} parameters bound in order; buffers come from {@code allocator}, for
   * callers that account for result memory apart from this instance's. Ownership: the caller closes
   * the reader.
   */
  QueryResult query(String sql, List<@Nullable Object> parameters, BufferAllocator allocator);

  /**
   * The schema {@code sql}'s result would have, without running it.
   *
   * @throws QueryRejectedException when the SQL is invalid or not allowed
   */
  Schema querySchema(String sql);

  /**
   * What {@code sql} is, from the same analysis queries are routed by: whether it returns rows,
   * whether a read-only caller may run it, its parameters and whether it is a plain parameterised
   * INSERT. Text the parser refuses is described with its {@link StatementInfo#error()}.
   *
   * @throws QueryRejectedException when the text is too large or too deeply nested to parse safely
   */
  StatementInfo describe(String sql);

  /**
   * Runs a statement that returns no rows (INSERT, UPDATE, DELETE, CREATE TABLE ...) and returns
   * the number of rows it changed (0 for DDL).
   *
   * <p>An INSERT into an ingested table (one with window aggregates, or one {@link #ingest}
   * created) is an ingest: DuckDB evaluates the rows it supplies ({@code VALUES} or a query, cast
   * to the target columns' types, matched by the column list, {@code BY NAME}, or to the table's
   * first columns in order) and they are ingested as one batch, all or nothing, with windows,
   * running columns and write-through; the count is the rows ingested. {@code ON CONFLICT}, {@code
   * RETURNING}, {@code OR REPLACE} and {@code DEFAULT VALUES} are refused there, as are UPDATE and
   * DELETE of a table with windows. Other statements run on the cache as they are.
   *
   * @throws SchemaMismatchException naming the column when an inserted row does not fit the table
   * @throws QueryRejectedException when the SQL is invalid, not allowed, or targets a window view
   */
  long execute(String sql, List<@Nullable Object> parameters);

  /** Every table and window view, with its schema, in name order. */
  List<TableInfo> tables();

  /** The schema of one table or view as queries see it, or null when it does not exist. */
  @Nullable Schema tableSchema(String table);

  /**
   * Hits, misses, evictions and bytes held, per table of hot rows and for the result cache: the
   * rows of the {@code hyprstream_cache_stats} system table.
   */
  List<CacheStatistics> cacheStatistics();

  /**
   * Expires raw rows older than the cache duration and windows past their retention, against this
   * instance's clock. Runs periodically on its own; call it to force a pass (tests, admin).
   */
  void expire();

  /** The figures and actions operators need beyond SQL; {@link Operations#NONE} by default. */
  default Operations operations() {
    return Operations.NONE;
  }

  /** Flushes buffered rows into the cache and closes it; safe to call twice. */
  @Override
  void close();

  /** A table or view as listed by {@link #tables()}. */
  record TableInfo(String name, Kind kind, Schema schema) {
    /** What kind of relation a {@link TableInfo} describes. */
    public enum Kind {
      /** Rows ingested or created by SQL. */
      TABLE,
      /** A window view maintained by the aggregator (read-only to SQL). */
      WINDOW_VIEW,
      /** A table only the backend holds; queries on it run there. */
      BACKEND_TABLE,
      /** A read-only table of Hyprstream's own state ({@code hyprstream_cache_stats}, ...). */
      SYSTEM_TABLE
    }

    @Override
    public String toString() {
      return name + " (" + kind + ")";
    }
  }
}
