package io.hyprstream.bench;

import io.hyprstream.Allocators;
import io.hyprstream.Hyprstream;
import io.hyprstream.HyprstreamBuilder;
import io.hyprstream.QueryResult;
import io.hyprstream.api.CacheStatistics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.jspecify.annotations.Nullable;

/**
 * The result cache's figures, in one JVM on one seeded data set:
 *
 * <ul>
 *   <li>a repeated query served from the result cache, next to running it in DuckDB each time;
 *   <li>the hit ratio of the engine's result cache (Caffeine, W-TinyLFU) on a Zipf-skewed query
 *       trace, next to plain LRU replaying the same trace with the same byte bound and the same
 *       result sizes;
 *   <li>ingest throughput with the result cache on next to off, with a dashboard's queries between
 *       batches so the cache is busy.
 * </ul>
 */
public final class CacheRunner {
  /** What to run. */
  public static final class Options {
    long rows = 2_000_000;
    int metrics = 1_000;
    long seed = 42;
    int repeats = 1_000;
    int distinctQueries = 1_000;
    int traceLength = 10_000;
    double zipfExponent = 1.0;
    @Nullable Path output;

    public static Options parse(String[] args) {
      BenchArgs a =
          BenchArgs.parse(args, Set.of("--rows", "--repeats", "--trace", "--distinct"), Set.of());
      Options o = new Options();
      o.output = a.output();
      o.rows = a.longValue("--rows", o.rows);
      o.repeats = a.intValue("--repeats", o.repeats);
      o.traceLength = a.intValue("--trace", o.traceLength);
      o.distinctQueries = a.intValue("--distinct", o.distinctQueries);
      return o;
    }
  }

  private final Options options;
  private final StringBuilder report = new StringBuilder();

  public CacheRunner(Options options) {
    this.options = options;
  }

  private Hyprstream open(BufferAllocator allocator, long resultCacheBytes) {
    HyprstreamBuilder b =
        Hyprstream.builder()
            .allocator(allocator)
            .clock(InstantSource.fixed(MetricsData.NOW))
            .expiryInterval(Duration.ZERO)
            .cacheDuration(MetricsData.SPAN.plusDays(1)) // every generated row stays hot
            .resultCacheBytes(resultCacheBytes);
    return b.build();
  }

  public void run() throws Exception {
    try (BufferAllocator root = Allocators.newRoot()) {
      MetricsData data = new MetricsData(options.rows, options.metrics, options.seed);
      List<VectorSchemaRoot> batches = data.batches(root);
      try (Hyprstream on = open(root, HyprstreamBuilder.DEFAULT_RESULT_CACHE_BYTES);
          Hyprstream off = open(root, 0)) {
        ingestOnNextToOff(batches, on, off);
        repeatedQuery(on, off, data);
      } finally {
        batches.forEach(VectorSchemaRoot::close);
      }
      zipfTrace(root, data);
    }
    String text =
        "# Result cache figures\n\n"
            + RunEnv.generatedBy("cache")
            + "One run; "
            + options.rows
            + " rows, "
            + options.metrics
            + " metrics over 7 days, seed "
            + options.seed
            + ".\n\n"
            + report;
    System.out.println(text);
    if (options.output != null) {
      Files.writeString(options.output, text);
    }
  }

  /** Dashboard queries run after every ingested batch (all change with each batch). */
  private static final List<String> DASHBOARD =
      List.of(
          "SELECT count(*), avg(value) FROM metrics",
          "SELECT metric_id, max(value) FROM metrics WHERE metric_id IN ('"
              + MetricsData.metricId(1)
              + "', '"
              + MetricsData.metricId(2)
              + "') GROUP BY metric_id ORDER BY metric_id");

