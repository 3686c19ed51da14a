package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.duckdb.DuckDbCacheStore;
import io.hyprstream.testing.TestAllocator;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.BooleanSupplier;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The window views' DuckDB tables are kept current in the background, so the first query naming a
 * view does not pay a copy of every window; and a copy that fails loses no window.
 */
final class ViewSyncTest {
  private static final Instant END = Instant.parse("2026-03-11T08:00:00Z");
  private static final InstantSource CLOCK = InstantSource.fixed(END.plusSeconds(60));
  private static final List<WindowSpec> WINDOWS =
      List.of(
          WindowSpec.tumbling(Duration.ofMinutes(1)).withRetention(Duration.ofDays(30)),
          WindowSpec.tumbling(Duration.ofHours(1)).withRetention(Duration.ofDays(30)));
  private static final Duration PATIENCE = Duration.ofSeconds(20);

  @RegisterExtension final TestAllocator allocator = new TestAllocator();
  private CountingCacheStore cache;

  private Hyprstream open() {
    return Hyprstream.builder()
        .allocator(allocator)
        .clock(CLOCK)
        .cacheDuration(Duration.ofDays(30))
        .expiryInterval(Duration.ZERO)
        .aggregate(
            AggregationSpec.builder("readings")
                .timeColumn("timestamp")
                .keyColumns("metric_id")
                .valueColumns("value")
                .windows(WINDOWS)
                .build())
        .cacheStore(alloc -> cache = new CountingCacheStore(DuckDbCacheStore.open(null, alloc)))
        .build();
  }

