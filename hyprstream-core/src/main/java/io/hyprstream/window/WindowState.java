package io.hyprstream.window;

import java.util.Arrays;
import java.util.BitSet;

/**
 * The state of every (key, window) of one window size, in columnar pages of primitive arrays.
 *
 * <p>A slot holds one (key, window): its raw value count, sum, min, max, the sum of x (seconds
 * since the window start) and the co-moments M2 (of value), Cxx and Cxy, per value column. From
 * these come count, sum, avg, min, max, sample stddev and the least-squares slope and intercept;
 * all of them merge, and none needs the raw rows. Pre-aggregated partial state (count and sum only)
 * is rare and lives in {@link #partials}, so ordinary slots stay small.
 *
 * <p>Each key has a ring of slot ids indexed by window index, covering the key's span of retained
 * windows: finding a row's slot is an array read, and a key's windows come out in time order
 * without a sort. Positions outside {@code [ringMin, ringMax]} always hold -1.
 *
 * <p>Not thread-safe; the owning aggregator is confined to one thread at a time.
 */
final class WindowState {
  private static final int PAGE_BITS = 12;
  private static final int PAGE = 1 << PAGE_BITS;
  private static final int MASK = PAGE - 1;
  private static final int EMPTY_MIN = Integer.MAX_VALUE;
  private static final int EMPTY_MAX = Integer.MIN_VALUE;

  final long sizeMicros;
  final int values;

  // Per slot.
  private int[][] keyOf = new int[0][];
  private int[][] windowOf = new int[0][];
  // Per slot and value column: index slot * values + v within the page.
  private long[][] n = new long[0][];
  private double[][] sum = new double[0][];
  private double[][] min = new double[0][];
  private double[][] max = new double[0][];
  private double[][] sumX = new double[0][];
  private double[][] m2 = new double[0][];
  private double[][] cxx = new double[0][];
  private double[][] cxy = new double[0][];

  private int slotsUsed;
  private int[] freeSlots = new int[16];
  private int freeCount;
  private int live;

  // Per key.
  private int[][] rings = new int[0][];
  private int[] ringMin = new int[0];
  private int[] ringMax = new int[0];

  /** Slots changed since the last drain. */
  final BitSet dirty = new BitSet();

  /** Pre-aggregated (count, sum) merged into a slot, by slot and value column. */
  final java.util.HashMap<Long, double[]> partials = new java.util.HashMap<>();

  WindowState(long sizeMicros, int values) {
    this.sizeMicros = sizeMicros;
    this.values = values;
  }

  /** Number of live slots. */
  int live() {
    return live;
  }

  /** The slot of (key, window), created empty when missing. */
  int slot(int key, int window) {
    ensureKey(key);
    int[] ring = rings[key];
    int lo = ringMin[key];
    int hi = ringMax[key];
    if (lo == EMPTY_MIN) {
      if (ring == null) {
        ring = newRing(8);
        rings[key] = ring;
      }
      ringMin[key] = window;
      ringMax[key] = window;
      return ring[window & (ring.length - 1)] = newSlot(key, window);
    }
    if (window >= lo && window <= hi) {
      int pos = window & (ring.length - 1);
      int s = ring[pos];
      return s >= 0 ? s : (ring[pos] = newSlot(key, window));
    }
    int newLo = Math.min(lo, window);
    int newHi = Math.max(hi, window);
    long span = (long) newHi - newLo + 1;
    if (span > ring.length) {
      ring = grow(key, ring, span);
    }
    ringMin[key] = newLo;
    ringMax[key] = newHi;
    return ring[window & (ring.length - 1)] = newSlot(key, window);
  }

  /** The slot of (key, window), or -1. */
  int find(int key, int window) {
    if (key >= rings.length || ringMin[key] == EMPTY_MIN) {
      return -1;
    }
    if (window < ringMin[key] || window > ringMax[key]) {
      return -1;
    }
    int[] ring = rings[key];
    return ring[window & (ring.length - 1)];
  }

  /** The lowest and highest window index held for {@code key}; lo > hi when none. */
  int ringMin(int key) {
    return key < ringMin.length ? ringMin[key] : EMPTY_MIN;
  }

  int ringMax(int key) {
    return key < ringMax.length ? ringMax[key] : EMPTY_MAX;
  }

