package io.hyprstream.bench.jmh;

import io.hyprstream.Allocators;
import io.hyprstream.api.IngestResult;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.bench.MetricsData;
import io.hyprstream.internal.EngineConfig;
import io.hyprstream.internal.table.MetricsTable;
import io.hyprstream.window.HeapWindowAggregator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Field;
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
 * The aggregator alone: {@link HeapWindowAggregator#update} of one 64 Ki-row batch into the five
 * default windows, with the running columns filled ({@code running = true}) or not. No copy, no
 * DuckDB: the floor under {@link IngestBenchmark}'s {@code metrics} figure.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-opens=java.base/java.nio=ALL-UNNAMED"})
public class AggregatorBenchmark {
  @Param({"true", "false"})
  public boolean running = true;

  private final BufferAllocator root = Allocators.newRoot();
  private List<VectorSchemaRoot> batches = List.of();
  private VectorSchemaRoot runningRoot = VectorSchemaRoot.create(MetricsTable.RUNNING_SCHEMA, root);
  private HeapWindowAggregator aggregator = newAggregator();
  private int next;

  private static HeapWindowAggregator newAggregator() {
    Field key = MetricsData.SCHEMA.getFields().get(0);
    return new HeapWindowAggregator(EngineConfig.metricsSpec(WindowSpec.DEFAULTS), List.of(key));
  }

  @Setup(Level.Trial)
  public void generate() {
    batches = BenchData.batches(root, 32L * 64 * 1024);
    for (FieldVector v : runningRoot.getFieldVectors()) {
      v.setInitialCapacity(MetricsData.BATCH_ROWS);
      v.allocateNew();
    }
    aggregator = newAggregator();
  }

  @TearDown(Level.Trial)
  public void release() {
    runningRoot.close();
    batches.forEach(VectorSchemaRoot::close);
    root.close();
  }

  @Benchmark
  public IngestResult update() {
    VectorSchemaRoot b = batches.get(next);
    next = (next + 1) % batches.size();
    return aggregator.update(b, running ? runningRoot : null, MetricsData.NOW);
  }
}
