package io.hyprstream.bench.jmh;

import io.hyprstream.Allocators;
import io.hyprstream.Hyprstream;
import io.hyprstream.bench.Arrows;
import java.io.IOException;
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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The same query, repeated: {@link Hyprstream#query(String)} of identical SQL with no ingest in
 * between, every result batch read: a result-cache hit (the result cache serves a repeat from the
 * Arrow buffers it kept, without a statement). {@code sql} covers a query the aggregator does not
 * answer (an aggregate over a window view) and one over the raw rows. 2 Mi rows of the core
 * runner's data are loaded once.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-opens=java.base/java.nio=ALL-UNNAMED"})
public class ResultCacheBenchmark {
  @Param({
    "SELECT metric_id, sum(value_count) AS n, avg(value_avg) AS a FROM metrics_1h GROUP BY"
        + " metric_id ORDER BY metric_id",
    "SELECT count(*), sum(value) FROM metrics WHERE metric_id = 'host0042.cpu.user'"
  })
  public String sql = "";

  private final BufferAllocator root = Allocators.newRoot();
  private Hyprstream hs = BenchData.instance(root);

  @Setup(Level.Trial)
  public void load() {
    BenchData.loadMetrics(hs, root, 32L * 64 * 1024);
  }

  @TearDown(Level.Trial)
  public void release() {
    hs.close();
    root.close();
  }

  @Benchmark
  public long repeatedQuery() throws IOException {
    try (ArrowReader r = hs.query(sql)) {
      return Arrows.drain(r);
    }
  }
}