  /** {@code count} rows over the 3 days before END for 30 series, in random order. */
  private static List<TestData.Row> rows(long seed, int count) {
    Random random = new Random(seed);
    long end = TestData.micros(END);
    List<TestData.Row> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      long t = end - (long) (random.nextDouble() * 3 * 86_400_000_000L);
      out.add(new TestData.Row("s" + random.nextInt(30), t, random.nextGaussian(), i));
    }
    return out;
  }

  private void ingest(Hyprstream hs, List<TestData.Row> rows) {
    for (int from = 0; from < rows.size(); from += 2000) {
      try (VectorSchemaRoot b =
          TestData.metrics(allocator, rows.subList(from, Math.min(rows.size(), from + 2000)))) {
        hs.ingest("readings", b);
      }
    }
  }

  /** Rows in {@code table} as DuckDB holds it, read past the engine (no sync on the way). */
  private long rowsInCacheTable(String table) throws Exception {
    return ((Number)
            TestData.scalar(cache.query("SELECT count(*) FROM " + table, List.of(), allocator)))
        .longValue();
  }

  /** Windows the raw rows fall in; a query on the raw table syncs no view. */
  private static long windowsOf(Hyprstream hs, WindowSpec w) throws Exception {
    return ((Number)
            TestData.scalar(
                hs.query(
                    "SELECT count(DISTINCT (metric_id, time_bucket("
                        + WindowOracle.interval(w)
                        + ", timestamp))) FROM readings")))
        .longValue();
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, what + " within " + PATIENCE);
      Thread.sleep(20);
    }
  }

  private boolean holds(String table, long rows) {
    try {
      return rowsInCacheTable(table) == rows;
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void viewTablesFillWithoutAQuery_andTheFirstQueryCopiesNothing() throws Exception {
    try (Hyprstream hs = open()) {
      ingest(hs, rows(5, 30_000));
      for (WindowSpec w : WINDOWS) {
        String view = "readings_" + w.name();
        long windows = windowsOf(hs, w);
        assertTrue(windows > 100, "the rows fall in many windows of " + w.name());
        await(() -> holds(view, windows), view + " holds every window before any query names it");
      }
      long[] copiedBefore = new long[WINDOWS.size()];
      for (int i = 0; i < WINDOWS.size(); i++) {
        copiedBefore[i] = cache.upsertedRows("readings_" + WINDOWS.get(i).name());
      }
      for (int i = 0; i < WINDOWS.size(); i++) {
        WindowSpec w = WINDOWS.get(i);
        List<List<@Nullable Object>> view =
            TestData.rows(hs.query(WindowOracle.viewRows("readings", w)));
        assertEquals(
            copiedBefore[i],
            cache.upsertedRows("readings_" + w.name()),
            "the first query of readings_" + w.name() + " copied no window");
        WindowOracle.assertRowsClose(
            TestData.rows(hs.query(WindowOracle.timeBucketGroupBy("readings", w, null))),
            view,
            "readings_" + w.name() + " vs time_bucket");
      }
    }
  }

  @Test
  void failedCopy_isRepeatedWithEveryWindow_soTheViewMissesNone() throws Exception {
    try (Hyprstream hs = open()) {
      WindowSpec hourly = WINDOWS.get(1);
      String view = "readings_" + hourly.name();
      cache.refuseUpserts(view, 1);
      ingest(hs, rows(8, 20_000));
      await(() -> cache.upsertsToRefuse(view) == 0, "the background copy into " + view + " ran");
      // Later rows touch only some of the windows the refused copy carried.
      List<TestData.Row> later = new ArrayList<>();
      long end = TestData.micros(END);
      for (int i = 0; i < 500; i++) {
        later.add(new TestData.Row("s" + (i % 3), end - 1_000_000L * (i + 1), 1.0, 20_000 + i));
      }
      ingest(hs, later);
      List<List<@Nullable Object>> rows =
          TestData.rows(hs.query(WindowOracle.viewRows("readings", hourly)));
      List<List<@Nullable Object>> expected =
          TestData.rows(hs.query(WindowOracle.timeBucketGroupBy("readings", hourly, null)));
      assertTrue(expected.size() > 100, "the rows fall in many hourly windows");
      WindowOracle.assertRowsClose(expected, rows, view + " vs time_bucket after a failed copy");
    }
  }

  /**
   * A backfill changes more windows before one sync than a chunk holds (64 Ki): the sync copies
   * them in several upserts, none larger than a chunk, and the view ends with each window once.
   */
  @Test
  void aBackfillOfMoreWindowsThanAChunk_isCopiedInChunks_eachWindowOnce() throws Exception {
    try (Hyprstream hs = open()) {
      WindowSpec minutely = WINDOWS.get(0);
      String view = "readings_" + minutely.name();
      int series = 100;
      int minutes = 2 * 1440;
      long minute = 60_000_000L;
      long start = TestData.micros(END) - minutes * minute;
      List<TestData.Row> rows = new ArrayList<>();
      for (int m = 0; m < minutes; m++) {
        for (int s = 0; s < series; s++) {
          rows.add(
              new TestData.Row(
                  "s" + s, start + m * minute + s * 1000L, (double) (s + m % 11), rows.size()));
        }
      }
      ingest(hs, rows);
      List<List<@Nullable Object>> viewRows =
          TestData.rows(hs.query(WindowOracle.viewRows("readings", minutely)));
      assertEquals(series * minutes, viewRows.size(), "every window of " + view + " once");
      assertTrue(
          cache.largestUpsert(view) <= 64 * 1024,
          "no upsert larger than a chunk: " + cache.largestUpsert(view));
      WindowOracle.assertRowsClose(
          TestData.rows(hs.query(WindowOracle.timeBucketGroupBy("readings", minutely, null))),
          viewRows,
          view + " vs time_bucket after a backfill copied in chunks");
    }
  }

  /**
   * Many passes over a view larger than DuckDB's row groups (about 123 k rows each), the last ones
   * carrying late rows for windows far older than the rest of their delta: the upsert lets DuckDB
   * skip row groups by the delta's key range, and a range that missed the old windows would leave
   * them twice or stale.
   */
  @Test
  void manyPasses_withLateRowsForOldWindows_leaveEachWindowOnceAndCurrent() throws Exception {
    try (Hyprstream hs = open()) {
      WindowSpec minutely = WINDOWS.get(0);
      String view = "readings_" + minutely.name();
      int series = 120;
      long minute = 60_000_000L;
      long start = TestData.micros(END) - 2 * 1440 * minute;
      long id = 0;
      // Two days in time order, a chunk of six hours per pass: each pass's windows are new ones.
      for (int chunk = 0; chunk < 8; chunk++) {
        List<TestData.Row> rows = new ArrayList<>();
        for (long m = chunk * 360L; m < (chunk + 1) * 360L; m++) {
          for (int s = 0; s < series; s++) {
            rows.add(
                new TestData.Row(
                    "s" + s, start + m * minute + s * 1000L, (double) (s + m % 7), id++));
          }
        }
        ingest(hs, rows);
        TestData.rows(hs.query("SELECT count(*) FROM " + view)); // a pass: the query syncs
      }
      assertTrue(rowsInCacheTable(view) > 2 * 123_000, "the view spans several row groups");
      // Late rows: each pass updates a few windows of the first hours and some recent ones.
      Random random = new Random(15);
      for (int pass = 0; pass < 4; pass++) {
        List<TestData.Row> late = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
          long m = i % 3 == 0 ? random.nextInt(120) : 2870 - random.nextInt(60);
          late.add(
              new TestData.Row(
                  "s" + random.nextInt(series),
                  start + m * minute + 7,
                  random.nextGaussian(),
                  id++));
        }
        ingest(hs, late);
        TestData.rows(hs.query("SELECT count(*) FROM " + view));
      }
      assertEquals(
          0L,
          ((Number)
                  TestData.scalar(
                      hs.query(
                          "SELECT count(*) - count(DISTINCT (metric_id, window_start)) FROM "
                              + view)))
              .longValue(),
          "no window twice in " + view);
      WindowOracle.assertRowsClose(
          TestData.rows(hs.query(WindowOracle.timeBucketGroupBy("readings", minutely, null))),
          TestData.rows(hs.query(WindowOracle.viewRows("readings", minutely))),
          view + " vs time_bucket after late rows for old windows");
    }
  }
}
