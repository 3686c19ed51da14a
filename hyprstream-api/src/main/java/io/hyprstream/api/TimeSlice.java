package io.hyprstream.api;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;

/**
 * The rows of one table whose time column lies in {@code [from, to)}: what the cache reads from a
 * backend for a query reaching before the rows it holds.
 *
 * <p>Bounds are values of the time column: microseconds since the epoch for a timestamp column
 * (whatever its unit), the column's own number for an integer time column. {@link #NO_LOWER_BOUND}
 * and {@link #NO_UPPER_BOUND} leave a side open.
 *
 * @param table the table, as it was appended
 * @param timeColumn the table's time column
 * @param from the first value read, or {@link #NO_LOWER_BOUND}
 * @param to the first value not read, or {@link #NO_UPPER_BOUND}
 */
public record TimeSlice(String table, Field timeColumn, long from, long to) {

  /** A {@code from} that bounds nothing. */
  public static final long NO_LOWER_BOUND = Long.MIN_VALUE;

  /** A {@code to} that bounds nothing. */
  public static final long NO_UPPER_BOUND = Long.MAX_VALUE;

  /** True when the time column is a timestamp, so bounds are epoch microseconds. */
  public boolean timestamps() {
    return timeColumn.getType() instanceof ArrowType.Timestamp;
  }

  /**
   * A portable {@code SELECT *} of the slice, with ANSI timestamp literals in UTC: what {@link
   * BackendStore#read} sends to a SQL backend by default.
   */
  public String portableSql() {
    return "SELECT * FROM " + SqlIdentifier.quote(table) + where(this::portableLiteral);
  }

  /**
   * {@code " WHERE"} and the slice's bounds on its time column, each value written by {@code
   * literal}; empty when both sides are open.
   */
  public String where(java.util.function.LongFunction<String> literal) {
    String column = SqlIdentifier.quote(timeColumn.getName());
    StringBuilder out = new StringBuilder();
    if (from != NO_LOWER_BOUND) {
      out.append(" WHERE ").append(column).append(" >= ").append(literal.apply(from));
    }
    if (to != NO_UPPER_BOUND) {
      out.append(out.length() == 0 ? " WHERE " : " AND ")
          .append(column)
          .append(" < ")
          .append(literal.apply(to));
    }
    return out.toString();
  }

  /**
   * {@code value}, a value of the time column as the bounds are written, as a literal every SQL
   * backend reads the same: a plain UTC timestamp text (PostgreSQL honours the {@code +00} of a
   * zoned column and ignores it for a naive one), or the number.
   */
  public String portableLiteral(long value) {
    if (!timestamps()) {
      return Long.toString(value);
    }
    boolean zoned = ((ArrowType.Timestamp) timeColumn.getType()).getTimezone() != null;
    Instant t = Instant.EPOCH.plus(value, ChronoUnit.MICROS);
    return "'"
        + LocalDateTime.ofInstant(t, ZoneOffset.UTC).toString().replace('T', ' ')
        + (zoned ? "+00" : "")
        + "'";
  }
}
