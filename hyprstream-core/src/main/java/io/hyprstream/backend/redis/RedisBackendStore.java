package io.hyprstream.backend.redis;

import static io.hyprstream.api.SqlIdentifier.quote;

import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.internal.arrow.Closeables;
import io.hyprstream.internal.arrow.DuckDbExport;
import io.hyprstream.internal.sql.SqlAnalyser;
import io.hyprstream.internal.sql.StatementAnalysis;
import io.hyprstream.internal.sql.TableRef;
import io.hyprstream.internal.sql.TimeSpan;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScriptOutputType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;
import org.duckdb.DuckDBConnection;
import org.jspecify.annotations.Nullable;

/**
 * A {@link BackendStore} in Redis: each table's rows in a Redis Stream, one entry per row.
 *
 * <p>Key layout under a prefix ({@code key_prefix}, default {@code hyprstream:}):
 *
 * <ul>
 *   <li>{@code <prefix>stream:<table>}: the rows; each entry's fields are the row's non-null
 *       columns ({@link RedisRowCodec}); its id is {@code <ms>-<seq>} with {@code ms} the row's
 *       time in milliseconds (the table's first timestamp column), raised to the stream's last id
 *       when a row arrives late, so {@code XRANGE} by time finds every row;
 *   <li>{@code <prefix>schema:<table>}: the table's Arrow schema as JSON, so reads give back the
 *       types written;
 *   <li>{@code <prefix>meta:<table>}: a hash with {@code time_column} and {@code max_lag_ms}, how
 *       far an entry id ran ahead of its row's time (0 while rows arrive in time order);
 *   <li>{@code <prefix>tables}: the set of table names; {@code <prefix>batches}: the set of
 *       committed batch ids.
 * </ul>
 *
 * <p>Exactly once: one Lua script per batch checks the batch id, adds the rows, and adds the id,
 * atomically; a re-send after a crash or a lost reply finds the id and adds nothing. Retention is
 * approximate trimming ({@code MAXLEN ~}, {@code MINID ~}) in the same script.
 *
 * <p>Queries run on an in-memory DuckDB: each table the statement reads is loaded by {@code XRANGE}
 * over the span of its time column the statement is proven to stay within (DuckDB's parse, {@link
 * SqlAnalyser}), then the statement runs unchanged on those rows, so any SELECT the cache sends is
 * answered, with DuckDB's types, as a DuckDB backend would.
 */
public final class RedisBackendStore implements BackendStore {
  /** Entries read per {@code XRANGE} call, and rows per Arrow batch read back. */
  static final int READ_PAGE = 16 * 1024;

  private final RedisConnection redis;
  private final Settings settings;
  private final BufferAllocator allocator;
  private final DuckDBConnection duckdb;
  private final SqlAnalyser analyser;
  private final Map<String, TableMeta> metas = new ConcurrentHashMap<>();
  private final RedisAppendScript appends;
  private final RedisStreamLoader loader;
  private final AtomicBoolean closed = new AtomicBoolean();

  /**
   * What a store keeps apart from the connection.
   *
   * @param keyPrefix put before every key, e.g. {@code hyprstream:}
   * @param maxLen entries kept per stream ({@code MAXLEN ~}), 0 for no bound
   * @param retention how far back in row time entries are kept ({@code MINID ~} of now minus it),
   *     null for no bound
   */
  public record Settings(String keyPrefix, long maxLen, @Nullable Duration retention) {
    /** The option keys {@link #fromOptions} reads. */
    public static final List<String> OPTIONS =
        List.of("key_prefix", "stream_maxlen", "stream_retention");

    /**
     * Settings from backend options {@code key_prefix}, {@code stream_maxlen} (entries) and {@code
     * stream_retention} (seconds).
     *
     * @throws IllegalArgumentException naming the option when a value is not a whole number or is
     *     negative
     */
    public static Settings fromOptions(Map<String, String> options) {
      String prefix = options.getOrDefault("key_prefix", "hyprstream:");
      long maxLen = number(options, "stream_maxlen");
      long seconds = number(options, "stream_retention");
      return new Settings(prefix, maxLen, seconds == 0 ? null : Duration.ofSeconds(seconds));
    }

    private static long number(Map<String, String> options, String key) {
      String v = options.get(key);
      if (v == null) {
        return 0;
      }
      try {
        long n = Long.parseLong(v.trim());
        if (n < 0) {
          throw new NumberFormatException();
        }
        return n;
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            key + " must be a whole number, 0 or more, not '" + v + "'");
      }
    }

