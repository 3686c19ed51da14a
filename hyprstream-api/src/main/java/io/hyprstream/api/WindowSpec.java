package io.hyprstream.api;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A tumbling window: its size and how long its windows are kept.
 *
 * <p>Windows are {@code [start, start + size)}, aligned exactly like DuckDB's {@code
 * time_bucket(size, ts)}: in UTC, from the origin 2000-01-03T00:00:00Z (a Monday), so weekly
 * windows start on Mondays. A window is dropped once its end is older than {@code now - retention}.
 *
 * <pre>{@code
 * WindowSpec hourly = WindowSpec.tumbling(Duration.ofHours(1)).withRetention(Duration.ofDays(90));
 * }</pre>
 *
 * @param size the window length, a positive whole number of seconds
 * @param retention how long a window is kept after it ends, at least {@code size}
 */
public record WindowSpec(Duration size, Duration retention) {
  /** 5m kept 1 day, 30m kept 7 days, 1h kept 31 days, 1d kept 400 days, 1w kept 5 years. */
  public static final List<WindowSpec> DEFAULTS =
      List.of(
          tumbling(Duration.ofMinutes(5)),
          tumbling(Duration.ofMinutes(30)),
          tumbling(Duration.ofHours(1)),
          tumbling(Duration.ofDays(1)),
          tumbling(Duration.ofDays(7)));

  /** Windows of sizes without a listed default are kept for this many window lengths. */
  static final int DEFAULT_RETAINED_WINDOWS = 288;

  /**
   * A tumbling window of {@code size} kept for {@code retention} after it ends.
   *
   * @throws IllegalArgumentException if {@code size} is not a positive whole number of seconds, or
   *     {@code retention} is shorter than {@code size}
   */
  public WindowSpec {
    Objects.requireNonNull(size, "size");
    Objects.requireNonNull(retention, "retention");
    if (size.isNegative() || size.isZero() || size.getNano() != 0) {
      throw new IllegalArgumentException(
          "window size must be a positive whole number of seconds, got " + size);
    }
    if (retention.compareTo(size) < 0) {
      throw new IllegalArgumentException(
          "retention " + retention + " is shorter than the window size " + size);
    }
  }

  /**
   * A tumbling window of {@code size}, with the default retention for that size.
   *
   * @throws IllegalArgumentException if {@code size} is not a positive whole number of seconds
   */
  public static WindowSpec tumbling(Duration size) {
    Objects.requireNonNull(size, "size");
    return new WindowSpec(size, defaultRetention(size));
  }

  /**
   * Parses a window written as a number and a unit: {@code 5m}, {@code 30m}, {@code 1h}, {@code
   * 1d}, {@code 1w} or {@code 90s}.
   *
   * @throws IllegalArgumentException naming the text when it is not of that form
   */
  public static WindowSpec parse(String text) {
    return tumbling(parseDuration(text));
  }

  /** Parses {@code <n>s|m|h|d|w} into a duration; the format of {@link #name()}. */
  public static Duration parseDuration(String text) {
    String t = text.trim();
    if (t.length() < 2) {
      throw new IllegalArgumentException("'" + text + "' is not a duration like 5m, 1h or 7d");
    }
    long n;
    try {
      n = Long.parseLong(t.substring(0, t.length() - 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + text + "' is not a duration like 5m, 1h or 7d", e);
    }
    switch (t.charAt(t.length() - 1)) {
      case 's':
        return Duration.ofSeconds(n);
      case 'm':
        return Duration.ofMinutes(n);
      case 'h':
        return Duration.ofHours(n);
      case 'd':
        return Duration.ofDays(n);
      case 'w':
        return Duration.ofDays(7 * n);
      default:
        throw new IllegalArgumentException("'" + text + "' is not a duration like 5m, 1h or 7d");
    }
  }

  private static Duration defaultRetention(Duration size) {
    if (size.equals(Duration.ofMinutes(5))) {
      return Duration.ofDays(1);
    } else if (size.equals(Duration.ofMinutes(30))) {
      return Duration.ofDays(7);
    } else if (size.equals(Duration.ofHours(1))) {
      return Duration.ofDays(31);
    } else if (size.equals(Duration.ofDays(1))) {
      return Duration.ofDays(400);
    } else if (size.equals(Duration.ofDays(7))) {
      return Duration.ofDays(5 * 365 + 1);
    }
    return size.multipliedBy(DEFAULT_RETAINED_WINDOWS);
  }

  /**
   * This window with another retention.
   *
   * @throws IllegalArgumentException if {@code retention} is shorter than the window size
   */
  public WindowSpec withRetention(Duration retention) {
    return new WindowSpec(size, retention);
  }

  /**
   * The short name used in view names: {@code 5m}, {@code 30m}, {@code 1h}, {@code 1d}, {@code 1w},
   * else the largest unit that divides the size ({@code 90s}, {@code 2h}).
   */
  public String name() {
    long s = size.getSeconds();
    if (s % (7 * 86400) == 0) {
      return s / (7 * 86400) + "w";
    } else if (s % 86400 == 0) {
      return s / 86400 + "d";
    } else if (s % 3600 == 0) {
      return s / 3600 + "h";
    } else if (s % 60 == 0) {
      return s / 60 + "m";
    }
    return s + "s";
  }

  @Override
  public String toString() {
    return "WindowSpec{" + name() + ", retention=" + retention + "}";
  }
}
