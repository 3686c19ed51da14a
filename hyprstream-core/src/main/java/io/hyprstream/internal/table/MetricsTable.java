package io.hyprstream.internal.table;

import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.internal.arrow.Columns;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.arrow.vector.util.TransferPair;
import org.jspecify.annotations.Nullable;

/**
 * The built-in {@code metrics} table: its fixed columns, and how an incoming batch is checked and
 * turned into the stored form (timestamps in microseconds, values as float64, running columns
 * added, label columns kept as sent).
 */
public final class MetricsTable {
  public static final String NAME = "metrics";
  public static final String METRIC_ID = "metric_id";
  public static final String TIMESTAMP = "timestamp";
  public static final String VALUE = "value";
  public static final String RUNNING_SUM = "value_running_window_sum";
  public static final String RUNNING_AVG = "value_running_window_avg";
  public static final String RUNNING_COUNT = "value_running_window_count";

  public static final ArrowType UTF8 = new ArrowType.Utf8();
  public static final ArrowType TIMESTAMP_MICROS =
      new ArrowType.Timestamp(TimeUnit.MICROSECOND, null);
  public static final ArrowType FLOAT64 =
      new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);
  public static final ArrowType INT64 = new ArrowType.Int(64, true);

  /** The fixed columns, in table order. */
  public static final Schema BASE_SCHEMA =
      new Schema(
          List.of(
              new Field(METRIC_ID, FieldType.notNullable(UTF8), null),
              new Field(TIMESTAMP, FieldType.notNullable(TIMESTAMP_MICROS), null),
              new Field(VALUE, FieldType.nullable(FLOAT64), null),
              new Field(RUNNING_SUM, FieldType.nullable(FLOAT64), null),
              new Field(RUNNING_AVG, FieldType.nullable(FLOAT64), null),
              new Field(RUNNING_COUNT, FieldType.nullable(INT64), null)));

  /** The running columns, as the aggregator fills them. */
  public static final Schema RUNNING_SCHEMA = new Schema(BASE_SCHEMA.getFields().subList(3, 6));

  private MetricsTable() {}

  public static boolean isBaseColumn(String name) {
    for (Field f : BASE_SCHEMA.getFields()) {
      if (f.getName().equalsIgnoreCase(name)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Checks a batch bound for {@code metrics}: {@code metric_id} utf8 and {@code timestamp} (any
   * timestamp unit, or int64 epoch milliseconds) present and never null; {@code value} numeric, or
   * absent when the batch carries pre-aggregated running columns.
   *
   * @throws SchemaMismatchException naming the column and the type expected
   */
  public static void validate(VectorSchemaRoot batch, boolean preAggregated) {
    FieldVector id = Columns.vector(batch, METRIC_ID);
    if (id == null) {
      throw mismatch(METRIC_ID, "missing; expected utf8 (string)");
    }
    if (!id.getField().getType().equals(UTF8)) {
      throw mismatch(METRIC_ID, "expected utf8 (string), got " + id.getField().getType());
    }
    if (id.getNullCount() > 0) {
      throw mismatch(METRIC_ID, "must not be null (" + id.getNullCount() + " null rows)");
    }
    FieldVector ts = Columns.vector(batch, TIMESTAMP);
    if (ts == null) {
      throw mismatch(TIMESTAMP, "missing; expected timestamp (any unit) or int64 epoch millis");
    }
    ArrowType t = ts.getField().getType();
    if (!(t instanceof ArrowType.Timestamp) && !t.equals(INT64)) {
      throw mismatch(TIMESTAMP, "expected timestamp (any unit) or int64 epoch millis, got " + t);
    }
    if (ts.getNullCount() > 0) {
      throw mismatch(TIMESTAMP, "must not be null (" + ts.getNullCount() + " null rows)");
    }
    FieldVector value = Columns.vector(batch, VALUE);
    if (value == null && !preAggregated) {
      throw mismatch(VALUE, "missing; expected float64 (or send value_running_window_count/_sum)");
    }
    if (value != null && !Columns.isNumeric(value.getField().getType())) {
      throw mismatch(VALUE, "expected float64, got " + value.getField().getType());
    }
    if (preAggregated) {
      checkNumeric(batch, RUNNING_SUM);
      checkNumeric(batch, RUNNING_AVG);
      checkNumeric(batch, RUNNING_COUNT);
    }
  }

  private static void checkNumeric(VectorSchemaRoot batch, String name) {
    FieldVector v = Columns.vector(batch, name);
    if (v != null && !Columns.isNumeric(v.getField().getType())) {
      throw mismatch(name, "expected a number, got " + v.getField().getType());
    }
  }

  private static SchemaMismatchException mismatch(String column, String message) {
    return new SchemaMismatchException(NAME, column, message);
  }

  /**
   * The stored form of a validated batch: base columns first (timestamp in microseconds, value as
   * float64, running columns from {@code running}), then the batch's label columns. Takes ownership
   * of {@code batch} and {@code running}; the caller owns the result.
   */
  public static VectorSchemaRoot toStored(
      VectorSchemaRoot batch, VectorSchemaRoot running, BufferAllocator allocator) {
    try (batch;
        running) {
      int rows = batch.getRowCount();
      List<FieldVector> out = new ArrayList<>();
      try {
        out.add(transfer(Columns.require(batch, METRIC_ID), METRIC_ID, allocator));
        out.add(timestampMicros(Columns.require(batch, TIMESTAMP), rows, allocator));
        FieldVector value = Columns.vector(batch, VALUE);
        out.add(valueFloat64(value, rows, allocator));
        for (FieldVector r : running.getFieldVectors()) {
          out.add(transfer(r, r.getName(), allocator));
        }
        for (FieldVector v : batch.getFieldVectors()) {
          if (!isBaseColumn(v.getName())) {
            out.add(transfer(v, v.getName(), allocator));
          }
        }
        VectorSchemaRoot stored = new VectorSchemaRoot(out);
        stored.setRowCount(rows);
        return stored;
      } catch (RuntimeException e) {
        out.forEach(FieldVector::close);
        throw e;
      }
    }
  }

  /** Moves a vector's buffers to {@code allocator} under {@code name}, marked nullable or not. */
  private static FieldVector transfer(FieldVector v, String name, BufferAllocator allocator) {
    TransferPair pair = v.getTransferPair(name, allocator);
    pair.transfer();
    return (FieldVector) pair.getTo();
  }

  private static FieldVector timestampMicros(FieldVector ts, int rows, BufferAllocator allocator) {
    Field field = new Field(TIMESTAMP, FieldType.notNullable(TIMESTAMP_MICROS), null);
    if (ts instanceof TimeStampMicroVector
        && ((ArrowType.Timestamp) ts.getField().getType()).getTimezone() == null) {
      return transfer(ts, TIMESTAMP, allocator);
    }
    long[] micros = Columns.eventMicros(ts, rows, java.time.temporal.ChronoUnit.MILLIS);
    TimeStampMicroVector out = (TimeStampMicroVector) field.createVector(allocator);
    out.allocateNew(rows);
    for (int r = 0; r < rows; r++) {
      out.set(r, micros[r]);
    }
    out.setValueCount(rows);
    return out;
  }

  private static FieldVector valueFloat64(
      @Nullable FieldVector value, int rows, BufferAllocator allocator) {
    if (value instanceof Float8Vector) {
      return transfer(value, VALUE, allocator);
    }
    Float8Vector out =
        (Float8Vector) new Field(VALUE, FieldType.nullable(FLOAT64), null).createVector(allocator);
    out.allocateNew(rows);
    for (int r = 0; r < rows; r++) {
      if (value == null || value.isNull(r)) {
        out.setNull(r);
      } else {
        out.set(r, ((Number) value.getObject(r)).doubleValue());
      }
    }
    out.setValueCount(rows);
    return out;
  }
}
