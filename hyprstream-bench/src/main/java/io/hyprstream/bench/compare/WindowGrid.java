package io.hyprstream.bench.compare;

import io.hyprstream.bench.MetricsData;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;

/**
 * Count and sum of every 5-minute window of every metric of the generated data, on a dense grid
 * (metric x window). Built from the raw rows it is the oracle every system's answers are checked
 * against; filled from a system's W3 answer it is that answer.
 */
final class WindowGrid {
  static final long FIVE_MINUTES = 300_000_000L;
  static final long HOUR = 3_600_000_000L;

  private final int metrics;
  private final long firstBucket;
  private final int buckets;
  private final long[] counts;
  private final double[] sums;
  private long added;

  WindowGrid(int metrics, long minMicros, long maxMicros) {
    this.metrics = metrics;
    this.firstBucket = Math.floorDiv(minMicros, FIVE_MINUTES);
    this.buckets = (int) (Math.floorDiv(maxMicros, FIVE_MINUTES) - firstBucket + 1);
    this.counts = new long[metrics * buckets];
    this.sums = new double[metrics * buckets];
  }

  /** An empty grid over the same metrics and windows. */
  WindowGrid emptyLike() {
    return new WindowGrid(
        metrics, firstBucket * FIVE_MINUTES, (firstBucket + buckets - 1) * FIVE_MINUTES);
  }

  /** The oracle: every row of {@code batches} added to its window. */
  static WindowGrid of(MetricsData data, List<VectorSchemaRoot> batches) {
    WindowGrid g = new WindowGrid(data.metrics(), data.minMicros(), data.maxMicros());
    byte[] id = new byte[64];
    for (VectorSchemaRoot b : batches) {
      VarCharVector ids = (VarCharVector) b.getVector(0);
      TimeStampMicroVector ts = (TimeStampMicroVector) b.getVector(1);
      Float8Vector value = (Float8Vector) b.getVector(2);
      for (int r = 0; r < b.getRowCount(); r++) {
        int len = (int) (ids.getEndOffset(r) - ids.getStartOffset(r));
        ids.getDataBuffer().getBytes(ids.getStartOffset(r), id, 0, len);
        int cell = g.cell(metricIndex(id, len), ts.get(r));
        g.counts[cell]++;
        g.sums[cell] += value.get(r);
      }
    }
    for (long c : g.counts) {
      if (c > 0) {
        g.added++;
      }
    }
    return g;
  }

  /** The index of a generated metric id ({@code host0042.cpu.user} is 42), or -1. */
  static int metricIndex(CharSequence id) {
    if (id.length() < 8 || id.charAt(0) != 'h' || id.charAt(3) != 't') {
      return -1;
    }
    int m = 0;
    for (int i = 4; i < 8; i++) {
      int d = id.charAt(i) - '0';
      if (d < 0 || d > 9) {
        return -1;
      }
      m = m * 10 + d;
    }
    return m;
  }

  /** As {@link #metricIndex(CharSequence)}, over UTF-8 bytes. */
  static int metricIndex(byte[] id, int len) {
    if (len < 8 || id[0] != 'h' || id[3] != 't') {
      return -1;
    }
    int m = 0;
    for (int i = 4; i < 8; i++) {
      int d = id[i] - '0';
      if (d < 0 || d > 9) {
        return -1;
      }
      m = m * 10 + d;
    }
    return m;
  }

  private int cell(int metric, long micros) {
    long b = Math.floorDiv(micros, FIVE_MINUTES) - firstBucket;
    if (metric < 0 || metric >= metrics || b < 0 || b >= buckets) {
      throw new IllegalStateException(
          "window outside the data: metric " + metric + ", time " + micros + " us");
    }
    return metric * buckets + (int) b;
  }

  /**
   * Adds one window of a system's answer.
   *
   * @throws IllegalStateException when the window is not 5-minute aligned or outside the data
   */
  void add(int metric, long windowStartMicros, long count, double sum) {
    if (Math.floorMod(windowStartMicros, FIVE_MINUTES) != 0) {
      throw new IllegalStateException("window start " + windowStartMicros + " is not aligned");
    }
    int c = cell(metric, windowStartMicros);
    counts[c] += count;
    sums[c] += sum;
    added++;
  }

  void clear() {
    Arrays.fill(counts, 0);
    Arrays.fill(sums, 0);
    added = 0;
  }

  /** Windows added (for the oracle: windows holding at least one row). */
  long windows() {
    return added;
  }

  /** The 24 hourly windows ending at {@code endMicros} (an hour boundary), newest first. */
  Hourly lastHourly(int metric, long endMicros) {
    Hourly h = new Hourly(24);
    for (int k = 1; k <= 24; k++) {
      long start = endMicros - k * HOUR;
      long n = 0;
      double s = 0;
      for (long t = start; t < start + HOUR; t += FIVE_MINUTES) {
        long b = Math.floorDiv(t, FIVE_MINUTES) - firstBucket;
        if (b >= 0 && b < buckets) {
          n += counts[metric * buckets + (int) b];
          s += sums[metric * buckets + (int) b];
        }
      }
      if (n > 0) {
        h.add(start, n, s);
      }
    }
    return h;
  }

  /**
   * Null when {@code this} holds the same windows as {@code expected}, else the first difference.
   */
  @Nullable String diff(WindowGrid expected) {
    if (added != expected.added) {
      return "returned " + added + " windows, expected " + expected.added;
    }
    for (int i = 0; i < counts.length; i++) {
      if (counts[i] != expected.counts[i] || !close(sums[i], expected.sums[i])) {
        return String.format(
            Locale.ROOT,
            "metric %d, window %d: count %d sum %.9g, expected %d and %.9g",
            i / buckets,
            (firstBucket + i % buckets) * FIVE_MINUTES,
            counts[i],
            sums[i],
            expected.counts[i],
            expected.sums[i]);
      }
    }
    return null;
  }

  /** Equal within floating-point summation error: relative 1e-9, absolute 1e-6. */
  static boolean close(double a, double b) {
    return Math.abs(a - b) <= 1e-6 + 1e-9 * Math.max(Math.abs(a), Math.abs(b));
  }
}
