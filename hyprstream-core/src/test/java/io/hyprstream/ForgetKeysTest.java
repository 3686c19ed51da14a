package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.testing.TestAllocator;
import io.hyprstream.window.HeapWindowAggregator;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The heap aggregator drops every window of the keys it is told to forget (what a cluster instance
 * does for partitions that moved away), leaves the other keys' windows as they were, and counts a
 * forgotten key that comes back as a new one.
 */
final class ForgetKeysTest {
  @RegisterExtension final TestAllocator allocator = new TestAllocator();

  private static final Instant NOW = ClusterWindowsTest.END.plusSeconds(60);

  private HeapWindowAggregator fed(List<TestData.Row> rows) {
    AggregationSpec spec =
        AggregationSpec.builder("metrics")
            .timeColumn("timestamp")
            .keyColumns("metric_id")
            .valueColumns("value")
            .windows(WindowSpec.DEFAULTS)
            .build();
    HeapWindowAggregator agg =
        new HeapWindowAggregator(
            spec,
            List.of(Objects.requireNonNull(TestData.METRICS_WITH_SEQ.findField("metric_id"))));
    try (VectorSchemaRoot batch = TestData.metrics(allocator, rows)) {
      agg.update(batch, null, NOW);
    }
    return agg;
  }

  /** Every window of every view of {@code key}, as rows. */
  private List<String> windowsOf(HeapWindowAggregator agg, String key) {
    List<String> out = new ArrayList<>();
    for (WindowSpec w : WindowSpec.DEFAULTS) {
      try (VectorSchemaRoot r =
          agg.lookup(w, List.of(key), Long.MIN_VALUE, Long.MAX_VALUE, false, 100_000, allocator)) {
        out.add(w.name() + ":\n" + r.contentToTSVString());
      }
    }
    return out;
  }

  @Test
  void forgottenKeysLoseEveryWindow_othersKeepTheirs_aReturningKeyStartsAfresh() {
    List<TestData.Row> rows = ClusterWindowsTest.randomRows(7, 4000);
    List<TestData.Row> ofM1 = new ArrayList<>();
    List<TestData.Row> others = new ArrayList<>();
    for (TestData.Row r : rows) {
      (Objects.equals(r.id, "m1") ? ofM1 : others).add(r);
    }
    assertTrue(ofM1.size() > 10, ofM1.size() + " rows of m1");
    HeapWindowAggregator all = fed(rows);
    HeapWindowAggregator withoutM1 = fed(others);
    HeapWindowAggregator onlyM1 = fed(ofM1);
    List<String> otherKey = windowsOf(all, "m2");

    long dropped = all.forget((List<@Nullable Object> key) -> Objects.equals(key.get(0), "m1"));

    assertEquals(onlyM1.windowCount(), dropped, "every window of m1 dropped");
    assertEquals(withoutM1.windowCount(), all.windowCount(), "the other keys' windows stay");
    assertEquals(windowsOf(withoutM1, "m1"), windowsOf(all, "m1"), "no window of m1 left");
    assertEquals(otherKey, windowsOf(all, "m2"), "m2's windows unchanged");

    try (VectorSchemaRoot again = TestData.metrics(allocator, ofM1)) {
      all.update(again, null, NOW);
    }
    assertEquals(windowsOf(onlyM1, "m1"), windowsOf(all, "m1"), "m1 counted afresh, not twice");
  }

  @Test
  void exportedKeys_importedIntoAnotherAggregator_holdTheSameWindows_anOverlapIsRefusedWhole() {
    List<TestData.Row> rows = ClusterWindowsTest.randomRows(9, 4000);
    List<TestData.Row> ofM1AndM2 = new ArrayList<>();
    List<TestData.Row> others = new ArrayList<>();
    for (TestData.Row r : rows) {
      (Objects.equals(r.id, "m1") || Objects.equals(r.id, "m2") ? ofM1AndM2 : others).add(r);
    }
    HeapWindowAggregator all = fed(rows);
    HeapWindowAggregator receiver = fed(others);
    long before = receiver.windowCount();
    List<String> m3 = windowsOf(receiver, "m3");

    List<VectorSchemaRoot> state =
        all.exportState(
            allocator,
            (List<@Nullable Object> key) ->
                Objects.equals(key.get(0), "m1") || Objects.equals(key.get(0), "m2"));
    try {
      receiver.importState(state);
      assertEquals(fed(ofM1AndM2).windowCount(), receiver.windowCount() - before, "windows added");
      assertEquals(windowsOf(all, "m1"), windowsOf(receiver, "m1"), "m1's windows");
      assertEquals(windowsOf(all, "m2"), windowsOf(receiver, "m2"), "m2's windows");
      assertEquals(m3, windowsOf(receiver, "m3"), "m3's windows unchanged");
      assertEquals(windowsOf(all, "m3"), windowsOf(receiver, "m3"), "m3 as in the whole");

      // Importing keys that hold windows would count their rows twice: refused, nothing added.
      long held = receiver.windowCount();
      org.junit.jupiter.api.Assertions.assertThrows(
          IllegalArgumentException.class, () -> receiver.importState(state));
      assertEquals(held, receiver.windowCount(), "nothing added by the refused import");
    } finally {
      state.forEach(VectorSchemaRoot::close);
    }
  }
}
