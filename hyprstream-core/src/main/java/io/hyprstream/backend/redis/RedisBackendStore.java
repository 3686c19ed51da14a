package io.hyprstream.backend.redis;

import static io.hyprstream.api.SqlIdentifier.quote;

import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.internal.arrow.BatchListReader;
import io.hyprstream.internal.arrow.Closeables;
import io.hyprstream.internal.arrow.ForwardingReader;
import io.hyprstream.internal.sql.SqlAnalyser;
import io.hyprstream.internal.sql.StatementAnalysis;
import io.hyprstream.internal.sql.TableRef;
import io.hyprstream.internal.sql.TimeSpan;
import io.lettuce.core.Range;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.StreamMessage;
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
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.arrow.c.ArrowArrayStream;
import org.apache.arrow.c.Data;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.duckdb.DuckDBConnection;
import org.duckdb.DuckDBResultSet;
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

  /**
   * The append script. KEYS: batches set, stream, meta hash, schema string, tables set. ARGV: batch
   * id, table, schema JSON ('' when unchanged), time column ('' when none), MAXLEN (0: none), MINID
   * in ms (-1: none), row count, then per row: time in ms, field count n, n field/value pairs.
   * Nothing after the first write can fail on valid arguments, so no partial batch is left.
   */
  private static final String APPEND_SCRIPT =
      String.join(
          "\n",
          "if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end",
          "local last_ms, last_seq = -1, 0",
          "if redis.call('EXISTS', KEYS[2]) == 1 then",
          "  local info = redis.call('XINFO', 'STREAM', KEYS[2])",
          "  for k = 1, #info, 2 do",
          "    if info[k] == 'last-generated-id' then",
          "      local id = info[k + 1]",
          "      local dash = string.find(id, '-', 1, true)",
          "      last_ms = tonumber(string.sub(id, 1, dash - 1))",
          "      last_seq = tonumber(string.sub(id, dash + 1))",
          "    end",
          "  end",
          "end",
          "local lag = tonumber(redis.call('HGET', KEYS[3], 'max_lag_ms') or '0')",
          "local maxlen = tonumber(ARGV[5])",
          "local i = 8",
          "for r = 1, tonumber(ARGV[7]) do",
          "  local ms = tonumber(ARGV[i])",
          "  local n = tonumber(ARGV[i + 1])",
          "  local id_ms, seq = ms, 0",
          "  if id_ms < 0 then id_ms = 0 end",
          "  if id_ms <= last_ms then id_ms = last_ms; seq = last_seq + 1 end",
          "  if id_ms == 0 and seq == 0 then seq = 1 end",
          "  if id_ms - ms > lag then lag = id_ms - ms end",
          "  local id = string.format('%d-%d', id_ms, seq)",
          "  if maxlen > 0 then",
          "    redis.call('XADD', KEYS[2], 'MAXLEN', '~', maxlen, id, unpack(ARGV, i + 2, i + 1 + 2 * n))",
          "  else",
          "    redis.call('XADD', KEYS[2], id, unpack(ARGV, i + 2, i + 1 + 2 * n))",
          "  end",
          "  last_ms, last_seq = id_ms, seq",
          "  i = i + 2 + 2 * n",
          "end",
          "if tonumber(ARGV[6]) >= 0 then redis.call('XTRIM', KEYS[2], 'MINID', '~', ARGV[6]) end",
          "redis.call('HSET', KEYS[3], 'max_lag_ms', string.format('%d', lag))",
          "if ARGV[4] ~= '' then redis.call('HSETNX', KEYS[3], 'time_column', ARGV[4]) end",
          "if ARGV[3] ~= '' then redis.call('SET', KEYS[4], ARGV[3]) end",
          "redis.call('SADD', KEYS[5], ARGV[2])",
          "redis.call('SADD', KEYS[1], ARGV[1])",
          "return 1");

  private final RedisConnection redis;
  private final Settings settings;
  private final BufferAllocator allocator;
  private final DuckDBConnection duckdb;
  private final SqlAnalyser analyser;
  private final Map<String, TableMeta> metas = new ConcurrentHashMap<>();
  private final AtomicInteger streamNames = new AtomicInteger();
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
      Schema merged = merge(table, stored, batch.getSchema());
      if (stored == null) {
        timeColumn = firstTimestamp(merged);
      }
      byte[][] args =
          arguments(
              batchIds.get(b),
              table,
              merged.equals(stored) ? "" : merged.toJson(),
              timeColumn,
              batch);
      stored = merged;
      replies.add(redis.async().eval(APPEND_SCRIPT, ScriptOutputType.INTEGER, keys, args));
    }
    for (int b = 0; b < replies.size(); b++) {
      redis.await(replies.get(b), "append batch " + batchIds.get(b) + " to '" + table + "'");
    }
    metas.put(key(table), new TableMeta(stored, timeColumn));
  }

  private byte[][] arguments(
      String batchId,
      String table,
      String schemaJson,
      @Nullable String timeColumn,
      VectorSchemaRoot batch) {
    int rows = batch.getRowCount();
    List<FieldVector> vectors = batch.getFieldVectors();
    byte[][] names = new byte[vectors.size()][];
    for (int c = 0; c < names.length; c++) {
      names[c] = vectors.get(c).getName().getBytes(StandardCharsets.UTF_8);
    }
    FieldVector time = timeColumn == null ? null : batch.getVector(timeColumn);
    long arrivalMs = System.currentTimeMillis();
    List<byte[]> args = new ArrayList<>(7 + rows * (2 + 2 * vectors.size()));
    args.add(utf8(batchId));
    args.add(utf8(table));
    args.add(utf8(schemaJson));
    args.add(utf8(timeColumn == null ? "" : timeColumn));
    args.add(utf8(Long.toString(settings.maxLen())));
    Duration retention = settings.retention();
    args.add(utf8(Long.toString(retention == null ? -1 : arrivalMs - retention.toMillis())));
    args.add(utf8(Integer.toString(rows)));
    for (int r = 0; r < rows; r++) {
      long ms =
          time instanceof TimeStampVector && !time.isNull(r)
              ? millis((TimeStampVector) time, r)
              : time == null ? arrivalMs : 0;
      args.add(utf8(Long.toString(ms)));
      int countAt = args.size();
      args.add(null);
      int fields = 0;
      for (int c = 0; c < names.length; c++) {
        byte[] value = RedisRowCodec.encode(vectors.get(c), r);
        if (value != null) {
          args.add(names[c]);
          args.add(value);
          fields++;
        }
      }
      if (fields == 0) {
        args.add(utf8(RedisRowCodec.EMPTY_ROW_FIELD));
        args.add(new byte[0]);
        fields = 1;
      }
      args.set(countAt, utf8(Integer.toString(fields)));
    }
    return args.toArray(new byte[0][]);
  }

  private static long millis(TimeStampVector v, int row) {
    long raw = v.get(row);
    switch (((ArrowType.Timestamp) v.getField().getType()).getUnit()) {
      case SECOND:
        return Math.multiplyExact(raw, 1000L);
      case MILLISECOND:
        return raw;
      case MICROSECOND:
        return Math.floorDiv(raw, 1000L);
      default:
        return Math.floorDiv(raw, 1_000_000L);
    }
  }

  private static @Nullable String firstTimestamp(Schema schema) {
    for (Field f : schema.getFields()) {
      if (f.getType() instanceof ArrowType.Timestamp) {
        return f.getName();
      }
    }
    return null;
  }

  /**
   * The stored schema grown by the batch's new columns.
   *
   * @throws HyprstreamException when a column the table has arrives with another type
   */
  private static Schema merge(String table, @Nullable Schema stored, Schema batch) {
    if (stored == null) {
      return batch;
    }
    Map<String, Field> have = new HashMap<>();
    for (Field f : stored.getFields()) {
      have.put(f.getName(), f);
    }
    List<Field> fields = new ArrayList<>(stored.getFields());
    for (Field f : batch.getFields()) {
      Field old = have.get(f.getName());
      if (old == null) {
        fields.add(
            new Field(
                f.getName(),
                new org.apache.arrow.vector.types.pojo.FieldType(
                    true, f.getType(), f.getDictionary(), f.getMetadata()),
                f.getChildren()));
      } else if (!old.getType().equals(f.getType())) {
        throw new HyprstreamException(
            "Redis holds column '"
                + f.getName()
                + "' of '"
                + table
                + "' as "
                + old.getType()
                + ", and a batch brings it as "
                + f.getType(),
            null);
      }
    }
    return fields.size() == stored.getFields().size() ? stored : new Schema(fields);
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
        load(c, name, schema, span == null ? TimeSpan.ALL : span);
      }
      st = c.createStatement();
      rs = st.executeQuery(sql);
      ArrowReader reader = (ArrowReader) ((DuckDBResultSet) rs).arrowExportStream(alloc, READ_PAGE);
      ResultSet heldRs = rs;
      Statement heldSt = st;
      return new ForwardingReader(
          alloc,
          reader,
          () -> {
            try {
              heldRs.close();
              heldSt.close();
            } finally {
              c.close();
            }
          });
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

  /**
   * Makes temporary table {@code table} on {@code c} of the stream entries whose ids fall in {@code
   * span} widened by the table's {@code max_lag_ms} (an id runs at most that far ahead of its row's
   * time): every row the span holds, and a few around it that the statement's own filter drops.
   */
  private void load(DuckDBConnection c, String table, Schema schema, TimeSpan span)
      throws SQLException {
    byte[] lagText =
        redis.await(
            redis.async().hget(settings.key("meta", table), "max_lag_ms"),
            "read the lag of '" + table + "'");
    long lag = lagText == null ? 0 : Long.parseLong(new String(lagText, StandardCharsets.UTF_8));
    String from =
        span.boundedBelow() && span.fromMicros() > 0
            ? Long.toString(Math.floorDiv(span.fromMicros(), 1000L))
            : "-";
    String to = "+";
    if (span.boundedAbove()) {
      long toMs = Math.floorDiv(span.toMicros(), 1000L);
      if (toMs < 0) {
        toMs = 0; // ids start at 0: rows before 1970 have ids from 0 up
      }
      if (toMs <= Long.MAX_VALUE - lag - 1) {
        to = Long.toString(toMs + lag);
      }
    }
    List<VectorSchemaRoot> batches = new ArrayList<>();
    try {
      String stream = settings.key("stream", table);
      Range.Boundary<String> lower =
          from.equals("-") ? Range.Boundary.unbounded() : Range.Boundary.including(from);
      Range.Boundary<String> upper =
          to.equals("+") ? Range.Boundary.unbounded() : Range.Boundary.including(to);
      while (true) {
        List<StreamMessage<String, byte[]>> page =
            redis.await(
                redis
                    .async()
                    .xrange(
                        stream,
                        Range.from(lower, upper),
                        io.lettuce.core.Limit.create(0, READ_PAGE)),
                "read '" + table + "'");
        if (page.isEmpty()) {
          break;
        }
        batches.add(decode(schema, page));
        if (page.size() < READ_PAGE) {
          break;
        }
        lower = Range.Boundary.excluding(page.get(page.size() - 1).getId());
      }
    } catch (RuntimeException e) {
      batches.forEach(VectorSchemaRoot::close);
      throw e;
    }
    String view = "_hs_redis_" + streamNames.incrementAndGet();
    try (ArrowArrayStream s = ArrowArrayStream.allocateNew(allocator)) {
      Data.exportArrayStream(allocator, new BatchListReader(allocator, schema, batches), s);
      c.registerArrowStream(view, s);
      try (Statement st = c.createStatement()) {
        st.execute("CREATE OR REPLACE TEMP TABLE " + quote(table) + " AS SELECT * FROM " + view);
        st.execute("DROP VIEW IF EXISTS " + view);
      }
    }
  }

  private VectorSchemaRoot decode(Schema schema, List<StreamMessage<String, byte[]>> page) {
    VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
    try {
      Map<String, FieldVector> byName = new HashMap<>();
      for (FieldVector v : root.getFieldVectors()) {
        v.setInitialCapacity(page.size());
        v.allocateNew();
        byName.put(v.getName(), v);
      }
      int row = 0;
      for (StreamMessage<String, byte[]> m : page) {
        for (Map.Entry<String, byte[]> e : m.getBody().entrySet()) {
          FieldVector v = byName.get(e.getKey());
          if (v != null) {
            RedisRowCodec.decode(v, row, e.getValue());
          }
        }
        row++;
      }
      root.setRowCount(row);
      return root;
    } catch (RuntimeException e) {
      root.close();
      throw new HyprstreamException(
          "an entry of a Redis stream does not fit its table's schema: " + e.getMessage(), e);
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
