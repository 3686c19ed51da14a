package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.DecimalVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.SmallIntVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.TinyIntVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Test batches and a type-neutral view of rows, to compare what was appended with what reads back.
 */
final class Batches {
  private Batches() {}

  static final long T0_MICROS = 1_700_000_000_123_456L;

  /** Every type a store supports; {@code withVectors} adds a fixed-size list of floats. */
  static VectorSchemaRoot everyType(BufferAllocator a, int rows, boolean withVectors) {
    List<Field> fields = new ArrayList<>();
    fields.add(Field.notNullable("i8", new ArrowType.Int(8, true)));
    fields.add(Field.nullable("i16", new ArrowType.Int(16, true)));
    fields.add(Field.nullable("i32", new ArrowType.Int(32, true)));
    fields.add(Field.notNullable("i64", new ArrowType.Int(64, true)));
    fields.add(Field.nullable("f32", new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)));
    fields.add(Field.nullable("f64", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)));
    fields.add(Field.nullable("s", ArrowType.Utf8.INSTANCE));
    fields.add(Field.nullable("b", ArrowType.Bool.INSTANCE));
    fields.add(Field.nullable("ts", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)));
    fields.add(Field.nullable("ts_ms", new ArrowType.Timestamp(TimeUnit.MILLISECOND, null)));
    fields.add(Field.nullable("tstz", new ArrowType.Timestamp(TimeUnit.NANOSECOND, "UTC")));
    fields.add(Field.nullable("d", new ArrowType.Date(DateUnit.DAY)));
    fields.add(Field.nullable("bin", ArrowType.Binary.INSTANCE));
    fields.add(Field.nullable("dec", new ArrowType.Decimal(18, 4, 128)));
    if (withVectors) {
      fields.add(
          new Field(
              "vec",
              FieldType.nullable(new ArrowType.FixedSizeList(3)),
              List.of(
                  Field.nullable(
                      "item", new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)))));
    }
    VectorSchemaRoot root = VectorSchemaRoot.create(new Schema(fields), a);
    root.allocateNew();
    for (int row = 0; row < rows; row++) {
      final int r = row;
      boolean nul = r % 5 == 4;
      ((TinyIntVector) root.getVector("i8")).setSafe(r, (byte) (r % 127 - 60));
      set(root, "i16", r, nul, v -> ((SmallIntVector) v).setSafe(r, (short) (r * 7 - 300)));
      set(root, "i32", r, nul, v -> ((IntVector) v).setSafe(r, r * 100_003 - 1_000_000));
      ((BigIntVector) root.getVector("i64")).setSafe(r, (long) r * 9_000_000_000L - 5);
      set(root, "f32", r, nul, v -> ((Float4Vector) v).setSafe(r, r * 0.5f - 3.25f));
      set(root, "f64", r, nul, v -> ((Float8Vector) v).setSafe(r, r * 1.0e-3 - 1e10));
      String s = r % 3 == 0 ? "tab\there\nnewline \\ back 'q' é" + r : "m" + r;
      set(
          root,
          "s",
          r,
          nul,
          v -> ((VarCharVector) v).setSafe(r, s.getBytes(StandardCharsets.UTF_8)));
      set(root, "b", r, nul, v -> ((BitVector) v).setSafe(r, r % 2));
      set(root, "ts", r, nul, v -> ((TimeStampVector) v).setSafe(r, T0_MICROS + r * 1_000_001L));
      set(root, "ts_ms", r, nul, v -> ((TimeStampVector) v).setSafe(r, T0_MICROS / 1000 + r));
      set(
          root,
          "tstz",
          r,
          nul,
          v -> ((TimeStampVector) v).setSafe(r, (T0_MICROS - r * 3_600_000_000L) * 1000));
      set(root, "d", r, nul, v -> ((DateDayVector) v).setSafe(r, 19_000 + r - 20_000 * (r % 2)));
      set(
          root,
          "bin",
          r,
          nul,
          v -> ((VarBinaryVector) v).setSafe(r, new byte[] {(byte) r, 0, (byte) 0xff, '\\', '\n'}));
      set(
          root,
          "dec",
          r,
          nul,
          v ->
              ((DecimalVector) v)
                  .setSafe(
                      r,
                      new BigDecimal(r % 2 == 0 ? "-1234.5600" : "98765432101234.0001")
                          .add(BigDecimal.valueOf(r, 4))));
      if (withVectors) {
        FixedSizeListVector l = (FixedSizeListVector) root.getVector("vec");
        if (nul) {
          l.setNull(r);
        } else {
          int start = l.startNewValue(r);
          Float4Vector data = (Float4Vector) l.getDataVector();
          for (int k = 0; k < 3; k++) {
            data.setSafe(start + k, r + k * 0.25f);
          }
        }
      }
    }
    root.setRowCount(rows);
    return root;
  }

  interface Setter {
    void set(FieldVector v);
  }

  private static void set(VectorSchemaRoot root, String col, int r, boolean nul, Setter s) {
    FieldVector v = root.getVector(col);
    if (nul) {
      v.setNull(r);
    } else {
      s.set(v);
    }
  }

  /** A metrics-shaped batch: metric_id, timestamp (µs), value. */
  static VectorSchemaRoot metrics(BufferAllocator a, int rows, int offset) {
    Schema schema =
        new Schema(
            List.of(
                Field.notNullable("metric_id", ArrowType.Utf8.INSTANCE),
                Field.notNullable("timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
                Field.nullable(
                    "value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));
    VectorSchemaRoot root = VectorSchemaRoot.create(schema, a);
    root.allocateNew();
    VarCharVector id = (VarCharVector) root.getVector(0);
    TimeStampVector ts = (TimeStampVector) root.getVector(1);
    Float8Vector val = (Float8Vector) root.getVector(2);
    for (int r = 0; r < rows; r++) {
      long n = offset + r;
      id.setSafe(r, ("cpu.host" + (n % 1000)).getBytes(StandardCharsets.UTF_8));
      ts.setSafe(r, T0_MICROS + n * 1000);
      val.setSafe(r, n * 0.25);
    }
    root.setRowCount(rows);
    return root;
  }

  /** One row of metric_id, timestamp and a new label column host. */
  static VectorSchemaRoot withHost(BufferAllocator a, String host) {
    Schema schema =
        new Schema(
            List.of(
                Field.notNullable("metric_id", ArrowType.Utf8.INSTANCE),
                Field.notNullable("timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
                Field.nullable("host", ArrowType.Utf8.INSTANCE)));
    VectorSchemaRoot root = VectorSchemaRoot.create(schema, a);
    root.allocateNew();
    ((VarCharVector) root.getVector(0)).setSafe(0, "x".getBytes(StandardCharsets.UTF_8));
    ((TimeStampVector) root.getVector(1)).setSafe(0, T0_MICROS);
    ((VarCharVector) root.getVector(2)).setSafe(0, host.getBytes(StandardCharsets.UTF_8));
    root.setRowCount(1);
    return root;
  }

  /** The rows of {@code root}, each cell normalised (see {@link #cell}). */
  static List<List<Object>> rows(VectorSchemaRoot root) {
    List<List<Object>> out = new ArrayList<>();
    for (int r = 0; r < root.getRowCount(); r++) {
      List<Object> row = new ArrayList<>();
      for (FieldVector v : root.getFieldVectors()) {
        row.add(cell(v, r));
      }
      out.add(row);
    }
    return out;
  }

  /** Every row the reader gives, then closes it. */
  static List<List<Object>> drain(ArrowReader reader) throws IOException {
    try (reader) {
      List<List<Object>> out = new ArrayList<>();
      while (reader.loadNextBatch()) {
        out.addAll(rows(reader.getVectorSchemaRoot()));
      }
      return out;
    }
  }

  /**
   * A cell in a form that does not depend on the column's storage type: integers as Long, floats as
   * Double, timestamps as epoch micros, dates as epoch days, decimals without trailing zeros,
   * binary as a list of bytes, lists as lists, nulls as the string "NULL".
   */
  static Object cell(FieldVector v, int r) {
    if (v.isNull(r)) {
      return "NULL";
    }
    if (v instanceof TimeStampVector) {
      TimeUnit unit = ((ArrowType.Timestamp) v.getField().getType()).getUnit();
      return SqlTypes.toMicros(((TimeStampVector) v).get(r), unit);
    }
    if (v instanceof DateDayVector) {
      return (long) ((DateDayVector) v).get(r);
    }
    if (v instanceof FixedSizeListVector || v instanceof ListVector) {
      List<?> items = (List<?>) v.getObject(r);
      List<Object> out = new ArrayList<>();
      for (Object o : items) {
        out.add(o == null ? "NULL" : (Object) ((Number) o).doubleValue());
      }
      return out;
    }
    Object o = v.getObject(r);
    if (o instanceof Byte || o instanceof Short || o instanceof Integer || o instanceof Long) {
      return ((Number) o).longValue();
    }
    if (o instanceof Float || o instanceof Double) {
      return ((Number) o).doubleValue();
    }
    if (o instanceof Boolean) {
      return o;
    }
    if (o instanceof BigDecimal) {
      return ((BigDecimal) o).stripTrailingZeros().toPlainString();
    }
    if (o instanceof byte[]) {
      return Arrays.toString((byte[]) o);
    }
    return o.toString();
  }

  static void assertSameRows(List<List<Object>> expected, List<List<Object>> actual) {
    assertEquals(expected.size(), actual.size(), "row count");
    for (int i = 0; i < expected.size(); i++) {
      assertEquals(expected.get(i), actual.get(i), "row " + i);
    }
  }
}
