package io.hyprstream.window;

import io.hyprstream.api.AggregateFunction;
import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.IngestResult;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.api.WindowAggregator;
import io.hyprstream.api.WindowAggregatorFactory;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.internal.arrow.Columns;
import java.nio.ByteOrder;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * The default {@link WindowAggregator}: per window size, a {@link WindowState} of primitive arrays
 * updated row by row, so a row costs a few array reads and adds per window and raw rows are never
 * rescanned.
 *
 * <p>Its parts: keys are interned by {@link KeyDictionary}, each window size's state is a {@link
 * WindowState}, view rows are written by {@link ViewRows} and snapshots by {@link StateSnapshots}.
 * What stays here is the one algorithm of a batch's update (validation, key ids, locating each
 * row's window in every size, running columns) and the lookups over the rings.
 */
public final class HeapWindowAggregator implements WindowAggregator {
  /** DuckDB's {@code time_bucket} origin, 2000-01-03T00:00:00Z (a Monday), in epoch micros. */
  static final long ORIGIN_MICROS = 946_857_600_000_000L;

  private static final ArrowType TIMESTAMP = new ArrowType.Timestamp(TimeUnit.MICROSECOND, null);
  private static final ArrowType FLOAT64 =
      new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);
  private static final ArrowType INT64 = new ArrowType.Int(64, true);

  private final AggregationSpec spec;
  final List<Field> keyFields;
  private final List<WindowSpec> windows;
  final WindowState[] states;
  final long[] sizes;
  private final long[] retentions;
  private final int runningIndex;

  /**
   * Sums a batch per pane (a window of the smallest size) before its larger windows take it; null
   * when the sizes are not all multiples of the smallest, or the running columns follow a larger
   * window, so every row updates every size itself.
   */
  private final @Nullable BatchPanes panes;

  final KeyDictionary keys = new KeyDictionary();

  // A batch's columns read as primitive arrays, reused from batch to batch (grown, never shrunk)
  // so an update allocates next to nothing.
  private long[] times = new long[0];
  private int[] keyIds = new int[0];
  private double[][] values = new double[0][];
  private final List<AggregateFunction> functions;
  private final Map<WindowSpec, Schema> viewSchemas = new java.util.HashMap<>();

  /**
   * An aggregator for {@code spec}, whose key columns have the types of {@code keyFields} (in the
   * order of {@link AggregationSpec#keyColumns()}).
   */
  public HeapWindowAggregator(AggregationSpec spec, List<Field> keyFields) {
    if (keyFields.size() != spec.keyColumns().size()) {
      throw new IllegalArgumentException("one key field per key column is needed");
    }
    for (Field f : keyFields) {
      if (!isKeyType(f.getType())) {
        throw new SchemaMismatchException(
            spec.table(),
            f.getName(),
            "key columns must be utf8, integer or boolean, got " + f.getType());
      }
    }
    this.spec = spec;
    this.keyFields = List.copyOf(keyFields);
    this.windows = spec.windows();
    int n = windows.size();
    this.states = new WindowState[n];
    this.sizes = new long[n];
    this.retentions = new long[n];
    int running = -1;
    for (int i = 0; i < n; i++) {
      WindowSpec w = windows.get(i);
      sizes[i] = micros(w.size().getSeconds());
      retentions[i] = micros(w.retention().getSeconds());
      states[i] = new WindowState(sizes[i], spec.valueColumns().size());
      if (w.equals(spec.runningWindow())) {
        running = i;
      }
    }
    this.runningIndex = running;
    this.panes = panesFor(sizes, running, spec.valueColumns().size());
    List<AggregateFunction> fs = new ArrayList<>();
    for (AggregateFunction f : AggregateFunction.values()) {
      if (spec.functions().contains(f)) {
        fs.add(f);
      }
    }
    this.functions = List.copyOf(fs);
  }

  /** Makes heap aggregators, and restores them from the snapshots {@link #exportState} writes. */
  public static WindowAggregatorFactory factory() {
    return Factory.INSTANCE;
  }

  private enum Factory implements WindowAggregatorFactory {
    INSTANCE;

    @Override
    public WindowAggregator create(AggregationSpec spec, List<Field> keyFields) {
      return new HeapWindowAggregator(spec, keyFields);
    }

    @Override
    public boolean restores() {
      return true;
    }

    @Override
    public WindowAggregator restore(AggregationSpec spec, List<VectorSchemaRoot> state) {
      return restoreState(spec, state);
    }
  }

  private static @Nullable BatchPanes panesFor(long[] sizes, int runningIndex, int values) {
    if (sizes.length == 0) {
      return null;
    }
    int smallest = 0;
    for (int i = 1; i < sizes.length; i++) {
      if (sizes[i] < sizes[smallest]) {
        smallest = i;
      }
    }
    for (long size : sizes) {
      if (size % sizes[smallest] != 0) {
        return null;
      }
    }
    if (runningIndex >= 0 && sizes[runningIndex] != sizes[smallest]) {
      return null; // a row's running state would span several panes
    }
    return new BatchPanes(sizes[smallest], values);
  }

  private static long micros(long seconds) {
    return Math.multiplyExact(seconds, 1_000_000L);
  }

  @Override
  public AggregationSpec spec() {
    return spec;
  }

  // ---------------------------------------------------------------- validation

  @Override
  public void validate(Schema schema) {
    String table = spec.table();
    Field time = Columns.field(schema, spec.timeColumn());
    if (time == null) {
      throw new SchemaMismatchException(
          table, spec.timeColumn(), "missing; expected a timestamp or int64 epoch column");
    }
    if (!(time.getType() instanceof ArrowType.Timestamp) && !time.getType().equals(INT64)) {
      throw new SchemaMismatchException(
          table,
          spec.timeColumn(),
          "expected a timestamp (any unit) or int64 epoch "
              + unitName()
              + ", got "
              + time.getType());
    }
    for (int k = 0; k < keyFields.size(); k++) {
      String name = spec.keyColumns().get(k);
      Field f = Columns.field(schema, name);
      if (f == null) {
        throw new SchemaMismatchException(
            table, name, "missing; expected key column of type " + keyFields.get(k).getType());
      }
      if (!sameKeyType(f.getType(), keyFields.get(k).getType())) {
        throw new SchemaMismatchException(
            table, name, "expected " + keyFields.get(k).getType() + ", got " + f.getType());
      }
    }
    if (spec.isPreAggregated(schema)) {
      return;
    }
    for (String name : spec.valueColumns()) {
      Field f = Columns.field(schema, name);
      if (f == null) {
        throw new SchemaMismatchException(table, name, "missing; expected a numeric column");
      }
      if (!Columns.isNumeric(f.getType())) {
        throw new SchemaMismatchException(
            table, name, "expected a numeric column (float64), got " + f.getType());
      }
    }
  }

  private String unitName() {
    return spec.epochUnit().toString().toLowerCase(java.util.Locale.ROOT);
  }

  private static boolean isKeyType(ArrowType t) {
    return t instanceof ArrowType.Utf8 || t instanceof ArrowType.Int || t instanceof ArrowType.Bool;
  }

  private static boolean sameKeyType(ArrowType a, ArrowType b) {
    return a.equals(b);
  }

  // ---------------------------------------------------------------- ingest

  @Override
  public IngestResult update(
      VectorSchemaRoot batch, @Nullable VectorSchemaRoot running, Instant now) {
    validate(batch.getSchema());
    int rows = batch.getRowCount();
    long nowMicros =
        Math.addExact(Math.multiplyExact(now.getEpochSecond(), 1_000_000L), now.getNano() / 1000);
    int w = windows.size();
    for (int i = 0; i < w; i++) {
      states[i].beginBatch(
          Math.floorDiv(nowMicros - retentions[i] - ORIGIN_MICROS, sizes[i]),
          Math.floorDiv(nowMicros + retentions[i] - ORIGIN_MICROS, sizes[i]));
    }

    FieldVector timeVector = Columns.require(batch, spec.timeColumn());
    if (times.length < rows) {
      times = new long[rows];
      keyIds = new int[rows];
      values = new double[spec.valueColumns().size()][rows];
    }
    long[] times = Columns.eventMicros(timeVector, rows, spec.epochUnit(), this.times);
    int[] keyIds = keyIds(batch, rows, this.keyIds);
    boolean partial = spec.isPreAggregated(batch.getSchema());
    double[][] valueColumns = partial ? new double[0][] : this.values;
    boolean[][] valueNulls = new boolean[valueColumns.length][];
    for (int v = 0; v < valueColumns.length; v++) {
      FieldVector vector = Columns.require(batch, spec.valueColumns().get(v));
      doubles(vector, rows, valueColumns[v]);
      valueNulls[v] = nulls(vector, rows);
    }
    PartialColumns partials =
        partial ? new PartialColumns(batch, spec.valueColumns().get(0)) : null;

    RunningColumns run = null;
    if (running != null && runningIndex >= 0) {
      run = new RunningColumns(running, spec.valueColumns().get(0));
    }
    IngestResult result =
        panes != null && partials == null
            ? panes.update(states, runningIndex, rows, times, keyIds, valueColumns, valueNulls, run)
            : updateRowByRow(rows, times, keyIds, valueColumns, valueNulls, partials, run);
    if (running != null && run != null) {
      running.setRowCount(rows);
    }
    return result;
  }

  /**
   * Each row into its window of every size, one by one: for pre-aggregated batches and for window
   * sizes that do not share a pane.
   */
  private IngestResult updateRowByRow(
      int rows,
      long[] times,
      int[] keyIds,
      double[][] valueColumns,
      boolean[][] valueNulls,
      @Nullable PartialColumns partials,
      @Nullable RunningColumns run) {
    int w = states.length;
    int values = spec.valueColumns().size();
    RowOutcomes outcomes = new RowOutcomes();
    double[] y = new double[values];
    boolean[] present = new boolean[values];
    for (int r = 0; r < rows; r++) {
      long t = times[r];
      int runningSlot = -1;
      if (t == Columns.NULL_TIME) {
        outcomes.nullTime++;
      } else {
        boolean anyValue = false;
        if (partials == null) {
          for (int v = 0; v < values; v++) {
            boolean[] isNull = valueNulls[v];
            present[v] = isNull == null || !isNull[r];
            y[v] = valueColumns[v][r];
            anyValue |= present[v];
          }
        } else {
          anyValue = !partials.isNull(r);
        }
        int late = 0;
        int ahead = 0;
        int key = keyIds[r];
        for (int i = 0; i < w; i++) {
          WindowState s = states[i];
          int slot = s.locate(key, t);
          if (slot < 0) {
            if (slot == WindowState.LATE) {
              late++;
            } else {
              ahead++;
            }
            continue;
          }
          if (i == runningIndex) {
            runningSlot = slot;
          }
          if (partials != null) {
            if (anyValue) {
              s.addPartial(slot, 0, partials.count(r), partials.sum(r));
            }
            continue;
          }
          double x = (t - s.locatedStart) / 1e6;
          for (int v = 0; v < values; v++) {
            if (present[v]) {
              s.add(slot, v, x, y[v]);
            }
          }
        }
        outcomes.count(late, ahead, w, anyValue);
      }
      if (run != null && runningSlot >= 0) { // else the row's running columns stay NULL
        WindowState s = states[runningIndex];
        run.set(r, s.count(runningSlot, 0), s.sum(runningSlot, 0));
      }
    }
    return outcomes.result(rows);
  }

  /** The key ids of the batch's first {@code rows} rows, written into {@code ids}. */
  private int[] keyIds(VectorSchemaRoot batch, int rows, int[] ids) {
    if (keyFields.isEmpty()) {
      int id = keys.idOf(new FieldVector[0], 0);
      java.util.Arrays.fill(ids, 0, rows, id);
      return ids;
    }
    FieldVector[] cols = new FieldVector[keyFields.size()];
    for (int k = 0; k < cols.length; k++) {
      cols[k] = Columns.require(batch, spec.keyColumns().get(k));
    }
    if (cols.length == 1 && cols[0] instanceof VarCharVector && cols[0].getNullCount() == 0) {
      keys.idsOfUtf8((VarCharVector) cols[0], rows, ids);
      return ids;
    }
    for (int r = 0; r < rows; r++) {
      ids[r] = keys.idOf(cols, r);
    }
    return ids;
  }

  /**
   * A numeric column's values as doubles (undefined where null) into {@code out}, read in bulk for
   * float64.
   */
  private static void doubles(FieldVector vector, int rows, double[] out) {
    if (vector instanceof Float8Vector) {
      vector
          .getDataBuffer()
          .nioBuffer(0, rows * 8)
          .order(ByteOrder.LITTLE_ENDIAN)
          .asDoubleBuffer()
          .get(out, 0, rows);
      return;
    }
    double[] one = new double[1];
    for (int r = 0; r < rows; r++) {
      if (readDouble(vector, r, one, 0)) {
        out[r] = one[0];
      }
    }
  }

  /** Which rows of {@code vector} are null, or null when none is. */
  private static boolean @Nullable [] nulls(FieldVector vector, int rows) {
    if (vector.getNullCount() == 0) {
      return null;
    }
    boolean[] out = new boolean[rows];
    for (int r = 0; r < rows; r++) {
      out[r] = vector.isNull(r);
    }
    return out;
  }

  /** Reads row {@code r} of a numeric vector into {@code out[v]}; false when null. */
  private static boolean readDouble(FieldVector vector, int r, double[] out, int v) {
    if (vector.isNull(r)) {
      return false;
    }
    if (vector instanceof Float8Vector) {
      out[v] = ((Float8Vector) vector).get(r);
    } else if (vector instanceof BigIntVector) {
      out[v] = ((BigIntVector) vector).get(r);
    } else if (vector instanceof IntVector) {
      out[v] = ((IntVector) vector).get(r);
    } else {
      Object o = vector.getObject(r);
      if (!(o instanceof Number)) {
        return false;
      }
      out[v] = ((Number) o).doubleValue();
    }
    return true;
  }

  /** The pre-aggregated columns of a batch that carries running state instead of values. */
  private static final class PartialColumns {
    private final FieldVector count;
    private final @Nullable FieldVector sum;
    private final @Nullable FieldVector avg;
    private final double[] scratch = new double[1];

    PartialColumns(VectorSchemaRoot batch, String value) {
      this.count = Columns.require(batch, value + "_running_window_count");
      this.sum = Columns.vector(batch, value + "_running_window_sum");
      this.avg = Columns.vector(batch, value + "_running_window_avg");
    }

    boolean isNull(int r) {
      return count.isNull(r) || (sum == null || sum.isNull(r)) && (avg == null || avg.isNull(r));
    }

    long count(int r) {
      readDouble(count, r, scratch, 0);
      return (long) scratch[0];
    }

    double sum(int r) {
      if (sum != null && readDouble(sum, r, scratch, 0)) {
        return scratch[0];
      }
      double a = avg != null && readDouble(avg, r, scratch, 0) ? scratch[0] : 0;
      return a * count(r);
    }
  }

  // ---------------------------------------------------------------- views

  @Override
  public Schema viewSchema(WindowSpec window) {
    return viewSchemas.computeIfAbsent(window, this::buildViewSchema);
  }

  private Schema buildViewSchema(WindowSpec window) {
    List<Field> fields = new ArrayList<>();
    for (Field k : keyFields) {
      fields.add(new Field(k.getName(), FieldType.nullable(k.getType()), null));
    }
    fields.add(new Field("window_start", FieldType.nullable(TIMESTAMP), null));
    fields.add(new Field("window_end", FieldType.nullable(TIMESTAMP), null));
    for (String v : spec.valueColumns()) {
      for (AggregateFunction f : functions) {
        ArrowType type = f == AggregateFunction.COUNT ? INT64 : FLOAT64;
        fields.add(new Field(v + "_" + f.columnSuffix(), FieldType.nullable(type), null));
      }
    }
    return new Schema(fields);
  }

  private int indexOf(WindowSpec window) {
    int i = windows.indexOf(window);
    if (i < 0) {
      throw new IllegalArgumentException(window + " is not maintained for " + spec.table());
    }
    return i;
  }

  @Override
  public VectorSchemaRoot drainChanges(WindowSpec window, BufferAllocator allocator) {
    WindowState s = states[indexOf(window)];
    int[] slots = s.drainDirty();
    return rows(window, s, slots, allocator);
  }

  @Override
  public VectorSchemaRoot drainChanges(WindowSpec window, BufferAllocator allocator, int maxRows) {
    if (maxRows <= 0) {
      throw new IllegalArgumentException("maxRows must be positive: " + maxRows);
    }
    WindowState s = states[indexOf(window)];
    return rows(window, s, s.drainDirty(maxRows), allocator);
  }

  @Override
  public void markAllChanged(WindowSpec window) {
    states[indexOf(window)].markAllDirty();
  }

  @Override
  public VectorSchemaRoot lookup(
      WindowSpec window,
      List<@Nullable Object> key,
      long fromMicros,
      long toMicros,
      boolean descending,
      int limit,
      BufferAllocator allocator) {
    int i = indexOf(window);
    WindowState s = states[i];
    int id = keys.find(key);
    int[] slots = new int[0];
    if (id >= 0 && limit > 0) {
      long lo = s.ringMin(id);
      long hi = s.ringMax(id);
      if (fromMicros != Long.MIN_VALUE) { // first window starting at or after fromMicros
        lo = Math.max(lo, Math.floorDiv(fromMicros - ORIGIN_MICROS + sizes[i] - 1, sizes[i]));
      }
      if (toMicros != Long.MAX_VALUE) { // last window starting before toMicros
        hi = Math.min(hi, Math.floorDiv(toMicros - 1 - ORIGIN_MICROS, sizes[i]));
      }
      int[] found = new int[(int) Math.max(0, Math.min(limit, hi - lo + 1))];
      int n = 0;
      if (descending) {
        for (long w = hi; w >= lo && n < found.length; w--) {
          int slot = s.find(id, (int) w);
          if (slot >= 0) {
            found[n++] = slot;
          }
        }
      } else {
        for (long w = lo; w <= hi && n < found.length; w++) {
          int slot = s.find(id, (int) w);
          if (slot >= 0) {
            found[n++] = slot;
          }
        }
      }
      slots = java.util.Arrays.copyOf(found, n);
    }
    return rows(window, s, slots, allocator);
  }

  @Override
  public VectorSchemaRoot latest(
      WindowSpec window, List<List<@Nullable Object>> keys, int limit, BufferAllocator allocator) {
    WindowState s = states[indexOf(window)];
    int[] found = new int[Math.max(16, keys.size())];
    int n = 0;
    for (List<@Nullable Object> key : keys) {
      int id = this.keys.find(key);
      if (id < 0) {
        continue;
      }
      int taken = 0;
      for (long w = s.ringMax(id); w >= s.ringMin(id) && taken < limit; w--) {
        int slot = s.find(id, (int) w);
        if (slot >= 0) {
          if (n == found.length) {
            found = java.util.Arrays.copyOf(found, n * 2);
          }
          found[n++] = slot;
          taken++;
        }
      }
    }
    return rows(window, s, java.util.Arrays.copyOf(found, n), allocator);
  }

  /** View rows for {@code slots}, in that order. */
  private VectorSchemaRoot rows(
      WindowSpec window, WindowState s, int[] slots, BufferAllocator allocator) {
    return ViewRows.rows(
        viewSchema(window),
        keyFields.size(),
        keys,
        functions,
        spec.valueColumns().size(),
        s,
        slots,
        allocator);
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * The key dictionary and window state as Arrow batches, for a snapshot ({@link StateSnapshots}
   * writes the layout). A copy: the aggregator may change right after. Ownership: the caller closes
   * the returned roots.
   */
  @Override
  public List<VectorSchemaRoot> exportState(BufferAllocator allocator) {
    return StateSnapshots.export(this, allocator);
  }

  @Override
  public List<VectorSchemaRoot> exportState(
      BufferAllocator allocator, java.util.function.Predicate<List<@Nullable Object>> keys) {
    return StateSnapshots.export(this, allocator, keys);
  }

  @Override
  public void importState(List<VectorSchemaRoot> state) {
    StateSnapshots.importInto(this, state);
  }

  /** True when key id {@code key} holds a window of any size. */
  boolean holdsWindows(int key) {
    for (WindowState s : states) {
      if (s.holds(key)) {
        return true;
      }
    }
    return false;
  }

  /**
   * An aggregator for {@code spec} holding the state {@link #exportState} wrote. Every window it
   * restores counts as changed, so the views receive them at their next sync. The caller keeps the
   * roots.
   *
   * @throws IllegalArgumentException when the state was written for other key, value or window
   *     columns than {@code spec} has
   */
  static HeapWindowAggregator restoreState(AggregationSpec spec, List<VectorSchemaRoot> state) {
    return StateSnapshots.restore(spec, state);
  }

  // ---------------------------------------------------------------- expiry and size

  @Override
  public long expire(Instant now) {
    long nowMicros = now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
    long dropped = 0;
    for (int i = 0; i < states.length; i++) {
      long first = Math.floorDiv(nowMicros - retentions[i] - ORIGIN_MICROS, sizes[i]);
      if (first > Integer.MIN_VALUE) {
        dropped += states[i].expireBefore((int) Math.min(first, Integer.MAX_VALUE));
      }
    }
    return dropped;
  }

  @Override
  public long forget(java.util.function.Predicate<List<@Nullable Object>> keys) {
    long dropped = 0;
    for (int id = 0; id < this.keys.size(); id++) {
      if (keys.test(this.keys.key(id))) {
        for (WindowState s : states) {
          dropped += s.forget(id);
        }
      }
    }
    return dropped;
  }

  @Override
  public long windowCount() {
    long n = 0;
    for (WindowState s : states) {
      n += s.live();
    }
    return n;
  }

  @Override
  public long stateBytes() {
    long b = 0;
    for (WindowState s : states) {
      b += s.heapBytes();
    }
    return b + keys.size() * 96L;
  }
}
