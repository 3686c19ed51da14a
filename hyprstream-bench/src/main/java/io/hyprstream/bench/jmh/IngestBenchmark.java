package io.hyprstream.bench.jmh;

import io.hyprstream.Allocators;
import io.hyprstream.Hyprstream;
import io.hyprstream.api.IngestResult;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Ingest of 64 Ki-row batches through {@link Hyprstream#ingest(String, VectorSchemaRoot)}: into
 * {@code metrics} (five windows and the running columns) or into {@code plain}, a table with the
 * same three columns and no aggregation. The difference is the cost of the windows and running
 * columns.
 *
 * <p>{@code ingestBatch} times one call: the caller's share (copy, validation, aggregation,
 * queueing); DuckDB's append runs on the flusher thread and slows the caller only when more than 4
 * Mi rows are queued. {@code ingest16AndFlush} times 16 batches plus a {@code SELECT count(*)} that
 * returns once they are in DuckDB: the end-to-end cost per batch. Each iteration starts a new
 * instance, so DuckDB's table does not grow without bound.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-opens=java.base/java.nio=ALL-UNNAMED"})
public class IngestBenchmark {
  @Param({"metrics", "plain"})
  public String table = "metrics";

  private BufferAllocator root = Allocators.newRoot();
  private List<VectorSchemaRoot> batches = List.of();
  private Hyprstream hs = BenchData.instance(root);
  private int next;

  @Setup(Level.Trial)
  public void generate() {
    hs.close();
    batches = BenchData.batches(root, 32L * 64 * 1024);
  }

  @Setup(Level.Iteration)
  public void open() {
    hs = BenchData.instance(root);
  }

  @TearDown(Level.Iteration)
  public void closeInstance() {
    hs.close();
  }

  @TearDown(Level.Trial)
  public void release() {
    batches.forEach(VectorSchemaRoot::close);
    root.close();
  }

  @Benchmark
  public IngestResult ingestBatch() {
    VectorSchemaRoot b = batches.get(next);
    next = (next + 1) % batches.size();
    return hs.ingest(table, b);
  }

  @Benchmark
  @OperationsPerInvocation(16)
  public long ingest16AndFlush() {
    for (int i = 0; i < 16; i++) {
      hs.ingest(table, batches.get(next));
      next = (next + 1) % batches.size();
    }
    return BenchData.count(hs, table);
  }
}
