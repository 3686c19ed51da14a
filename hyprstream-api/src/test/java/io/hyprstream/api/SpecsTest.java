package io.hyprstream.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

final class SpecsTest {
  @Test
  void windowSpec_defaultsAndNames() {
    assertEquals(
        List.of("5m", "30m", "1h", "1d", "1w"),
        WindowSpec.DEFAULTS.stream().map(WindowSpec::name).toList());
    assertEquals(Duration.ofDays(1), WindowSpec.parse("5m").retention());
    assertEquals(Duration.ofDays(1826), WindowSpec.parse("1w").retention());
    assertEquals("90s", WindowSpec.parse("90s").name());
    assertEquals(Duration.ofSeconds(90 * 288), WindowSpec.parse("90s").retention());
  }

  @Test
  void windowSpec_badValues_nameTheProblem() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> WindowSpec.parse("5x"));
    assertTrue(e.getMessage().contains("5x"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> WindowSpec.tumbling(Duration.ofMillis(500)));
    assertThrows(
        IllegalArgumentException.class,
        () -> WindowSpec.parse("1h").withRetention(Duration.ofMinutes(5)));
  }

  @Test
  void aggregationSpec_rejectsSecondAssignmentAndMissingOptions() {
    AggregationSpec.Builder b = AggregationSpec.builder("t").timeColumn("ts");
    assertThrows(IllegalStateException.class, () -> b.timeColumn("other"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, b::build);
    assertTrue(e.getMessage().contains("value column"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> AggregationSpec.builder("t").timeColumn("ts").valueColumns("ts").build());
    assertThrows(
        IllegalArgumentException.class,
        () ->
            AggregationSpec.builder("t")
                .timeColumn("ts")
                .valueColumns("v")
                .windows(List.of(WindowSpec.parse("5m"), WindowSpec.parse("5m")))
                .build());
  }

  @Test
  void ingestResult_sumsReasons() {
    IngestResult a = IngestResult.of(10, java.util.Map.of(IngestResult.Reason.TOO_LATE, 2L));
    IngestResult b = IngestResult.of(5, java.util.Map.of(IngestResult.Reason.TOO_LATE, 1L));
    IngestResult sum = a.plus(b);
    assertEquals(15, sum.rowsAccepted());
    assertEquals(3, sum.rowsTooLate());
    assertEquals(0, sum.rowsNotAggregated(IngestResult.Reason.NULL_VALUE));
  }
}