  private int[] grow(int key, int[] ring, long span) {
    if (span > (1 << 30)) {
      throw new IllegalStateException("window span of one key too large: " + span);
    }
    int cap = Integer.highestOneBit((int) span - 1) << 1;
    int[] bigger = newRing(cap);
    for (int w = ringMin[key]; w <= ringMax[key]; w++) {
      bigger[w & (cap - 1)] = ring[w & (ring.length - 1)];
    }
    rings[key] = bigger;
    return bigger;
  }

  private static int[] newRing(int capacity) {
    int[] r = new int[capacity];
    Arrays.fill(r, -1);
    return r;
  }

  private void ensureKey(int key) {
    if (key < rings.length) {
      return;
    }
    int cap = Math.max(key + 1, rings.length * 2);
    int old = rings.length;
    rings = Arrays.copyOf(rings, cap);
    ringMin = Arrays.copyOf(ringMin, cap);
    ringMax = Arrays.copyOf(ringMax, cap);
    Arrays.fill(ringMin, old, cap, EMPTY_MIN);
    Arrays.fill(ringMax, old, cap, EMPTY_MAX);
  }

  private int newSlot(int key, int window) {
    int s;
    if (freeCount > 0) {
      s = freeSlots[--freeCount];
    } else {
      s = slotsUsed++;
      if ((s >>> PAGE_BITS) >= keyOf.length) {
        addPage();
      }
    }
    int p = s >>> PAGE_BITS;
    int o = s & MASK;
    keyOf[p][o] = key;
    windowOf[p][o] = window;
    for (int v = 0; v < values; v++) {
      int i = o * values + v;
      n[p][i] = 0;
      sum[p][i] = 0;
      min[p][i] = Double.POSITIVE_INFINITY;
      max[p][i] = Double.NEGATIVE_INFINITY;
      sumX[p][i] = 0;
      m2[p][i] = 0;
      cxx[p][i] = 0;
      cxy[p][i] = 0;
    }
    live++;
    return s;
  }

  private void addPage() {
    int pages = keyOf.length + 1;
    keyOf = Arrays.copyOf(keyOf, pages);
    windowOf = Arrays.copyOf(windowOf, pages);
    n = Arrays.copyOf(n, pages);
    sum = Arrays.copyOf(sum, pages);
    min = Arrays.copyOf(min, pages);
    max = Arrays.copyOf(max, pages);
    sumX = Arrays.copyOf(sumX, pages);
    m2 = Arrays.copyOf(m2, pages);
    cxx = Arrays.copyOf(cxx, pages);
    cxy = Arrays.copyOf(cxy, pages);
    int p = pages - 1;
    keyOf[p] = new int[PAGE];
    windowOf[p] = new int[PAGE];
    n[p] = new long[PAGE * values];
    sum[p] = new double[PAGE * values];
    min[p] = new double[PAGE * values];
    max[p] = new double[PAGE * values];
    sumX[p] = new double[PAGE * values];
    m2[p] = new double[PAGE * values];
    cxx[p] = new double[PAGE * values];
    cxy[p] = new double[PAGE * values];
  }

  /**
   * Adds value {@code y} observed {@code x} seconds after the window start (Welford / Chan updates
   * of the mean-free co-moments, computed from exact sums).
   */
  void add(int slot, int v, double x, double y) {
    int p = slot >>> PAGE_BITS;
    int i = (slot & MASK) * values + v;
    long[] np = n[p];
    long k = ++np[i];
    double[] sp = sum[p];
    double[] sxp = sumX[p];
    double sOld = sp[i];
    double sxOld = sxp[i];
    double sNew = sOld + y;
    double sxNew = sxOld + x;
    sp[i] = sNew;
    sxp[i] = sxNew;
    if (y < min[p][i]) {
      min[p][i] = y;
    }
    if (y > max[p][i]) {
      max[p][i] = y;
    }
    if (k > 1) {
      double inv = 1.0 / k;
      double invOld = 1.0 / (k - 1);
      double meanYOld = sOld * invOld;
      double meanYNew = sNew * inv;
      double dx = x - sxOld * invOld;
      m2[p][i] += (y - meanYOld) * (y - meanYNew);
      cxx[p][i] += dx * (x - sxNew * inv);
      cxy[p][i] += dx * (y - meanYNew);
    }
  }

  /** Merges pre-aggregated state: {@code count} values summing to {@code total}. */
  void addPartial(int slot, int v, long count, double total) {
    double[] p = partials.computeIfAbsent(partialKey(slot, v), k -> new double[2]);
    p[0] += count;
    p[1] += total;
  }

  private static long partialKey(int slot, int v) {
    return ((long) slot << 16) | v;
  }

