package io.hyprstream.bench.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.Hyprstream;
import io.hyprstream.bench.MetricsData;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * W1's ceiling appends exactly what the instance holds: every raw row, and every window the oracle
 * counts from the same rows. Timings are not looked at.
 */
final class WriteFloorTest {
  private final BufferAllocator root = new RootAllocator();

  @AfterEach
  void closeAllocator() {
    root.close(); // fails the test if the floor leaked an Arrow buffer
  }

  @Test
  void measure_afterIngest_appendsEveryStoredRowOnce() throws Exception {
    MetricsData data = new MetricsData(100_000, 50, 7, 8192);
    List<VectorSchemaRoot> batches = data.batches(root);
    try (HyprstreamPeer peer = new HyprstreamPeer(root)) {
      peer.ingest(batches);
      WriteFloor.Result result =
          WriteFloor.measure(peer.instance(), HyprstreamPeer.VIEWS, batches, root);

      assertEquals(100_000L, result.storedRows().get(Hyprstream.METRICS_TABLE));
      assertEquals(WindowGrid.of(data, batches).windows(), result.storedRows().get("metrics_5m"));
      assertEquals(6, result.storedRows().size(), "raw rows and five window views");
      for (double ratio : result.ratios()) {
        assertTrue(ratio > 0 && Double.isFinite(ratio), "ratio " + ratio);
      }
      assertTrue(result.note("Hyprstream (in-process)").contains("100,000 raw rows"));
    } finally {
      batches.forEach(VectorSchemaRoot::close);
    }
  }
}