    String key(String kind, String table) {
      return keyPrefix + kind + ":" + table;
    }
  }

  /** What is known of a table: its stored schema (null before its first batch) and time column. */
  private record TableMeta(@Nullable Schema schema, @Nullable String timeColumn) {}

  private RedisBackendStore(
      RedisConnection redis,
      Settings settings,
      BufferAllocator allocator,
      DuckDBConnection duckdb) {
    this.redis = redis;
    this.settings = settings;
    this.allocator = allocator;
    this.duckdb = duckdb;
    this.analyser = new SqlAnalyser(this::parseTree, this::parseTree);
    this.appends = new RedisAppendScript(settings);
    this.loader = new RedisStreamLoader(redis, settings, allocator);
  }

  /**
   * Connects to the Redis {@code redis} names. Buffers come from a child of {@code parent}, closed
   * with the store; the store closes {@code redis}.
   *
   * @throws BackendUnavailableException when the in-memory DuckDB for queries cannot be opened
   */
  public static RedisBackendStore open(
      RedisConnection redis, Settings settings, BufferAllocator parent) {
    BufferAllocator allocator = parent.newChildAllocator("redis-backend", 0, Long.MAX_VALUE);
    try {
      DuckDBConnection duckdb = (DuckDBConnection) DriverManager.getConnection("jdbc:duckdb:");
      try (Statement st = duckdb.createStatement()) {
        st.execute("SET TimeZone = 'UTC'");
      }
      return new RedisBackendStore(redis, settings, allocator, duckdb);
    } catch (SQLException | RuntimeException e) {
      allocator.close();
      redis.close();
      throw new BackendUnavailableException(
          "cannot open the in-memory DuckDB that answers queries over Redis: " + e.getMessage(), e);
    }
  }

  @Override
  public String name() {
    return "redis";
  }

  // ------------------------------------------------------------------------------------- writes

  @Override
  public void append(String table, String batchId, VectorSchemaRoot batch) {
    appendAll(table, List.of(batchId), List.of(batch));
  }

  /**
   * Sends one script per batch, pipelined on the one connection, and waits for them all: a group
   * costs one round trip. A failure part way leaves the batches before it committed, each whole;
   * the re-sent group skips them by id.
   */
  @Override
  public void appendAll(String table, List<String> batchIds, List<VectorSchemaRoot> batches) {
    if (batchIds.size() != batches.size()) {
      throw new IllegalArgumentException(
          batchIds.size() + " batch ids for " + batches.size() + " batches");
    }
    TableMeta meta = meta(table);
    List<RedisFuture<Long>> replies = new ArrayList<>(batches.size());
    String[] keys = {
      settings.keyPrefix + "batches",
      settings.key("stream", table),
      settings.key("meta", table),
      settings.key("schema", table),
      settings.keyPrefix + "tables"
    };
    Schema stored = meta.schema();
    String timeColumn = meta.timeColumn();
    for (int b = 0; b < batches.size(); b++) {
      VectorSchemaRoot batch = batches.get(b);
      Schema merged = RedisAppendScript.merge(table, stored, batch.getSchema());
      if (stored == null) {
        timeColumn = RedisAppendScript.firstTimestamp(merged);
      }
      byte[][] args =
          appends.arguments(
              batchIds.get(b),
              table,
              merged.equals(stored) ? "" : merged.toJson(),
              timeColumn,
              batch);
      stored = merged;
      replies.add(
          redis
              .async()
              .eval(RedisAppendScript.APPEND_SCRIPT, ScriptOutputType.INTEGER, keys, args));
    }
    for (int b = 0; b < replies.size(); b++) {
      redis.await(replies.get(b), "append batch " + batchIds.get(b) + " to '" + table + "'");
    }
    metas.put(key(table), new TableMeta(stored, timeColumn));
  }

  @Override
  public boolean contains(String batchId) {
    return redis.await(
        redis.async().sismember(settings.keyPrefix + "batches", utf8(batchId)),
        "look up batch " + batchId);
  }

  @Override
  public void checkWritable(String table, Schema schema) {
    RedisRowCodec.checkWritable(table, schema);
  }

  // -------------------------------------------------------------------------------------- reads

  /**
   * What Redis holds of {@code table}: cached once a schema was seen (this store is the table's
   * only writer), read again while the table is unknown.
   */
  private TableMeta meta(String table) {
    TableMeta known = metas.get(key(table));
    if (known != null && known.schema() != null) {
      return known;
    }
    RedisFuture<byte[]> schema = redis.async().get(settings.key("schema", table));
    RedisFuture<byte[]> time = redis.async().hget(settings.key("meta", table), "time_column");
    byte[] json = redis.await(schema, "read the schema of '" + table + "'");
    byte[] column = redis.await(time, "read the time column of '" + table + "'");
    Schema parsed;
    try {
      parsed = json == null ? null : Schema.fromJSON(new String(json, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new HyprstreamException(
          settings.key("schema", table) + " does not hold an Arrow schema: " + e.getMessage(), e);
    }
    TableMeta meta =
        new TableMeta(parsed, column == null ? null : new String(column, StandardCharsets.UTF_8));
    if (parsed != null) {
      metas.put(key(table), meta);
    }
    return meta;
  }

  @Override
  public List<String> tables() {
    TreeSet<String> out = new TreeSet<>();
    for (byte[] name :
        redis.await(redis.async().smembers(settings.keyPrefix + "tables"), "list tables")) {
      out.add(new String(name, StandardCharsets.UTF_8));
    }
    return new ArrayList<>(out);
  }

  /** The stored name of {@code table} (matched without regard to case), or null. */
  private @Nullable String storedName(String table) {
    for (String t : tables()) {
      if (t.equalsIgnoreCase(table)) {
        return t;
      }
    }
    return null;
  }

  @Override
  public @Nullable Schema tableSchema(String table) {
    String name = storedName(table);
    if (name == null || meta(name).schema() == null) {
      return null;
    }
    try (ArrowReader r = query("SELECT * FROM " + quote(name) + " LIMIT 0", allocator)) {
      return r.getVectorSchemaRoot().getSchema();
    } catch (IOException e) {
      throw new HyprstreamException("cannot read the schema of '" + table + "'", e);
    }
  }

  /**
   * Runs {@code sql} on an in-memory DuckDB holding, for each table it reads, the rows of the time
   * span it is proven to read. Ownership: the caller closes the returned reader.
   */
  @Override
  public ArrowReader query(String sql, BufferAllocator alloc) {
    StatementAnalysis analysis = analyser.analyse(sql);
    if (!analysis.isQuery()) {
      throw new QueryRejectedException(
          "the Redis backend answers queries only"
              + (analysis.error() == null ? "" : ": " + analysis.error())
              + " (in: "
              + sql
              + ")",
          null);
    }
    DuckDBConnection c;
    try {
      c = (DuckDBConnection) duckdb.duplicate();
    } catch (SQLException e) {
      throw new HyprstreamException("the in-memory DuckDB is closed: " + e.getMessage(), e);
    }
    Statement st = null;
    ResultSet rs = null;
    try {
      List<String> remote = tables();
      for (TableRef ref : analysis.tables()) {
        if (ref.catalogQualified()) {
          continue;
        }
        String name = null;
        for (String t : remote) {
          if (t.equalsIgnoreCase(ref.name())) {
            name = t;
          }
        }
        if (name == null) {
          continue; // DuckDB names the missing table
        }
        TableMeta meta = meta(name);
        Schema schema = meta.schema();
        if (schema == null) {
          continue;
        }
        String time = meta.timeColumn();
        TimeSpan span =
            time == null ? null : analysis.bounds(ref.name(), time, List.of(), Instant.now());
        loader.load(c, name, schema, span == null ? TimeSpan.ALL : span);
      }
      st = c.createStatement();
      rs = st.executeQuery(sql);
      return DuckDbExport.stream(rs, st, c, alloc, READ_PAGE);
    } catch (SQLException e) {
      Closeables.closeQuietly(rs);
      Closeables.closeQuietly(st);
      Closeables.closeQuietly(c);
      throw new QueryRejectedException(
          "DuckDB over Redis rejected the query: " + e.getMessage() + " (in: " + sql + ")", e);
    } catch (RuntimeException e) {
      Closeables.closeQuietly(rs);
      Closeables.closeQuietly(st);
      Closeables.closeQuietly(c);
      throw e;
    }
  }

  private String parseTree(String sql) {
    try (DuckDBConnection c = (DuckDBConnection) duckdb.duplicate();
        PreparedStatement ps = c.prepareStatement("SELECT json_serialize_sql(?)")) {
      ps.setString(1, sql);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getString(1);
      }
    } catch (SQLException e) {
      throw new QueryRejectedException("DuckDB cannot parse the statement: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    Closeables.closeQuietly(duckdb);
    redis.close();
    allocator.close();
  }

  private static String key(String table) {
    return table.toLowerCase(Locale.ROOT);
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