  private void ingestOnNextToOff(List<VectorSchemaRoot> batches, Hyprstream on, Hyprstream off)
      throws IOException {
    long onNanos = 0;
    long offNanos = 0;
    for (int i = 0; i < batches.size(); i++) {
      // Alternate which goes first, so neither always meets the other's flush.
      Hyprstream first = i % 2 == 0 ? on : off;
      Hyprstream second = first == on ? off : on;
      long a = ingest(first, batches.get(i));
      long b = ingest(second, batches.get(i));
      onNanos += first == on ? a : b;
      offNanos += first == on ? b : a;
      for (String q : DASHBOARD) {
        consume(on.query(q));
        consume(off.query(q));
      }
    }
    double onRate = options.rows / (onNanos / 1e9);
    double offRate = options.rows / (offNanos / 1e9);
    report
        .append("## Ingest with the result cache on and off\n\n")
        .append(
            "Both instances take the same batches alternately (64 Ki rows each), with "
                + DASHBOARD.size()
                + " dashboard queries on each after every batch; the time is the ingest calls"
                + " only.\n\n")
        .append("| result cache | ingest |\n|---|---|\n")
        .append("| off | ")
        .append(RunEnv.fmtRate(offRate))
        .append(" |\n| on (256 MiB) | ")
        .append(RunEnv.fmtRate(onRate))
        .append(" |\n| ratio on/off | ")
        .append(String.format(Locale.ROOT, "%.2fx (goal >= 0.95x)", onRate / offRate))
        .append(" |\n\n");
  }

  private static long ingest(Hyprstream hs, VectorSchemaRoot batch) {
    long t = System.nanoTime();
    hs.ingest("metrics", batch);
    return System.nanoTime() - t;
  }

  /** Reads a result to the end and closes it. */
  private static long consume(ArrowReader reader) throws IOException {
    try (reader) {
      return Arrows.drain(reader);
    }
  }

  private static String hourly(int metric) {
    return "SELECT time_bucket(INTERVAL '1 hour', timestamp) AS hour, avg(value) AS avg_value,"
        + " max(value) AS max_value FROM metrics WHERE metric_id = '"
        + MetricsData.metricId(metric)
        + "' GROUP BY hour ORDER BY hour";
  }

  private void repeatedQuery(Hyprstream on, Hyprstream off, MetricsData data) throws IOException {
    String sql = hourly(7);
    for (int i = 0; i < 50; i++) { // warm-up
      consume(on.query(sql));
      consume(off.query(sql));
    }
    long[] hit = new long[options.repeats];
    long[] run = new long[options.repeats];
    for (int i = 0; i < options.repeats; i++) {
      long t = System.nanoTime();
      try (QueryResult r = on.query(sql)) {
        if (!r.freshness().resultCacheHit()) {
          throw new IllegalStateException("a repeat should be a result-cache hit");
        }
        Arrows.drain(r);
      }
      hit[i] = System.nanoTime() - t;
      t = System.nanoTime();
      consume(off.query(sql));
      run[i] = System.nanoTime() - t;
    }
    Stats h = new Stats(hit);
    Stats d = new Stats(run);
    report
        .append("## A repeated query\n\n")
        .append("`")
        .append(sql)
        .append("` (")
        .append(data.rows() / data.metrics())
        .append(" rows of the metric, 168 hourly rows out), ")
        .append(options.repeats)
        .append(" runs each after 50 warm-up runs, read to the end in process.\n\n")
        .append("| served by | p50 | p99 |\n|---|---|---|\n")
        .append("| result cache | ")
        .append(Stats.ms(h.percentile(50)))
        .append(" ms | ")
        .append(Stats.ms(h.percentile(99)))
        .append(" ms |\n| DuckDB, run each time | ")
        .append(Stats.ms(d.percentile(50)))
        .append(" ms | ")
        .append(Stats.ms(d.percentile(99)))
        .append(" ms |\n| speed-up | ")
        .append(String.format(Locale.ROOT, "%.0fx", (double) d.percentile(50) / h.percentile(50)))
        .append(" | ")
        .append(String.format(Locale.ROOT, "%.0fx", (double) d.percentile(99) / h.percentile(99)))
        .append(" |\n\nGoal: >= 10x faster, p99 <= 0.5 ms.\n\n");
  }

