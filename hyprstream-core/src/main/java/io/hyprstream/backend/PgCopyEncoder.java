package io.hyprstream.backend;

import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.internal.arrow.EpochMicros;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.math.BigDecimal;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.Arrays;
import java.util.List;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.util.MemoryUtil;
import org.apache.arrow.vector.BaseFixedWidthVector;
import org.apache.arrow.vector.BaseLargeVariableWidthVector;
import org.apache.arrow.vector.BaseVariableWidthVector;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.DateMilliVector;
import org.apache.arrow.vector.Decimal256Vector;
import org.apache.arrow.vector.DecimalVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.FixedSizeBinaryVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.SmallIntVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.TinyIntVector;
import org.apache.arrow.vector.UInt1Vector;
import org.apache.arrow.vector.UInt2Vector;
import org.apache.arrow.vector.UInt4Vector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.jspecify.annotations.Nullable;
import org.postgresql.copy.CopyIn;

/**
 * Encodes an Arrow batch as the body of a PostgreSQL {@code COPY ... FROM STDIN}, in the binary or
 * the text format, straight from the vectors' buffers, and streams it to a {@link CopyIn} in
 * chunks. The column types it writes are the ones {@link SqlTypes#POSTGRES} creates.
 */
final class PgCopyEncoder {
  /** The two COPY formats PostgreSQL reads. */
  enum Format {
    BINARY,
    TEXT
  }

  private static final byte[] BINARY_HEADER = {
    'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0, 0, 0, 0, 0, 0, 0, 0, 0
  };
  private static final long PG_EPOCH_DAYS = LocalDate.of(2000, 1, 1).toEpochDay();
  private static final long PG_EPOCH_MICROS = PG_EPOCH_DAYS * 86_400_000_000L;
  private static final int FLUSH_BYTES = 256 << 10;
  private static final int OID_FLOAT4 = 700;
  private static final int OID_FLOAT8 = 701;
  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  private static final VarHandle SHORT_BE =
      MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle INT_BE =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle LONG_BE =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

  // Binary columns read straight from their buffers' memory (see FastColumn); others use a writer.
  private static final int GENERIC = 0;
  private static final int INT64 = 1; // bigint, float8 (raw bits)
  private static final int INT32 = 2; // int, float4 (raw bits)
  private static final int MICROS = 3; // timestamp in microseconds
  private static final int VARWIDTH = 4; // text, bytea with 32-bit offsets

  private final Format format;
  private final FieldVector[] vectors;
  private final ColumnWriter[] writers;
  private final @Nullable FastColumn[] fast;
  private final Out out = new Out();

  /**
   * An encoder of {@code columns} of {@code batch}, in that order.
   *
   * @throws SchemaMismatchException when a column's Arrow type has no PostgreSQL encoding
   */
  PgCopyEncoder(String table, VectorSchemaRoot batch, List<String> columns, Format format) {
    this(table, batch, columns, format, true);
  }

  /** As above; {@code direct} false encodes every column through its writer (tests compare). */
  PgCopyEncoder(
      String table, VectorSchemaRoot batch, List<String> columns, Format format, boolean direct) {
    this.format = format;
    this.vectors = new FieldVector[columns.size()];
    this.writers = new ColumnWriter[columns.size()];
    this.fast =
        format == Format.BINARY && direct ? new FastColumn[columns.size()] : new FastColumn[0];
    for (int i = 0; i < columns.size(); i++) {
      FieldVector v = batch.getVector(columns.get(i));
      if (v == null) {
        throw new IllegalArgumentException("no column " + columns.get(i));
      }
      vectors[i] = v;
      ColumnWriter w = format == Format.BINARY ? binaryWriter(v) : textWriter(v);
      if (w == null) {
        throw new SchemaMismatchException(
            table, v.getName(), "no PostgreSQL COPY encoding for " + v.getField().getType());
      }
      writers[i] = w;
      if (fast.length > 0) {
        fast[i] = FastColumn.of(v, batch.getRowCount());
      }
    }
  }

  /** Writes every row of the batch, with the format's header and trailer, to {@code copy}. */
  void writeTo(CopyIn copy, int rowCount) throws SQLException {
    writeTo(copy, rowCount, true, true);
  }

