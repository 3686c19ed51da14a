package io.hyprstream.internal.sql;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoField;
import java.time.temporal.TemporalAccessor;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Event-time values as DuckDB reads them in a session whose time zone is UTC (the cache's): text
 * literals, interval text and bound parameter values, in epoch microseconds. Anything it cannot
 * read exactly is null, which callers treat as "no bound".
 */
final class TimeValues {
  private TimeValues() {}

  /** {@code 2026-12-02}, {@code 2026-12-02 07:00[:00[.123456]]}, a {@code T}, and an offset. */
  private static final DateTimeFormatter TIMESTAMP =
      new DateTimeFormatterBuilder()
          .parseCaseInsensitive()
          .append(DateTimeFormatter.ISO_LOCAL_DATE)
          .optionalStart()
          .appendLiteral('T')
          .append(DateTimeFormatter.ISO_LOCAL_TIME)
          .optionalEnd()
          .optionalStart()
          .appendPattern("[XXX][XX][X]")
          .optionalEnd()
          .toFormatter(Locale.ROOT);

  static long micros(Instant t) {
    return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1000);
  }

  /** A timestamp or date literal, naive ones in UTC; null when DuckDB's reading is not certain. */
  static @Nullable Long parseTimestamp(String text) {
    String s = text.strip();
    if (s.length() > 10 && s.charAt(10) == ' ') {
      s = s.substring(0, 10) + 'T' + s.substring(11);
    }
    s = s.replace(" ", ""); // "2026-12-02T07:00:00 +02" → offset directly after the time
    try {
      TemporalAccessor t = TIMESTAMP.parse(s);
      LocalDate date = LocalDate.from(t);
      LocalDateTime local =
          t.isSupported(ChronoField.HOUR_OF_DAY)
              ? LocalDateTime.of(date, java.time.LocalTime.from(t))
              : date.atStartOfDay();
      ZoneOffset offset =
          t.isSupported(ChronoField.OFFSET_SECONDS) ? ZoneOffset.from(t) : ZoneOffset.UTC;
      return micros(local.toInstant(offset));
    } catch (DateTimeException | ArithmeticException e) {
      return null;
    }
  }

  /**
   * A fixed-length interval ({@code '4 hours'}, {@code '1 hour 30 minutes'}, {@code '90 s'}) in
   * microseconds; null for months and years (their length varies) and anything unreadable.
   */
  static @Nullable Long parseInterval(String text) {
    String[] parts = text.strip().toLowerCase(Locale.ROOT).split("\\s+");
    if (parts.length == 0 || parts.length % 2 != 0) {
      return null;
    }
    long total = 0;
    try {
      for (int i = 0; i < parts.length; i += 2) {
        long n = Long.parseLong(parts[i]);
        Long unit = unitMicros(parts[i + 1]);
        if (unit == null) {
          return null;
        }
        total = Math.addExact(total, Math.multiplyExact(n, unit));
      }
    } catch (NumberFormatException | ArithmeticException e) {
      return null;
    }
    return total;
  }

  /** Microseconds in one interval unit as DuckDB names them; null for variable-length units. */
  static @Nullable Long unitMicros(String unit) {
    switch (unit) {
      case "us":
      case "usec":
      case "microsecond":
      case "microseconds":
        return 1L;
      case "ms":
      case "msec":
      case "millisecond":
      case "milliseconds":
        return 1_000L;
      case "s":
      case "sec":
      case "secs":
      case "second":
      case "seconds":
        return TimeUnit.SECONDS.toMicros(1);
      case "m":
      case "min":
      case "mins":
      case "minute":
      case "minutes":
        return TimeUnit.MINUTES.toMicros(1);
      case "h":
      case "hr":
      case "hrs":
      case "hour":
      case "hours":
        return TimeUnit.HOURS.toMicros(1);
      case "d":
      case "day":
      case "days":
        return TimeUnit.DAYS.toMicros(1);
      case "w":
      case "week":
      case "weeks":
        return TimeUnit.DAYS.toMicros(7);
      default:
        return null;
    }
  }

  /**
   * A bound parameter as DuckDB binds it (the cache binds {@link Instant} and {@link LocalDateTime}
   * as UTC timestamps); null for numbers and types whose reading depends on a zone.
   */
  static @Nullable Long parameter(@Nullable Object p) {
    try {
      if (p instanceof Instant) {
        return micros((Instant) p);
      }
      if (p instanceof LocalDateTime) {
        return micros(((LocalDateTime) p).toInstant(ZoneOffset.UTC));
      }
      if (p instanceof OffsetDateTime) {
        return micros(((OffsetDateTime) p).toInstant());
      }
      if (p instanceof ZonedDateTime) {
        return micros(((ZonedDateTime) p).toInstant());
      }
      if (p instanceof LocalDate) {
        return micros(((LocalDate) p).atStartOfDay(ZoneOffset.UTC).toInstant());
      }
      if (p instanceof CharSequence) {
        return parseTimestamp(p.toString());
      }
    } catch (ArithmeticException e) {
      return null;
    }
    return null;
  }

  /** Rounds {@code micros} down to a multiple of {@code unit} (floor, also before 1970). */
  static long floor(long micros, long unit) {
    return Math.floorDiv(micros, unit) * unit;
  }
}
