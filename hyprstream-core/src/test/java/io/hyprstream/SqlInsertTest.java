package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.testing.TestAllocator;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.arrow.vector.DateMilliVector;
import org.apache.arrow.vector.LargeVarBinaryVector;
import org.apache.arrow.vector.LargeVarCharVector;
import org.apache.arrow.vector.TimeStampMilliTZVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * SQL INSERT into ingested tables runs as an ingest: every form adds exactly its rows, the window
 * views then equal DuckDB's {@code time_bucket ... GROUP BY} over the raw rows, the running columns
 * equal window functions in arrival order, and bad rows are refused with nothing stored.
 */
final class SqlInsertTest {
  private static final Instant NOW = Instant.parse("2026-05-04T12:00:00Z");

  @RegisterExtension final TestAllocator allocator = new TestAllocator();
  private Hyprstream hs;

  @BeforeEach
  void setUp() throws Exception {
    hs =
        Hyprstream.builder()
            .allocator(allocator)
            .clock(InstantSource.fixed(NOW))
            .expiryInterval(Duration.ZERO)
            .build();
    // One ingested batch gives metrics its `seq` label column (the arrival order for the oracle).
    try (VectorSchemaRoot first =
        TestData.metrics(
            allocator,
            List.of(new TestData.Row("cpu", TestData.micros(NOW.minusSeconds(3000)), 1.0, 0)))) {
      hs.ingest("metrics", first);
    }
  }

  @AfterEach
  void tearDown() {
    hs.close();
  }

  private long execute(String sql, @Nullable Object... parameters) {
    List<@Nullable Object> p = new ArrayList<>();
    java.util.Collections.addAll(p, parameters);
    return hs.execute(sql, p);
  }

  private List<List<@Nullable Object>> rows(String sql) throws Exception {
    return TestData.rows(hs.query(sql));
  }

  private long count(String sql) throws Exception {
    return ((Number) java.util.Objects.requireNonNull(TestData.scalar(hs.query(sql)))).longValue();
  }

  /** Seconds before NOW as a timestamp literal. */
  private static String ago(long seconds) {
    return "TIMESTAMP '" + TestData.utc(TestData.micros(NOW.minusSeconds(seconds))) + "'";
  }

  @Test
  void insert_everyForm_addsExactlyItsRowsAndWindowsMatchTheOracle() throws Exception {
    // VALUES without a column list: the table's first columns in order (metric_id, timestamp,
    // value), several rows.
    assertEquals(
        2,
        execute(
            "INSERT INTO metrics VALUES ('cpu', "
                + ago(2990)
                + ", 2.5), ('mem', "
                + ago(2980)
                + ", 40)"));
    // A column list in another order, the label included, a quoted and schema-qualified name and
    // comments around it.
    assertEquals(
        2,
        execute(
            "/* by hand */ INSERT INTO \"main\".\"metrics\" (value, seq, \"metric_id\", timestamp)"
                + " -- two rows\n VALUES (3.5, 1, 'cpu', "
                + ago(2970)
                + "), ('7', 2, 'mem', '"
                + TestData.utc(TestData.micros(NOW.minusSeconds(2960)))
                + "');"));
    // Parameters, and the catalog-qualified name.
    assertEquals(
        1,
        execute(
            "INSERT INTO memory.main.metrics (metric_id, timestamp, value, seq) VALUES (?, ?, ?, ?)",
            "disk",
            NOW.minusSeconds(2950),
            12.25,
            3));
    // INSERT ... SELECT from a table created by SQL, with a CTE inside and before the INSERT.
    execute("CREATE TABLE staging (host VARCHAR, seen TIMESTAMP, reading DOUBLE, n BIGINT)");
    assertEquals(
        3,
        execute(
            "INSERT INTO staging VALUES ('cpu', "
                + ago(1800)
                + ", 5, 4), ('mem', "
                + ago(1700)
                + ", 6, 5), ('cpu', "
                + ago(600)
                + ", NULL, 6)"));
    assertEquals(
        3,
        execute(
            "INSERT INTO metrics (metric_id, timestamp, value, seq) SELECT host, seen, reading, n"
                + " FROM staging ORDER BY n"));
    assertEquals(
        2,
        execute(
            "WITH recent AS (SELECT * FROM staging WHERE reading IS NOT NULL) INSERT INTO metrics"
                + " (metric_id, timestamp, value, seq) SELECT host || '_x', seen, reading * 2, n + 10"
                + " FROM recent ORDER BY n"));
    assertEquals(
        3,
        execute(
            "INSERT INTO metrics (metric_id, timestamp, value, seq) WITH s AS (SELECT * FROM"
                + " staging) SELECT 'net', seen + INTERVAL 1 MINUTE, n * 1.5, n + 20 FROM s ORDER BY"
                + " n"));
    // BY NAME: the source's column names pick the columns.
    assertEquals(
        1,
        execute(
            "INSERT INTO metrics BY NAME SELECT 31 AS seq, 0.5 AS value, "
                + ago(100)
                + " AS timestamp, 'gpu' AS metric_id"));
    // The source may read the table itself.
    assertEquals(
        2,
        execute(
            "INSERT INTO metrics (metric_id, timestamp, value, seq) SELECT metric_id || '_copy',"
                + " timestamp, value, seq + 100 FROM metrics WHERE metric_id = 'mem' AND seq IS NOT"
                + " NULL ORDER BY seq"));

    assertEquals(1 + 2 + 2 + 1 + 3 + 2 + 3 + 1 + 2, count("SELECT count(*) FROM metrics"));
    assertEquals(
        List.of(List.of("cpu", 3L, 9.5)),
        rows(
            "SELECT metric_id, count(value), sum(value)::DOUBLE FROM metrics WHERE metric_id ="
                + " 'cpu' AND seq IS NOT NULL AND seq < 7 GROUP BY metric_id"));
    assertWindowsMatchOracle();
  }