  /**
   * Writes every row of the batch to {@code copy}, after the format's header when {@code first} and
   * before its trailer when {@code last}: several encoders of the same columns write one stream,
   * the first with {@code first}, the last with {@code last}.
   */
  void writeTo(CopyIn copy, int rowCount, boolean first, boolean last) throws SQLException {
    if (fast.length > 0) {
      writeBinary(copy, rowCount, first, last);
      return;
    }
    out.pos = 0;
    if (format == Format.BINARY && first) {
      out.bytes(BINARY_HEADER, 0, BINARY_HEADER.length);
    }
    int n = vectors.length;
    for (int row = 0; row < rowCount; row++) {
      if (format == Format.BINARY) {
        out.int16(n);
        for (int c = 0; c < n; c++) {
          if (vectors[c].isNull(row)) {
            out.int32(-1);
          } else {
            writers[c].write(row, out);
          }
        }
      } else {
        for (int c = 0; c < n; c++) {
          if (c > 0) {
            out.byte1('\t');
          }
          if (vectors[c].isNull(row)) {
            out.byte1('\\');
            out.byte1('N');
          } else {
            writers[c].write(row, out);
          }
        }
        out.byte1('\n');
      }
      if (out.pos >= FLUSH_BYTES) {
        copy.writeToCopy(out.buf, 0, out.pos);
        out.pos = 0;
      }
    }
    if (format == Format.BINARY && last) {
      out.int16(-1);
    }
    copy.writeToCopy(out.buf, 0, out.pos);
    out.pos = 0;
  }

  /**
   * The binary format with the common column types read straight from the buffers' memory: no
   * per-value call through a vector, bounds check or allocation, one capacity check per row.
   */
  private void writeBinary(CopyIn copy, int rowCount, boolean first, boolean last)
      throws SQLException {
    out.pos = 0;
    if (first) {
      out.bytes(BINARY_HEADER, 0, BINARY_HEADER.length);
    }
    int n = vectors.length;
    FastColumn[] cols = fast;
    int fixedRowBytes = 2;
    for (FastColumn f : cols) {
      fixedRowBytes += f == null ? 0 : 4 + f.width;
    }
    for (int row = 0; row < rowCount; row++) {
      int need = fixedRowBytes;
      for (FastColumn f : cols) {
        if (f != null && f.kind == VARWIDTH) {
          need += Math.max(0, f.length(row));
        }
      }
      out.ensure(need);
      byte[] b = out.buf;
      SHORT_BE.set(b, out.pos, (short) n);
      out.pos += 2;
      for (int c = 0; c < n; c++) {
        FastColumn f = cols[c];
        if (f == null) {
          if (vectors[c].isNull(row)) {
            out.int32(-1);
          } else {
            writers[c].write(row, out);
          }
          b = out.buf; // a writer may have grown it
          continue;
        }
        int pos = out.pos;
        if (f.validity != 0
            && (MemoryUtil.getByte(f.validity + (row >>> 3)) & (1 << (row & 7))) == 0) {
          INT_BE.set(b, pos, -1);
          out.pos = pos + 4;
          continue;
        }
        switch (f.kind) {
          case INT64:
            INT_BE.set(b, pos, 8);
            LONG_BE.set(b, pos + 4, MemoryUtil.getLong(f.data + ((long) row << 3)));
            out.pos = pos + 12;
            break;
          case MICROS:
            INT_BE.set(b, pos, 8);
            LONG_BE.set(
                b, pos + 4, MemoryUtil.getLong(f.data + ((long) row << 3)) - PG_EPOCH_MICROS);
            out.pos = pos + 12;
            break;
          case INT32:
            INT_BE.set(b, pos, 4);
            INT_BE.set(b, pos + 4, MemoryUtil.getInt(f.data + ((long) row << 2)));
            out.pos = pos + 8;
            break;
          default: // VARWIDTH
            int start = MemoryUtil.getInt(f.offsets + ((long) row << 2));
            int len = MemoryUtil.getInt(f.offsets + ((long) row << 2) + 4) - start;
            INT_BE.set(b, pos, len);
            MemoryUtil.copyFromMemory(f.data + start, b, pos + 4, len);
            out.pos = pos + 4 + len;
        }
      }
      if (out.pos >= FLUSH_BYTES) {
        copy.writeToCopy(out.buf, 0, out.pos);
        out.pos = 0;
      }
    }
    if (last) {
      out.int16(-1);
    }
    copy.writeToCopy(out.buf, 0, out.pos);
    out.pos = 0;
  }

