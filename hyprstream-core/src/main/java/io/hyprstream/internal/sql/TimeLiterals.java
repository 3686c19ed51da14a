package io.hyprstream.internal.sql;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;

/** Instants as SQL literals and as values of a table's time column. */
public final class TimeLiterals {
  private TimeLiterals() {}

  /** {@code cutoff} as a DuckDB literal of the time column {@code time}. */
  public static String timeLiteral(Field time, ChronoUnit epochUnit, Instant cutoff) {
    ArrowType t = time.getType();
    if (t instanceof ArrowType.Timestamp) {
      String tz = ((ArrowType.Timestamp) t).getTimezone();
      return tz == null ? timestampLiteral(cutoff) : "TIMESTAMPTZ '" + cutoff + "'";
    }
    long seconds = cutoff.getEpochSecond();
    long value;
    if (epochUnit == ChronoUnit.SECONDS) {
      value = seconds;
    } else if (epochUnit == ChronoUnit.MILLIS) {
      value = cutoff.toEpochMilli();
    } else if (epochUnit == ChronoUnit.MICROS) {
      value = seconds * 1_000_000L + cutoff.getNano() / 1000;
    } else {
      value = seconds * 1_000_000_000L + cutoff.getNano();
    }
    return Long.toString(value);
  }

  public static String timestampLiteral(Instant instant) {
    return "TIMESTAMP '" + LocalDateTime.ofInstant(instant, ZoneOffset.UTC) + "'";
  }

  /** Microseconds since the epoch. */
  public static long micros(Instant t) {
    return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1000);
  }

  public static Instant instantOfMicros(long micros) {
    return Instant.EPOCH.plus(micros, ChronoUnit.MICROS);
  }

  /**
   * {@code micros} as a value of the time column {@code time}, as {@link
   * io.hyprstream.api.TimeSlice} bounds are written: microseconds for a timestamp column, the
   * column's epoch unit for an integer one. Coarser units round up: for whole numbers, {@code v >=
   * x} and {@code v < x} hold exactly when they hold against {@code x} rounded up, so no row
   * between two whole seconds is lost.
   */
  public static long columnValue(Field time, ChronoUnit epochUnit, long micros) {
    if (time.getType() instanceof ArrowType.Timestamp || epochUnit == ChronoUnit.MICROS) {
      return micros;
    }
    if (epochUnit == ChronoUnit.SECONDS) {
      return -Math.floorDiv(-micros, 1_000_000L);
    }
    if (epochUnit == ChronoUnit.MILLIS) {
      return -Math.floorDiv(-micros, 1_000L);
    }
    return Math.multiplyExact(micros, 1_000L);
  }
}
