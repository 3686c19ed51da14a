package io.hyprstream.flight.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

final class MetadataTest {
  @Test
  void nameLike_jdbcPatterns_matchIgnoringCase() {
    assertTrue(Metadata.nameLike("metrics_5m", "METRICS_5M"));
    assertTrue(Metadata.nameLike("metrics_5m", "Metrics%"));
    assertTrue(Metadata.nameLike("metrics_5m", "metrics\\_5m"));
    assertFalse(Metadata.nameLike("metricsx5m", "metrics\\_5m"));
    assertTrue(Metadata.nameLike("a%b", "a\\%b"));
    assertFalse(Metadata.nameLike("axxb", "a\\%b"));
    assertTrue(Metadata.nameLike("x.y", "X.Y"));
    assertFalse(Metadata.nameLike("xzy", "x.y"));
    assertTrue(Metadata.nameLike("", "%"));
    assertFalse(Metadata.nameLike("ab", "a"));
    assertTrue(Metadata.nameLike("Größe", "GRÖSSE".substring(0, 2) + "%"));
  }

  @Test
  void nameIs_exactNames_ignoreCaseAndNullMatchesAll() {
    assertTrue(Metadata.nameIs("memory", null));
    assertTrue(Metadata.nameIs("memory", "MEMORY"));
    assertFalse(Metadata.nameIs("memory", ""));
    assertFalse(Metadata.nameIs("memory", "mem%"));
  }
}