  /**
   * A column the binary fast path reads by address: its kind, fixed value width (0 for varwidth),
   * and the memory addresses of its data, offsets and validity (0 when no value is null). Valid
   * while the batch's buffers are, which {@link #writeTo}'s caller holds; the buffers' sizes are
   * checked against the row count once, here, instead of per value.
   */
  private record FastColumn(int kind, int width, long data, long offsets, long validity) {
    static @Nullable FastColumn of(FieldVector v, int rows) {
      long validity = v.getNullCount() == 0 ? 0 : v.getValidityBuffer().memoryAddress();
      if (validity != 0 && v.getValidityBuffer().capacity() < (rows + 7) / 8) {
        return null;
      }
      if (v instanceof BigIntVector || v instanceof Float8Vector) {
        return fixed(v, INT64, 8, rows, validity);
      }
      if (v instanceof IntVector || v instanceof Float4Vector) {
        return fixed(v, INT32, 4, rows, validity);
      }
      if (v instanceof TimeStampVector
          && ((ArrowType.Timestamp) v.getField().getType()).getUnit() == TimeUnit.MICROSECOND) {
        return fixed(v, MICROS, 8, rows, validity);
      }
      if (v instanceof BaseVariableWidthVector) {
        ArrowBuf offsets = v.getOffsetBuffer();
        if (rows > 0 && offsets.capacity() < (rows + 1L) * 4) {
          return null;
        }
        ArrowBuf data = v.getDataBuffer();
        int end = rows == 0 ? 0 : offsets.getInt((long) rows * 4);
        if (data.capacity() < end) {
          return null;
        }
        return new FastColumn(VARWIDTH, 0, data.memoryAddress(), offsets.memoryAddress(), validity);
      }
      return null;
    }

    private static @Nullable FastColumn fixed(
        FieldVector v, int kind, int width, int rows, long validity) {
      ArrowBuf data = v.getDataBuffer();
      if (data.capacity() < (long) rows * width) {
        return null;
      }
      return new FastColumn(kind, width, data.memoryAddress(), 0, validity);
    }

    int length(int row) {
      long at = offsets + ((long) row << 2);
      return MemoryUtil.getInt(at + 4) - MemoryUtil.getInt(at);
    }
  }

  /** Writes one non-null value: in binary, its length and bytes; in text, its escaped text. */
  @FunctionalInterface
  private interface ColumnWriter {
    void write(int row, Out out);
  }

