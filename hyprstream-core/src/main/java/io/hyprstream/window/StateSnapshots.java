package io.hyprstream.window;

import io.hyprstream.api.AggregationSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * The snapshot layout of a {@link HeapWindowAggregator}: its key dictionary and window state as
 * Arrow batches, and the aggregator rebuilt from them.
 */
final class StateSnapshots {
  private static final ArrowType FLOAT64 =
      new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);

  private StateSnapshots() {}

  private static final ArrowType INT32 = new ArrowType.Int(32, true);

  /** Schema metadata of a snapshot's window batch: the window size it holds, in microseconds. */
  private static final String WINDOW_SIZE_MICROS = "window_size_micros";

  /**
   * The key dictionary and window state as Arrow batches, for a snapshot: first the keys (row i is
   * key id i, in the key columns), then one batch per window of {@link AggregationSpec#windows()}:
   * each live (key id, window index) with its mergeable state per value column ({@code v<i>_n},
   * {@code _sum}, {@code _min}, {@code _max}, {@code _sum_x}, {@code _m2}, {@code _cxx}, {@code
   * _cxy}, and the pre-aggregated {@code _partial_count} and {@code _partial_sum}). A copy: the
   * aggregator may change right after. Ownership: the caller closes the returned roots.
   */
  static List<VectorSchemaRoot> export(HeapWindowAggregator agg, BufferAllocator allocator) {
    return export(agg, allocator, key -> true);
  }

  /**
   * As {@link #export(HeapWindowAggregator, BufferAllocator)}, for the keys {@code keys} accepts
   * only: the key batch holds those keys, renumbered from 0, and the window batches their windows.
   */
  static List<VectorSchemaRoot> export(
      HeapWindowAggregator agg, BufferAllocator allocator, Predicate<List<@Nullable Object>> keys) {
    // exported[id]: the key's row in the key batch, or -1 when it is left out
    int[] exported = new int[agg.keys.size()];
    int n = 0;
    for (int id = 0; id < exported.length; id++) {
      exported[id] = keys.test(agg.keys.key(id)) ? n++ : -1;
    }
    List<VectorSchemaRoot> out = new ArrayList<>(1 + agg.states.length);
    try {
      out.add(exportKeys(agg, exported, n, allocator));
      for (int i = 0; i < agg.states.length; i++) {
        out.add(exportWindow(agg, i, exported, allocator));
      }
      return out;
    } catch (RuntimeException e) {
      out.forEach(VectorSchemaRoot::close);
      throw e;
    }
  }

  private static VectorSchemaRoot exportKeys(
      HeapWindowAggregator agg, int[] exported, int n, BufferAllocator allocator) {
    List<Field> keyFields = agg.keyFields;
    KeyDictionary keys = agg.keys;
    List<Field> fields = new ArrayList<>();
    for (Field k : keyFields) {
      fields.add(new Field(k.getName(), FieldType.nullable(k.getType()), null));
    }
    VectorSchemaRoot root = VectorSchemaRoot.create(new Schema(fields), allocator);
    try {
      root.getFieldVectors().forEach(v -> allocate(v, n));
      for (int k = 0; k < keyFields.size(); k++) {
        FieldVector v = root.getVector(k);
        for (int id = 0; id < exported.length; id++) {
          if (exported[id] >= 0) {
            ViewRows.writeKey(v, exported[id], keys.key(id).get(k));
          }
        }
      }
      root.setRowCount(n);
      return root;
    } catch (RuntimeException e) {
      root.close();
      throw e;
    }
  }

  private static Schema windowStateSchema(int values, long sizeMicros) {
    List<Field> fields = new ArrayList<>();
    fields.add(new Field("key_id", FieldType.notNullable(INT32), null));
    fields.add(new Field("window", FieldType.notNullable(INT32), null));
    for (int v = 0; v < values; v++) {
      for (String f : WindowState.FIELDS) {
        fields.add(new Field("v" + v + "_" + f, FieldType.notNullable(FLOAT64), null));
      }
      fields.add(new Field("v" + v + "_partial_count", FieldType.nullable(FLOAT64), null));
      fields.add(new Field("v" + v + "_partial_sum", FieldType.nullable(FLOAT64), null));
    }
    return new Schema(fields, Map.of(WINDOW_SIZE_MICROS, Long.toString(sizeMicros)));
  }

  private static VectorSchemaRoot exportWindow(
      HeapWindowAggregator agg, int i, int[] exported, BufferAllocator allocator) {
    WindowState s = agg.states[i];
    int values = agg.spec().valueColumns().size();
    VectorSchemaRoot root =
        VectorSchemaRoot.create(windowStateSchema(values, agg.sizes[i]), allocator);
    try {
      int[] slots = s.liveSlots();
      int kept = 0;
      for (int slot : slots) {
        if (exported[s.keyOf(slot)] >= 0) {
          slots[kept++] = slot;
        }
      }
      int n = kept;
      root.getFieldVectors().forEach(v -> allocate(v, n));
      IntVector keyId = (IntVector) root.getVector(0);
      IntVector window = (IntVector) root.getVector(1);
      for (int r = 0; r < n; r++) {
        keyId.set(r, exported[s.keyOf(slots[r])]);
        window.set(r, s.windowOf(slots[r]));
      }
      int col = 2;
      for (int v = 0; v < values; v++) {
        for (int f = 0; f < WindowState.FIELDS.size(); f++) {
          Float8Vector out = (Float8Vector) root.getVector(col++);
          for (int r = 0; r < n; r++) {
            out.set(r, s.stateField(slots[r], v, f));
          }
        }
        Float8Vector partialCount = (Float8Vector) root.getVector(col++);
        Float8Vector partialSum = (Float8Vector) root.getVector(col++);
        for (int r = 0; r < n; r++) {
          double[] p = s.partial(slots[r], v);
          if (p == null) {
            partialCount.setNull(r);
            partialSum.setNull(r);
          } else {
            partialCount.set(r, p[0]);
            partialSum.set(r, p[1]);
          }
        }
      }
      root.setRowCount(n);
      return root;
    } catch (RuntimeException e) {
      root.close();
      throw e;
    }
  }

  private static void allocate(FieldVector v, int rows) {
    v.setInitialCapacity(rows);
    v.allocateNew();
  }

  /**
   * An aggregator for {@code spec} holding the state {@link HeapWindowAggregator#exportState}
   * wrote. Every window it restores counts as changed, so the views receive them at their next
   * sync. The caller keeps the roots.
   *
   * @throws IllegalArgumentException when the state was written for other key, value or window
   *     columns than {@code spec} has
   */
  static HeapWindowAggregator restore(AggregationSpec spec, List<VectorSchemaRoot> state) {
    if (state.size() != 1 + spec.windows().size()) {
      throw new IllegalArgumentException(
          "the snapshot of '"
              + spec.table()
              + "' holds "
              + (state.size() - 1)
              + " windows, the table now has "
              + spec.windows().size());
    }
    VectorSchemaRoot keyRoot = state.get(0);
    List<Field> keyFields = keyRoot.getSchema().getFields();
    List<String> keyNames = keyFields.stream().map(Field::getName).toList();
    if (!keyNames.equals(spec.keyColumns())) {
      throw new IllegalArgumentException(
          "the snapshot of '"
              + spec.table()
              + "' has key columns "
              + keyNames
              + ", the table now has "
              + spec.keyColumns());
    }
    HeapWindowAggregator agg = new HeapWindowAggregator(spec, keyFields);
    checkWindows(agg, state);
    addState(agg, state);
    return agg;
  }

  /**
   * Adds the keys and windows of {@code state} to {@code agg}, whose keys must hold none of them.
   *
   * @throws IllegalArgumentException when the state does not fit {@code agg}'s aggregation or one
   *     of its keys holds windows in {@code agg} (nothing is added then)
   */
  static void importInto(HeapWindowAggregator agg, List<VectorSchemaRoot> state) {
    AggregationSpec spec = agg.spec();
    if (state.size() != 1 + spec.windows().size()) {
      throw new IllegalArgumentException(
          "the state of '"
              + spec.table()
              + "' holds "
              + (state.size() - 1)
              + " windows, the table has "
              + spec.windows().size());
    }
    List<Field> keyFields = state.get(0).getSchema().getFields();
    for (int k = 0; k < keyFields.size(); k++) {
      if (k >= agg.keyFields.size()
          || !keyFields.get(k).getName().equals(agg.keyFields.get(k).getName())
          || !keyFields.get(k).getType().equals(agg.keyFields.get(k).getType())) {
        throw new IllegalArgumentException(
            "the state of '"
                + spec.table()
                + "' has key columns "
                + keyFields
                + ", the table has "
                + agg.keyFields);
      }
    }
    checkWindows(agg, state);
    VectorSchemaRoot keyRoot = state.get(0);
    FieldVector[] columns = keyRoot.getFieldVectors().toArray(new FieldVector[0]);
    for (int r = 0; r < keyRoot.getRowCount(); r++) {
      int id = agg.keys.find(columns, r);
      if (id >= 0 && agg.holdsWindows(id)) {
        throw new IllegalArgumentException(
            "the state of '"
                + spec.table()
                + "' holds key "
                + agg.keys.key(id)
                + ", which already has windows here");
      }
    }
    addState(agg, state);
  }

  private static void checkWindows(HeapWindowAggregator agg, List<VectorSchemaRoot> state) {
    AggregationSpec spec = agg.spec();
    int values = spec.valueColumns().size();
    for (int i = 0; i < agg.states.length; i++) {
      Schema expected = windowStateSchema(values, agg.sizes[i]);
      if (!state.get(1 + i).getSchema().equals(expected)) {
        throw new IllegalArgumentException(
            "the state of '"
                + spec.table()
                + "' holds other windows or value columns than "
                + spec.windows().get(i)
                + " over "
                + spec.valueColumns());
      }
    }
  }

  private static void addState(HeapWindowAggregator agg, List<VectorSchemaRoot> state) {
    int[] idOf = restoreKeys(agg.keys, state.get(0));
    int values = agg.spec().valueColumns().size();
    for (int i = 0; i < agg.states.length; i++) {
      restoreWindow(agg.states[i], state.get(1 + i), idOf, values);
    }
  }

  /** Adds the snapshot's keys; returns the id each snapshot key id has now. */
  private static int[] restoreKeys(KeyDictionary keys, VectorSchemaRoot keyRoot) {
    int n = keyRoot.getRowCount();
    int[] idOf = new int[n];
    List<FieldVector> cols = keyRoot.getFieldVectors();
    // Keys of one utf8 column are found by their bytes at ingest, so they are added the same way.
    if (cols.size() == 1
        && cols.get(0) instanceof VarCharVector
        && cols.get(0).getNullCount() == 0) {
      keys.idsOfUtf8((VarCharVector) cols.get(0), n, idOf);
    } else {
      FieldVector[] columns = cols.toArray(new FieldVector[0]);
      for (int r = 0; r < n; r++) {
        idOf[r] = keys.idOf(columns, r);
      }
    }
    return idOf;
  }

  private static void restoreWindow(WindowState s, VectorSchemaRoot root, int[] idOf, int values) {
    int n = root.getRowCount();
    IntVector keyId = (IntVector) root.getVector(0);
    IntVector window = (IntVector) root.getVector(1);
    int[] slots = new int[n];
    for (int r = 0; r < n; r++) {
      slots[r] = s.restoreSlot(idOf[keyId.get(r)], window.get(r));
    }
    int col = 2;
    for (int v = 0; v < values; v++) {
      for (int f = 0; f < WindowState.FIELDS.size(); f++) {
        Float8Vector in = (Float8Vector) root.getVector(col++);
        for (int r = 0; r < n; r++) {
          s.setField(slots[r], v, f, in.get(r));
        }
      }
      Float8Vector partialCount = (Float8Vector) root.getVector(col++);
      Float8Vector partialSum = (Float8Vector) root.getVector(col++);
      for (int r = 0; r < n; r++) {
        if (!partialCount.isNull(r)) {
          s.addPartial(slots[r], v, (long) partialCount.get(r), partialSum.get(r));
        }
      }
    }
  }
}
