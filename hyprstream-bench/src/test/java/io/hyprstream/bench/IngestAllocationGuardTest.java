package io.hyprstream.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.Hyprstream;
import java.lang.management.ManagementFactory;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.Test;

/**
 * A regression guard for ingest that does not depend on how busy the machine is: the heap bytes the
 * ingesting thread allocates per row (W1's data: 1,000 metrics, 64 Ki-row batches, the 5 default
 * windows and the running columns). Allocation is what a JIT-warm ingest repeats identically on any
 * machine, so its bound can sit at twice today's figure without flaking, and a change that doubles
 * it (a per-row object, a copy per window) fails here.
 */
final class IngestAllocationGuardTest {
  /**
   * Today's figure is about 72 B per row (printed by the test): most of it is window state that
   * grows with the windows this data opens (~800 k windows of 64 B for 1 Mi rows) and the first
   * batch's scratch arrays, which the aggregator then reuses; the rest is per-batch bookkeeping.
   * Twice that fails (it was 103 B before the aggregator and the hot-set count kept their arrays).
   */
  private static final double MAX_BYTES_PER_ROW = 145;

  @Test
  void ingest_allocatesFewHeapBytesPerRow() throws Exception {
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long thread = Thread.currentThread().getId();
    MetricsData data = new MetricsData(1_048_576, 1000, 42);
    try (BufferAllocator root = new RootAllocator()) {
      List<VectorSchemaRoot> batches = data.batches(root);
      try (Hyprstream warm = MetricsData.newInstance(root)) {
        batches.forEach(b -> warm.ingest("metrics", b)); // the JIT compiles the ingest path
      }
      double perRow;
      try (Hyprstream hs = MetricsData.newInstance(root)) {
        long before = threads.getThreadAllocatedBytes(thread);
        for (VectorSchemaRoot b : batches) {
          hs.ingest("metrics", b);
        }
        perRow = (double) (threads.getThreadAllocatedBytes(thread) - before) / data.rows();
        try (var count = hs.query("SELECT count(*) FROM metrics")) {
          assertEquals(data.rows(), Arrows.readLong(count));
        }
      } finally {
        batches.forEach(VectorSchemaRoot::close);
      }
      System.out.printf(
          "[guard] ingest allocates %.1f heap bytes per row on the ingesting thread (bound %.0f)%n",
          perRow, MAX_BYTES_PER_ROW);
      assertTrue(
          perRow <= MAX_BYTES_PER_ROW,
          "ingest allocates " + perRow + " B per row, over the bound of " + MAX_BYTES_PER_ROW);
    }
  }
}
