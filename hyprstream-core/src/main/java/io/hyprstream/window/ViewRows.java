package io.hyprstream.window;

import io.hyprstream.api.AggregateFunction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.SmallIntVector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.TinyIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * Writes window state as view rows: the key columns, {@code window_start}, {@code window_end}, then
 * {@code <value>_<function>}, each function's value computed from the mergeable state the way
 * DuckDB computes it over the raw rows (NULL where SQL says NULL).
 */
final class ViewRows {
  private ViewRows() {}

  /**
   * View rows for {@code slots} of {@code s}, in that order, in {@code schema}: the key columns
   * ({@code keyColumns} of them, read from {@code keys}), window start and end, then per value
   * column each of {@code functions}. Ownership: the caller closes the returned root.
   */
  static VectorSchemaRoot rows(
      Schema schema,
      int keyColumns,
      KeyDictionary keys,
      List<AggregateFunction> functions,
      int values,
      WindowState s,
      int[] slots,
      BufferAllocator allocator) {
    VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
    try {
      int n = slots.length;
      for (FieldVector v : root.getFieldVectors()) {
        v.setInitialCapacity(n);
        v.allocateNew();
      }
      int col = 0;
      for (int k = 0; k < keyColumns; k++, col++) {
        FieldVector v = root.getVector(col);
        // Each key's text encoded once, not once per row: a drain interleaves every key's windows.
        byte[][] utf8ById = v instanceof VarCharVector ? new byte[keys.size()][] : null;
        for (int r = 0; r < n; r++) {
          int key = s.keyOf(slots[r]);
          Object value = keys.key(key).get(k);
          if (value != null && utf8ById != null) {
            byte[] utf8 = utf8ById[key];
            if (utf8 == null) {
              utf8 = value.toString().getBytes(StandardCharsets.UTF_8);
              utf8ById[key] = utf8;
            }
            ((VarCharVector) v).setSafe(r, utf8);
          } else {
            writeKey(v, r, value);
          }
        }
      }
      TimeStampMicroVector start = (TimeStampMicroVector) root.getVector(col++);
      TimeStampMicroVector end = (TimeStampMicroVector) root.getVector(col++);
      long size = s.sizeMicros;
      for (int r = 0; r < n; r++) {
        long st = HeapWindowAggregator.ORIGIN_MICROS + (long) s.windowOf(slots[r]) * size;
        start.set(r, st);
        end.set(r, st + size);
      }
      // Row by row, every function of a slot at once: its state is read from memory once, where a
      // column-by-column pass read each slot's state again for every function (a drain of a
      // million windows spent most of its time waiting on those reads).
      int functionCount = functions.size();
      AggregateFunction[] fs = functions.toArray(new AggregateFunction[0]);
      FieldVector[] outs = new FieldVector[values * functionCount];
      for (int i = 0; i < outs.length; i++) {
        outs[i] = root.getVector(col++);
      }
      for (int r = 0; r < n; r++) {
        int slot = slots[r];
        for (int v = 0, i = 0; v < values; v++) {
          for (int f = 0; f < functionCount; f++, i++) {
            writeFunction(fs[f], outs[i], r, s, slot, v);
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

  private static void writeFunction(
      AggregateFunction f, FieldVector out, int r, WindowState s, int slot, int v) {
    if (f == AggregateFunction.COUNT) {
      ((BigIntVector) out).set(r, s.count(slot, v));
      return;
    }
    long count = s.count(slot, v);
    long raw = s.rawCount(slot, v);
    Float8Vector fv = (Float8Vector) out;
    // A window without values is NULL; one with NaN or infinities among its values says so, as
    // DuckDB's aggregates over the same rows do.
    switch (f) {
      case SUM:
      case AVG:
        if (count == 0) {
          fv.setNull(r);
        } else {
          fv.set(r, f == AggregateFunction.SUM ? s.sum(slot, v) : s.sum(slot, v) / count);
        }
        return;
      case MIN:
      case MAX:
        if (raw == 0) {
          fv.setNull(r);
        } else {
          fv.set(r, f == AggregateFunction.MIN ? s.min(slot, v) : s.max(slot, v));
        }
        return;
      default:
        break;
    }
    double value;
    switch (f) {
      case STDDEV:
        value = s.stddev(slot, v);
        break;
      case SLOPE:
        value = s.slope(slot, v);
        break;
      case INTERCEPT:
        value = s.intercept(slot, v);
        break;
      default:
        throw new IllegalStateException("unhandled " + f);
    }
    // Undefined (fewer than two values, x that does not vary): NULL, as in SQL.
    if (Double.isNaN(value)) {
      fv.setNull(r);
    } else {
      fv.set(r, value);
    }
  }

  static void writeKey(FieldVector v, int r, @Nullable Object value) {
    if (value == null) {
      v.setNull(r);
    } else if (v instanceof VarCharVector) {
      ((VarCharVector) v).setSafe(r, value.toString().getBytes(StandardCharsets.UTF_8));
    } else if (v instanceof BigIntVector) {
      ((BigIntVector) v).set(r, ((Number) value).longValue());
    } else if (v instanceof IntVector) {
      ((IntVector) v).set(r, ((Number) value).intValue());
    } else if (v instanceof SmallIntVector) {
      ((SmallIntVector) v).set(r, ((Number) value).shortValue());
    } else if (v instanceof TinyIntVector) {
      ((TinyIntVector) v).set(r, ((Number) value).byteValue());
    } else if (v instanceof BitVector) {
      ((BitVector) v).set(r, ((Boolean) value) ? 1 : 0);
    } else {
      throw new IllegalStateException("unsupported key vector " + v.getClass().getSimpleName());
    }
  }
}
