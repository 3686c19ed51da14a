package io.hyprstream;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/** Builds metric batches and reads query results for tests. */
final class TestData {
  static final Schema METRICS_WITH_SEQ =
      new Schema(
          List.of(
              Field.nullable("metric_id", new ArrowType.Utf8()),
              Field.nullable("timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
              Field.nullable("value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
              Field.nullable("seq", new ArrowType.Int(64, true))));

  private TestData() {}

  /** One metrics row to be. */
  static final class Row {
    final @Nullable String id;
    final long micros;
    final @Nullable Double value;
    final long seq;

    Row(@Nullable String id, long micros, @Nullable Double value, long seq) {
      this.id = id;
      this.micros = micros;
      this.value = value;
      this.seq = seq;
    }
  }

  /** A batch of {@code rows} with columns metric_id, timestamp (µs), value, seq. Caller owns it. */
  static VectorSchemaRoot metrics(BufferAllocator allocator, List<Row> rows) {
    VectorSchemaRoot root = VectorSchemaRoot.create(METRICS_WITH_SEQ, allocator);
    root.allocateNew();
    VarCharVector id = (VarCharVector) root.getVector(0);
    TimeStampMicroVector ts = (TimeStampMicroVector) root.getVector(1);
    Float8Vector value = (Float8Vector) root.getVector(2);
    BigIntVector seq = (BigIntVector) root.getVector(3);
    for (int i = 0; i < rows.size(); i++) {
      Row r = rows.get(i);
      if (r.id == null) {
        id.setNull(i);
      } else {
        id.setSafe(i, r.id.getBytes(StandardCharsets.UTF_8));
      }
      ts.setSafe(i, r.micros);
      if (r.value == null) {
        value.setNull(i);
      } else {
        value.setSafe(i, r.value);
      }
      seq.setSafe(i, r.seq);
    }
    root.setRowCount(rows.size());
    return root;
  }

  static long micros(Instant i) {
    return i.getEpochSecond() * 1_000_000L + i.getNano() / 1000;
  }

  /** Reads every row of {@code reader} as Java values and closes it. */
  static List<List<@Nullable Object>> rows(ArrowReader reader) throws Exception {
    List<List<@Nullable Object>> out = new ArrayList<>();
    try (reader) {
      while (reader.loadNextBatch()) {
        VectorSchemaRoot root = reader.getVectorSchemaRoot();
        for (int r = 0; r < root.getRowCount(); r++) {
          List<@Nullable Object> row = new ArrayList<>();
          for (FieldVector v : root.getFieldVectors()) {
            Object o = v.getObject(r);
            if (o instanceof org.apache.arrow.vector.util.Text) {
              o = o.toString();
            }
            row.add(o);
          }
          out.add(row);
        }
      }
    }
    return out;
  }

  /** The single value of a one-row, one-column result. */
  static @Nullable Object scalar(ArrowReader reader) throws Exception {
    List<List<@Nullable Object>> rows = rows(reader);
    if (rows.size() != 1 || rows.get(0).size() != 1) {
      throw new AssertionError("expected one value, got " + rows);
    }
    return rows.get(0).get(0);
  }

  static LocalDateTime utc(long micros) {
    return LocalDateTime.ofEpochSecond(
        Math.floorDiv(micros, 1_000_000),
        (int) Math.floorMod(micros, 1_000_000) * 1000,
        ZoneOffset.UTC);
  }
}
