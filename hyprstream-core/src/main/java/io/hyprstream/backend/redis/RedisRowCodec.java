package io.hyprstream.backend.redis;

import io.hyprstream.api.SchemaMismatchException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import org.apache.arrow.vector.BaseFixedWidthVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.DecimalVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * How one Arrow cell is written as a Redis Stream field value and read back, exactly.
 *
 * <p>Values are text a client in any language can read, except strings and binaries, which are
 * their bytes: integers, timestamps, dates and times as the decimal integer Arrow stores (in the
 * column's own unit: a {@code timestamp[us]} of 1.5 s is {@code 1500000}), floating point as Java's
 * shortest text that parses back to the same bits ({@code Double.toString}), booleans as {@code 1}
 * or {@code 0}, decimals as plain decimal text. A null is a field left out of the entry. Every type
 * outside these is refused by {@link #checkWritable} before a row of it is acknowledged, so
 * everything written reads back as it was.
 */
final class RedisRowCodec {
  /**
   * The field of an entry whose every column is null (a stream entry needs one field); never a
   * column name ({@link #checkWritable} refuses it).
   */
  static final String EMPTY_ROW_FIELD = "hyprstream:null_row";

  private RedisRowCodec() {}

  /**
   * Refuses a column whose values this codec cannot write and read back exactly.
   *
   * @throws SchemaMismatchException naming the column and why
   */
  static void checkWritable(String table, Schema schema) {
    for (Field f : schema.getFields()) {
      if (f.getName().equals(EMPTY_ROW_FIELD)) {
        throw new SchemaMismatchException(
            table, f.getName(), "is the name the Redis backend keeps for rows of nulls");
      }
      String why = unsupported(f.getType());
      if (why != null) {
        throw new SchemaMismatchException(
            table, f.getName(), "has type " + f.getType() + ", which the Redis backend " + why);
      }
    }
  }

  private static @Nullable String unsupported(ArrowType t) {
    switch (t.getTypeID()) {
      case Int:
      case Bool:
      case Utf8:
      case Binary:
      case Timestamp:
      case Date:
      case Time:
        return null;
      case FloatingPoint:
        return ((ArrowType.FloatingPoint) t).getPrecision() == FloatingPointPrecision.HALF
            ? "does not store (use float or double)"
            : null;
      case Decimal:
        return ((ArrowType.Decimal) t).getBitWidth() == 128
            ? null
            : "does not store (use a decimal of at most 38 digits)";
      default:
        return "does not store (it keeps integers, floating point, booleans, text, binary,"
            + " decimals, timestamps, dates and times)";
    }
  }

  /** The value of row {@code i} of {@code v}, or null when the cell is null. */
  static byte @Nullable [] encode(FieldVector v, int i) {
    if (v.isNull(i)) {
      return null;
    }
    ArrowType t = v.getField().getType();
    switch (t.getTypeID()) {
      case Int:
        {
          ArrowType.Int it = (ArrowType.Int) t;
          long raw = rawInteger((BaseFixedWidthVector) v, i, it.getBitWidth() / 8);
          String text;
          if (it.getIsSigned()) {
            text = Long.toString(raw);
          } else {
            long mask = it.getBitWidth() == 64 ? -1L : (1L << it.getBitWidth()) - 1;
            text = Long.toUnsignedString(raw & mask);
          }
          return ascii(text);
        }
      case Timestamp:
      case Date:
      case Time:
        {
          BaseFixedWidthVector fw = (BaseFixedWidthVector) v;
          return ascii(Long.toString(rawInteger(fw, i, fw.getTypeWidth())));
        }
      case FloatingPoint:
        return ascii(
            v instanceof Float4Vector
                ? Float.toString(((Float4Vector) v).get(i))
                : Double.toString(((Float8Vector) v).get(i)));
      case Bool:
        return ascii(((BitVector) v).get(i) == 1 ? "1" : "0");
      case Utf8:
        return ((VarCharVector) v).get(i);
      case Binary:
        return ((VarBinaryVector) v).get(i);
      case Decimal:
        return ascii(((DecimalVector) v).getObject(i).toPlainString());
      default:
        throw new IllegalStateException("unchecked type " + t + " of " + v.getField());
    }
  }

  /**
   * Sets row {@code i} of {@code v} (allocated for it) from {@code value} as {@link #encode} wrote
   * it.
   *
   * @throws IllegalArgumentException when the value is not one of the column's type
   */
  static void decode(FieldVector v, int i, byte[] value) {
    ArrowType t = v.getField().getType();
    try {
      switch (t.getTypeID()) {
        case Int:
          {
            ArrowType.Int it = (ArrowType.Int) t;
            String s = text(value);
            long raw = it.getIsSigned() ? Long.parseLong(s) : Long.parseUnsignedLong(s);
            setRawInteger((BaseFixedWidthVector) v, i, it.getBitWidth() / 8, raw);
            return;
          }
        case Timestamp:
        case Date:
        case Time:
          {
            BaseFixedWidthVector fw = (BaseFixedWidthVector) v;
            setRawInteger(fw, i, fw.getTypeWidth(), Long.parseLong(text(value)));
            return;
          }
        case FloatingPoint:
          if (v instanceof Float4Vector) {
            ((Float4Vector) v).setSafe(i, Float.parseFloat(text(value)));
          } else {
            ((Float8Vector) v).setSafe(i, Double.parseDouble(text(value)));
          }
          return;
        case Bool:
          ((BitVector) v).setSafe(i, value.length == 1 && value[0] == '1' ? 1 : 0);
          return;
        case Utf8:
          ((VarCharVector) v).setSafe(i, value);
          return;
        case Binary:
          ((VarBinaryVector) v).setSafe(i, value);
          return;
        case Decimal:
          {
            ArrowType.Decimal d = (ArrowType.Decimal) t;
            ((DecimalVector) v).setSafe(i, new BigDecimal(text(value)).setScale(d.getScale()));
            return;
          }
        default:
          throw new IllegalArgumentException("type " + t + " is not stored");
      }
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException(
          "'" + text(value) + "' is not a value of " + v.getField() + ": " + e.getMessage(), e);
    }
  }

  /** The integer a fixed-width column of {@code width} bytes holds at row {@code i}. */
  private static long rawInteger(BaseFixedWidthVector v, int i, int width) {
    long at = (long) i * width;
    switch (width) {
      case 1:
        return v.getDataBuffer().getByte(at);
      case 2:
        return v.getDataBuffer().getShort(at);
      case 4:
        return v.getDataBuffer().getInt(at);
      case 8:
        return v.getDataBuffer().getLong(at);
      default:
        throw new IllegalStateException("width " + width + " of " + v.getField());
    }
  }

  private static void setRawInteger(BaseFixedWidthVector v, int i, int width, long raw) {
    while (i >= v.getValueCapacity()) {
      v.reAlloc();
    }
    long at = (long) i * width;
    switch (width) {
      case 1:
        v.getDataBuffer().setByte(at, (byte) raw);
        break;
      case 2:
        v.getDataBuffer().setShort(at, (short) raw);
        break;
      case 4:
        v.getDataBuffer().setInt(at, (int) raw);
        break;
      case 8:
        v.getDataBuffer().setLong(at, raw);
        break;
      default:
        throw new IllegalStateException("width " + width + " of " + v.getField());
    }
    v.setIndexDefined(i);
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
