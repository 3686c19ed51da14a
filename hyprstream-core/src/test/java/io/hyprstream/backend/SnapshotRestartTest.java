package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.Hyprstream;
import io.hyprstream.HyprstreamBuilder;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.internal.Engine;
import io.hyprstream.testing.PostgresAvailable;
import io.hyprstream.testing.TcpProxy;
import io.hyprstream.testing.TestAllocator;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restart from window snapshots and the log, with real DuckDB and PostgreSQL: after a clean
 * restart, a crash (the snapshot older than the log) and a torn newest snapshot, every window
 * equals DuckDB's {@code time_bucket} GROUP BY over every acknowledged row, the cache holds exactly
 * the rows of the hot hour, and PostgreSQL every acknowledged row once.
 */
@ExtendWith(PostgresAvailable.class)
final class SnapshotRestartTest {
  /** Rows over two days, one every 9 s; the hot hour holds 400 of them. */
  private static final int ROWS = 19_200;

  private static final long STEP_MICROS = 9_000_000L;
  private static final int BATCH = 800;
  private static final Duration HOT = Duration.ofHours(1);
  private static final List<WindowSpec> WINDOWS =
      List.of(
          WindowSpec.tumbling(Duration.ofMinutes(5)).withRetention(Duration.ofDays(7)),
          WindowSpec.tumbling(Duration.ofHours(1)).withRetention(Duration.ofDays(7)),
          WindowSpec.tumbling(Duration.ofDays(1)).withRetention(Duration.ofDays(7)));

  /** The instances' clock: the last row is one step before it. */
  private static final Instant NOW = Instant.parse("2026-11-20T12:00:00Z");

  private static final long FIRST_MICROS =
      ChronoUnit.MICROS.between(Instant.EPOCH, NOW) - (long) ROWS * STEP_MICROS;

  @TempDir Path dir;
  private final String schema =
      "hs_snap_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  @RegisterExtension final TestAllocator allocator = new TestAllocator();
  private Connection oracle;

  @BeforeEach
  void setUp() throws Exception {
    oracle = DriverManager.getConnection("jdbc:duckdb:");
    try (Statement st = oracle.createStatement()) {
      st.execute(
          "CREATE TABLE truth AS SELECT 'm' || (i % 7) AS metric_id,"
              + " make_timestamp("
              + FIRST_MICROS
              + " + i * "
              + STEP_MICROS
              + ") AS timestamp, (((i * 7919) % 1000) / 10.0)::DOUBLE AS value FROM range("
              + ROWS
              + ") t(i)");
    }
  }

