package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.WindowSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;

/**
 * The oracle the window tests share: DuckDB's {@code time_bucket ... GROUP BY} over a table's raw
 * rows ({@code metric_id}, {@code timestamp}, {@code value}), and the view query whose rows must
 * equal it, column for column.
 */
final class WindowOracle {
  private WindowOracle() {}

  /** The rows of {@code table}'s view of {@code w}, in the oracle's columns and order. */
  static String viewRows(String table, WindowSpec w) {
    return "SELECT metric_id, window_start, value_count, value_sum, value_avg, value_min,"
        + " value_max, value_stddev, value_slope, value_intercept FROM "
        + table
        + "_"
        + w.name()
        + " ORDER BY metric_id, window_start";
  }

  /**
   * DuckDB computing the view of {@code w} over {@code table}'s raw rows: the windows that end
   * after {@code retainedAfter} (every window when null).
   */
  static String timeBucketGroupBy(String table, WindowSpec w, @Nullable Instant retainedAfter) {
    String interval = interval(w);
    String bucket = "time_bucket(" + interval + ", timestamp)";
    String x = "(epoch_us(timestamp) - epoch_us(" + bucket + ")) / 1e6";
    String having =
        retainedAfter == null
            ? ""
            : " HAVING ws + "
                + interval
                + " > TIMESTAMP '"
                + TestData.utc(TestData.micros(retainedAfter))
                + "'";
    return "SELECT metric_id, "
        + bucket
        + " AS ws, COUNT(value), SUM(value), AVG(value), MIN(value), MAX(value),"
        + " STDDEV_SAMP(value), REGR_SLOPE(value, "
        + x
        + "), REGR_INTERCEPT(value, "
        + x
        + ") FROM "
        + table
        + " GROUP BY metric_id, ws"
        + having
        + " ORDER BY metric_id, ws";
  }

  /**
   * Each default window view of {@code metrics} through {@code hs} equals DuckDB's {@code
   * time_bucket ... GROUP BY} over {@code sent}, each row once, in an instance of its own whose
   * clock reads {@code now} (the windows {@code hs} still retains then).
   */
  static void assertMetricsWindowsOver(
      Hyprstream hs, List<TestData.Row> sent, Instant now, BufferAllocator allocator)
      throws Exception {
    try (Hyprstream sentOnce =
        Hyprstream.builder()
            .allocator(allocator)
            .clock(InstantSource.fixed(now))
            .cacheDuration(Duration.ofDays(30))
            .expiryInterval(Duration.ZERO)
            .build()) {
      try (VectorSchemaRoot batch = TestData.metrics(allocator, sent)) {
        sentOnce.ingest("metrics", batch);
      }
      for (WindowSpec w : WindowSpec.DEFAULTS) {
        List<List<@Nullable Object>> expected =
            TestData.rows(
                sentOnce.query(timeBucketGroupBy("metrics", w, now.minus(w.retention()))));
        assertTrue(expected.size() > 1, "the oracle found windows for " + w.name());
        assertRowsClose(
            expected,
            TestData.rows(hs.query(viewRows("metrics", w))),
            "metrics_" + w.name() + " vs time_bucket over the rows sent once");
      }
    }
  }

  /** {@code w}'s width as a DuckDB interval literal. */
  static String interval(WindowSpec w) {
    return "INTERVAL '" + w.size().getSeconds() + " seconds'";
  }

  /** Row by row, as {@link #assertRowClose}. */
  static void assertRowsClose(
      List<List<@Nullable Object>> expected, List<List<@Nullable Object>> actual, String where) {
    assertEquals(expected.size(), actual.size(), where + ": row count");
    for (int i = 0; i < expected.size(); i++) {
      assertRowClose(expected.get(i), actual.get(i), where + " row " + i);
    }
  }

  /**
   * Equal columns, doubles within a relative 1e-9, or 1e-6 from the eighth column on (standard
   * deviation and trend, which we compute from co-moments and DuckDB from sums).
   */
  static void assertRowClose(
      List<@Nullable Object> expected, List<@Nullable Object> actual, String where) {
    assertEquals(expected.size(), actual.size(), where + ": column count");
    for (int c = 0; c < expected.size(); c++) {
      Object e = expected.get(c);
      Object a = actual.get(c);
      if (e instanceof Double && ((Double) e).isNaN()) {
        // DuckDB's REGR_SLOPE/REGR_INTERCEPT give NaN when x does not vary (one value); we follow
        // the SQL standard (and PostgreSQL) with NULL.
        e = null;
      }
      if (e instanceof Double || a instanceof Double) {
        double tolerance = c >= 7 ? 1e-6 : 1e-9;
        assertDoubleClose(e, a, tolerance, where + " column " + c);
      } else {
        assertEquals(e, a, where + " column " + c);
      }
    }
  }

  static void assertDoubleClose(
      @Nullable Object expected, @Nullable Object actual, double rel, String where) {
    if (expected == null || actual == null) {
      assertEquals(expected, actual, where);
      return;
    }
    double e = ((Number) expected).doubleValue();
    double a = ((Number) actual).doubleValue();
    double scale = Math.max(1.0, Math.max(Math.abs(e), Math.abs(a)));
    assertTrue(Math.abs(e - a) <= rel * scale, where + ": expected " + e + " but was " + a);
  }
}
