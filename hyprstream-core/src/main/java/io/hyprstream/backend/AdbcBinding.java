package io.hyprstream.backend;

import io.hyprstream.internal.arrow.EpochMicros;
import java.nio.charset.StandardCharsets;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BaseIntVector;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.SmallIntVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;

/**
 * Arrow batches as ADBC's JDBC adapter can bind them to a prepared {@code INSERT}: the types the
 * adapter has no binder for, or binds wrongly, converted to ones it binds as the database expects.
 */
final class AdbcBinding {
  private AdbcBinding() {}

  /**
   * {@code batch} as ADBC's JDBC adapter can bind it, the columns it takes as they are shared:
   *
   * <ul>
   *   <li>unsigned integers widened to the next signed type (the adapter has no binder for them,
   *       and the column is created one size up: {@link SqlTypes});
   *   <li>timestamps before 1970, and nanosecond ones, as text ({@code 1969-12-31 23:59:59.999999},
   *       {@code +00} when zoned), which the database casts to the column's type: the adapter's
   *       timestamp binder splits a negative value into a negative nanosecond part, which {@link
   *       java.sql.Timestamp#setNanos} refuses, and would leave the rounding of nanoseconds to the
   *       database (see {@link SqlTypes#toMicros});
   *   <li>for SQLite, timestamps as epoch microseconds ({@code BIGINT}) and dates as epoch days
   *       ({@code INTEGER}): SQLite has no time types, and its JDBC driver would store a bound
   *       timestamp as epoch milliseconds, dropping the microseconds. {@link ResultSetReader} reads
   *       such columns back by their declared names.
   * </ul>
   *
   * The new vectors go into {@code converted}, which the caller closes; the returned root must not
   * be closed.
   */
  static VectorSchemaRoot bindable(
      VectorSchemaRoot batch,
      List<FieldVector> converted,
      BufferAllocator allocator,
      boolean sqlite) {
    List<FieldVector> vectors = new ArrayList<>();
    for (FieldVector v : batch.getFieldVectors()) {
      ArrowType type = v.getField().getType();
      FieldVector out;
      RowCopy copy;
      if (type instanceof ArrowType.Int && !((ArrowType.Int) type).getIsSigned()) {
        int bits = ((ArrowType.Int) type).getBitWidth();
        out =
            bits == 8
                ? new SmallIntVector(v.getName(), allocator)
                : bits == 16
                    ? new IntVector(v.getName(), allocator)
                    : new BigIntVector(v.getName(), allocator);
        BaseIntVector from = (BaseIntVector) v;
        BaseIntVector to = (BaseIntVector) out;
        // getValueAsLong reads an unsigned vector's value without its sign.
        copy = r -> to.setWithPossibleTruncate(r, from.getValueAsLong(r));
      } else if (v instanceof TimeStampVector
          && (sqlite
              || ((ArrowType.Timestamp) type).getUnit() == TimeUnit.NANOSECOND
              || beforeEpoch((TimeStampVector) v))) {
        TimeStampVector from = (TimeStampVector) v;
        ArrowType.Timestamp ts = (ArrowType.Timestamp) type;
        if (sqlite) {
          BigIntVector to = new BigIntVector(v.getName(), allocator);
          out = to;
          copy = r -> to.setSafe(r, SqlTypes.toMicros(from.get(r), ts.getUnit()));
        } else {
          VarCharVector to = new VarCharVector(v.getName(), allocator);
          out = to;
          String zone = ts.getTimezone() == null ? "" : "+00";
          copy =
              r ->
                  to.setSafe(
                      r,
                      (timestampText(SqlTypes.toMicros(from.get(r), ts.getUnit())) + zone)
                          .getBytes(StandardCharsets.UTF_8));
        }
      } else if (sqlite && v instanceof DateDayVector) {
        DateDayVector from = (DateDayVector) v;
        IntVector to = new IntVector(v.getName(), allocator);
        out = to;
        copy = r -> to.setSafe(r, from.get(r));
      } else {
        vectors.add(v);
        continue;
      }
      converted.add(out);
      int rows = batch.getRowCount();
      out.setInitialCapacity(rows);
      out.allocateNew();
      for (int r = 0; r < rows; r++) {
        if (v.isNull(r)) {
          out.setNull(r);
        } else {
          copy.row(r);
        }
      }
      out.setValueCount(rows);
      vectors.add(out);
    }
    return new VectorSchemaRoot(vectors);
  }

  /** Copies one non-null row into a converted vector. */
  @FunctionalInterface
  private interface RowCopy {
    void row(int row);
  }

  /** {@code micros} since the epoch as UTC text a database casts to its timestamp types. */
  private static String timestampText(long micros) {
    return EpochMicros.toUtc(micros).format(TIMESTAMP_TEXT);
  }

  private static final DateTimeFormatter TIMESTAMP_TEXT =
      DateTimeFormatter.ofPattern("uuuu-MM-dd HH:mm:ss.SSSSSS", Locale.ROOT);

  private static boolean beforeEpoch(TimeStampVector v) {
    for (int r = 0; r < v.getValueCount(); r++) {
      if (!v.isNull(r) && v.get(r) < 0) {
        return true;
      }
    }
    return false;
  }
}
