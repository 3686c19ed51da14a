package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.CacheStatistics;
import io.hyprstream.api.EvictionPolicy;
import io.hyprstream.api.Freshness;
import io.hyprstream.backend.DuckDbBackendStore;
import io.hyprstream.testing.TestAllocator;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * When hot raw rows would exceed the memory budget, whole time partitions (one minute of event time
 * here: a 1-hour cache has 60) leave the cache by the policy; window state stays; queries that
 * reach an evicted range go to the backend, or say what is missing when there is none.
 */
final class MemoryBudgetTest {
  private static final Instant NOW = Instant.parse("2026-05-04T10:00:00Z");
  private static final long MINUTE = 60_000_000L;
  private static final long FIRST = TestData.micros(NOW) - 50 * MINUTE; // minute 0
  private static final int ROWS_PER_MINUTE = 600;
  private static final long BUDGET = 1L << 20;

  @TempDir Path dir;
  @RegisterExtension final TestAllocator allocator = new TestAllocator();
  private final List<Hyprstream> opened = new ArrayList<>();

  @AfterEach
  void tearDown() {
    opened.forEach(Hyprstream::close);
  }

  private Hyprstream open(HyprstreamBuilder b) {
    Hyprstream hs =
        b.allocator(allocator)
            .clock(InstantSource.fixed(NOW))
            .expiryInterval(Duration.ZERO)
            .cacheDuration(Duration.ofHours(1))
            .build();
    opened.add(hs);
    return hs;
  }

  /** Ingests minute {@code m}: {@link #ROWS_PER_MINUTE} rows, values 1..n. */
  private void ingestMinute(Hyprstream hs, int m) {
    List<TestData.Row> rows = new ArrayList<>();
    for (int i = 0; i < ROWS_PER_MINUTE; i++) {
      String id = String.format("m%02d", i % 20); // equal lengths: every minute has equal bytes
      rows.add(new TestData.Row(id, FIRST + m * MINUTE + i * 100_000L, (double) (i + 1), i));
    }
    try (VectorSchemaRoot b = TestData.metrics(allocator, rows)) {
      hs.ingest("metrics", b);
    }
  }

  private static CacheStatistics metricsStats(Hyprstream hs) {
    return hs.cacheStatistics().stream()
        .filter(s -> s.scope() == CacheStatistics.Scope.TABLE && s.name().equals("metrics"))
        .findFirst()
        .orElseThrow();
  }

  /** How many minutes fit the budget: measured, since bytes per row depend on the layout. */
  private int minutesThatFit() {
    Hyprstream probe = open(Hyprstream.builder().resultCacheBytes(0));
    ingestMinute(probe, 0);
    long perMinute = metricsStats(probe).bytes();
    assertTrue(perMinute > 0);
    return (int) (BUDGET / perMinute);
  }

  private static String ts(long micros) {
    return "TIMESTAMP '" + TestData.utc(micros) + "'";
  }

  private static String minuteRange(int from, int toInclusive) {
    return "timestamp BETWEEN "
        + ts(FIRST + from * MINUTE)
        + " AND "
        + ts(FIRST + toInclusive * MINUTE + MINUTE - 1);
  }

  private static long count(Hyprstream hs, String where) throws Exception {
    return (Long) TestData.scalar(hs.query("SELECT count(*) FROM metrics WHERE " + where));
  }

  /** The minutes (of 0..n-1) whose rows are no longer in the cache. */
  private static List<Integer> evictedMinutes(Hyprstream hs, int n) throws Exception {
    List<Integer> out = new ArrayList<>();
    List<List<@Nullable Object>> rows =
        TestData.rows(
            hs.query(
                "SELECT (epoch_us(timestamp) - "
                    + FIRST
                    + ") // "
                    + MINUTE
                    + " AS m FROM metrics GROUP BY m ORDER BY m"));
    List<Long> present = new ArrayList<>();
    rows.forEach(r -> present.add((Long) r.get(0)));
    for (int m = 0; m < n; m++) {
      if (!present.contains((long) m)) {
        out.add(m);
      }
    }
    return out;
  }

  @Test
  void timePolicy_evictsTheOldestPartitions_keepsTheWindows_andSaysWhatIsMissing()
      throws Exception {
    int fit = minutesThatFit();
    Hyprstream hs =
        open(Hyprstream.builder().cacheMemory(BUDGET).evictionPolicy(EvictionPolicy.TIME));
    int minutes = 2 * fit;
    for (int m = 0; m < minutes; m++) {
      ingestMinute(hs, m);
      assertTrue(metricsStats(hs).bytes() <= BUDGET, "over budget after minute " + m);
    }
    CacheStatistics s = metricsStats(hs);
    long total = (long) minutes * ROWS_PER_MINUTE;
    assertEquals(total, s.rows() + s.evictedSize(), s.toString());
    assertEquals(s.rows(), count(hs, "true"));
    List<Integer> evicted = evictedMinutes(hs, minutes);
    assertEquals(minutes - fit, evicted.size(), "kept as many minutes as fit: " + evicted);
    for (int i = 0; i < evicted.size(); i++) {
      assertEquals(i, evicted.get(i), "oldest first");
    }

    // Window state is never evicted: the 1-hour windows still count every row ingested.
    assertEquals(
        java.math.BigDecimal.valueOf(total),
        TestData.scalar(hs.query("SELECT sum(value_count) FROM metrics_1h")));

    // No backend: an answer reaching an evicted range says so; one within the cache does not.
    QueryResult all = hs.query("SELECT count(*) FROM metrics");
    Freshness f = all.freshness();
    all.close();
    assertNotNull(f.missing());
    assertTrue(f.missing().contains("no backend"), f.missing());
    QueryResult recent =
        hs.query("SELECT count(*) FROM metrics WHERE " + minuteRange(minutes - 2, minutes - 1));
    assertNull(recent.freshness().missing());
    assertEquals(2L * ROWS_PER_MINUTE, TestData.scalar(recent));
  }

