package io.hyprstream.bench;

import java.util.Arrays;
import java.util.Locale;

/** Percentiles of a sample of durations in nanoseconds. */
public final class Stats {
  private final long[] sorted;

  public Stats(long[] nanos) {
    this.sorted = nanos.clone();
    Arrays.sort(sorted);
  }

  public int count() {
    return sorted.length;
  }

  /** The {@code p}th percentile (nearest rank), in nanoseconds. */
  public long percentile(double p) {
    if (sorted.length == 0) {
      return 0;
    }
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  /** The sample, sorted ascending (a copy). */
  public long[] sorted() {
    return sorted.clone();
  }

  public long max() {
    return sorted.length == 0 ? 0 : sorted[sorted.length - 1];
  }

  public double meanNanos() {
    double s = 0;
    for (long v : sorted) {
      s += v;
    }
    return sorted.length == 0 ? 0 : s / sorted.length;
  }

  /** Milliseconds with three decimals. */
  public static String ms(double nanos) {
    return String.format(Locale.ROOT, "%.3f", nanos / 1e6);
  }

  /** "p50 / p99 / max ms". */
  public String summary() {
    return "p50 "
        + ms(percentile(50))
        + " ms, p99 "
        + ms(percentile(99))
        + " ms, p99.9 "
        + ms(percentile(99.9))
        + " ms, max "
        + ms(max())
        + " ms, mean "
        + ms(meanNanos())
        + " ms (n="
        + sorted.length
        + ")";
  }
}
