package io.hyprstream.internal.arrow;

import io.hyprstream.api.SchemaMismatchException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.apache.arrow.vector.BaseLargeVariableWidthVector;
import org.apache.arrow.vector.BaseVariableWidthVector;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.jspecify.annotations.Nullable;

/**
 * The checks of an ingested batch's values that must pass before it is acknowledged, because
 * something after the acknowledgement would refuse them: DuckDB refuses invalid UTF-8 when the
 * flusher inserts a group of batches (and the whole group would go with it), event times are
 * handled as int64 nanoseconds in places (so only 1677-09-21 to 2262-04-11 can be held), and
 * backends refuse text with NUL characters. A refused batch names the column, the row and the
 * reason, and nothing of its request is stored.
 */
public final class ValueChecks {
  /** The first and last instants int64 nanoseconds since the epoch can express. */
  public static final Instant EARLIEST = Instant.ofEpochSecond(0, Long.MIN_VALUE);

  public static final Instant LATEST = Instant.ofEpochSecond(0, Long.MAX_VALUE);

  /** The high and the low bit of each of a long's eight bytes. */
  private static final long HIGH_BITS = 0x8080808080808080L;

  private static final long LOW_BITS = 0x0101010101010101L;

  private ValueChecks() {}

  /**
   * Checks {@code batch} for table {@code table}.
   *
   * @param epochColumns int64 columns holding event times, with their epoch unit, by column name
   * @param refuseNul whether text may not hold U+0000 (a backend would refuse it)
   * @throws SchemaMismatchException naming the first offending column, row and value
   */
  public static void check(
      String table,
      VectorSchemaRoot batch,
      Map<String, ChronoUnit> epochColumns,
      boolean refuseNul) {
    Map<String, String> seen = new HashMap<>();
    for (Field f : batch.getSchema().getFields()) {
      String previous = seen.put(f.getName().toLowerCase(Locale.ROOT), f.getName());
      if (previous != null) {
        throw new SchemaMismatchException(
            table,
            f.getName(),
            "appears twice in the batch"
                + (previous.equals(f.getName()) ? "" : " (as '" + previous + "' too)")
                + ": column names are compared without case, so one name must not be sent twice");
      }
    }
    int rows = batch.getRowCount();
    for (FieldVector v : batch.getFieldVectors()) {
      ArrowType type = v.getField().getType();
      if (type instanceof ArrowType.Utf8 || type instanceof ArrowType.LargeUtf8) {
        checkText(table, v, rows, refuseNul);
      } else if (v instanceof TimeStampVector) {
        ChronoUnit unit = unitOf(((ArrowType.Timestamp) type).getUnit());
        checkEpoch(table, v.getName(), (TimeStampVector) v, rows, unit);
      } else if (v instanceof BigIntVector && epochColumns.containsKey(v.getName())) {
        checkEpoch(table, v.getName(), (BigIntVector) v, rows, epochColumns.get(v.getName()));
      }
    }
  }

  private static ChronoUnit unitOf(org.apache.arrow.vector.types.TimeUnit unit) {
    switch (unit) {
      case SECOND:
        return ChronoUnit.SECONDS;
      case MILLISECOND:
        return ChronoUnit.MILLIS;
      case MICROSECOND:
        return ChronoUnit.MICROS;
      default:
        return ChronoUnit.NANOS;
    }
  }

  /** Largest absolute count of {@code unit} that still fits int64 nanoseconds. */
  private static long bound(ChronoUnit unit) {
    switch (unit) {
      case SECONDS:
        return Long.MAX_VALUE / 1_000_000_000L;
      case MILLIS:
        return Long.MAX_VALUE / 1_000_000L;
      case MICROS:
        return Long.MAX_VALUE / 1_000L;
      default:
        return Long.MAX_VALUE;
    }
  }

  private static void checkEpoch(
      String table, String column, FieldVector v, int rows, ChronoUnit unit) {
    long bound = bound(unit);
    boolean nanos = bound == Long.MAX_VALUE;
    // Both vectors store a little-endian int64 per row, nulls included (their slots are ignored).
    org.apache.arrow.memory.ArrowBuf data = v.getDataBuffer();
    for (int r = 0; r < rows; r++) {
      long value = data.getLong((long) r * Long.BYTES);
      if (nanos && (value == Long.MIN_VALUE + 1 || value == Long.MAX_VALUE) && !v.isNull(r)) {
        // Every other int64 of nanoseconds is an instant; these two are DuckDB's infinities.
        throw new SchemaMismatchException(
            table,
            column,
            "row "
                + r
                + " holds "
                + value
                + " nanoseconds since the epoch, which DuckDB reads as "
                + (value > 0 ? "infinity" : "-infinity")
                + ", not an instant");
      }
      if (!nanos && (value > bound || value < -bound) && !v.isNull(r)) {
        throw new SchemaMismatchException(
            table,
            column,
            "row "
                + r
                + " holds "
                + value
                + " "
                + unit.toString().toLowerCase(Locale.ROOT)
                + " since the epoch, outside the event times Hyprstream holds ("
                + EARLIEST
                + " to "
                + LATEST
                + ")");
      }
    }
  }