  /** Value count including partial state ({@code COUNT(value)}). */
  long count(int slot, int v) {
    long c = n[slot >>> PAGE_BITS][(slot & MASK) * values + v];
    if (!partials.isEmpty()) {
      double[] p = partials.get(partialKey(slot, v));
      if (p != null) {
        c += (long) p[0];
      }
    }
    return c;
  }

  /** Sum including partial state; meaningful only when {@link #count} > 0. */
  double sum(int slot, int v) {
    double s = sum[slot >>> PAGE_BITS][(slot & MASK) * values + v];
    if (!partials.isEmpty()) {
      double[] p = partials.get(partialKey(slot, v));
      if (p != null) {
        s += p[1];
      }
    }
    return s;
  }

  /** Raw values seen (excluding partial state); min, max, stddev and trend rest on these. */
  long rawCount(int slot, int v) {
    return n[slot >>> PAGE_BITS][(slot & MASK) * values + v];
  }

  double min(int slot, int v) {
    return min[slot >>> PAGE_BITS][(slot & MASK) * values + v];
  }

  double max(int slot, int v) {
    return max[slot >>> PAGE_BITS][(slot & MASK) * values + v];
  }

  /** Sample standard deviation of the raw values; NaN for fewer than two. */
  double stddev(int slot, int v) {
    int p = slot >>> PAGE_BITS;
    int i = (slot & MASK) * values + v;
    long k = n[p][i];
    return k < 2 ? Double.NaN : Math.sqrt(Math.max(0, m2[p][i]) / (k - 1));
  }

  /** Least-squares slope of value over x; NaN when undefined (fewer than two x values). */
  double slope(int slot, int v) {
    int p = slot >>> PAGE_BITS;
    int i = (slot & MASK) * values + v;
    return n[p][i] < 2 || cxx[p][i] <= 0 ? Double.NaN : cxy[p][i] / cxx[p][i];
  }

  /** Intercept at x = 0 (the window start) of the least-squares line; NaN when undefined. */
  double intercept(int slot, int v) {
    double b = slope(slot, v);
    if (Double.isNaN(b)) {
      return Double.NaN;
    }
    int p = slot >>> PAGE_BITS;
    int i = (slot & MASK) * values + v;
    double k = n[p][i];
    return sum[p][i] / k - b * (sumX[p][i] / k);
  }

  int keyOf(int slot) {
    return keyOf[slot >>> PAGE_BITS][slot & MASK];
  }

  int windowOf(int slot) {
    return windowOf[slot >>> PAGE_BITS][slot & MASK];
  }

  /**
   * Drops every window of every key whose index is below {@code firstKept}. Returns slots freed.
   */
  long expireBefore(int firstKept) {
    long freed = 0;
    for (int key = 0; key < rings.length; key++) {
      int lo = ringMin[key];
      if (lo == EMPTY_MIN || lo >= firstKept) {
        continue;
      }
      int[] ring = rings[key];
      int hi = ringMax[key];
      int w = lo;
      for (; w <= hi && w < firstKept; w++) {
        int pos = w & (ring.length - 1);
        int s = ring[pos];
        if (s >= 0) {
          free(s);
          freed++;
          ring[pos] = -1;
        }
      }
      while (w <= hi && ring[w & (ring.length - 1)] < 0) {
        w++;
      }
      if (w > hi) {
        ringMin[key] = EMPTY_MIN;
        ringMax[key] = EMPTY_MAX;
      } else {
        ringMin[key] = w;
      }
    }
    return freed;
  }

  private void free(int slot) {
    dirty.clear(slot);
    if (!partials.isEmpty()) {
      for (int v = 0; v < values; v++) {
        partials.remove(partialKey(slot, v));
      }
    }
    if (freeCount == freeSlots.length) {
      freeSlots = Arrays.copyOf(freeSlots, freeCount * 2);
    }
    freeSlots[freeCount++] = slot;
    live--;
  }

  /** Heap bytes held, counting allocated (not only used) arrays. */
  long heapBytes() {
    long bytes = (long) keyOf.length * PAGE * (4 + 4) + (long) keyOf.length * PAGE * values * 8 * 8;
    for (int[] r : rings) {
      if (r != null) {
        bytes += 16 + 4L * r.length;
      }
    }
    bytes += (long) rings.length * (8 + 4 + 4) + 4L * freeSlots.length + dirty.size() / 8;
    bytes += partials.size() * 96L;
    return bytes;
  }
}