  @Test
  void insert_runningColumns_equalWindowFunctionsInArrivalOrder() throws Exception {
    StringBuilder values = new StringBuilder();
    for (int i = 1; i <= 40; i++) {
      values
          .append(i == 1 ? "" : ", ")
          .append("('m")
          .append(i % 3)
          .append("', ")
          .append(ago(3000 - i * 37L))
          .append(", ")
          .append(i % 7 == 0 ? "NULL" : Double.toString(i * 1.25))
          .append(", ")
          .append(i)
          .append(')');
    }
    assertEquals(
        40, execute("INSERT INTO metrics (metric_id, timestamp, value, seq) VALUES " + values));
    String w =
        "PARTITION BY metric_id, time_bucket(INTERVAL '5 minutes', timestamp) ORDER BY seq ROWS"
            + " BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW";
    List<List<@Nullable Object>> result =
        rows(
            "SELECT seq, value_running_window_sum, value_running_window_count, SUM(value) OVER ("
                + w
                + "), COUNT(value) OVER ("
                + w
                + ") FROM metrics ORDER BY seq");
    assertEquals(41, result.size());
    for (List<@Nullable Object> r : result) {
      assertEquals(r.get(3), r.get(1), "running sum of seq " + r.get(0));
      assertEquals(r.get(4), r.get(2), "running count of seq " + r.get(0));
    }
    assertWindowsMatchOracle();
  }

  @Test
  void insert_badRows_areRefusedNamingTheColumnAndStoreNothing() throws Exception {
    List<List<@Nullable Object>> before = rows("SELECT * FROM metrics ORDER BY seq");
    List<List<@Nullable Object>> windowsBefore = rows("SELECT * FROM metrics_5m ORDER BY 1, 2");

    SchemaMismatchException nullId =
        assertThrows(
            SchemaMismatchException.class,
            () ->
                execute(
                    "INSERT INTO metrics VALUES ('cpu', "
                        + ago(10)
                        + ", 1), (NULL, "
                        + ago(5)
                        + ", 2)"));
    assertEquals("metric_id", nullId.column());
    assertTrue(nullId.getMessage().contains("must not be null"), nullId.getMessage());

    SchemaMismatchException notDouble =
        assertThrows(
            SchemaMismatchException.class,
            () ->
                execute(
                    "INSERT INTO metrics VALUES ('cpu', "
                        + ago(10)
                        + ", 1.5), ('cpu', "
                        + ago(5)
                        + ", 'abc')"));
    assertEquals("value", notDouble.column());
    assertTrue(notDouble.getMessage().contains("abc"), notDouble.getMessage());

    SchemaMismatchException notTime =
        assertThrows(
            SchemaMismatchException.class,
            () -> execute("INSERT INTO metrics (metric_id, timestamp) VALUES ('cpu', 'soon')"));
    assertEquals("timestamp", notTime.column());

    SchemaMismatchException unknown =
        assertThrows(
            SchemaMismatchException.class,
            () ->
                execute(
                    "INSERT INTO metrics (metric_id, timestamp, valeu) VALUES ('a', now(), 1)"));
    assertEquals("valeu", unknown.column());
    assertTrue(unknown.getMessage().contains("no such column"), unknown.getMessage());

    QueryRejectedException tooMany =
        assertThrows(
            QueryRejectedException.class,
            () -> execute("INSERT INTO metrics (metric_id, timestamp) VALUES ('a', now(), 1)"));
    assertTrue(tooMany.getMessage().contains("metrics"), tooMany.getMessage());

    assertEquals(before, rows("SELECT * FROM metrics ORDER BY seq"));
    assertEquals(windowsBefore, rows("SELECT * FROM metrics_5m ORDER BY 1, 2"));
  }