  private static @Nullable ColumnWriter binaryWriter(FieldVector v) {
    if (v instanceof TinyIntVector) {
      TinyIntVector t = (TinyIntVector) v;
      return (r, o) -> o.len(2).int16(t.get(r));
    } else if (v instanceof UInt1Vector) {
      UInt1Vector t = (UInt1Vector) v;
      return (r, o) -> o.len(2).int16(t.get(r) & 0xff);
    } else if (v instanceof SmallIntVector) {
      SmallIntVector t = (SmallIntVector) v;
      return (r, o) -> o.len(2).int16(t.get(r));
    } else if (v instanceof UInt2Vector) {
      UInt2Vector t = (UInt2Vector) v;
      return (r, o) -> o.len(4).int32(t.get(r));
    } else if (v instanceof IntVector) {
      IntVector t = (IntVector) v;
      return (r, o) -> o.len(4).int32(t.get(r));
    } else if (v instanceof UInt4Vector) {
      UInt4Vector t = (UInt4Vector) v;
      return (r, o) -> o.len(8).int64(t.get(r) & 0xffffffffL);
    } else if (v instanceof BigIntVector) {
      BigIntVector t = (BigIntVector) v;
      return (r, o) -> o.len(8).int64(t.get(r));
    } else if (v instanceof Float4Vector) {
      Float4Vector t = (Float4Vector) v;
      return (r, o) -> o.len(4).int32(Float.floatToRawIntBits(t.get(r)));
    } else if (v instanceof Float8Vector) {
      Float8Vector t = (Float8Vector) v;
      return (r, o) -> o.len(8).int64(Double.doubleToRawLongBits(t.get(r)));
    } else if (v instanceof BitVector) {
      BitVector t = (BitVector) v;
      return (r, o) -> o.len(1).byte1(t.get(r));
    } else if (v instanceof BaseVariableWidthVector) {
      BaseVariableWidthVector t = (BaseVariableWidthVector) v;
      return (r, o) -> {
        int start = t.getStartOffset(r);
        int len = t.getValueLength(r);
        o.len(len).buf(t.getDataBuffer(), start, len);
      };
    } else if (v instanceof BaseLargeVariableWidthVector) {
      BaseLargeVariableWidthVector t = (BaseLargeVariableWidthVector) v;
      return (r, o) -> {
        long start = t.getOffsetBuffer().getLong((long) r * 8);
        int len = t.getValueLength(r);
        o.len(len).buf(t.getDataBuffer(), start, len);
      };
    } else if (v instanceof FixedSizeBinaryVector) {
      FixedSizeBinaryVector t = (FixedSizeBinaryVector) v;
      int width = t.getByteWidth();
      return (r, o) -> o.len(width).buf(t.getDataBuffer(), (long) r * width, width);
    } else if (v instanceof TimeStampVector) {
      TimeStampVector t = (TimeStampVector) v;
      TimeUnit unit = ((ArrowType.Timestamp) v.getField().getType()).getUnit();
      return (r, o) -> o.len(8).int64(SqlTypes.toMicros(t.get(r), unit) - PG_EPOCH_MICROS);
    } else if (v instanceof DateDayVector) {
      DateDayVector t = (DateDayVector) v;
      return (r, o) -> o.len(4).int32((int) (t.get(r) - PG_EPOCH_DAYS));
    } else if (v instanceof DateMilliVector) {
      DateMilliVector t = (DateMilliVector) v;
      return (r, o) -> o.len(4).int32((int) (Math.floorDiv(t.get(r), 86_400_000L) - PG_EPOCH_DAYS));
    } else if (v instanceof DecimalVector) {
      DecimalVector t = (DecimalVector) v;
      return (r, o) -> numeric(o, t.getObject(r));
    } else if (v instanceof Decimal256Vector) {
      Decimal256Vector t = (Decimal256Vector) v;
      return (r, o) -> numeric(o, t.getObject(r));
    } else if (v instanceof FixedSizeListVector) {
      FixedSizeListVector t = (FixedSizeListVector) v;
      FieldVector child = t.getDataVector();
      int size = t.getListSize();
      if (child instanceof Float4Vector) {
        Float4Vector f = (Float4Vector) child;
        return (r, o) -> {
          int base = r * size;
          long nulls = countNulls(f, base, size);
          o.len(20 + size * 4 + (int) (size - nulls) * 4);
          o.int32(1).int32(nulls > 0 ? 1 : 0).int32(OID_FLOAT4).int32(size).int32(1);
          for (int i = base; i < base + size; i++) {
            if (f.isNull(i)) {
              o.int32(-1);
            } else {
              o.int32(4).int32(Float.floatToRawIntBits(f.get(i)));
            }
          }
        };
      } else if (child instanceof Float8Vector) {
        Float8Vector f = (Float8Vector) child;
        return (r, o) -> {
          int base = r * size;
          long nulls = countNulls(f, base, size);
          o.len(20 + size * 4 + (int) (size - nulls) * 8);
          o.int32(1).int32(nulls > 0 ? 1 : 0).int32(OID_FLOAT8).int32(size).int32(1);
          for (int i = base; i < base + size; i++) {
            if (f.isNull(i)) {
              o.int32(-1);
            } else {
              o.int32(8).int64(Double.doubleToRawLongBits(f.get(i)));
            }
          }
        };
      }
    }
    return null;
  }