  private static void checkText(String table, FieldVector v, int rows, boolean refuseNul) {
    if (rows == 0) {
      return;
    }
    boolean large = v instanceof BaseLargeVariableWidthVector;
    org.apache.arrow.memory.ArrowBuf offsets = v.getOffsetBuffer();
    long first = large ? offsets.getLong(0) : offsets.getInt(0);
    long last =
        large
            ? offsets.getLong((long) rows * BaseLargeVariableWidthVector.OFFSET_WIDTH)
            : offsets.getInt((long) rows * BaseVariableWidthVector.OFFSET_WIDTH);
    if (last <= first) {
      return;
    }
    ByteBuffer bytes = v.getDataBuffer().nioBuffer(0, (int) last);
    if (asciiWithoutNul(bytes, (int) first, (int) last)) {
      return; // the common case: one pass, no per-value work
    }
    for (int r = 0; r < rows; r++) {
      if (v.isNull(r)) {
        continue;
      }
      int start =
          (int)
              (large
                  ? offsets.getLong((long) r * BaseLargeVariableWidthVector.OFFSET_WIDTH)
                  : offsets.getInt((long) r * BaseVariableWidthVector.OFFSET_WIDTH));
      int end =
          (int)
              (large
                  ? offsets.getLong((long) (r + 1) * BaseLargeVariableWidthVector.OFFSET_WIDTH)
                  : offsets.getInt((long) (r + 1) * BaseVariableWidthVector.OFFSET_WIDTH));
      String problem = utf8Problem(bytes, start, end, refuseNul);
      if (problem != null) {
        throw new SchemaMismatchException(table, v.getName(), "row " + r + ": " + problem);
      }
    }
  }

  /**
   * True when every byte of {@code bytes[from, to)} is ASCII and none is NUL. Eight bytes at a
   * time: a byte-by-byte loop over the ids' bytes was 3.5 % of an ingest.
   */
  private static boolean asciiWithoutNul(ByteBuffer bytes, int from, int to) {
    int i = from;
    for (; i + Long.BYTES <= to; i += Long.BYTES) {
      long w = bytes.getLong(i);
      // A high bit marks a non-ASCII byte; (w - 0x01..01) & ~w & 0x80..80 is non-zero exactly when
      // some byte of w is zero.
      if ((w & HIGH_BITS) != 0 || ((w - LOW_BITS) & ~w & HIGH_BITS) != 0) {
        return false;
      }
    }
    for (; i < to; i++) {
      byte b = bytes.get(i);
      if (b <= 0) {
        return false; // non-ASCII (negative) or NUL
      }
    }
    return true;
  }

  /**
   * Why {@code bytes[from, to)} is not acceptable text (invalid UTF-8, or a NUL when refused), or
   * null. Written out rather than through a {@code CharsetDecoder}, which would allocate a buffer
   * per value on the ingest path.
   */
  public static @Nullable String utf8Problem(
      ByteBuffer bytes, int from, int to, boolean refuseNul) {
    int i = from;
    while (i < to) {
      int b = bytes.get(i) & 0xff;
      if (b < 0x80) {
        if (b == 0 && refuseNul) {
          return "byte "
              + (i - from)
              + " is a NUL character (U+0000), which the backend cannot store in text";
        }
        i++;
        continue;
      }
      int need;
      int min;
      if (b >= 0xc2 && b <= 0xdf) {
        need = 1;
        min = 0x80;
      } else if (b >= 0xe0 && b <= 0xef) {
        need = 2;
        min = 0x800;
      } else if (b >= 0xf0 && b <= 0xf4) {
        need = 3;
        min = 0x10000;
      } else {
        return invalid(bytes, from, to, i);
      }
      if (i + need >= to) {
        return invalid(bytes, from, to, i); // the value ends inside the sequence
      }
      int cp = b & (0x3f >> need);
      for (int k = 1; k <= need; k++) {
        int c = bytes.get(i + k) & 0xff;
        if ((c & 0xc0) != 0x80) {
          return invalid(bytes, from, to, i);
        }
        cp = (cp << 6) | (c & 0x3f);
      }
      if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return invalid(bytes, from, to, i);
      }
      i += need + 1;
    }
    return null;
  }

  private static String invalid(ByteBuffer bytes, int from, int to, int at) {
    StringBuilder hex = new StringBuilder();
    for (int i = at; i < Math.min(to, at + 4); i++) {
      hex.append(String.format(Locale.ROOT, "%02x ", bytes.get(i) & 0xff));
    }
    return "invalid UTF-8 at byte "
        + (at - from)
        + " ("
        + hex.toString().trim()
        + "): text columns must be valid UTF-8";
  }
}