  @Test
  void insert_clausesBeyondAddingRows_areRefusedWithTheReason() throws Exception {
    for (String sql :
        List.of(
            "INSERT INTO metrics VALUES ('a', now(), 1) ON CONFLICT DO NOTHING",
            "INSERT INTO metrics VALUES ('a', now(), 1) RETURNING *",
            "INSERT OR REPLACE INTO metrics VALUES ('a', now(), 1)",
            "INSERT INTO metrics DEFAULT VALUES")) {
      QueryRejectedException e =
          assertThrows(QueryRejectedException.class, () -> execute(sql), sql);
      assertTrue(e.getMessage().contains("is not supported for 'metrics'"), e.getMessage());
    }
    QueryRejectedException two =
        assertThrows(
            QueryRejectedException.class,
            () -> execute("INSERT INTO metrics VALUES ('a', now(), 1); DROP TABLE staging"));
    assertTrue(two.getMessage().contains("one statement at a time"), two.getMessage());
    for (String sql :
        List.of(
            "UPDATE metrics SET value = 0",
            "-- sneaky\nDELETE FROM main.metrics",
            "UPDATE \"main\".\"metrics\" SET value = 0",
            "MERGE INTO metrics USING (SELECT 'cpu' AS id) s ON metric_id = s.id WHEN MATCHED THEN"
                + " DELETE",
            "WITH s AS (SELECT 1 AS x) UPDATE metrics SET value = 0 WHERE value IN (SELECT x FROM"
                + " s)",
            "WITH s AS (SELECT 'cpu' AS id) DELETE FROM metrics WHERE metric_id IN (SELECT id FROM"
                + " s)")) {
      QueryRejectedException e =
          assertThrows(QueryRejectedException.class, () -> execute(sql), sql);
      assertTrue(e.getMessage().contains("window aggregates"), e.getMessage());
    }
    for (String sql :
        List.of(
            "INSERT INTO metrics VALUES ('a', now(), 1) RETURNING *",
            "INSERT INTO metrics VALUES ('a', now(), 1)",
            "DELETE FROM metrics RETURNING *",
            "WITH s AS (SELECT 1) DELETE FROM metrics_5m RETURNING *")) {
      QueryRejectedException e =
          assertThrows(QueryRejectedException.class, () -> hs.query(sql).close(), sql);
      assertTrue(e.getMessage().contains("run it as a statement"), e.getMessage());
    }
    assertEquals(1, count("SELECT count(*) FROM metrics"));
  }

  @Test
  void insert_intoTableIngestCreated_goesThroughIngest() throws Exception {
    try (VectorSchemaRoot b =
        TestData.metrics(allocator, List.of(new TestData.Row("x", TestData.micros(NOW), 1.0, 1)))) {
      hs.ingest("events", b);
    }
    assertEquals(
        2, execute("INSERT INTO events VALUES ('y', " + ago(1) + ", 2, 2), ('z', now(), 3, 3)"));
    SchemaMismatchException e =
        assertThrows(
            SchemaMismatchException.class,
            () -> execute("INSERT INTO events (metric_id, seq) VALUES ('q', 'not a number')"));
    assertEquals("seq", e.column());
    assertEquals(
        List.of(List.of("x", 1L), List.of("y", 2L), List.of("z", 3L)),
        rows("SELECT metric_id, seq FROM events ORDER BY seq"));
  }

  @Test
  void insert_intoTableOfTypesDuckDbWidens_convertsBackToTheIngestedTypes() throws Exception {
    Schema schema =
        new Schema(
            List.of(
                Field.nullable("name", new ArrowType.LargeUtf8()),
                Field.nullable("at", new ArrowType.Timestamp(TimeUnit.MILLISECOND, "UTC")),
                Field.nullable("day", new ArrowType.Date(DateUnit.MILLISECOND)),
                Field.nullable("blob", new ArrowType.LargeBinary())));
    try (VectorSchemaRoot b = VectorSchemaRoot.create(schema, allocator)) {
      b.allocateNew();
      ((LargeVarCharVector) b.getVector(0)).setSafe(0, "first".getBytes(StandardCharsets.UTF_8));
      ((TimeStampMilliTZVector) b.getVector(1)).setSafe(0, NOW.toEpochMilli());
      ((DateMilliVector) b.getVector(2)).setSafe(0, 86_400_000L * 20_000);
      ((LargeVarBinaryVector) b.getVector(3)).setSafe(0, new byte[] {1, 2});
      b.setRowCount(1);
      hs.ingest("wide", b);
    }
    assertEquals(
        2,
        execute(
            "INSERT INTO wide VALUES ('second', TIMESTAMPTZ '2026-05-04 12:00:01.5+00', DATE"
                + " '2024-10-03', '\\x03'::BLOB), (NULL, NULL, NULL, NULL)"));
    assertEquals(
        List.of(
            List.of("first", 1_777_896_000_000_000L, 20_000, 2L),
            List.of(
                "second",
                1_777_896_001_500_000L,
                (int) LocalDate.of(2024, 10, 3).toEpochDay(),
                1L)),
        rows(
            "SELECT name, epoch_us(\"at\"), day, octet_length(blob) FROM wide WHERE name IS NOT NULL"
                + " ORDER BY \"at\""));
    assertEquals(3, count("SELECT count(*) FROM wide"));
  }

