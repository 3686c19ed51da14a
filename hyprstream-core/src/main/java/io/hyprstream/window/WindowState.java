package io.hyprstream.window;

import java.util.Arrays;
import java.util.BitSet;
import org.jspecify.annotations.Nullable;

/**
 * The state of every (key, window) of one window size, in columnar pages of primitive arrays.
 *
 * <p>A slot holds one (key, window): per value column, the {@link Moments} of its raw values, from
 * which come count, sum, avg, min, max, sample stddev and the least-squares slope and intercept;
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
  /** {@link #locate} result: the row's window is older than every retained one. */
  static final int LATE = -1;

  /** {@link #locate} result: the row's window is further ahead than retention allows. */
  static final int AHEAD = -2;

  private static final int PAGE_BITS = 12;
  private static final int PAGE = 1 << PAGE_BITS;
  private static final int MASK = PAGE - 1;
  private static final int EMPTY_MIN = Integer.MAX_VALUE;
  private static final int EMPTY_MAX = Integer.MIN_VALUE;

  // One slot's state for one value column is 8 adjacent doubles (one cache line, Moments' layout),
  // so an update touches one line instead of one per field.
  private static final int STRIDE = Moments.STRIDE;
  private static final int N = Moments.N;
  private static final int SUM = Moments.SUM;
  private static final int MIN = Moments.MIN;
  private static final int MAX = Moments.MAX;
  private static final int SUM_X = Moments.SUM_X;
  private static final int M2 = Moments.M2;
  private static final int CXX = Moments.CXX;
  private static final int CXY = Moments.CXY;

  final long sizeMicros;
  final int values;

  private double[][] state = new double[0][];
  private int[][] keyOf = new int[0][];
  private int[][] windowOf = new int[0][];

  private int slotsUsed;
  private int[] freeSlots = new int[16];
  private int freeCount;
  private int live;

  // Per key: the ring of slot ids, and the last window a row of the key went to. Rows of one key
  // arrive nearly in time order, so most rows hit that window without a division or ring lookup.
  private int[][] rings = new int[0][];
  private int[] ringMin = new int[0];
  private int[] ringMax = new int[0];
  private int[] lastSlot = new int[0];
  private int[] lastWindow = new int[0];
  private long[] lastStart = new long[0];
  private int[] lastDirtyGeneration = new int[0];

  // Set by beginBatch: the window indexes rows may go to.
  private long firstKept = Long.MIN_VALUE;
  private long lastKept = Long.MAX_VALUE;

  /** Window start (epoch micros) of the slot the last {@link #locate} returned. */
  long locatedStart;

  /** Slots changed since the last drain; {@link #generation} counts drains. */
  private final BitSet dirty = new BitSet();

  private int generation;

  /** The chunked drain's sweep ({@link #drainDirty(int)}): the next slot to look at, or -1. */
  private int sweepNext = -1;

  /** Where the sweep in progress ends: the slots that existed when it began. */
  private int sweepEnd;

  /** Pre-aggregated (count, sum) merged into a slot, by slot and value column. */
  private final java.util.HashMap<Long, double[]> partials = new java.util.HashMap<>();

  WindowState(long sizeMicros, int values) {
    this.sizeMicros = sizeMicros;
    this.values = values;
  }

  /** Number of live slots. */
  int live() {
    return live;
  }

  /** Sets the window indexes rows of the coming batch may go to: {@code [first, last]}. */
  void beginBatch(long first, long last) {
    this.firstKept = first;
    this.lastKept = last;
  }

  /**
   * The slot of the window {@code key}'s row at {@code micros} belongs to, created when missing and
   * marked changed; or {@link #LATE} / {@link #AHEAD}. Sets {@link #locatedStart}.
   */
  int locate(int key, long micros) {
    if (key < lastSlot.length) {
      int s = lastSlot[key];
      long start = lastStart[key];
      if (s >= 0
          && micros >= start
          && micros - start < sizeMicros
          && lastWindow[key] >= firstKept) {
        locatedStart = start;
        if (lastDirtyGeneration[key] != generation) {
          dirty.set(s);
          lastDirtyGeneration[key] = generation;
        }
        return s;
      }
    }
    long idx = Math.floorDiv(micros - HeapWindowAggregator.ORIGIN_MICROS, sizeMicros);
    if (idx < firstKept) {
      return LATE;
    }
    if (idx > lastKept || idx > Integer.MAX_VALUE) {
      return AHEAD;
    }
    int s = slot(key, (int) idx);
    dirty.set(s);
    long start = HeapWindowAggregator.ORIGIN_MICROS + idx * sizeMicros;
    locatedStart = start;
    lastSlot[key] = s;
    lastWindow[key] = (int) idx;
    lastStart[key] = start;
    lastDirtyGeneration[key] = generation;
    return s;
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

  /** The lowest window index held for {@code key}; greater than {@link #ringMax} when none. */
  int ringMin(int key) {
    return key < ringMin.length ? ringMin[key] : EMPTY_MIN;
  }

  /** The highest window index held for {@code key}. */
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
    lastSlot = Arrays.copyOf(lastSlot, cap);
    lastWindow = Arrays.copyOf(lastWindow, cap);
    lastStart = Arrays.copyOf(lastStart, cap);
    lastDirtyGeneration = Arrays.copyOf(lastDirtyGeneration, cap);
    Arrays.fill(ringMin, old, cap, EMPTY_MIN);
    Arrays.fill(ringMax, old, cap, EMPTY_MAX);
    Arrays.fill(lastSlot, old, cap, -1);
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
    double[] st = state[p];
    for (int v = 0; v < values; v++) {
      Moments.clear(st, (o * values + v) * STRIDE);
    }
    live++;
    return s;
  }

  private void addPage() {
    int pages = keyOf.length + 1;
    state = Arrays.copyOf(state, pages);
    keyOf = Arrays.copyOf(keyOf, pages);
    windowOf = Arrays.copyOf(windowOf, pages);
    state[pages - 1] = new double[PAGE * values * STRIDE];
    keyOf[pages - 1] = new int[PAGE];
    windowOf[pages - 1] = new int[PAGE];
  }

  /**
   * Adds value {@code y} observed {@code x} seconds after the window start ({@link Moments#add}).
   */
  void add(int slot, int v, double x, double y) {
    Moments.add(state[slot >>> PAGE_BITS], ((slot & MASK) * values + v) * STRIDE, x, y);
  }

  /**
   * Merges the state {@code src[offset]} (in {@link Moments}' layout) into {@code slot}'s value
   * column v; the source's x is measured from {@code xShift} seconds after this window's start.
   */
  void merge(int slot, int v, double[] src, int offset, double xShift) {
    Moments.merge(
        state[slot >>> PAGE_BITS], ((slot & MASK) * values + v) * STRIDE, src, offset, xShift);
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

  private double field(int slot, int v, int field) {
    return state[slot >>> PAGE_BITS][((slot & MASK) * values + v) * STRIDE + field];
  }

  /** Value count including partial state ({@code COUNT(value)}). */
  long count(int slot, int v) {
    long c = rawCount(slot, v);
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
    double s = field(slot, v, SUM);
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
    return (long) field(slot, v, N);
  }

  double min(int slot, int v) {
    return field(slot, v, MIN);
  }

  double max(int slot, int v) {
    return field(slot, v, MAX);
  }

  /** Sample standard deviation of the raw values; NaN for fewer than two. */
  double stddev(int slot, int v) {
    double k = field(slot, v, N);
    return k < 2 ? Double.NaN : Math.sqrt(Math.max(0, field(slot, v, M2)) / (k - 1));
  }

  /** Least-squares slope of value over x; NaN when undefined (x does not vary). */
  double slope(int slot, int v) {
    double cxx = field(slot, v, CXX);
    return field(slot, v, N) < 2 || cxx <= 0 ? Double.NaN : field(slot, v, CXY) / cxx;
  }

  /** Intercept at x = 0 (the window start) of the least-squares line; NaN when undefined. */
  double intercept(int slot, int v) {
    double b = slope(slot, v);
    if (Double.isNaN(b)) {
      return Double.NaN;
    }
    double k = field(slot, v, N);
    return field(slot, v, SUM) / k - b * (field(slot, v, SUM_X) / k);
  }

  int keyOf(int slot) {
    return keyOf[slot >>> PAGE_BITS][slot & MASK];
  }

  int windowOf(int slot) {
    return windowOf[slot >>> PAGE_BITS][slot & MASK];
  }

  /** Every changed slot, in slot order, no longer marked changed: a whole sweep at once. */
  int[] drainDirty() {
    sweepNext = -1;
    return drainDirty(Integer.MAX_VALUE);
  }

  /**
   * The next at most {@code max} changed slots of the current sweep, in slot order, no longer
   * marked changed. A sweep begins at the first call after one that returned fewer than {@code max}
   * (or after {@link #markAllDirty}) and covers the slots that existed then, so calls until a short
   * one return every slot that was changed when the sweep began; a slot changed again behind the
   * sweep, or created during it, waits for the next one.
   */
  int[] drainDirty(int max) {
    if (sweepNext < 0) {
      sweepNext = 0;
      sweepEnd = slotsUsed;
    }
    int[] slots = new int[Math.min(max, dirty.cardinality())];
    int n = 0;
    for (int s = dirty.nextSetBit(sweepNext);
        s >= 0 && s < sweepEnd && n < slots.length;
        s = dirty.nextSetBit(s + 1)) {
      slots[n++] = s;
    }
    if (n > 0) {
      dirty.clear(sweepNext, slots[n - 1] + 1); // exactly the slots returned: none is skipped
    }
    // A key whose last slot was just drained must mark it again on its next row.
    generation++;
    sweepNext = n < max ? -1 : slots[n - 1] + 1;
    return n == slots.length ? slots : Arrays.copyOf(slots, n);
  }

  /** Marks every live slot changed, so the next {@link #drainDirty} returns them all. */
  void markAllDirty() {
    sweepNext = -1;
    for (int s : liveSlots()) {
      dirty.set(s);
    }
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
      lastSlot[key] = -1;
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

  /**
   * Drops every window of {@code key} (it may come back later, as a new key would); returns how
   * many.
   */
  /** True when key {@code key} holds a live window here. */
  boolean holds(int key) {
    return key < rings.length && ringMin[key] != EMPTY_MIN;
  }

  long forget(int key) {
    if (key >= rings.length || ringMin[key] == EMPTY_MIN) {
      return 0;
    }
    lastSlot[key] = -1;
    int[] ring = rings[key];
    long freed = 0;
    for (int w = ringMin[key]; w <= ringMax[key]; w++) {
      int pos = w & (ring.length - 1);
      int s = ring[pos];
      if (s >= 0) {
        free(s);
        freed++;
        ring[pos] = -1;
      }
    }
    ringMin[key] = EMPTY_MIN;
    ringMax[key] = EMPTY_MAX;
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

  // ---------------------------------------------------------------- snapshots

  /** The state fields of one (slot, value column), as a snapshot names them, in stored order. */
  static final java.util.List<String> FIELDS =
      java.util.List.of("n", "sum", "min", "max", "sum_x", "m2", "cxx", "cxy");

  /** The live slots, key by key and in window order within a key. */
  int[] liveSlots() {
    int[] out = new int[live];
    int n = 0;
    for (int key = 0; key < rings.length; key++) {
      if (ringMin[key] == EMPTY_MIN) {
        continue;
      }
      int[] ring = rings[key];
      for (int w = ringMin[key]; w <= ringMax[key]; w++) {
        int s = ring[w & (ring.length - 1)];
        if (s >= 0) {
          out[n++] = s;
        }
      }
    }
    return n == out.length ? out : Arrays.copyOf(out, n);
  }

  /** Field {@code field} (an index into {@link #FIELDS}) of {@code slot}'s value column v. */
  double stateField(int slot, int v, int field) {
    return field(slot, v, field);
  }

  /** The pre-aggregated (count, sum) merged into {@code slot}'s value column v, or null. */
  double @Nullable [] partial(int slot, int v) {
    return partials.isEmpty() ? null : partials.get(partialKey(slot, v));
  }

  /**
   * Creates (key, window) from a snapshot, with empty state to be filled by {@link #setField} and
   * {@link #addPartial}; marked changed, so the views receive it at their next sync.
   */
  int restoreSlot(int key, int window) {
    int s = slot(key, window);
    dirty.set(s);
    return s;
  }

  void setField(int slot, int v, int field, double value) {
    state[slot >>> PAGE_BITS][((slot & MASK) * values + v) * STRIDE + field] = value;
  }

  /** Heap bytes held, counting allocated (not only used) arrays. */
  long heapBytes() {
    long pages = keyOf.length;
    long bytes = pages * PAGE * (4 + 4) + pages * PAGE * values * STRIDE * 8;
    for (int[] r : rings) {
      if (r != null) {
        bytes += 16 + 4L * r.length;
      }
    }
    bytes += (long) rings.length * (8 + 4 + 4 + 4 + 4 + 8 + 4);
    bytes += 4L * freeSlots.length + dirty.size() / 8 + partials.size() * 96L;
    return bytes;
  }
}
