package io.hyprstream.bench.compare;

import io.questdb.ServerMain;
import io.questdb.cairo.CairoEngine;
import io.questdb.cairo.TableToken;
import io.questdb.cairo.TableWriter;
import io.questdb.cairo.security.AllowAllSecurityContext;
import io.questdb.cairo.sql.Record;
import io.questdb.cairo.sql.RecordCursor;
import io.questdb.cairo.sql.RecordCursorFactory;
import io.questdb.cairo.wal.WalWriter;
import io.questdb.griffin.SqlException;
import io.questdb.griffin.SqlExecutionContextImpl;
import io.questdb.griffin.engine.functions.bind.BindVariableServiceImpl;
import io.questdb.std.Unsafe;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;

/**
 * QuestDB embedded: its {@link ServerMain} in this JVM with every network endpoint off (so its
 * worker pools apply the WAL and refresh materialized views as a server would), rows written with
 * the embedded {@link WalWriter}, queries compiled once and run with bind variables on the engine.
 */
final class QuestDbPeer implements Peer {
  static final String MAT_VIEWS = "materialized views";
  static final String SAMPLE_BY = "SAMPLE BY";

  private final Path root;
  private final ServerMain server;
  private final CairoEngine engine;
  private final WalWriter writer;
  private final String from;
  private final Map<String, Query> queries = new HashMap<>();
  private final IdCache ids = new IdCache();
  private String ingestNote = "";

  QuestDbPeer(long lookupFromMicros) throws IOException, SqlException {
    this.from = isoTimestamp(lookupFromMicros);
    root = Files.createTempDirectory("hyprstream-bench-questdb");
    quietLogs();
    Map<String, String> env = new HashMap<>();
    for (String off :
        List.of(
            "QDB_HTTP_ENABLED",
            "QDB_HTTP_MIN_ENABLED",
            "QDB_PG_ENABLED",
            "QDB_LINE_TCP_ENABLED",
            "QDB_LINE_UDP_ENABLED",
            "QDB_TELEMETRY_ENABLED")) {
      env.put(off, "false");
    }
    ServerMain s = ServerMain.create(root.toString(), env);
    try {
      s.start();
      engine = s.getEngine();
      execute(
          "CREATE TABLE metrics (metric_id SYMBOL CAPACITY 4096 CACHE INDEX, timestamp TIMESTAMP,"
              + " value DOUBLE) TIMESTAMP(timestamp) PARTITION BY DAY WAL");
      execute(
          "CREATE MATERIALIZED VIEW metrics_5m AS (SELECT timestamp, metric_id, count()"
              + " value_count, sum(value) value_sum FROM metrics SAMPLE BY 5m) PARTITION BY DAY");
      execute(
          "CREATE MATERIALIZED VIEW metrics_1h AS (SELECT timestamp, metric_id, count()"
              + " value_count, sum(value) value_sum FROM metrics SAMPLE BY 1h) PARTITION BY DAY");
      TableToken token = engine.getTableTokenIfExists("metrics");
      if (token == null) {
        throw new IllegalStateException("QuestDB did not create table metrics");
      }
      writer = engine.getWalWriter(token);
    } catch (SqlException | RuntimeException e) {
      s.close();
      deleteTree(root);
      throw e;
    }
    server = s;
  }

  /**
   * QuestDB's log configuration is read once per JVM, from the file the {@code out} system property
   * names: errors only, so its per-query INFO lines do not flood the output (or cost time).
   */
  private static synchronized void quietLogs() throws IOException {
    if (System.getProperty(io.questdb.log.LogFactory.CONFIG_SYSTEM_PROPERTY) != null) {
      return;
    }
    Path conf = Files.createTempFile("hyprstream-bench-questdb-log", ".conf");
    conf.toFile().deleteOnExit();
    Files.writeString(
        conf,
        "writers=stdout\n"
            + "w.stdout.class=io.questdb.log.LogConsoleWriter\n"
            + "w.stdout.level=ERROR\n",
        StandardCharsets.UTF_8);
    System.setProperty(io.questdb.log.LogFactory.CONFIG_SYSTEM_PROPERTY, conf.toString());
  }

