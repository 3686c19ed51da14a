package io.hyprstream.bench.jmh;

import io.hyprstream.Allocators;
import io.hyprstream.Hyprstream;
import io.hyprstream.bench.Arrows;
import io.hyprstream.bench.MetricsData;
import java.io.IOException;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The window lookup {@code SELECT * FROM metrics_1h WHERE metric_id = ? ORDER BY window_start DESC
 * LIMIT 24} through {@link Hyprstream#query(String, List, BufferAllocator)} (answered from the
 * aggregator), next to DuckDB computing the same 24 windows with {@code time_bucket} over the raw
 * rows. Sample mode reports percentiles. 2 Mi rows of the core runner's data are loaded once.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-opens=java.base/java.nio=ALL-UNNAMED"})
public class WindowLookupBenchmark {
  static final String LOOKUP_SQL =
      "SELECT * FROM metrics_1h WHERE metric_id = ? ORDER BY window_start DESC LIMIT 24";

  static final String TIME_BUCKET_SQL =
      "SELECT metric_id, time_bucket(INTERVAL 1 HOUR, \"timestamp\") AS window_start,"
          + " count(value) AS value_count, sum(value) AS value_sum, avg(value) AS value_avg,"
          + " min(value) AS value_min, max(value) AS value_max, stddev_samp(value) AS value_stddev"
          + " FROM metrics WHERE metric_id = ? GROUP BY ALL ORDER BY window_start DESC LIMIT 24";

  private final BufferAllocator root = Allocators.newRoot();
  private BufferAllocator queries = root.newChildAllocator("queries", 0, Long.MAX_VALUE);
  private Hyprstream hs = BenchData.instance(root);
  private final SplittableRandom rng = new SplittableRandom(7);
  private final String[] ids = new String[1000];

  @Setup(Level.Trial)
  public void load() {
    for (int m = 0; m < ids.length; m++) {
      ids[m] = MetricsData.metricId(m);
    }
    BenchData.loadMetrics(hs, root, 32L * 64 * 1024);
  }

  @TearDown(Level.Trial)
  public void release() {
    hs.close();
    queries.close();
    root.close();
  }

  @Benchmark
  public long lookup() throws IOException {
    try (ArrowReader r = hs.query(LOOKUP_SQL, List.of(ids[rng.nextInt(ids.length)]), queries)) {
      return Arrows.drain(r);
    }
  }

  @Benchmark
  public long duckdbTimeBucket() throws IOException {
    try (ArrowReader r =
        hs.query(TIME_BUCKET_SQL, List.of(ids[rng.nextInt(ids.length)]), queries)) {
      return Arrows.drain(r);
    }
  }
}
