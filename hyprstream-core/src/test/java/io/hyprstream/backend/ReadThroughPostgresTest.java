package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.Hyprstream;
import io.hyprstream.QueryResult;
import io.hyprstream.api.Freshness;
import io.hyprstream.testing.PostgresAvailable;
import io.hyprstream.testing.TestAllocator;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The defect of issue "No acknowledged row lost, no silent wrong answer" (item 4) with a real
 * PostgreSQL backend: rows 3 h old, a 60 s cache, asked after expiry. Every form of query that
 * reaches older rows equals PostgreSQL's own answer and a DuckDB oracle holding every row, and says
 * it used the backend; a query bounded inside the cache's minute stays on the cache.
 */
@ExtendWith(PostgresAvailable.class)
final class ReadThroughPostgresTest {
  private static final Schema METRICS =
      new Schema(
          List.of(
              Field.notNullable("metric_id", new ArrowType.Utf8()),
              Field.notNullable("timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
              Field.nullable("value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));

  @TempDir Path dir;
  private final String schema =
      "hs_route_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  @RegisterExtension final TestAllocator allocator = new TestAllocator();
  private Connection oracle;
  private Connection postgres;

  /** The engine's clock: the wall clock moved by the test (DuckDB's and PostgreSQL's now()). */
  private final AtomicReference<Duration> offset = new AtomicReference<>(Duration.ZERO);

  @BeforeEach
  void setUp() throws Exception {
    oracle = DriverManager.getConnection("jdbc:duckdb:");
    try (Statement st = oracle.createStatement()) {
      st.execute("SET TimeZone = 'UTC'");
      st.execute("CREATE TABLE metrics (metric_id VARCHAR, timestamp TIMESTAMP, value DOUBLE)");
    }
    postgres = DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
  }

  @AfterEach
  void tearDown() throws Exception {
    oracle.close();
    try (Statement st = postgres.createStatement()) {
      st.execute("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
    }
    postgres.close();
  }

  private Hyprstream open() {
    return PostgresAvailable.writingTo(PostgresAvailable.URI, schema, allocator, dir.resolve("d"))
        .clock(() -> Instant.now().plus(offset.get()))
        .cacheDuration(Duration.ofSeconds(60))
        .build();
  }

  /** Ingests {@code n} rows from {@code first}, one every {@code step}, into both stores. */
  private void ingest(Hyprstream hs, Instant first, Duration step, int n) throws Exception {
    try (VectorSchemaRoot b = VectorSchemaRoot.create(METRICS, allocator);
        PreparedStatement ps = oracle.prepareStatement("INSERT INTO metrics VALUES (?, ?, ?)")) {
      b.allocateNew();
      for (int i = 0; i < n; i++) {
        Instant t = first.plus(step.multipliedBy(i)).truncatedTo(ChronoUnit.MICROS);
        String id = "m" + i % 3;
        double v = i * 1.5;
        ((VarCharVector) b.getVector(0)).setSafe(i, id.getBytes(StandardCharsets.UTF_8));
        ((TimeStampMicroVector) b.getVector(1))
            .setSafe(i, ChronoUnit.MICROS.between(Instant.EPOCH, t));
        ((Float8Vector) b.getVector(2)).setSafe(i, v);
        ps.setString(1, id);
        ps.setObject(2, LocalDateTime.ofInstant(t, ZoneOffset.UTC));
        ps.setDouble(3, v);
        ps.addBatch();
      }
      b.setRowCount(n);
      hs.ingest("metrics", b);
      ps.executeBatch();
    }
  }

  /** Whole seconds: PostgreSQL rounds finer literals to microseconds where DuckDB truncates. */
  private static String text(Instant t) {
    return LocalDateTime.ofInstant(t.truncatedTo(ChronoUnit.SECONDS), ZoneOffset.UTC)
        .toString()
        .replace('T', ' ');
  }

  @Test
  void afterExpiry_everyFormEqualsPostgresAndTheOracle_andSaysItUsedTheBackend() throws Exception {
    Instant wall = Instant.now();
    offset.set(Duration.ofMinutes(-5)); // the instance starts five minutes "before" now
    try (Hyprstream hs = open()) {
      ingest(hs, wall.minus(Duration.ofHours(3)), Duration.ofSeconds(30), 360); // 3 h..0 h old
      ingest(hs, wall.minus(Duration.ofSeconds(40)), Duration.ofMillis(250), 120); // last 40 s
      offset.set(Duration.ZERO); // advance past the expiry of everything older than a minute
      awaitWriteThrough(hs);
      hs.expire();
      try (Statement st = postgres.createStatement()) {
        st.execute("SET search_path TO \"" + schema + "\"");
      }

      String old = text(wall.minus(Duration.ofMinutes(150)));
      String recent = text(wall.minus(Duration.ofSeconds(20)));
      // Whole seconds, as the literals: PostgreSQL rounds nanoseconds where DuckDB truncates.
      LocalDateTime oldParam =
          LocalDateTime.ofInstant(
              wall.minus(Duration.ofMinutes(100)).truncatedTo(ChronoUnit.SECONDS), ZoneOffset.UTC);
      List<String[]> portable =
          List.of(
              new String[] {"unbounded count", "SELECT count(*), sum(value) FROM metrics"},
              new String[] {
                "now() lower bound",
                "SELECT count(*) FROM metrics WHERE timestamp >= now() - INTERVAL '4 hours'"
              },
              new String[] {
                "now() upper bound",
                "SELECT count(*) FROM metrics WHERE timestamp < now() - INTERVAL '1 hour'"
              },
              new String[] {
                "reversed", "SELECT count(*) FROM metrics WHERE '" + old + "' <= timestamp"
              },
              new String[] {
                "Z literal",
                "SELECT count(*) FROM metrics WHERE timestamp >= '" + old.replace(' ', 'T') + "Z'"
              },
              new String[] {
                "CAST",
                "SELECT count(*) FROM metrics WHERE timestamp >= CAST('" + old + "' AS TIMESTAMP)"
              },
              new String[] {
                "CTE",
                "WITH r AS (SELECT * FROM metrics WHERE value >= 3) SELECT metric_id, count(*)"
                    + " FROM r GROUP BY metric_id ORDER BY metric_id"
              },
              new String[] {
                "subquery",
                "SELECT count(*) FROM (SELECT * FROM metrics WHERE metric_id = 'm1') s"
                    + " WHERE s.timestamp >= '"
                    + recent
                    + "'"
              },
              new String[] {
                "GROUP BY",
                "SELECT metric_id, count(*), min(timestamp) FROM metrics GROUP BY metric_id"
                    + " ORDER BY metric_id"
              },
              new String[] {
                "self-join",
                "SELECT count(*) FROM metrics a JOIN metrics b ON a.timestamp = b.timestamp"
                    + " WHERE a.timestamp >= '"
                    + recent
                    + "'"
              });
      for (String[] form : portable) {
        List<List<String>> answer = engine(hs, form[1], List.of(), Freshness.Source.BACKEND);
        assertEquals(postgres(form[1], List.of()), answer, form[0] + ": PostgreSQL's answer");
        assertEquals(oracle(form[1], List.of()), answer, form[0] + ": every row's answer");
      }

      String bound = "SELECT count(*) FROM metrics WHERE timestamp >= ?";
      List<Object> params = List.of(oldParam);
      assertEquals(
          postgres(bound, params), engine(hs, bound, params, Freshness.Source.BACKEND), "? bound");

      // DuckDB SQL PostgreSQL cannot run: the backend gives rows, DuckDB runs the statement.
      List<String> duckdbOnly =
          List.of(
              "SELECT count(*) FROM metrics WHERE epoch_ms(timestamp) >= "
                  + wall.minus(Duration.ofHours(2)).toEpochMilli(),
              "SELECT time_bucket(INTERVAL 1 HOUR, timestamp) AS h, count(*), sum(value)"
                  + " FROM metrics GROUP BY h ORDER BY h");
      for (String sql : duckdbOnly) {
        assertEquals(
            oracle(sql, List.of()), engine(hs, sql, List.of(), Freshness.Source.BACKEND), sql);
      }

      // Bounded inside the cache's minute: DuckDB alone, same answer.
      String hot = "SELECT count(*), sum(value) FROM metrics WHERE timestamp >= '" + recent + "'";
      assertEquals(oracle(hot, List.of()), engine(hs, hot, List.of(), Freshness.Source.CACHE));
      String hotNow =
          "SELECT metric_id, count(*) FROM metrics WHERE timestamp >= now() - INTERVAL '10 seconds'"
              + " GROUP BY metric_id ORDER BY metric_id";
      engine(hs, hotNow, List.of(), Freshness.Source.CACHE);
    }
  }

  @Test
  void afterARestart_rowsAcknowledgedBeforeItAreReadFromTheBackend() throws Exception {
    Instant wall = Instant.now();
    Schema events =
        new Schema(
            List.of(
                Field.notNullable("ts", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
                Field.nullable("n", new ArrowType.Int(64, true))));
    try (Hyprstream first = plainTable()) {
      ingestEvents(first, events, wall.minusSeconds(30), 0, 50); // inside the cache's minute
      awaitWriteThrough(first);
    }
    try (Hyprstream restarted = plainTable()) {
      ingestEvents(restarted, events, wall.minusSeconds(10), 50, 5);
      // Bounded inside the minute, yet 50 of its rows arrived before this start: only PostgreSQL
      // has them (plain tables are not restored into the cache).
      String sql =
          "SELECT count(*), sum(n) FROM events WHERE ts >= '" + text(wall.minusSeconds(40)) + "'";
      try (Statement st = postgres.createStatement()) {
        st.execute("SET search_path TO \"" + schema + "\"");
      }
      awaitWriteThrough(restarted);
      List<List<String>> answer = engine(restarted, sql, List.of(), Freshness.Source.BACKEND);
      assertEquals(List.of(List.of("55", String.valueOf(54 * 55 / 2))), answer);
      assertEquals(postgres(sql, List.of()), answer);
    }
  }

  private Hyprstream plainTable() {
    return PostgresAvailable.writingTo(PostgresAvailable.URI, schema, allocator, dir.resolve("d"))
        .clock(() -> Instant.now().plus(offset.get()))
        .cacheDuration(Duration.ofSeconds(60))
        .timeColumn("events", "ts")
        .build();
  }

  private void ingestEvents(Hyprstream hs, Schema events, Instant first, int from, int n) {
    try (VectorSchemaRoot b = VectorSchemaRoot.create(events, allocator)) {
      b.allocateNew();
      for (int i = 0; i < n; i++) {
        ((TimeStampMicroVector) b.getVector(0))
            .setSafe(i, ChronoUnit.MICROS.between(Instant.EPOCH, first.plusMillis(100L * i)));
        ((org.apache.arrow.vector.BigIntVector) b.getVector(1)).setSafe(i, from + i);
      }
      b.setRowCount(n);
      hs.ingest("events", b);
    }
  }

  @Test
  void withoutBackend_theFreshnessNamesTheExpiredRange() throws Exception {
    Instant wall = Instant.now();
    try (Hyprstream hs =
        Hyprstream.builder()
            .allocator(allocator)
            .clock(() -> Instant.now().plus(offset.get()))
            .expiryInterval(Duration.ZERO)
            .cacheDuration(Duration.ofSeconds(60))
            .build()) {
      ingest(hs, wall.minus(Duration.ofHours(3)), Duration.ofSeconds(30), 10);
      ingest(hs, wall.minus(Duration.ofSeconds(30)), Duration.ofSeconds(1), 10);
      hs.expire();
      try (QueryResult r = hs.query("SELECT count(*) FROM metrics")) {
        assertEquals(Freshness.Source.CACHE, r.freshness().source());
        String missing = r.freshness().missing();
        assertTrue(missing != null && missing.contains("'metrics'"), String.valueOf(missing));
      }
      String hot =
          "SELECT count(*) FROM metrics WHERE timestamp >= '"
              + text(wall.minus(Duration.ofSeconds(40)))
              + "'";
      try (QueryResult r = hs.query(hot)) {
        assertNull(r.freshness().missing(), "a query inside the cache's minute misses nothing");
      }
    }
  }

  private static void awaitWriteThrough(Hyprstream hs) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (hs.operations().writeThrough().backlogBatches() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertEquals(0, hs.operations().writeThrough().backlogBatches(), "write-through drained");
  }

  private List<List<String>> engine(
      Hyprstream hs, String sql, List<Object> params, Freshness.Source expected) throws Exception {
    List<@Nullable Object> p = new ArrayList<>(params);
    try (QueryResult r = hs.query(sql, p, allocator)) {
      List<List<String>> out = new ArrayList<>();
      while (r.loadNextBatch()) {
        VectorSchemaRoot root = r.getVectorSchemaRoot();
        for (int i = 0; i < root.getRowCount(); i++) {
          List<String> row = new ArrayList<>();
          for (FieldVector v : root.getFieldVectors()) {
            row.add(canonical(v.getObject(i)));
          }
          out.add(row);
        }
      }
      assertEquals(expected, r.freshness().source(), sql);
      assertNull(r.freshness().missing(), sql);
      return out;
    }
  }

  private List<List<String>> postgres(String sql, List<Object> params) throws Exception {
    return jdbc(postgres, sql, params);
  }

  private List<List<String>> oracle(String sql, List<Object> params) throws Exception {
    return jdbc(oracle, sql, params);
  }

  private static List<List<String>> jdbc(Connection c, String sql, List<Object> params)
      throws Exception {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < params.size(); i++) {
        ps.setObject(i + 1, params.get(i));
      }
      try (ResultSet rs = ps.executeQuery()) {
        List<List<String>> out = new ArrayList<>();
        int n = rs.getMetaData().getColumnCount();
        while (rs.next()) {
          List<String> row = new ArrayList<>();
          for (int i = 1; i <= n; i++) {
            row.add(canonical(rs.getObject(i)));
          }
          out.add(row);
        }
        return out;
      }
    }
  }

  /** One text per value whatever the driver's Java type (long vs BigDecimal, Timestamp vs LDT). */
  private static String canonical(@Nullable Object o) {
    if (o == null) {
      return "NULL";
    }
    if (o instanceof Timestamp) {
      return ((Timestamp) o).toLocalDateTime().toString();
    }
    if (o instanceof java.time.OffsetDateTime) {
      return ((java.time.OffsetDateTime) o).toLocalDateTime().toString();
    }
    if (o instanceof Number) {
      return new BigDecimal(o.toString()).stripTrailingZeros().toPlainString();
    }
    return o.toString();
  }
}