  /**
   * Replays a Zipf trace of {@code distinctQueries} queries through an instance whose result cache
   * holds about a tenth of their results, and the same trace through an LRU simulation with the
   * same bound and the same result sizes (measured from the instance).
   */
  private void zipfTrace(BufferAllocator root, MetricsData data) throws IOException {
    int k = Math.min(options.distinctQueries, data.metrics());
    List<String> queries = new ArrayList<>(k);
    for (int i = 0; i < k; i++) {
      queries.add(hourly(i));
    }
    long[] sizes = new long[k];
    long total = 0;
    List<VectorSchemaRoot> batches = data.batches(root);
    try (Hyprstream sizer = open(root, 0)) {
      for (VectorSchemaRoot b : batches) {
        sizer.ingest("metrics", b);
      }
      for (int i = 0; i < k; i++) {
        sizes[i] = resultBytes(sizer.query(queries.get(i)));
        total += sizes[i];
      }
    }
    long bound = Math.max(1L << 20, total / 10);
    int[] trace = zipf(k, options.traceLength, options.zipfExponent, options.seed);
    long lruHits = lruHits(trace, sizes, bound);
    CacheStatistics stats;
    try (Hyprstream engine = open(root, bound)) {
      for (VectorSchemaRoot b : batches) {
        engine.ingest("metrics", b);
      }
      for (int q : trace) {
        consume(engine.query(queries.get(q)));
      }
      stats =
          engine.cacheStatistics().stream()
              .filter(s -> s.scope() == CacheStatistics.Scope.RESULTS)
              .findFirst()
              .orElseThrow();
    } finally {
      batches.forEach(VectorSchemaRoot::close);
    }
    report
        .append("## Hit ratio on a skewed trace: W-TinyLFU next to LRU\n\n")
        .append(
            String.format(
                Locale.ROOT,
                "%d lookups drawn from %d distinct hourly queries (one per metric) with Zipf"
                    + " exponent %.1f (seed %d); result cache bound %.2f MiB, %.0f%% of all %d"
                    + " results (%.2f MiB). The LRU replays the same trace with the same sizes"
                    + " and bound, and keeps no result larger than the engine would.\n\n",
                trace.length,
                k,
                options.zipfExponent,
                options.seed,
                bound / 1048576.0,
                100.0 * bound / total,
                k,
                total / 1048576.0))
        .append("| policy | hits | hit ratio |\n|---|---|---|\n")
        .append(
            String.format(
                Locale.ROOT,
                "| W-TinyLFU (the engine's result cache, Caffeine) | %d | %.3f |\n",
                stats.hits(),
                stats.hitRatio()))
        .append(
            String.format(
                Locale.ROOT,
                "| LRU (simulated) | %d | %.3f |\n\n",
                lruHits,
                (double) lruHits / trace.length));
  }

  private static long resultBytes(ArrowReader reader) throws IOException {
    long bytes = 0;
    try (reader) {
      while (reader.loadNextBatch()) {
        for (FieldVector v : reader.getVectorSchemaRoot().getFieldVectors()) {
          bytes += v.getBufferSize();
        }
      }
    }
    return bytes;
  }

  /** {@code n} draws from ranks 0..k-1 with P(rank r) proportional to 1/(r+1)^s, shuffled ids. */
  static int[] zipf(int k, int n, double s, long seed) {
    double[] cdf = new double[k];
    double sum = 0;
    for (int r = 0; r < k; r++) {
      sum += 1 / Math.pow(r + 1, s);
      cdf[r] = sum;
    }
    SplittableRandom rng = new SplittableRandom(seed);
    int[] idOfRank = new int[k];
    for (int i = 0; i < k; i++) {
      idOfRank[i] = i;
    }
    for (int i = k - 1; i > 0; i--) { // popularity unrelated to metric number
      int j = rng.nextInt(i + 1);
      int t = idOfRank[i];
      idOfRank[i] = idOfRank[j];
      idOfRank[j] = t;
    }
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      double u = rng.nextDouble() * sum;
      int lo = 0;
      int hi = k - 1;
      while (lo < hi) {
        int mid = (lo + hi) >>> 1;
        if (cdf[mid] < u) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      out[i] = idOfRank[lo];
    }
    return out;
  }

  /** Hits of a byte-bounded LRU over the trace (results over a sixteenth of it are not kept). */
  static long lruHits(int[] trace, long[] sizes, long bound) {
    long maxEntry = Math.max(Math.min(bound, 1L << 20), bound / 16);
    LinkedHashMap<Integer, Long> lru = new LinkedHashMap<>(16, 0.75f, true);
    long held = 0;
    long hits = 0;
    for (int q : trace) {
      if (lru.get(q) != null) {
        hits++;
        continue;
      }
      if (sizes[q] > maxEntry) {
        continue;
      }
      lru.put(q, sizes[q]);
      held += sizes[q];
      var it = lru.entrySet().iterator();
      while (held > bound && it.hasNext()) {
        Map.Entry<Integer, Long> eldest = it.next();
        held -= eldest.getValue();
        it.remove();
      }
    }
    return hits;
  }
}
