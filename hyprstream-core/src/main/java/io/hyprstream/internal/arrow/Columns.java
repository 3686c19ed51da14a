package io.hyprstream.internal.arrow;

import java.nio.ByteOrder;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/** Column lookups (case-insensitive, as DuckDB resolves identifiers) and event-time decoding. */
public final class Columns {
  /** Marks a null event time in {@link #eventMicros}. */
  public static final long NULL_TIME = Long.MIN_VALUE;

  private Columns() {}

  /** True for the Arrow types a value column may have: integers and floating point. */
  public static boolean isNumeric(ArrowType type) {
    return type instanceof ArrowType.FloatingPoint || type instanceof ArrowType.Int;
  }

  /** The field called {@code name} in any letter case, or null. */
  public static @Nullable Field field(Schema schema, String name) {
    for (Field f : schema.getFields()) {
      if (f.getName().equalsIgnoreCase(name)) {
        return f;
      }
    }
    return null;
  }

  /** The vector called {@code name} in any letter case, or null. */
  public static @Nullable FieldVector vector(VectorSchemaRoot root, String name) {
    // By index: this runs several times per ingest call, and getFieldVectors() allocates a view.
    for (int i = 0, n = root.getSchema().getFields().size(); i < n; i++) {
      FieldVector v = root.getVector(i);
      if (v.getName().equalsIgnoreCase(name)) {
        return v;
      }
    }
    return null;
  }

  /** The vector called {@code name}, which validation has already established exists. */
  public static FieldVector require(VectorSchemaRoot root, String name) {
    FieldVector v = vector(root, name);
    if (v == null) {
      throw new IllegalStateException("validated column '" + name + "' is missing");
    }
    return v;
  }

  /**
   * Event times of a timestamp column (any unit) or an int64 epoch column in {@code epochUnit}, as
   * epoch microseconds; {@link #NULL_TIME} where null.
   */
  public static long[] eventMicros(FieldVector vector, int rows, ChronoUnit epochUnit) {
    return eventMicros(vector, rows, epochUnit, new long[rows]);
  }

  /**
   * As {@link #eventMicros(FieldVector, int, ChronoUnit)}, into the first {@code rows} entries of
   * {@code out} (at least that long), so a caller that ingests batch after batch reuses one array.
   */
  public static long[] eventMicros(FieldVector vector, int rows, ChronoUnit epochUnit, long[] out) {
    if (vector instanceof TimeStampMicroVector && vector.getNullCount() == 0) {
      vector
          .getDataBuffer()
          .nioBuffer(0, rows * 8)
          .order(ByteOrder.LITTLE_ENDIAN)
          .asLongBuffer()
          .get(out, 0, rows);
      return out;
    }
    if (vector instanceof TimeStampMicroVector) {
      TimeStampMicroVector tv = (TimeStampMicroVector) vector;
      for (int r = 0; r < rows; r++) {
        out[r] = tv.isNull(r) ? NULL_TIME : tv.get(r);
      }
      return out;
    }
    long mul;
    long div = 1;
    if (vector instanceof TimeStampVector) {
      switch (((ArrowType.Timestamp) vector.getField().getType()).getUnit()) {
        case SECOND:
          mul = 1_000_000;
          break;
        case MILLISECOND:
          mul = 1_000;
          break;
        case NANOSECOND:
          mul = 1;
          div = 1_000;
          break;
        default:
          mul = 1;
          break;
      }
      TimeStampVector tv = (TimeStampVector) vector;
      for (int r = 0; r < rows; r++) {
        out[r] = tv.isNull(r) ? NULL_TIME : Math.floorDiv(Math.multiplyExact(tv.get(r), mul), div);
      }
      return out;
    }
    if (epochUnit == ChronoUnit.SECONDS) {
      mul = 1_000_000;
    } else if (epochUnit == ChronoUnit.MILLIS) {
      mul = 1_000;
    } else if (epochUnit == ChronoUnit.NANOS) {
      mul = 1;
      div = 1_000;
    } else {
      mul = 1;
    }
    BigIntVector bv = (BigIntVector) vector;
    for (int r = 0; r < rows; r++) {
      out[r] = bv.isNull(r) ? NULL_TIME : Math.floorDiv(Math.multiplyExact(bv.get(r), mul), div);
    }
    return out;
  }

  /** {@code current}'s fields, then those of {@code more} it lacks (by name, without case). */
  public static Schema merged(Schema current, Schema more) {
    List<Field> fields = new ArrayList<>(current.getFields());
    for (Field f : more.getFields()) {
      if (field(current, f.getName()) == null) {
        fields.add(f);
      }
    }
    return new Schema(fields);
  }
}
