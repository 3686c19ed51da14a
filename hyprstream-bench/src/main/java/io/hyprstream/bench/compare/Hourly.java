package io.hyprstream.bench.compare;

import java.util.Arrays;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * One answer of W2: a metric's most recent hourly windows, newest first, as window start (epoch
 * microseconds), count and sum.
 */
final class Hourly {
  private final long[] starts;
  private final long[] counts;
  private final double[] sums;
  private int size;

  Hourly(int capacity) {
    starts = new long[capacity];
    counts = new long[capacity];
    sums = new double[capacity];
  }

  void add(long startMicros, long count, double sum) {
    if (size == starts.length) {
      throw new IllegalStateException("more than " + starts.length + " hourly windows returned");
    }
    starts[size] = startMicros;
    counts[size] = count;
    sums[size] = sum;
    size++;
  }

  int size() {
    return size;
  }

  /** Null when {@code this} equals {@code expected} (sums within {@link WindowGrid#close}). */
  @Nullable String diff(Hourly expected) {
    if (size != expected.size) {
      return "returned " + size + " windows, expected " + expected.size;
    }
    for (int i = 0; i < size; i++) {
      if (starts[i] != expected.starts[i]
          || counts[i] != expected.counts[i]
          || !WindowGrid.close(sums[i], expected.sums[i])) {
        return String.format(
            Locale.ROOT,
            "window %d: (start %d, count %d, sum %.9g), expected (%d, %d, %.9g)",
            i,
            starts[i],
            counts[i],
            sums[i],
            expected.starts[i],
            expected.counts[i],
            expected.sums[i]);
      }
    }
    return null;
  }

  @Override
  public String toString() {
    return "Hourly" + Arrays.toString(Arrays.copyOf(starts, size));
  }
}
