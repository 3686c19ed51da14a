package io.hyprstream.internal.arrow;

import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BaseFixedWidthVector;
import org.apache.arrow.vector.BitVectorHelper;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.LargeVarBinaryVector;
import org.apache.arrow.vector.LargeVarCharVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.arrow.vector.util.TransferPair;
import org.jspecify.annotations.Nullable;

/**
 * Brings batches DuckDB produced back to the Arrow types a table was created with. DuckDB stores
 * some Arrow types in a wider or canonical form and exports that form: large strings and binaries
 * as their 32-bit-offset kinds, zoned timestamps in microseconds, {@code date64} as {@code date32},
 * {@code time32} as {@code time64}. Ingest compares a table's column types exactly, so rows an SQL
 * INSERT evaluated in DuckDB are converted back, value for value; any other difference is left for
 * ingest to report.
 */
public final class ArrowConform {
  private ArrowConform() {}

  /**
   * {@code batch} with each column whose type differs from the same-named field of {@code table}
   * (in one of the ways above) converted to that field's type. Takes ownership of {@code batch};
   * the caller owns the result.
   */
  public static VectorSchemaRoot toTable(
      VectorSchemaRoot batch, Schema table, BufferAllocator allocator) {
    boolean differs = false;
    for (FieldVector v : batch.getFieldVectors()) {
      Field f = Columns.field(table, v.getName());
      differs |= f != null && !f.getType().equals(v.getField().getType());
    }
    if (!differs) {
      return batch;
    }
    int rows = batch.getRowCount();
    List<FieldVector> out = new ArrayList<>();
    try (batch) {
      for (FieldVector v : batch.getFieldVectors()) {
        Field f = Columns.field(table, v.getName());
        FieldVector converted =
            f == null || f.getType().equals(v.getField().getType())
                ? null
                : convert(
                    v,
                    new Field(v.getName(), FieldType.nullable(f.getType()), null),
                    rows,
                    allocator);
        if (converted == null) {
          TransferPair pair = v.getTransferPair(allocator);
          pair.transfer();
          converted = (FieldVector) pair.getTo();
        }
        out.add(converted);
      }
    } catch (RuntimeException e) {
      out.forEach(FieldVector::close);
      throw e;
    }
    VectorSchemaRoot result = new VectorSchemaRoot(out);
    result.setRowCount(rows);
    return result;
  }

  /** {@code v} as a new vector of {@code target}'s type, or null when that is not a known form. */
  private static @Nullable FieldVector convert(
      FieldVector v, Field target, int rows, BufferAllocator allocator) {
    ArrowType from = v.getField().getType();
    ArrowType to = target.getType();
    if (v instanceof VarCharVector && to instanceof ArrowType.LargeUtf8) {
      LargeVarCharVector out = (LargeVarCharVector) target.createVector(allocator);
      out.allocateNew(rows);
      for (int i = 0; i < rows; i++) {
        if (!v.isNull(i)) {
          out.setSafe(i, ((VarCharVector) v).get(i));
        }
      }
      out.setValueCount(rows);
      return out;
    }
    if (v instanceof VarBinaryVector && to instanceof ArrowType.LargeBinary) {
      LargeVarBinaryVector out = (LargeVarBinaryVector) target.createVector(allocator);
      out.allocateNew(rows);
      for (int i = 0; i < rows; i++) {
        if (!v.isNull(i)) {
          out.setSafe(i, ((VarBinaryVector) v).get(i));
        }
      }
      out.setValueCount(rows);
      return out;
    }
    long num;
    long den;
    if (from instanceof ArrowType.Timestamp && to instanceof ArrowType.Timestamp) {
      if ((((ArrowType.Timestamp) from).getTimezone() == null)
          != (((ArrowType.Timestamp) to).getTimezone() == null)) {
        return null;
      }
      num = perSecond(((ArrowType.Timestamp) to).getUnit());
      den = perSecond(((ArrowType.Timestamp) from).getUnit());
    } else if (from instanceof ArrowType.Date && to instanceof ArrowType.Date) {
      boolean fromDays = ((ArrowType.Date) from).getUnit() == DateUnit.DAY;
      num = fromDays ? 86_400_000L : 1;
      den = fromDays ? 1 : 86_400_000L;
    } else if (from instanceof ArrowType.Time && to instanceof ArrowType.Time) {
      num = perSecond(((ArrowType.Time) to).getUnit());
      den = perSecond(((ArrowType.Time) from).getUnit());
    } else {
      return null;
    }
    BaseFixedWidthVector out = (BaseFixedWidthVector) target.createVector(allocator);
    try {
      out.setInitialCapacity(rows);
      out.allocateNew(); // validity all zero: rows left unset are null
      for (int i = 0; i < rows; i++) {
        if (!v.isNull(i)) {
          long value = longAt(v, i);
          long scaled =
              num >= den ? Math.multiplyExact(value, num / den) : Math.floorDiv(value, den / num);
          BitVectorHelper.setBit(out.getValidityBuffer(), i);
          if (out.getTypeWidth() == 4) {
            out.getDataBuffer().setInt((long) i * 4, Math.toIntExact(scaled));
          } else {
            out.getDataBuffer().setLong((long) i * 8, scaled);
          }
        }
      }
      out.setValueCount(rows);
      return out;
    } catch (RuntimeException e) {
      out.close();
      throw e;
    }
  }

  private static long longAt(FieldVector v, int i) {
    BaseFixedWidthVector fixed = (BaseFixedWidthVector) v;
    return fixed.getTypeWidth() == 4
        ? fixed.getDataBuffer().getInt((long) i * 4)
        : fixed.getDataBuffer().getLong((long) i * 8);
  }

  private static long perSecond(TimeUnit unit) {
    switch (unit) {
      case SECOND:
        return 1;
      case MILLISECOND:
        return 1_000;
      case MICROSECOND:
        return 1_000_000;
      default:
        return 1_000_000_000;
    }
  }
}