  @Test
  void insert_omittingTheValue_storesNullLikeSql() throws Exception {
    assertEquals(
        1, execute("INSERT INTO metrics (metric_id, timestamp) VALUES ('cpu', " + ago(60) + ")"));
    assertEquals(
        List.of(Arrays.asList("cpu", null, 0L)),
        rows(
            "SELECT metric_id, value, value_running_window_count FROM metrics WHERE timestamp = "
                + ago(60)));
    assertWindowsMatchOracle();
  }

  @Test
  void insert_fromSeveralThreadsAlongsideIngest_losesAndDoublesNothing() throws Exception {
    int threads = 4;
    int statements = 25;
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(threads + 1);
    try {
      List<java.util.concurrent.Future<Long>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        done.add(
            pool.submit(
                () -> {
                  long n = 0;
                  for (int i = 0; i < statements; i++) {
                    n +=
                        execute(
                            "INSERT INTO metrics (metric_id, timestamp, value) SELECT 't"
                                + thread
                                + "', "
                                + ago(2000 - i * 10L)
                                + " + r * INTERVAL 1 SECOND, r FROM range(10) x(r)");
                  }
                  return n;
                }));
      }
      done.add(
          pool.submit(
              () -> {
                for (int i = 0; i < statements; i++) {
                  try (VectorSchemaRoot b =
                      TestData.metrics(
                          allocator,
                          List.of(
                              new TestData.Row(
                                  "ingested",
                                  TestData.micros(NOW.minusSeconds(1500 - i)),
                                  1.0,
                                  i)))) {
                    hs.ingest("metrics", b);
                  }
                }
                return (long) statements;
              }));
      long total = 0;
      for (java.util.concurrent.Future<Long> f : done) {
        total += f.get(60, java.util.concurrent.TimeUnit.SECONDS);
      }
      assertEquals(threads * statements * 10L + statements, total);
      assertEquals(1 + total, count("SELECT count(*) FROM metrics"));
    } finally {
      pool.shutdownNow();
    }
    assertWindowsMatchOracle();
  }

  /** Every default window view equals DuckDB's time_bucket GROUP BY over the raw rows. */
  private void assertWindowsMatchOracle() throws Exception {
    for (WindowSpec w : WindowSpec.DEFAULTS) {
      String interval = "INTERVAL '" + w.size().toSeconds() + " seconds'";
      String bucket = "time_bucket(" + interval + ", timestamp)";
      String oracle =
          "SELECT metric_id, "
              + bucket
              + " AS ws, COUNT(value), SUM(value), MIN(value), MAX(value) FROM metrics GROUP BY"
              + " metric_id, ws ORDER BY metric_id, ws";
      String view =
          "SELECT metric_id, window_start, value_count, value_sum, value_min, value_max FROM"
              + " metrics_"
              + w.name()
              + " ORDER BY metric_id, window_start";
      List<List<@Nullable Object>> expected = rows(oracle);
      List<List<@Nullable Object>> actual = rows(view);
      assertEquals(expected.size(), actual.size(), "window count of metrics_" + w.name());
      for (int i = 0; i < expected.size(); i++) {
        List<@Nullable Object> e = expected.get(i);
        List<@Nullable Object> a = actual.get(i);
        assertEquals(e.get(0), a.get(0));
        assertEquals(e.get(1), a.get(1), "window_start of " + e);
        assertEquals(e.get(2), a.get(2), "count of " + e);
        for (int c = 3; c < 6; c++) {
          Object ev = e.get(c);
          Object av = a.get(c);
          if (ev == null || av == null) {
            assertEquals(ev, av, "column " + c + " of " + e);
          } else {
            assertEquals(
                ((Number) ev).doubleValue(),
                ((Number) av).doubleValue(),
                1e-9,
                "column " + c + " of " + e);
          }
        }
      }
    }
  }
}
