package io.hyprstream.flight.internal;

import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.util.Text;
import org.jspecify.annotations.Nullable;

/** Reads bound parameter rows out of Arrow vectors as plain Java values for JDBC-style binding. */
public final class ArrowValues {
  private ArrowValues() {}

  /** Every row of {@code root} as a list of values, in column order. */
  public static List<List<@Nullable Object>> rows(VectorSchemaRoot root) {
    List<List<@Nullable Object>> rows = new ArrayList<>(root.getRowCount());
    for (int i = 0; i < root.getRowCount(); i++) {
      List<@Nullable Object> row = new ArrayList<>(root.getFieldVectors().size());
      for (FieldVector v : root.getFieldVectors()) {
        row.add(value(v, i));
      }
      rows.add(row);
    }
    return rows;
  }

  /**
   * The value at {@code index}: strings as {@link String}, timestamps as {@link LocalDateTime} (UTC
   * wall time), dates as {@link LocalDate}, everything else as Arrow Java returns it.
   */
  public static @Nullable Object value(FieldVector vector, int index) {
    if (vector.isNull(index)) {
      return null;
    }
    if (vector instanceof TimeStampVector) {
      ArrowType.Timestamp type = (ArrowType.Timestamp) vector.getField().getType();
      long raw = ((TimeStampVector) vector).get(index);
      return LocalDateTime.ofInstant(toInstant(raw, type), ZoneOffset.UTC);
    }
    if (vector instanceof DateDayVector) {
      return LocalDate.ofEpochDay(((DateDayVector) vector).get(index));
    }
    Object value = vector.getObject(index);
    if (value instanceof Text) {
      return value.toString();
    }
    return value;
  }

  /** {@code raw} in the unit of {@code type} as an instant. */
  public static Instant toInstant(long raw, ArrowType.Timestamp type) {
    switch (type.getUnit()) {
      case SECOND:
        return Instant.ofEpochSecond(raw);
      case MILLISECOND:
        return Instant.ofEpochMilli(raw);
      case MICROSECOND:
        return Instant.ofEpochSecond(
            Math.floorDiv(raw, 1_000_000L), Math.floorMod(raw, 1_000_000L) * 1_000L);
      case NANOSECOND:
        return Instant.ofEpochSecond(
            Math.floorDiv(raw, 1_000_000_000L), Math.floorMod(raw, 1_000_000_000L));
    }
    throw new IllegalArgumentException("unknown time unit " + type.getUnit());
  }

  /** The number of {@code unit} ticks in one second. */
  static long perSecond(org.apache.arrow.vector.types.TimeUnit unit) {
    switch (unit) {
      case SECOND:
        return 1;
      case MILLISECOND:
        return TimeUnit.SECONDS.toMillis(1);
      case MICROSECOND:
        return TimeUnit.SECONDS.toMicros(1);
      case NANOSECOND:
        return TimeUnit.SECONDS.toNanos(1);
    }
    throw new IllegalArgumentException("unknown time unit " + unit);
  }
}
