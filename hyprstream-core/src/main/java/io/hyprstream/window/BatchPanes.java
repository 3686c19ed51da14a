package io.hyprstream.window;

import io.hyprstream.api.IngestResult;
import io.hyprstream.internal.arrow.Columns;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * One batch's values summed per (key, pane), where a pane is a window of the smallest size. Every
 * larger window is a whole number of panes (all sizes are multiples of the smallest and share one
 * origin), so it takes each pane's {@link Moments} once instead of each of the pane's rows: a row
 * costs one update here, and each window size one merge per pane.
 *
 * <p>Rows of one key arrive nearly in time order, so a key's last pane answers most rows without a
 * hash lookup. Reused from batch to batch by its aggregator; not thread-safe.
 */
final class BatchPanes {
  private static final int NO_PANE = -1;

  private final long paneMicros;
  private final int values;
  private final int stride;

  private int size;
  private int[] keyOf = new int[1024];
  private long[] startOf = new long[1024];
  private double[] state;

  // (key, pane start) -> pane, open addressing; NO_PANE marks a free entry.
  private int[] table = newTable(2048);

  // Per key, the pane its last row went to, valid when keyStamp[key] == stamp (this batch).
  private int[] lastPane = new int[0];
  private int[] keyStamp = new int[0];
  private int stamp;

  // Scratch of one update, per row and per pane; grown, never shrunk.
  private int[] paneOfRow = new int[0];
  private long[] countSoFar = new long[0];
  private double[] sumSoFar = new double[0];
  private int[] lateSizes = new int[0];
  private int[] aheadSizes = new int[0];
  private long[] runningBaseCount = new long[0];
  private double[] runningBaseSum = new double[0];

  BatchPanes(long paneMicros, int values) {
    this.paneMicros = paneMicros;
    this.values = values;
    this.stride = values * Moments.STRIDE;
    this.state = new double[keyOf.length * stride];
  }

  /**
   * Updates every window size's state with a batch: its rows summed per pane, then each pane merged
   * once into its window of every size. A pane's rows share their window in each size, so they are
   * too late or too far ahead together. The running window, when there is one, is the pane size, so
   * a row's running state is its window's state before this batch plus the pane's sums up to and
   * including that row.
   *
   * @param states each window size's state; all sizes are multiples of this buffer's pane
   * @param runningIndex the running window's index in {@code states}, or -1
   * @param valueNulls per value column, which rows are null, or null when none is
   */
  IngestResult update(
      WindowState[] states,
      int runningIndex,
      int rows,
      long[] times,
      int[] keyIds,
      double[][] valueColumns,
      boolean[] @Nullable [] valueNulls,
      @Nullable RunningColumns run) {
    begin();
    if (paneOfRow.length < rows) {
      paneOfRow = new int[rows];
      countSoFar = new long[rows];
      sumSoFar = new double[rows];
    }
    int values = valueColumns.length;
    for (int r = 0; r < rows; r++) {
      long t = times[r];
      if (t == Columns.NULL_TIME) {
        paneOfRow[r] = NO_PANE;
        continue;
      }
      int pane = paneOf(keyIds[r], t);
      paneOfRow[r] = pane;
      for (int v = 0; v < values; v++) {
        boolean[] isNull = valueNulls[v];
        if (isNull == null || !isNull[r]) {
          add(pane, v, t, valueColumns[v][r]);
        }
      }
      if (run != null) { // only the running columns read a row's sums so far
        countSoFar[r] = count(pane, 0);
        sumSoFar[r] = sum(pane, 0);
      }
    }

    mergeInto(states, runningIndex, values);

    RowOutcomes outcomes = new RowOutcomes();
    int sizes = states.length;
    for (int r = 0; r < rows; r++) {
      int pane = paneOfRow[r];
      if (pane == NO_PANE) {
        outcomes.nullTime++;
      } else {
        boolean anyValue = false;
        for (int v = 0; v < values && !anyValue; v++) {
          anyValue = valueNulls[v] == null || !valueNulls[v][r];
        }
        outcomes.count(lateSizes[pane], aheadSizes[pane], sizes, anyValue);
      }
      // A row whose running window is not kept stays NULL.
      if (run != null && pane != NO_PANE && runningBaseCount[pane] >= 0) {
        run.set(r, runningBaseCount[pane] + countSoFar[r], runningBaseSum[pane] + sumSoFar[r]);
      }
    }
    return outcomes.result(rows);
  }