  private void execute(String sql) throws SqlException {
    try (SqlExecutionContextImpl ctx =
        new SqlExecutionContextImpl(engine, 1).with(AllowAllSecurityContext.INSTANCE)) {
      engine.execute(sql, ctx);
    }
  }

  @Override
  public String version() {
    return "QuestDB " + RunEnvs.questdb() + " (embedded)";
  }

  @Override
  public String settings() {
    return "`ServerMain` in this JVM with HTTP, PGWire and ILP endpoints off and default worker"
        + " pools (they apply the WAL and refresh materialized views); data in a temporary"
        + " directory on local disk. WAL table `metrics(metric_id SYMBOL CAPACITY 4096 CACHE INDEX,"
        + " timestamp TIMESTAMP, value DOUBLE) TIMESTAMP(timestamp) PARTITION BY DAY` (designated"
        + " timestamp, daily partitions, indexed symbol key: QuestDB's schema advice); incremental"
        + " materialized views `metrics_5m`, `metrics_1h` (`SAMPLE BY` with count/sum). Ingest:"
        + " embedded `WalWriter`, one commit per batch of the data; W1 ends when the WAL is applied"
        + " and both views hold every row. Queries compiled once, run with bind variables; W2"
        + " bounded to the last 24 hours.";
  }

  @Override
  public List<String> modes() {
    return List.of(MAT_VIEWS, SAMPLE_BY);
  }

  @Override
  public void ingest(List<VectorSchemaRoot> batches) throws Exception {
    long expected = 0;
    long t0 = System.nanoTime();
    for (VectorSchemaRoot b : batches) {
      append(b);
      expected += b.getRowCount();
    }
    long t1 = System.nanoTime();
    server.awaitTable("metrics");
    long t2 = System.nanoTime();
    awaitSum("SELECT count() FROM metrics", expected, t0);
    awaitSum("SELECT sum(value_count) FROM metrics_5m", expected, t0);
    long t3 = System.nanoTime();
    awaitSum("SELECT sum(value_count) FROM metrics_1h", expected, t0);
    long t4 = System.nanoTime();
    ingestNote =
        String.format(
            Locale.ROOT,
            "QuestDB W1 phases: WalWriter rows + commits %.1f s, WAL applied at %.1f s,"
                + " metrics_5m complete at %.1f s, metrics_1h at %.1f s; data directory %,d MiB.",
            (t1 - t0) / 1e9,
            (t2 - t0) / 1e9,
            (t3 - t0) / 1e9,
            (t4 - t0) / 1e9,
            diskBytes() >> 20);
  }

  /** Polls a one-number query until it reaches {@code expected} (10 minutes at most). */
  private void awaitSum(String sql, long expected, long since) throws Exception {
    while (true) {
      long n = scalar(sql);
      if (n == expected) {
        return;
      }
      if (n > expected) {
        throw new IllegalStateException(sql + " gave " + n + ", expected " + expected);
      }
      if (System.nanoTime() - since > 600_000_000_000L) {
        throw new IllegalStateException(sql + " stuck at " + n + " of " + expected);
      }
      Thread.sleep(5);
    }
  }

  private long scalar(String sql) throws SqlException {
    try (SqlExecutionContextImpl ctx =
            new SqlExecutionContextImpl(engine, 1).with(AllowAllSecurityContext.INSTANCE);
        RecordCursorFactory f = engine.select(sql, ctx);
        RecordCursor c = f.getCursor(ctx)) {
      return c.hasNext() ? c.getRecord().getLong(0) : 0;
    }
  }

  @Override
  public String ingestNote() {
    return ingestNote;
  }

