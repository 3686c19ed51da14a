package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.CacheStatistics;
import io.hyprstream.api.Freshness;
import io.hyprstream.testing.ManualClock;
import io.hyprstream.testing.TestAllocator;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The result cache serves repeats without running them, and never serves an answer the tables have
 * moved past unless a query or table allows that staleness, and then says so.
 */
final class ResultCacheTest {
  private static final Instant START = Instant.parse("2026-03-02T12:00:00Z");
  private static final String SUMS =
      "SELECT metric_id, count(*) AS n, sum(value) AS s FROM metrics GROUP BY metric_id"
          + " ORDER BY metric_id";

  @RegisterExtension final TestAllocator allocator = new TestAllocator();
  private ManualClock clock;
  private final List<Hyprstream> opened = new ArrayList<>();

  @BeforeEach
  void setUp() {
    clock = new ManualClock(START);
  }

  @AfterEach
  void tearDown() {
    opened.forEach(Hyprstream::close);
  }

  private Hyprstream open(HyprstreamBuilder b) {
    Hyprstream hs = b.allocator(allocator).clock(clock).expiryInterval(Duration.ZERO).build();
    opened.add(hs);
    return hs;
  }

  private Hyprstream open() {
    return open(Hyprstream.builder());
  }

  private void ingest(Hyprstream hs, String id, int n, long seq) {
    List<TestData.Row> rows = new ArrayList<>();
    long t = TestData.micros(clock.instant());
    for (int i = 0; i < n; i++) {
      rows.add(new TestData.Row(id, t - i * 1_000_000L, (double) (seq + i), seq + i));
    }
    try (VectorSchemaRoot b = TestData.metrics(allocator, rows)) {
      hs.ingest("metrics", b);
    }
  }

  /** The rows of {@code sql} and its freshness. */
  private static final class Answer {
    final List<List<@Nullable Object>> rows;
    final Freshness freshness;

    Answer(List<List<@Nullable Object>> rows, Freshness freshness) {
      this.rows = rows;
      this.freshness = freshness;
    }
  }

  private static Answer ask(Hyprstream hs, String sql) throws Exception {
    QueryResult r = hs.query(sql);
    Freshness f = r.freshness();
    return new Answer(TestData.rows(r), f);
  }