  /** Fills the cache to just under the budget, runs {@code reads}, then adds one more minute. */
  private List<Integer> firstVictims(EvictionPolicy policy, ReadPattern reads) throws Exception {
    int fit = minutesThatFit();
    Hyprstream hs = open(Hyprstream.builder().cacheMemory(BUDGET).evictionPolicy(policy));
    for (int m = 0; m < fit; m++) {
      ingestMinute(hs, m);
    }
    assertEquals(0, metricsStats(hs).evictedSize());
    reads.run(hs, fit);
    ingestMinute(hs, fit);
    return evictedMinutes(hs, fit + 1);
  }

  private interface ReadPattern {
    void run(Hyprstream hs, int minutes) throws Exception;
  }

  /** Every minute is read once, then minute 0 again. */
  private static final ReadPattern ALL_THEN_OLDEST =
      (hs, n) -> {
        count(hs, minuteRange(0, n - 1));
        count(hs, minuteRange(0, 0));
      };

  /** Minute 0 is read five times, then every other minute once. */
  private static final ReadPattern OLDEST_OFTEN_THEN_REST =
      (hs, n) -> {
        for (int i = 0; i < 5; i++) {
          count(hs, minuteRange(0, 0) + " AND value > " + i); // distinct SQL: no result-cache hit
        }
        count(hs, minuteRange(1, n - 1));
      };

  @Test
  void lruPolicy_evictsTheLeastRecentlyReadPartition() throws Exception {
    assertEquals(List.of(1), firstVictims(EvictionPolicy.LRU, ALL_THEN_OLDEST));
    assertEquals(List.of(0), firstVictims(EvictionPolicy.LRU, OLDEST_OFTEN_THEN_REST));
  }

  @Test
  void lfuPolicy_evictsTheLeastOftenReadPartition() throws Exception {
    assertEquals(List.of(1), firstVictims(EvictionPolicy.LFU, OLDEST_OFTEN_THEN_REST));
  }

  @Test
  void timePolicy_ignoresReads() throws Exception {
    assertEquals(List.of(0), firstVictims(EvictionPolicy.TIME, ALL_THEN_OLDEST));
  }

  @Test
  void evictedRanges_areReadFromTheBackend() throws Exception {
    int fit = minutesThatFit();
    Hyprstream hs =
        open(
            Hyprstream.builder()
                .cacheMemory(BUDGET)
                .backend(DuckDbBackendStore.open(dir.resolve("backend.duckdb"), allocator))
                .dataDirectory(dir.resolve("data")));
    int minutes = 2 * fit;
    for (int m = 0; m < minutes; m++) {
      ingestMinute(hs, m);
    }
    assertTrue(metricsStats(hs).evictedSize() > 0);
    String oldest = "SELECT count(*), sum(value) FROM metrics WHERE " + minuteRange(0, 1);
    QueryResult fromBackend = hs.query(oldest);
    assertEquals(Freshness.Source.BACKEND, fromBackend.freshness().source());
    List<List<@Nullable Object>> rows = TestData.rows(fromBackend);
    long perMinuteSum = (long) ROWS_PER_MINUTE * (ROWS_PER_MINUTE + 1) / 2;
    assertEquals(2L * ROWS_PER_MINUTE, ((Number) rows.get(0).get(0)).longValue());
    assertEquals(2.0 * perMinuteSum, ((Number) rows.get(0).get(1)).doubleValue());

    String newest = "SELECT count(*) FROM metrics WHERE " + minuteRange(minutes - 1, minutes - 1);
    QueryResult fromCache = hs.query(newest);
    assertEquals(Freshness.Source.CACHE, fromCache.freshness().source());
    assertEquals((long) ROWS_PER_MINUTE, TestData.scalar(fromCache));

    // An unbounded query covers evicted rows too: the backend answers it, with every row.
    QueryResult unbounded = hs.query("SELECT count(*) FROM metrics");
    assertEquals(Freshness.Source.BACKEND, unbounded.freshness().source());
    assertEquals(
        (long) minutes * ROWS_PER_MINUTE, ((Number) TestData.scalar(unbounded)).longValue());
    CacheStatistics s = metricsStats(hs);
    assertEquals(1, s.hits());
    assertEquals(2, s.misses());
  }
}
