package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.IngestResult;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.testing.TestAllocator;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Window views and running columns checked against DuckDB computing the same over the raw rows:
 * {@code time_bucket ... GROUP BY} for the views, window functions in arrival order for the running
 * columns.
 */
final class WindowOracleTest {
  private static final Instant END = Instant.parse("2026-03-11T08:00:00Z");
  private static final int METRICS = 60;
  private static final long DAY_MICROS = 86_400_000_000L;

  @RegisterExtension final TestAllocator allocator = new TestAllocator();

  /** 10 days of random rows for 60 metrics, ~2% null values, shuffled 10% out of order. */
  private static List<TestData.Row> randomRows(long seed, int count) {
    return randomRows(seed, count, METRICS, 10);
  }

  /**
   * {@code days} days of random rows for {@code metrics} metrics, ~2% null values, shuffled 10% out
   * of order.
   */
  private static List<TestData.Row> randomRows(long seed, int count, int metrics, int days) {
    Random random = new Random(seed);
    long endMicros = TestData.micros(END);
    List<TestData.Row> rows = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      long t = endMicros - (long) (random.nextDouble() * days * DAY_MICROS);
      String id = "m" + random.nextInt(metrics);
      Double v = random.nextInt(50) == 0 ? null : Math.round(random.nextGaussian() * 1000) / 10.0;
      rows.add(new TestData.Row(id, t, v, 0));
    }
    rows.sort((a, b) -> Long.compare(a.micros, b.micros));
    for (int i = 0; i < count / 10; i++) { // displace 10% of rows
      int a = random.nextInt(count);
      int b = Math.max(0, a - random.nextInt(5000));
      Collections.swap(rows, a, b);
    }
    List<TestData.Row> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      TestData.Row r = rows.get(i);
      out.add(new TestData.Row(r.id, r.micros, r.value, i));
    }
    return out;
  }

  /**
   * Asserts that view {@code w} of {@code metrics} equals DuckDB's {@code time_bucket ... GROUP BY}
   * over the raw rows within its retention; returns the number of windows.
   */
  private static int assertViewEqualsOracle(Hyprstream hs, WindowSpec w) throws Exception {
    String oracle =
        WindowOracle.timeBucketGroupBy("metrics", w, END.plusSeconds(60).minus(w.retention()));
    List<List<@Nullable Object>> expected = TestData.rows(hs.query(oracle));
    List<List<@Nullable Object>> actual =
        TestData.rows(hs.query(WindowOracle.viewRows("metrics", w)));
    assertEquals(expected.size(), actual.size(), "window count of metrics_" + w.name());
    for (int i = 0; i < expected.size(); i++) {
      WindowOracle.assertRowClose(
          expected.get(i), actual.get(i), "metrics_" + w.name() + " row " + i);
    }
    return expected.size();
  }

  /** An instance one minute after {@link #END}, caching 30 days, without expiry. */
  private Hyprstream thirtyDayInstance() {
    return Hyprstream.builder()
        .allocator(allocator)
        .clock(fixedClock(END.plusSeconds(60)))
        .cacheDuration(Duration.ofDays(30))
        .expiryInterval(Duration.ZERO)
        .build();
  }

  private IngestResult ingestAll(Hyprstream hs, List<TestData.Row> rows, int batchRows) {
    IngestResult total = IngestResult.of(0);
    for (int from = 0; from < rows.size(); from += batchRows) {
      try (VectorSchemaRoot batch =
          TestData.metrics(
              allocator, rows.subList(from, Math.min(rows.size(), from + batchRows)))) {
        total = total.plus(hs.ingest("metrics", batch));
      }
      if ((from / batchRows) % 4 == 3) {
        // Sync the views part-way, so later batches update windows DuckDB already holds.
        for (WindowSpec w : WindowSpec.DEFAULTS) {
          try (var r = hs.query("SELECT count(*) FROM metrics_" + w.name())) {
            r.loadNextBatch();
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        }
      }
    }
    return total;
  }

  @Test
  void windowViews_matchTimeBucketGroupByOverRawRows() throws Exception {
    List<TestData.Row> rows = randomRows(42, 60_000);
    try (Hyprstream hs = thirtyDayInstance()) {
      IngestResult result = ingestAll(hs, rows, 4096);
      assertEquals(rows.size(), result.rowsAccepted());
      assertEquals(0, result.rowsTooLate(), "every row is inside the 1w window's retention");

      for (WindowSpec w : WindowSpec.DEFAULTS) {
        int windows = assertViewEqualsOracle(hs, w);
        assertTrue(windows > METRICS, "oracle found windows for " + w.name());
        List<List<@Nullable Object>> ends =
            TestData.rows(
                hs.query(
                    "SELECT count(*) FROM metrics_"
                        + w.name()
                        + " WHERE window_end <> window_start + "
                        + WindowOracle.interval(w)));
        assertEquals(0L, ends.get(0).get(0), "window_end = window_start + size");
      }
    }
  }

  /**
   * NaN and infinities are values, not missing ones: the windows' count, sum, avg, min and max over
   * them equal DuckDB's over the same rows (NaN sorts above every number there, so it is the max).
   */
  @Test
  void nonFiniteValues_windowsMatchTimeBucketGroupBy() throws Exception {
    long endMicros = TestData.micros(END);
    List<TestData.Row> rows = new ArrayList<>();
    double[] special = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};
    for (int i = 0; i < 600; i++) {
      String id = "m" + i % 6;
      Double v = i % 6 < 3 && i % 7 == 0 ? special[i % 6] : (double) (i % 13);
      rows.add(new TestData.Row(id, endMicros - (600 - i) * 1_000_000L, v, i));
    }
    try (Hyprstream hs = thirtyDayInstance()) {
      ingestAll(hs, rows, 100);
      for (WindowSpec w : WindowSpec.DEFAULTS) {
        String bucket = "time_bucket(" + WindowOracle.interval(w) + ", timestamp)";
        List<List<@Nullable Object>> expected =
            TestData.rows(
                hs.query(
                    "SELECT metric_id, "
                        + bucket
                        + " AS ws, COUNT(value), SUM(value), AVG(value), MIN(value), MAX(value)"
                        + " FROM metrics GROUP BY metric_id, ws ORDER BY metric_id, ws"));
        List<List<@Nullable Object>> actual =
            TestData.rows(
                hs.query(
                    "SELECT metric_id, window_start, value_count, value_sum, value_avg,"
                        + " value_min, value_max FROM metrics_"
                        + w.name()
                        + " ORDER BY metric_id, window_start"));
        assertEquals(expected, actual, "metrics_" + w.name() + " with NaN and infinities");
      }
    }
  }

  /**
   * Dense rows: about 9 rows per (metric, 5-minute window) in each batch, so the aggregator sums a
   * batch per 5-minute pane and merges panes into the larger windows (not one row at a time). Half
   * the rows are older than the 5-minute retention and reach the larger windows only. The views
   * equal {@code time_bucket ... GROUP BY}, and the running columns DuckDB's window functions.
   */
  @Test
  void denseRows_panesMergedIntoEveryWindow_matchDuckDb() throws Exception {
    List<TestData.Row> rows = randomRows(11, 40_000, 8, 2);
    try (Hyprstream hs = thirtyDayInstance()) {
      IngestResult result = ingestAll(hs, rows, 4096);
      assertEquals(0, result.rowsTooLate());
      for (WindowSpec w : WindowSpec.DEFAULTS) {
        assertViewEqualsOracle(hs, w);
      }
      String fiveMinutes =
          "PARTITION BY metric_id, time_bucket(INTERVAL '5 minutes', timestamp) ORDER BY seq"
              + " ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW";
      // The 5m windows kept: from the one holding now - 1 day (5m's retention) on.
      long kept = TestData.micros(END.plusSeconds(60).minus(Duration.ofDays(1)));
      List<List<@Nullable Object>> running =
          TestData.rows(
              hs.query(
                  "SELECT seq, value_running_window_sum, value_running_window_count,"
                      + " SUM(value) OVER ("
                      + fiveMinutes
                      + "), COUNT(value) OVER ("
                      + fiveMinutes
                      + "), time_bucket(INTERVAL '5 minutes', timestamp)"
                      + " >= time_bucket(INTERVAL '5 minutes', make_timestamp("
                      + kept
                      + ")) FROM metrics ORDER BY seq"));
      assertEquals(rows.size(), running.size());
      long withRunning = 0;
      for (List<@Nullable Object> r : running) {
        String where = "row seq=" + r.get(0);
        if (Boolean.TRUE.equals(r.get(5))) {
          withRunning++;
          WindowOracle.assertDoubleClose(r.get(3), r.get(1), 1e-9, where + " running sum");
          assertEquals(r.get(4), r.get(2), where + " running count");
        } else {
          assertEquals(null, r.get(2), where + ": its 5m window is past retention");
        }
      }
      assertTrue(withRunning > rows.size() / 4, "rows inside the 5m retention: " + withRunning);
    }
  }

  @Test
  void runningColumns_matchWindowFunctionsInArrivalOrder() throws Exception {
    List<TestData.Row> rows = randomRows(7, 30_000);
    List<WindowSpec> windows = new ArrayList<>();
    for (WindowSpec w : WindowSpec.DEFAULTS) {
      windows.add(w.withRetention(Duration.ofDays(400).plus(w.size())));
    }
    try (Hyprstream hs =
        Hyprstream.builder()
            .allocator(allocator)
            .clock(fixedClock(END.plusSeconds(60)))
            .cacheDuration(Duration.ofDays(30))
            .expiryInterval(Duration.ZERO)
            .metricsWindows(windows)
            .build()) {
      ingestAll(hs, rows, 777);
      String w =
          "PARTITION BY metric_id, time_bucket(INTERVAL '5 minutes', timestamp) ORDER BY seq"
              + " ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW";
      List<List<@Nullable Object>> result =
          TestData.rows(
              hs.query(
                  "SELECT seq, value_running_window_sum, value_running_window_avg,"
                      + " value_running_window_count, SUM(value) OVER ("
                      + w
                      + "), AVG(value) OVER ("
                      + w
                      + "), COUNT(value) OVER ("
                      + w
                      + ") FROM metrics ORDER BY seq"));
      assertEquals(rows.size(), result.size());
      for (List<@Nullable Object> r : result) {
        String where = "row seq=" + r.get(0);
        WindowOracle.assertDoubleClose(r.get(4), r.get(1), 1e-9, where + " running sum");
        WindowOracle.assertDoubleClose(r.get(5), r.get(2), 1e-9, where + " running avg");
        assertEquals(r.get(6), r.get(3), where + " running count");
      }
    }
  }

  @Test
  void windowLookup_fastPathEqualsDuckDbAnswer() throws Exception {
    List<TestData.Row> rows = randomRows(99, 20_000);
    try (Hyprstream hs =
        Hyprstream.builder()
            .allocator(allocator)
            .clock(fixedClock(END.plusSeconds(60)))
            .expiryInterval(Duration.ZERO)
            .build()) {
      ingestAll(hs, rows, 3000);
      Random random = new Random(3);
      List<String> shapes =
          List.of(
              "SELECT * FROM metrics_1h WHERE metric_id = ? ORDER BY window_start DESC LIMIT 24",
              "SELECT * FROM metrics_5m WHERE metric_id = ? ORDER BY window_start",
              "select window_start, value_avg from metrics_30m where metric_id = ?"
                  + " and window_start >= ? order by window_start desc limit 5",
              "SELECT * FROM metrics_1d WHERE metric_id = ? AND window_start < ?"
                  + " ORDER BY window_start ASC LIMIT 3",
              "SELECT value_count FROM metrics_1w WHERE metric_id = ?");
      for (int i = 0; i < 200; i++) {
        String sql = shapes.get(i % shapes.size());
        List<@Nullable Object> params = new ArrayList<>();
        params.add("m" + random.nextInt(METRICS + 2)); // includes ids that do not exist
        if (sql.contains("window_start >= ?") || sql.contains("window_start < ?")) {
          params.add(
              TestData.utc(TestData.micros(END) - (long) (random.nextDouble() * 10 * DAY_MICROS)));
        }
        List<List<@Nullable Object>> fast = TestData.rows(hs.query(sql, params, allocator));
        // The same statement wrapped in a subquery is not a recognised lookup: DuckDB answers it.
        List<List<@Nullable Object>> duck =
            TestData.rows(hs.query("SELECT * FROM (" + sql + ") q", params, allocator));
        if (!sql.toUpperCase(java.util.Locale.ROOT).contains("ORDER BY")) {
          java.util.Comparator<List<@Nullable Object>> byText =
              java.util.Comparator.comparing(Object::toString);
          duck.sort(byText);
          fast.sort(byText);
        }
        assertEquals(duck.size(), fast.size(), sql + " " + params);
        for (int r = 0; r < duck.size(); r++) {
          WindowOracle.assertRowClose(duck.get(r), fast.get(r), sql + " row " + r);
        }
      }
      // Same schema both ways: clients cannot tell which path answered.
      try (var fast =
              hs.query("SELECT * FROM metrics_1h WHERE metric_id = 'm1' ORDER BY window_start");
          var duck =
              hs.query("SELECT * FROM (SELECT * FROM metrics_1h WHERE metric_id = 'm1') q")) {
        assertEquals(
            duck.getVectorSchemaRoot().getSchema(), fast.getVectorSchemaRoot().getSchema());
      }
    }
  }

  private static java.time.InstantSource fixedClock(Instant at) {
    return java.time.InstantSource.fixed(at);
  }
}