  private static @Nullable ColumnWriter textWriter(FieldVector v) {
    if (v instanceof TinyIntVector
        || v instanceof UInt1Vector
        || v instanceof SmallIntVector
        || v instanceof UInt2Vector
        || v instanceof IntVector
        || v instanceof UInt4Vector
        || v instanceof BigIntVector
        || v instanceof Float4Vector
        || v instanceof Float8Vector
        || v instanceof DecimalVector
        || v instanceof Decimal256Vector) {
      if (v instanceof BigIntVector) {
        BigIntVector t = (BigIntVector) v;
        return (r, o) -> o.ascii(Long.toString(t.get(r)));
      }
      if (v instanceof Float8Vector) {
        Float8Vector t = (Float8Vector) v;
        return (r, o) -> o.ascii(Double.toString(t.get(r)));
      }
      if (v instanceof DecimalVector) {
        DecimalVector t = (DecimalVector) v;
        return (r, o) -> o.ascii(t.getObject(r).toPlainString());
      }
      if (v instanceof Decimal256Vector) {
        Decimal256Vector t = (Decimal256Vector) v;
        return (r, o) -> o.ascii(t.getObject(r).toPlainString());
      }
      return (r, o) -> o.ascii(String.valueOf(v.getObject(r)));
    } else if (v instanceof BitVector) {
      BitVector t = (BitVector) v;
      return (r, o) -> o.byte1(t.get(r) == 1 ? 't' : 'f');
    } else if (v instanceof BaseVariableWidthVector || v instanceof BaseLargeVariableWidthVector) {
      boolean text =
          v.getField().getType() instanceof ArrowType.Utf8
              || v.getField().getType() instanceof ArrowType.LargeUtf8;
      if (v instanceof BaseVariableWidthVector) {
        BaseVariableWidthVector t = (BaseVariableWidthVector) v;
        return (r, o) -> {
          if (text) {
            o.escaped(t.getDataBuffer(), t.getStartOffset(r), t.getValueLength(r));
          } else {
            o.hex(t.getDataBuffer(), t.getStartOffset(r), t.getValueLength(r));
          }
        };
      }
      BaseLargeVariableWidthVector t = (BaseLargeVariableWidthVector) v;
      return (r, o) -> {
        long start = t.getOffsetBuffer().getLong((long) r * 8);
        if (text) {
          o.escaped(t.getDataBuffer(), start, t.getValueLength(r));
        } else {
          o.hex(t.getDataBuffer(), start, t.getValueLength(r));
        }
      };
    } else if (v instanceof FixedSizeBinaryVector) {
      FixedSizeBinaryVector t = (FixedSizeBinaryVector) v;
      int width = t.getByteWidth();
      return (r, o) -> o.hex(t.getDataBuffer(), (long) r * width, width);
    } else if (v instanceof TimeStampVector) {
      TimeStampVector t = (TimeStampVector) v;
      ArrowType.Timestamp type = (ArrowType.Timestamp) v.getField().getType();
      String suffix = type.getTimezone() == null ? "" : "+00";
      return (r, o) -> {
        long micros = SqlTypes.toMicros(t.get(r), type.getUnit());
        o.ascii(EpochMicros.toUtc(micros).toString()).ascii(suffix);
      };
    } else if (v instanceof DateDayVector) {
      DateDayVector t = (DateDayVector) v;
      return (r, o) -> o.ascii(LocalDate.ofEpochDay(t.get(r)).toString());
    } else if (v instanceof DateMilliVector) {
      DateMilliVector t = (DateMilliVector) v;
      return (r, o) ->
          o.ascii(LocalDate.ofEpochDay(Math.floorDiv(t.get(r), 86_400_000L)).toString());
    } else if (v instanceof FixedSizeListVector) {
      FixedSizeListVector t = (FixedSizeListVector) v;
      FieldVector child = t.getDataVector();
      if (!(child instanceof Float4Vector) && !(child instanceof Float8Vector)) {
        return null;
      }
      int size = t.getListSize();
      return (r, o) -> {
        o.byte1('{');
        for (int i = r * size; i < (r + 1) * size; i++) {
          if (i > r * size) {
            o.byte1(',');
          }
          o.ascii(child.isNull(i) ? "NULL" : String.valueOf(child.getObject(i)));
        }
        o.byte1('}');
      };
    }
    return null;
  }

  private static long countNulls(BaseFixedWidthVector v, int start, int count) {
    if (v.getNullCount() == 0) {
      return 0;
    }
    long n = 0;
    for (int i = start; i < start + count; i++) {
      if (v.isNull(i)) {
        n++;
      }
    }
    return n;
  }