  /**
   * Merges every pane into its window of every size, noting per pane in how many sizes it was too
   * late or too far ahead, and its running window's count and sum before the merge (count -1: that
   * window is not kept).
   */
  private void mergeInto(WindowState[] states, int runningIndex, int values) {
    if (lateSizes.length < size) {
      int cap = Math.max(size, lateSizes.length * 2);
      lateSizes = new int[cap];
      aheadSizes = new int[cap];
      runningBaseCount = new long[cap];
      runningBaseSum = new double[cap];
    }
    for (int pane = 0; pane < size; pane++) {
      int key = keyOf[pane];
      long start = startOf[pane];
      int late = 0;
      int ahead = 0;
      runningBaseCount[pane] = -1;
      for (int i = 0; i < states.length; i++) {
        WindowState s = states[i];
        int slot = s.locate(key, start);
        if (slot < 0) {
          if (slot == WindowState.LATE) {
            late++;
          } else {
            ahead++;
          }
          continue;
        }
        if (i == runningIndex && values > 0) {
          runningBaseCount[pane] = s.count(slot, 0);
          runningBaseSum[pane] = s.sum(slot, 0);
        }
        double shift = (start - s.locatedStart) / 1e6;
        for (int v = 0; v < values; v++) {
          s.merge(slot, v, state, offset(pane, v), shift);
        }
      }
      lateSizes[pane] = late;
      aheadSizes[pane] = ahead;
    }
  }

  /** Forgets the previous batch's panes. */
  private void begin() {
    size = 0;
    Arrays.fill(table, NO_PANE);
    if (++stamp == 0) { // wrapped: no stamp may match a key of an earlier batch
      Arrays.fill(keyStamp, 0);
      stamp = 1;
    }
  }

  /** Panes of this batch, numbered from 0 in order of their first row. */
  int size() {
    return size;
  }

  int keyOf(int pane) {
    return keyOf[pane];
  }

  /** The pane's start, epoch micros. */
  long startOf(int pane) {
    return startOf[pane];
  }

  /** The array holding every pane's state; {@link #offset} locates one value column of a pane. */
  double[] state() {
    return state;
  }

  int offset(int pane, int v) {
    return pane * stride + v * Moments.STRIDE;
  }

  /** The pane of {@code key}'s row at {@code micros}, created empty when new. */
  int paneOf(int key, long micros) {
    if (key < keyStamp.length && keyStamp[key] == stamp) {
      int last = lastPane[key];
      long sinceStart = micros - startOf[last];
      if (sinceStart >= 0 && sinceStart < paneMicros) {
        return last; // no division for the common case
      }
    }
    long start =
        HeapWindowAggregator.ORIGIN_MICROS
            + Math.floorDiv(micros - HeapWindowAggregator.ORIGIN_MICROS, paneMicros) * paneMicros;
    int mask = table.length - 1;
    int pos = hash(key, start) & mask;
    int pane;
    while (true) {
      pane = table[pos];
      if (pane == NO_PANE) {
        pane = newPane(key, start);
        table[pos] = pane;
        if (size * 2 > table.length) {
          rehash();
        }
        break;
      }
      if (keyOf[pane] == key && startOf[pane] == start) {
        break;
      }
      pos = (pos + 1) & mask;
    }
    if (key >= keyStamp.length) {
      int cap = Math.max(key + 1, keyStamp.length * 2);
      keyStamp = Arrays.copyOf(keyStamp, cap);
      lastPane = Arrays.copyOf(lastPane, cap);
    }
    keyStamp[key] = stamp;
    lastPane[key] = pane;
    return pane;
  }

  /** Adds value {@code y} of column v at {@code micros} to {@code pane}. */
  void add(int pane, int v, long micros, double y) {
    Moments.add(state, offset(pane, v), (micros - startOf[pane]) / 1e6, y);
  }

  /** Values of column v added to {@code pane} so far. */
  long count(int pane, int v) {
    return (long) state[offset(pane, v) + Moments.N];
  }

  /** Their sum; meaningful only when {@link #count} > 0. */
  double sum(int pane, int v) {
    return state[offset(pane, v) + Moments.SUM];
  }

  private int newPane(int key, long start) {
    int pane = size++;
    if (pane == keyOf.length) {
      int cap = pane * 2;
      keyOf = Arrays.copyOf(keyOf, cap);
      startOf = Arrays.copyOf(startOf, cap);
      state = Arrays.copyOf(state, cap * stride);
    }
    keyOf[pane] = key;
    startOf[pane] = start;
    for (int v = 0; v < values; v++) {
      Moments.clear(state, offset(pane, v));
    }
    return pane;
  }

  private void rehash() {
    table = newTable(table.length * 2);
    int mask = table.length - 1;
    for (int pane = 0; pane < size; pane++) {
      int pos = hash(keyOf[pane], startOf[pane]) & mask;
      while (table[pos] != NO_PANE) {
        pos = (pos + 1) & mask;
      }
      table[pos] = pane;
    }
  }

  private static int[] newTable(int capacity) {
    int[] t = new int[capacity];
    Arrays.fill(t, NO_PANE);
    return t;
  }

  private static int hash(int key, long start) {
    long h = (start * 0x9E3779B97F4A7C15L) ^ (key * 0xC2B2AE3D27D4EB4FL);
    return (int) (h ^ (h >>> 29));
  }
}