  private void append(VectorSchemaRoot batch) {
    VarCharVector id = (VarCharVector) batch.getVector(0);
    TimeStampMicroVector ts = (TimeStampMicroVector) batch.getVector(1);
    Float8Vector value = (Float8Vector) batch.getVector(2);
    for (int r = 0; r < batch.getRowCount(); r++) {
      TableWriter.Row row = writer.newRow(ts.get(r));
      row.putSym(0, ids.get(id, r));
      if (!value.isNull(r)) {
        row.putDouble(2, value.get(r));
      }
      row.append();
    }
    writer.commit();
  }

  /** A query compiled once, with its own bind variables. */
  private final class Query implements AutoCloseable {
    final SqlExecutionContextImpl ctx;
    final BindVariableServiceImpl binds;
    @Nullable RecordCursorFactory factory;
    final String sql;

    Query(String sql) {
      this.sql = sql;
      binds = new BindVariableServiceImpl(engine.getConfiguration());
      ctx =
          new SqlExecutionContextImpl(engine, Runtime.getRuntime().availableProcessors())
              .with(AllowAllSecurityContext.INSTANCE, binds);
    }

    /** Compiles on first use (binds must be set, so their types are known) and on table changes. */
    RecordCursor cursor() throws SqlException {
      if (factory == null) {
        factory = engine.select(sql, ctx);
      }
      try {
        return factory.getCursor(ctx);
      } catch (io.questdb.cairo.sql.TableReferenceOutOfDateException e) {
        factory.close();
        factory = engine.select(sql, ctx);
        return factory.getCursor(ctx);
      }
    }

    @Override
    public void close() {
      if (factory != null) {
        factory.close();
      }
      ctx.close();
    }
  }

  private Query query(String key, String sql) {
    return queries.computeIfAbsent(key, k -> new Query(sql));
  }

  @Override
  public Hourly lastHourly(String mode, String metricId) throws SqlException {
    Query q =
        MAT_VIEWS.equals(mode)
            ? query(
                "w2v",
                "SELECT timestamp, value_count, value_sum FROM metrics_1h WHERE metric_id = $1"
                    + " AND timestamp >= '"
                    + from
                    + "' ORDER BY timestamp DESC LIMIT 24")
            : query(
                "w2r",
                "SELECT timestamp, count() value_count, sum(value) value_sum FROM metrics"
                    + " WHERE metric_id = $1 AND timestamp >= '"
                    + from
                    + "' SAMPLE BY 1h ORDER BY timestamp DESC LIMIT 24");
    q.binds.setStr(0, metricId);
    Hourly h = new Hourly(24);
    try (RecordCursor c = q.cursor()) {
      Record r = c.getRecord();
      while (c.hasNext()) {
        h.add(r.getTimestamp(0), r.getLong(1), r.getDouble(2));
      }
    }
    return h;
  }

  @Override
  public void allFiveMinute(String mode, WindowGrid into, int run) throws SqlException {
    Query q =
        MAT_VIEWS.equals(mode)
            ? query(
                "w3v",
                "SELECT metric_id, timestamp, value_count, value_sum FROM metrics_5m"
                    + " WHERE value_count > $1")
            : query(
                "w3r",
                "SELECT * FROM (SELECT metric_id, timestamp, count() value_count, sum(value)"
                    + " value_sum FROM metrics SAMPLE BY 5m) WHERE value_count > $1");
    q.binds.setLong(0, -run);
    try (RecordCursor c = q.cursor()) {
      Record r = c.getRecord();
      while (c.hasNext()) {
        CharSequence id = r.getSymA(0);
        into.add(
            WindowGrid.metricIndex(id == null ? "" : id),
            r.getTimestamp(1),
            r.getLong(2),
            r.getDouble(3));
      }
    }
  }

  @Override
  public void ingestSmall(VectorSchemaRoot batch) {
    append(batch);
  }