  /** True when {@code sql} is answered from the result cache; reads nothing, closes the result. */
  private static boolean hit(Hyprstream hs, String sql) {
    try (QueryResult r = hs.query(sql)) {
      return r.freshness().resultCacheHit();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static CacheStatistics results(Hyprstream hs) {
    return hs.cacheStatistics().stream()
        .filter(s -> s.scope() == CacheStatistics.Scope.RESULTS)
        .findFirst()
        .orElseThrow();
  }

  @Test
  void repeat_isServedFromTheResultCache_untilAnIngestIntoItsTable() throws Exception {
    Hyprstream hs = open();
    ingest(hs, "cpu", 10, 0);
    Answer first = ask(hs, SUMS);
    assertFalse(first.freshness.resultCacheHit());
    assertEquals(Freshness.Source.CACHE, first.freshness.source());
    assertEquals(clock.instant(), first.freshness.asOf());

    // Same query written differently: keyword case, spacing, a comment and a trailing semicolon.
    Answer again =
        ask(
            hs,
            "select   metric_id, count(*) as n, sum(value) AS s -- totals\n from metrics"
                + " group by metric_id order by metric_id;");
    assertTrue(again.freshness.resultCacheHit());
    assertEquals(first.rows, again.rows);
    // A name in another case is another query: DuckDB names the result column as written.
    Answer upper =
        ask(
            hs,
            "SELECT METRIC_ID, count(*) AS n, sum(value) AS s FROM metrics GROUP BY metric_id"
                + " ORDER BY metric_id");
    assertFalse(upper.freshness.resultCacheHit());
    assertEquals(first.rows, upper.rows);

    ingest(hs, "cpu", 5, 100); // read-your-writes: the kept answer is out of date at once
    Answer after = ask(hs, SUMS);
    assertFalse(after.freshness.resultCacheHit());
    assertEquals(15L, after.rows.get(0).get(1));

    // An ingest into another table leaves it be.
    try (VectorSchemaRoot other = TestData.metrics(allocator, List.of())) {
      hs.ingest("elsewhere", other); // empty: creates nothing, changes nothing
    }
    assertTrue(hit(hs, SUMS));
    hs.query(SUMS).close(); // closing a hit without reading it leaks nothing

    CacheStatistics s = results(hs);
    assertEquals(3, s.hits());
    assertEquals(3, s.misses()); // the first run, the upper-case name, the run after the ingest
    assertEquals(1, s.evictedInvalidated()); // the out-of-date answer was replaced
  }

  @Test
  void parametersAreTheKey_andKeptBuffersBelongToTheCacheNotTheCaller() throws Exception {
    Hyprstream hs = open();
    ingest(hs, "cpu", 3, 0);
    ingest(hs, "mem", 4, 0);
    String sql = "SELECT count(*) FROM metrics WHERE metric_id = ?";
    // The caller's allocator closes while the cache still holds the answers it read.
    try (BufferAllocator caller = allocator.newChildAllocator("caller", 0, Long.MAX_VALUE)) {
      assertEquals(3L, TestData.scalar(hs.query(sql, List.of("cpu"), caller)));
      assertEquals(4L, TestData.scalar(hs.query(sql, List.of("mem"), caller)));
      QueryResult hit = hs.query(sql, List.of("cpu"), caller);
      assertTrue(hit.freshness().resultCacheHit());
      assertEquals(3L, TestData.scalar(hit));
    }
    assertEquals(2, results(hs).rows());
    assertFalse(hit(hs, "SELECT count(*) FROM metrics WHERE metric_id = 'cpu'"));
  }

  @Test
  void volatileQueriesAndSystemTables_areNeverKept() throws Exception {
    Hyprstream hs = open();
    for (String sql :
        List.of(
            "SELECT now()",
            "SELECT random() AS r",
            "SELECT count(*) FROM hyprstream_cache_stats",
            "SELECT * FROM duckdb_settings() LIMIT 1")) {
      TestData.rows(hs.query(sql));
      assertFalse(hit(hs, sql), sql);
    }
  }

  @Test
  void ttl_expiresKeptAnswers_byTheInstanceClock() throws Exception {
    Hyprstream hs = open(Hyprstream.builder().resultCacheTtl(Duration.ofSeconds(30)));
    ingest(hs, "cpu", 3, 0);
    TestData.rows(hs.query(SUMS));
    clock.advance(Duration.ofSeconds(29));
    assertTrue(hit(hs, SUMS));
    clock.advance(Duration.ofSeconds(2));
    assertFalse(hit(hs, SUMS));
    assertEquals(1, results(hs).evictedExpired());
  }

  @Test
  void byteBound_evictsAndHoldsNoMoreThanItAllows() throws Exception {
    long bound = 2L << 20;
    Hyprstream hs = open(Hyprstream.builder().resultCacheBytes(bound));
    // 40 distinct answers of ~100 KiB each (10 Ki rows of two BIGINT columns, with validity).
    for (int i = 0; i < 40; i++) {
      List<List<@Nullable Object>> rows =
          TestData.rows(hs.query("SELECT range AS a, range + " + i + " AS b FROM range(6000)"));
      assertEquals(6000, rows.size());
      assertTrue(results(hs).bytes() <= bound, "held " + results(hs).bytes());
    }
    CacheStatistics s = results(hs);
    assertTrue(s.evictedSize() > 0, s.toString());
    assertTrue(s.bytes() > bound / 2, "the bound should be used, not wasted: " + s);

    // A result larger than a sixteenth of the cache (here: 1 MiB) streams through and is not kept.
    long before = results(hs).rows();
    List<List<@Nullable Object>> big = TestData.rows(hs.query("SELECT range FROM range(300000)"));
    assertEquals(300_000, big.size());
    assertFalse(hit(hs, "SELECT range FROM range(300000)"));
    hs.query("SELECT range FROM range(1)").close(); // not read to the end: nothing kept
    assertFalse(hit(hs, "SELECT range FROM range(1)"));
    assertTrue(results(hs).rows() <= before + 1);
  }

  @Test
  void maxStalenessHint_servesTheOldAnswerAndSaysItIsStale() throws Exception {
    Hyprstream hs = open();
    String sql = "/*+ max_staleness=10s */ " + SUMS;
    ingest(hs, "cpu", 10, 0);
    Answer fresh = ask(hs, sql);
    ingest(hs, "cpu", 5, 100);
    clock.advance(Duration.ofSeconds(9));
    Answer stale = ask(hs, sql);
    assertTrue(stale.freshness.resultCacheHit());
    assertTrue(stale.freshness.stale());
    assertEquals(fresh.rows, stale.rows);
    assertEquals(Duration.ofSeconds(9), stale.freshness.age(clock.instant()));
    clock.advance(Duration.ofSeconds(2)); // past the allowance: computed again
    Answer later = ask(hs, sql);
    assertFalse(later.freshness.resultCacheHit());
    assertEquals(15L, later.rows.get(0).get(1));
    // Without the hint, a stale answer is never served.
    ingest(hs, "cpu", 1, 200);
    Answer exact = ask(hs, SUMS);
    assertFalse(exact.freshness.stale());
    assertEquals(16L, exact.rows.get(0).get(1));
  }

  @Test
  void maxStalenessOfATable_appliesToItsViews() throws Exception {
    Hyprstream hs = open(Hyprstream.builder().maxStaleness("metrics", Duration.ofMinutes(1)));
    String sql = "SELECT metric_id, value_count FROM metrics_1h ORDER BY window_start, metric_id";
    ingest(hs, "cpu", 2, 0);
    Answer first = ask(hs, sql);
    ingest(hs, "cpu", 2, 10);
    Answer second = ask(hs, sql);
    assertTrue(second.freshness.stale());
    assertEquals(first.rows, second.rows);
  }

  /**
   * Random interleavings of ingest, statements, expiry and queries give exactly the answers of an
   * instance without a result cache.
   */
  @Test
  void randomInterleavings_matchAnInstanceWithoutResultCache() throws Exception {
    Hyprstream cached = open(Hyprstream.builder().timeColumn("events", "seen_at"));
    Hyprstream plain =
        open(Hyprstream.builder().resultCacheBytes(0).timeColumn("events", "seen_at"));
    List<String> queries =
        List.of(
            SUMS,
            "SELECT count(*) FROM metrics",
            "SELECT metric_id, value_count, value_sum FROM metrics_5m"
                + " ORDER BY window_start, metric_id",
            "SELECT metric_id, value_avg FROM metrics_1h WHERE metric_id = 'm1'"
                + " ORDER BY window_start",
            "SELECT count(*), sum(value) FROM metrics WHERE metric_id = 'm2'",
            "SELECT e.kind, count(*) FROM events e JOIN metrics m ON e.kind = m.metric_id"
                + " GROUP BY e.kind ORDER BY e.kind",
            "SELECT kind, count(*) FROM events GROUP BY kind ORDER BY kind");
    Random random = new Random(7);
    long seq = 0;
    int hitsSeen = 0;
    for (Hyprstream hs : List.of(cached, plain)) {
      hs.execute("CREATE TABLE events (kind VARCHAR, seen_at TIMESTAMP)", List.of());
    }
    for (int step = 0; step < 400; step++) {
      int op = random.nextInt(20); // mostly queries, so repeats meet kept answers
      if (op < 3) {
        String id = "m" + random.nextInt(4);
        int n = 1 + random.nextInt(5);
        ingest(cached, id, n, seq);
        ingest(plain, id, n, seq);
        seq += n;
      } else if (op == 3) {
        String kind = "m" + random.nextInt(4);
        for (Hyprstream hs : List.of(cached, plain)) {
          hs.execute(
              "INSERT INTO events VALUES (?, ?)",
              java.util.Arrays.asList(kind, java.sql.Timestamp.from(clock.instant())));
        }
      } else if (op == 4) {
        for (Hyprstream hs : List.of(cached, plain)) {
          hs.execute("DELETE FROM events WHERE kind = 'm0'", List.of());
        }
      } else if (op == 5) {
        clock.advance(Duration.ofMinutes(random.nextInt(20)));
        cached.expire();
        plain.expire();
      } else {
        String sql = queries.get(random.nextInt(queries.size()));
        Answer a = ask(cached, sql);
        Answer b = ask(plain, sql);
        assertEquals(b.rows, a.rows, "step " + step + ": " + sql);
        assertFalse(a.freshness.stale());
        hitsSeen += a.freshness.resultCacheHit() ? 1 : 0;
      }
    }
    assertTrue(hitsSeen > 20, "the trace should exercise hits, saw " + hitsSeen);
    assertEquals(hitsSeen, results(cached).hits());
  }

  @Test
  void cacheStatsTable_showsTheSameFiguresAsTheApi() throws Exception {
    Hyprstream hs = open();
    ingest(hs, "cpu", 4, 0);
    TestData.rows(hs.query(SUMS));
    TestData.rows(hs.query(SUMS));
    TestData.rows(hs.query(SUMS));
    List<List<@Nullable Object>> rows =
        TestData.rows(
            hs.query(
                "SELECT scope, name, hits, misses, hit_ratio, rows FROM hyprstream_cache_stats"
                    + " ORDER BY scope, name"));
    assertEquals(2, rows.size(), rows.toString());
    assertEquals(List.of("results", "results", 2L, 1L, 2.0 / 3, 1L), rows.get(0));
    List<@Nullable Object> metrics = rows.get(1);
    assertEquals("table", metrics.get(0));
    assertEquals("metrics", metrics.get(1));
    assertEquals(1L, metrics.get(2)); // one query ran on the cache (the other two were kept)
    assertEquals(0L, metrics.get(3));
    assertEquals(4L, metrics.get(5));
    assertNotNull(results(hs));
    assertNull(ask(hs, SUMS).freshness.missing());
  }
}
