package io.hyprstream.window;

import io.hyprstream.api.AggregationSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
    List<VectorSchemaRoot> out = new ArrayList<>(1 + agg.states.length);
    try {
      out.add(exportKeys(agg, allocator));
      for (int i = 0; i < agg.states.length; i++) {
        out.add(exportWindow(agg, i, allocator));
      }
      return out;
    } catch (RuntimeException e) {
      out.forEach(VectorSchemaRoot::close);
      throw e;
    }
  }

  private static VectorSchemaRoot exportKeys(HeapWindowAggregator agg, BufferAllocator allocator) {
    List<Field> keyFields = agg.keyFields;
    KeyDictionary keys = agg.keys;
    List<Field> fields = new ArrayList<>();
    for (Field k : keyFields) {
      fields.add(new Field(k.getName(), FieldType.nullable(k.getType()), null));
    }
    VectorSchemaRoot root = VectorSchemaRoot.create(new Schema(fields), allocator);
    try {
      int n = keys.size();
      root.getFieldVectors().forEach(v -> allocate(v, n));
      for (int k = 0; k < keyFields.size(); k++) {
        FieldVector v = root.getVector(k);
        for (int id = 0; id < n; id++) {
          ViewRows.writeKey(v, id, keys.key(id).get(k));
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
      HeapWindowAggregator agg, int i, BufferAllocator allocator) {
    WindowState s = agg.states[i];
    int values = agg.spec().valueColumns().size();
    VectorSchemaRoot root =
        VectorSchemaRoot.create(windowStateSchema(values, agg.sizes[i]), allocator);
    try {
      int[] slots = s.liveSlots();
      int n = slots.length;
      root.getFieldVectors().forEach(v -> allocate(v, n));
      IntVector keyId = (IntVector) root.getVector(0);
      IntVector window = (IntVector) root.getVector(1);
      for (int r = 0; r < n; r++) {
        keyId.set(r, s.keyOf(slots[r]));
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
    int[] idOf = restoreKeys(agg.keys, keyRoot);
    int values = spec.valueColumns().size();
    for (int i = 0; i < agg.states.length; i++) {
      VectorSchemaRoot root = state.get(1 + i);
      Schema expected = windowStateSchema(values, agg.sizes[i]);
      if (!root.getSchema().equals(expected)) {
        throw new IllegalArgumentException(
            "the snapshot of '"
                + spec.table()
                + "' holds other windows or value columns than "
                + spec.windows().get(i)
                + " over "
                + spec.valueColumns());
      }
      restoreWindow(agg.states[i], root, idOf, values);
    }
    return agg;
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