  @AfterEach
  void tearDown() throws Exception {
    oracle.close();
    try (Connection c =
            DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
        Statement st = c.createStatement()) {
      st.execute("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
    }
  }

  private HyprstreamBuilder instance(String uri, BufferAllocator alloc) {
    return PostgresAvailable.writingTo(uri, schema, alloc, dir.resolve("data"))
        .clock(InstantSource.fixed(NOW))
        .cacheDuration(HOT)
        .metricsWindows(WINDOWS)
        .snapshotInterval(Duration.ofHours(1)); // only the snapshots the test takes
  }

  /** Ingests rows {@code [from, to)} of the truth table, in batches. */
  private static void ingest(Hyprstream hs, BufferAllocator alloc, int from, int to) {
    for (int start = from; start < to; start += BATCH) {
      int n = Math.min(BATCH, to - start);
      try (VectorSchemaRoot root = VectorSchemaRoot.create(CrashChild.SCHEMA, alloc)) {
        root.allocateNew();
        for (int r = 0; r < n; r++) {
          long i = start + r;
          ((VarCharVector) root.getVector(0))
              .setSafe(r, ("m" + i % 7).getBytes(StandardCharsets.UTF_8));
          ((TimeStampMicroVector) root.getVector(1)).setSafe(r, FIRST_MICROS + i * STEP_MICROS);
          ((Float8Vector) root.getVector(2)).setSafe(r, ((i * 7919) % 1000) / 10.0);
          ((BigIntVector) root.getVector(3)).setSafe(r, i);
        }
        root.setRowCount(n);
        hs.ingest("metrics", root);
      }
    }
  }

  private static void awaitBackendCaughtUp(Hyprstream hs) throws InterruptedException {
    long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (hs.operations().writeThrough().backlogBatches() > 0) {
      assertTrue(System.nanoTime() < end, "write-through did not catch up within 60 s");
      Thread.sleep(20);
    }
  }

  @Test
  void cleanRestart_loadsTheShutdownSnapshot_windowsEqualOracle_hotRowsExact() throws Exception {
    try (BufferAllocator first = new RootAllocator();
        Hyprstream hs = instance(PostgresAvailable.URI, first).build()) {
      ingest(hs, first, 0, ROWS);
    } // close drains write-through and writes the shutdown snapshot
    // Windows rebuilt from PostgreSQL would miss these: only the snapshot still has them.
    postgres(
        "DELETE FROM \""
            + schema
            + "\".metrics WHERE \"timestamp\" < TIMESTAMP '"
            + NOW.minus(HOT).toString().replace('T', ' ').replace("Z", "")
            + "'");
    try (Hyprstream hs = instance(PostgresAvailable.URI, allocator).build()) {
      assertWindowsEqualOracle(hs);
      assertHotRowsExact(hs);
    }
  }

  @Test
  void crash_snapshotOlderThanTheLog_replaysTheLog_andTakesUnsentRowsFromIt() throws Exception {
    Path data = dir.resolve("data");
    try (TcpProxy proxy = new TcpProxy(5432);
        BufferAllocator crashedAllocator = new RootAllocator()) {
      Hyprstream crashed =
          instance(PostgresAvailable.viaPort(proxy.port()), crashedAllocator)
              .drainTimeout(Duration.ofMillis(200))
              .build();
      int snapshotAt = ROWS / 2;
      int cutAt = ROWS - 200; // the last 200 rows are acknowledged while PostgreSQL is away
      ingest(crashed, crashedAllocator, 0, snapshotAt);
      awaitBackendCaughtUp(crashed);
      ((Engine) crashed).snapshotWindows();
      ingest(crashed, crashedAllocator, snapshotAt, cutAt); // only in the log and PostgreSQL
      awaitBackendCaughtUp(crashed);
      proxy.cut();
      ingest(crashed, crashedAllocator, cutAt, ROWS); // only in the log
      // The process "dies": no shutdown snapshot. The next one starts on the same directory while
      // this one, its link cut, is never heard from again until the checks are done.
      try (Hyprstream restarted = instance(PostgresAvailable.URI, allocator).build()) {
        assertWindowsEqualOracle(restarted);
        assertHotRowsExact(restarted);
      }
      long[] row =
          PostgresAvailable.firstRow(
              "SELECT count(*), count(DISTINCT \"timestamp\") FROM \"" + schema + "\".metrics");
      assertEquals(ROWS, row[0], "PostgreSQL holds every acknowledged row");
      assertEquals(row[0], row[1], "none twice");
      crashed.close();
    }
  }

  @Test
  void tornNewestSnapshot_fallsBackToThePreviousWithAWarning_windowsEqualOracle() throws Exception {
    try (BufferAllocator first = new RootAllocator();
        Hyprstream hs = instance(PostgresAvailable.URI, first).build()) {
      ingest(hs, first, 0, ROWS / 3);
      awaitBackendCaughtUp(hs);
      ((Engine) hs).snapshotWindows();
      ingest(hs, first, ROWS / 3, ROWS);
    } // the shutdown snapshot is the newest
    List<Path> snapshots = snapshotFiles();
    assertEquals(2, snapshots.size(), "the newest two snapshots are kept: " + snapshots);
    Path newest = snapshots.get(1);
    try (FileChannel f = FileChannel.open(newest, StandardOpenOption.WRITE)) {
      f.truncate(f.size() / 2); // torn mid-write
    }
    try (Hyprstream hs = instance(PostgresAvailable.URI, allocator).build()) {
      assertWindowsEqualOracle(hs);
      assertHotRowsExact(hs);
    }
    // The WARN naming the file and the reason is checked through the server jar (RestartIT):
    // core's tests log nowhere.
    assertTrue(
        Files.exists(newest.resolveSibling(newest.getFileName() + ".corrupt")),
        "the torn file is set aside");
  }

  @Test
  void corruptNewestSnapshot_badChecksum_fallsBack() throws Exception {
    try (BufferAllocator first = new RootAllocator();
        Hyprstream hs = instance(PostgresAvailable.URI, first).build()) {
      ingest(hs, first, 0, ROWS / 2);
      awaitBackendCaughtUp(hs);
      ((Engine) hs).snapshotWindows();
      ingest(hs, first, ROWS / 2, ROWS);
    }
    Path newest = snapshotFiles().get(1);
    byte[] bytes = Files.readAllBytes(newest);
    bytes[bytes.length / 2] ^= 0x5a; // one flipped byte inside a state batch
    Files.write(newest, bytes);
    try (Hyprstream hs = instance(PostgresAvailable.URI, allocator).build()) {
      assertWindowsEqualOracle(hs);
      assertHotRowsExact(hs);
    }
    assertTrue(Files.exists(newest.resolveSibling(newest.getFileName() + ".corrupt")));
  }

  private List<Path> snapshotFiles() throws Exception {
    try (Stream<Path> s = Files.list(dir.resolve("data").resolve("snapshots"))) {
      return s.filter(p -> p.toString().endsWith(".hss")).sorted().toList();
    }
  }

  private static void postgres(String sql) throws Exception {
    try (Connection c =
            DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
        Statement st = c.createStatement()) {
      st.execute(sql);
    }
  }

  /** Every window view equals DuckDB's time_bucket GROUP BY over every acknowledged row. */
  private void assertWindowsEqualOracle(Hyprstream hs) throws Exception {
    for (WindowSpec w : WINDOWS) {
      String bucket = "time_bucket(INTERVAL '" + w.size().toSeconds() + " seconds', timestamp)";
      List<List<Object>> expected =
          oracleRows(
              "SELECT metric_id, epoch_us("
                  + bucket
                  + ") AS ws, count(value), sum(value), min(value), max(value) FROM truth"
                  + " GROUP BY metric_id, ws ORDER BY metric_id, ws");
      List<List<Object>> actual =
          engineRows(
              hs,
              "SELECT metric_id, epoch_us(window_start), value_count, value_sum, value_min,"
                  + " value_max FROM metrics_"
                  + w.name()
                  + " ORDER BY metric_id, window_start");
      assertEquals(expected.size(), actual.size(), "window count of metrics_" + w.name());
      for (int i = 0; i < expected.size(); i++) {
        List<Object> e = expected.get(i);
        List<Object> a = actual.get(i);
        assertEquals(e.get(0), a.get(0), "key of window " + i + " of " + w.name());
        assertEquals(e.get(1), a.get(1), "start of " + e + " in " + w.name());
        assertEquals(e.get(2), a.get(2), "count of " + e + " in " + w.name());
        for (int c = 3; c < 6; c++) {
          assertEquals(
              ((Number) e.get(c)).doubleValue(),
              ((Number) a.get(c)).doubleValue(),
              1e-6,
              "column " + c + " of " + e + " in " + w.name());
        }
      }
    }
  }

  /** The cache holds the hot hour's rows, each once, and no older row. */
  private void assertHotRowsExact(Hyprstream hs) throws Exception {
    long hotFrom = ChronoUnit.MICROS.between(Instant.EPOCH, NOW.minus(HOT));
    long expected =
        (Long)
            oracleRows("SELECT count(*) FROM truth WHERE epoch_us(timestamp) >= " + hotFrom)
                .get(0)
                .get(0);
    assertTrue(expected > 0 && expected < ROWS);
    try (ArrowReader r =
        ((Engine) hs)
            .cache()
            .query(
                "SELECT count(*), count(DISTINCT timestamp), min(epoch_us(timestamp)) FROM"
                    + " metrics",
                allocator)) {
      assertTrue(r.loadNextBatch());
      VectorSchemaRoot root = r.getVectorSchemaRoot();
      assertEquals(expected, root.getVector(0).getObject(0), "hot rows in the cache");
      assertEquals(expected, root.getVector(1).getObject(0), "each once");
      assertTrue(((Long) root.getVector(2).getObject(0)) >= hotFrom, "none older than the hour");
    }
  }

  private List<List<Object>> oracleRows(String sql) throws Exception {
    List<List<Object>> out = new ArrayList<>();
    try (Statement st = oracle.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      int n = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        List<Object> row = new ArrayList<>(n);
        for (int c = 1; c <= n; c++) {
          Object v = rs.getObject(c);
          row.add(v instanceof Number num && !(v instanceof Double) ? num.longValue() : v);
        }
        out.add(row);
      }
    }
    return out;
  }

  private static List<List<Object>> engineRows(Hyprstream hs, String sql) throws Exception {
    List<List<Object>> out = new ArrayList<>();
    try (var r = hs.query(sql)) {
      while (r.loadNextBatch()) {
        VectorSchemaRoot root = r.getVectorSchemaRoot();
        for (int i = 0; i < root.getRowCount(); i++) {
          List<Object> row = new ArrayList<>();
          for (int c = 0; c < root.getFieldVectors().size(); c++) {
            Object v = root.getVector(c).getObject(i);
            row.add(
                v instanceof Number num && !(v instanceof Double)
                    ? (Object) num.longValue()
                    : v == null ? "null" : v instanceof Double ? v : v.toString());
          }
          out.add(row);
        }
      }
    }
    return out;
  }
}
