package io.hyprstream.internal.arrow;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;

/**
 * Microseconds since the epoch, the unit of every timestamp the engine stores and compares, to and
 * from {@code java.time}: one conversion instead of one per caller. Sub-microsecond digits are
 * dropped (towards the past); a time past the range of a {@code long} fails rather than wraps.
 */
public final class EpochMicros {
  private EpochMicros() {}

  /**
   * {@code t} in microseconds since the epoch.
   *
   * @throws ArithmeticException when it does not fit a {@code long}
   */
  public static long of(Instant t) {
    return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1000);
  }

  /**
   * {@code utc}, a wall-clock time in UTC, in microseconds since the epoch.
   *
   * @throws ArithmeticException when it does not fit a {@code long}
   */
  public static long ofUtc(LocalDateTime utc) {
    return Math.addExact(
        Math.multiplyExact(utc.toEpochSecond(ZoneOffset.UTC), 1_000_000L), utc.getNano() / 1000);
  }

  /** {@code micros} since the epoch as a wall-clock time in UTC. */
  public static LocalDateTime toUtc(long micros) {
    return LocalDateTime.ofEpochSecond(
        Math.floorDiv(micros, 1_000_000L),
        (int) Math.floorMod(micros, 1_000_000L) * 1000,
        ZoneOffset.UTC);
  }
}