  /**
   * Writes {@code value} as a binary PostgreSQL numeric: base-10000 digits, weight, sign, scale.
   */
  private static void numeric(Out o, BigDecimal value) {
    int dscale = Math.max(value.scale(), 0);
    BigDecimal abs = value.abs().setScale(dscale);
    String plain = abs.toPlainString();
    int dot = plain.indexOf('.');
    String intPart = dot < 0 ? plain : plain.substring(0, dot);
    String fracPart = dot < 0 ? "" : plain.substring(dot + 1);
    intPart = intPart.replaceFirst("^0+", "");
    int intGroups = (intPart.length() + 3) / 4;
    int fracGroups = (fracPart.length() + 3) / 4;
    String digits =
        "0".repeat(intGroups * 4 - intPart.length())
            + intPart
            + fracPart
            + "0".repeat(fracGroups * 4 - fracPart.length());
    int total = intGroups + fracGroups;
    short[] groups = new short[total];
    for (int i = 0; i < total; i++) {
      groups[i] = Short.parseShort(digits.substring(i * 4, i * 4 + 4));
    }
    int first = 0;
    int weight = intGroups - 1;
    while (first < total && groups[first] == 0) {
      first++;
      weight--;
    }
    int last = total;
    while (last > first && groups[last - 1] == 0) {
      last--;
    }
    int n = last - first;
    if (n == 0) {
      o.len(8).int16(0).int16(0).int16(0).int16(dscale);
      return;
    }
    o.len(8 + 2 * n).int16(n).int16(weight).int16(value.signum() < 0 ? 0x4000 : 0).int16(dscale);
    for (int i = first; i < last; i++) {
      o.int16(groups[i]);
    }
  }

  /** A growable big-endian byte buffer. */
  private static final class Out {
    byte[] buf = new byte[FLUSH_BYTES + (64 << 10)];
    int pos;

    void ensure(int n) {
      if (pos + n > buf.length) {
        buf = Arrays.copyOf(buf, Math.max(buf.length * 2, pos + n));
      }
    }

    Out len(int n) {
      return int32(n);
    }

    Out byte1(int b) {
      ensure(1);
      buf[pos++] = (byte) b;
      return this;
    }

    Out int16(int v) {
      ensure(2);
      buf[pos] = (byte) (v >>> 8);
      buf[pos + 1] = (byte) v;
      pos += 2;
      return this;
    }

    Out int32(int v) {
      ensure(4);
      buf[pos] = (byte) (v >>> 24);
      buf[pos + 1] = (byte) (v >>> 16);
      buf[pos + 2] = (byte) (v >>> 8);
      buf[pos + 3] = (byte) v;
      pos += 4;
      return this;
    }

    Out int64(long v) {
      ensure(8);
      for (int i = 7; i >= 0; i--) {
        buf[pos + i] = (byte) v;
        v >>>= 8;
      }
      pos += 8;
      return this;
    }

    Out bytes(byte[] b, int off, int len) {
      ensure(len);
      System.arraycopy(b, off, buf, pos, len);
      pos += len;
      return this;
    }

    Out buf(ArrowBuf b, long start, int len) {
      ensure(len);
      b.getBytes(start, buf, pos, len);
      pos += len;
      return this;
    }

    Out ascii(String s) {
      int len = s.length();
      ensure(len);
      for (int i = 0; i < len; i++) {
        buf[pos++] = (byte) s.charAt(i);
      }
      return this;
    }

    /** UTF-8 bytes with COPY text escapes for backslash, newline, carriage return and tab. */
    Out escaped(ArrowBuf b, long start, int len) {
      ensure(len * 2);
      for (long i = start; i < start + len; i++) {
        byte c = b.getByte(i);
        switch (c) {
          case '\\':
            buf[pos++] = '\\';
            buf[pos++] = '\\';
            break;
          case '\n':
            buf[pos++] = '\\';
            buf[pos++] = 'n';
            break;
          case '\r':
            buf[pos++] = '\\';
            buf[pos++] = 'r';
            break;
          case '\t':
            buf[pos++] = '\\';
            buf[pos++] = 't';
            break;
          default:
            buf[pos++] = c;
        }
      }
      return this;
    }

    /** A bytea in COPY text: {@code \\x} then hex digits. */
    Out hex(ArrowBuf b, long start, int len) {
      ensure(3 + len * 2);
      buf[pos++] = '\\';
      buf[pos++] = '\\';
      buf[pos++] = 'x';
      for (long i = start; i < start + len; i++) {
        byte x = b.getByte(i);
        buf[pos++] = HEX[(x >> 4) & 0xf];
        buf[pos++] = HEX[x & 0xf];
      }
      return this;
    }
  }
}