  @Override
  public long windowCount(String mode, String metricId, long windowStartMicros)
      throws SqlException {
    Query q =
        MAT_VIEWS.equals(mode)
            ? query(
                "w4v", "SELECT value_count FROM metrics_5m WHERE metric_id = $1 AND timestamp = $2")
            : query(
                "w4r",
                "SELECT count() FROM metrics WHERE metric_id = $1 AND timestamp >= $2"
                    + " AND timestamp < $3");
    q.binds.setStr(0, metricId);
    q.binds.setTimestamp(1, windowStartMicros);
    if (!MAT_VIEWS.equals(mode)) {
      q.binds.setTimestamp(2, windowStartMicros + WindowGrid.FIVE_MINUTES);
    }
    try (RecordCursor c = q.cursor()) {
      return c.hasNext() ? c.getRecord().getLong(0) : 0;
    }
  }

  @Override
  public long nativeBytes() {
    return Unsafe.getMemUsed();
  }

  @Override
  public String memoryNote() {
    return "heap growth + QuestDB's native allocations (`Unsafe.getMemUsed()`); its column files"
        + " are memory-mapped and sit in the OS page cache, not counted (data directory size in"
        + " the notes)";
  }

  private long diskBytes() {
    try (Stream<Path> files = Files.walk(root)) {
      return files.filter(Files::isRegularFile).mapToLong(QuestDbPeer::size).sum();
    } catch (IOException e) {
      return -1;
    }
  }

  private static long size(Path p) {
    try {
      return Files.size(p);
    } catch (IOException e) {
      return 0;
    }
  }

  @Override
  public void close() {
    try {
      queries.values().forEach(Query::close);
      writer.close();
    } finally {
      server.close();
      deleteTree(root);
    }
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(QuestDbPeer::delete);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void delete(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code 2025-06-01T00:00:00.000000Z}: QuestDB's timestamp literal. */
  static String isoTimestamp(long micros) {
    return HyprstreamPeer.sqlTimestamp(micros).replace(' ', 'T') + "Z";
  }

  /** Metric ids as Strings without decoding each row: a small cache keyed by the UTF-8 bytes. */
  static final class IdCache {
    private byte[][] keys = new byte[1024][];
    private String[] values = new String[1024];
    private int size;
    private byte[] scratch = new byte[64];

    String get(VarCharVector v, int row) {
      int start = (int) v.getStartOffset(row);
      int len = (int) (v.getEndOffset(row) - start);
      if (scratch.length < len) {
        scratch = new byte[len];
      }
      v.getDataBuffer().getBytes(start, scratch, 0, len);
      int h = 1;
      for (int i = 0; i < len; i++) {
        h = 31 * h + scratch[i];
      }
      int mask = keys.length - 1;
      for (int slot = (h ^ (h >>> 16)) & mask; ; slot = (slot + 1) & mask) {
        byte[] k = keys[slot];
        if (k == null) {
          byte[] key = java.util.Arrays.copyOf(scratch, len);
          String s = new String(key, StandardCharsets.UTF_8);
          keys[slot] = key;
          values[slot] = s;
          if (++size * 2 > keys.length) {
            grow();
          }
          return s;
        }
        if (k.length == len && java.util.Arrays.equals(k, 0, len, scratch, 0, len)) {
          return values[slot];
        }
      }
    }

    private void grow() {
      byte[][] oldKeys = keys;
      String[] oldValues = values;
      keys = new byte[oldKeys.length * 2][];
      values = new String[oldKeys.length * 2];
      int mask = keys.length - 1;
      for (int i = 0; i < oldKeys.length; i++) {
        byte[] k = oldKeys[i];
        if (k == null) {
          continue;
        }
        int h = 1;
        for (byte b : k) {
          h = 31 * h + b;
        }
        int slot = (h ^ (h >>> 16)) & mask;
        while (keys[slot] != null) {
          slot = (slot + 1) & mask;
        }
        keys[slot] = k;
        values[slot] = oldValues[i];
      }
    }
  }
}
