package io.hyprstream.bench.jmh;

import io.hyprstream.Hyprstream;
import io.hyprstream.bench.MetricsData;
import java.io.IOException;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;

/** Set-up shared by the JMH benchmarks: the core runner's data and engine configuration. */
final class BenchData {
  private BenchData() {}

  /** Batches of the core runner's generator (seed 42, 1,000 metrics, 7 days). */
  static List<VectorSchemaRoot> batches(BufferAllocator allocator, long rows) {
    return new MetricsData(rows, 1000, 42).batches(allocator);
  }

  /** An instance configured as in the core runner: fixed clock, no expiry. */
  static Hyprstream instance(BufferAllocator allocator) {
    return MetricsData.newInstance(allocator);
  }

  /** Runs a {@code SELECT count(*)}; it returns once the table's queued rows are in DuckDB. */
  static long count(Hyprstream hs, String table) {
    try (ArrowReader r = hs.query("SELECT count(*) FROM " + table)) {
      r.loadNextBatch();
      return ((BigIntVector) r.getVectorSchemaRoot().getVector(0)).get(0);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Ingests {@code rows} rows of the core runner's data into {@code hs}'s {@code metrics} table and
   * waits until they are in DuckDB.
   */
  static void loadMetrics(Hyprstream hs, BufferAllocator allocator, long rows) {
    List<VectorSchemaRoot> batches = batches(allocator, rows);
    try {
      for (VectorSchemaRoot b : batches) {
        hs.ingest(Hyprstream.METRICS_TABLE, b);
      }
    } finally {
      batches.forEach(VectorSchemaRoot::close);
    }
    count(hs, Hyprstream.METRICS_TABLE);
  }
}
