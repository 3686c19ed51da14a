package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.AggregationSpec;
import java.time.Duration;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.Test;

final class HyprstreamBuilderTest {
  @Test
  void builder_secondAssignmentAndBadValues_areRefused() {
    HyprstreamBuilder b = Hyprstream.builder().cacheDuration(Duration.ofMinutes(5));
    assertThrows(IllegalStateException.class, () -> b.cacheDuration(Duration.ofMinutes(6)));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Hyprstream.builder().cacheDuration(Duration.ZERO));
    assertTrue(e.getMessage().contains("cacheDuration"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () ->
            Hyprstream.builder()
                .aggregate(
                    AggregationSpec.builder("metrics").timeColumn("t").valueColumns("v").build()));
  }

  @Test
  void build_default_hasMetricsItsFiveViewsAndTheCacheStatsTable() {
    try (BufferAllocator allocator = new RootAllocator();
        Hyprstream hs = Hyprstream.builder().allocator(allocator).build()) {
      assertEquals(
          List.of(
              "hyprstream_cache_stats",
              "metrics",
              "metrics_1d",
              "metrics_1h",
              "metrics_1w",
              "metrics_30m",
              "metrics_5m"),
          hs.tables().stream().map(Hyprstream.TableInfo::name).sorted().toList());
      hs.close();
      assertThrows(IllegalStateException.class, () -> hs.query("SELECT 1"));
    }
  }
}
