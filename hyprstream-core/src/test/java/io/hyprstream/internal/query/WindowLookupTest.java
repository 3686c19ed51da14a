package io.hyprstream.internal.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.hyprstream.internal.sql.LookupShape;
import io.hyprstream.internal.sql.LookupShape.Term;
import io.hyprstream.internal.sql.LookupShape.Value;
import java.time.Instant;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** The window-lookup fast path's reading of a lookup shape with its parameters bound. */
final class WindowLookupTest {
  private static final Instant T = Instant.parse("2026-09-01T12:00:00Z");
  private static final long T_MICROS = T.getEpochSecond() * 1_000_000L;

  private static @Nullable WindowLookup lookup(List<Term> terms, @Nullable Object... params) {
    LookupShape shape = new LookupShape("metrics_1m", null, terms, null, false, null);
    return WindowLookup.of(shape, new ArrayList<>(Arrays.asList(params)));
  }

  @Test
  void windowStartEqualsParameter_isTheOneWindowStartingThen() {
    WindowLookup l =
        lookup(
            List.of(
                new Term("metric_id", "=", new Value(1, null, false)),
                new Term("window_start", "=", new Value(2, null, false))),
            "cpu",
            LocalDateTime.parse("2026-09-01T12:00:00"));
    assertNotNull(l);
    assertEquals("cpu", l.key);
    assertEquals(T_MICROS, l.fromMicros);
    assertEquals(T_MICROS + 1, l.toMicros, "the end is exclusive: only windows starting at T");
  }

  @Test
  void windowStartRange_andEquality_intersect() {
    WindowLookup l =
        lookup(
            List.of(
                new Term("metric_id", "=", new Value(0, "cpu", false)),
                new Term("window_start", ">=", new Value(1, null, false)),
                new Term("window_start", "=", new Value(2, null, false))),
            T.minusSeconds(60),
            T);
    assertNotNull(l);
    assertEquals(T_MICROS, l.fromMicros);
    assertEquals(T_MICROS + 1, l.toMicros);
  }

  @Test
  void aParameterThatIsNoTime_leavesTheQueryToDuckDb() {
    assertNull(
        lookup(
            List.of(
                new Term("metric_id", "=", new Value(0, "cpu", false)),
                new Term("window_start", "=", new Value(1, null, false))),
            42L));
  }
}
