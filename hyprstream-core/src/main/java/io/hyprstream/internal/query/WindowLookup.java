package io.hyprstream.internal.query;

import io.hyprstream.internal.sql.LookupShape;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The common window lookup — one key's windows of one view, optionally bounded in time, ordered by
 * {@code window_start}, optionally limited — answered from the aggregator's state in microseconds
 * instead of through DuckDB (which costs a millisecond or more per query):
 *
 * <pre>{@code
 * SELECT * | col, ... FROM <view> WHERE <key> = ? | '<text>' | n
 *   [AND window_start =|>|>=|<|<= ? | TIMESTAMP '<ts>' ...]
 *   [ORDER BY window_start [ASC|DESC]] [LIMIT n | ?]
 * }</pre>
 *
 * The shape comes from DuckDB's parse tree ({@link LookupShape}); anything else (or a parameter of
 * a type it does not know) is left to DuckDB.
 */
public final class WindowLookup {
  public final String view;
  public final @Nullable List<String> columns;
  public final String keyColumn;
  public final Object key;
  public final long fromMicros;
  public final long toMicros;
  public final boolean descending;
  public final int limit;

  private WindowLookup(
      String view,
      @Nullable List<String> columns,
      String keyColumn,
      Object key,
      long fromMicros,
      long toMicros,
      boolean descending,
      int limit) {
    this.view = view;
    this.columns = columns;
    this.keyColumn = keyColumn;
    this.key = key;
    this.fromMicros = fromMicros;
    this.toMicros = toMicros;
    this.descending = descending;
    this.limit = limit;
  }

  /**
   * The lookup {@code shape} asks for with {@code parameters} bound, or null when it is not one.
   */
  public static @Nullable WindowLookup of(LookupShape shape, List<@Nullable Object> parameters) {
    String keyColumn = keyColumnOf(shape);
    if (keyColumn == null) {
      return null;
    }
    Object key = null;
    long from = Long.MIN_VALUE;
    long to = Long.MAX_VALUE;
    int highestParameter = 0;
    for (LookupShape.Term term : shape.terms()) {
      highestParameter = Math.max(highestParameter, term.value().parameter());
      Object value = term.value().resolve(parameters);
      if (term.value().timestamp()) {
        value = parseTimestamp((String) java.util.Objects.requireNonNull(value));
      }
      if (value == null) {
        return null;
      }
      String op = term.op();
      if (term.column().equalsIgnoreCase("window_start")) {
        Long micros = micros(value);
        if (micros == null) {
          return null;
        }
        switch (op) {
          case ">=":
            from = Math.max(from, micros);
            break;
          case ">":
            from = Math.max(from, micros + 1);
            break;
          case "<":
            to = Math.min(to, micros);
            break;
          case "<=":
            to = Math.min(to, micros + 1);
            break;
          case "=":
            from = Math.max(from, micros);
            to = Math.min(to, micros + 1);
            break;
          default:
            return null;
        }
      } else {
        key = value instanceof Number ? (Object) ((Number) value).longValue() : value.toString();
      }
    }
    if (key == null) {
      return null;
    }
    String orderBy = shape.orderBy();
    int limit = Integer.MAX_VALUE;
    LookupShape.Value limitValue = shape.limit();
    if (limitValue != null) {
      highestParameter = Math.max(highestParameter, limitValue.parameter());
      Object l = limitValue.resolve(parameters);
      if (!(l instanceof Number) || ((Number) l).longValue() < 0) {
        return null;
      }
      limit = (int) Math.min(Integer.MAX_VALUE, ((Number) l).longValue());
    }
    if (highestParameter != parameters.size()) {
      return null;
    }
    return new WindowLookup(
        shape.from(),
        shape.columns(),
        keyColumn,
        key,
        from,
        to,
        orderBy != null && shape.descending(),
        limit);
  }

  /**
   * The key column of {@code shape} when it has a lookup's structure, whatever values it is run
   * with; else null. A lookup's result has its view's schema, so this tells the schema of a
   * statement before any value is bound.
   */
  public static @Nullable String keyColumnOf(LookupShape shape) {
    String keyColumn = null;
    for (LookupShape.Term term : shape.terms()) {
      if (term.column().equalsIgnoreCase("window_start")) {
        if (!List.of("=", ">=", ">", "<", "<=").contains(term.op())) {
          return null;
        }
      } else if (term.op().equals("=") && keyColumn == null) {
        keyColumn = term.column();
      } else {
        return null;
      }
    }
    String orderBy = shape.orderBy();
    if (orderBy != null && !orderBy.equalsIgnoreCase("window_start")) {
      return null;
    }
    if (shape.limit() != null && orderBy == null) {
      return null; // LIMIT without ORDER BY picks arbitrary rows; DuckDB decides which
    }
    return keyColumn;
  }

  private static @Nullable Instant parseTimestamp(String text) {
    String t = text.strip().replace(' ', 'T');
    try {
      return LocalDateTime.parse(t).toInstant(ZoneOffset.UTC);
    } catch (DateTimeParseException e) {
      try {
        return OffsetDateTime.parse(t).toInstant();
      } catch (DateTimeParseException e2) {
        return null;
      }
    }
  }

  /** Epoch micros of a timestamp-like value (naive values are UTC), or null. */
  private static @Nullable Long micros(Object value) {
    Instant i;
    if (value instanceof Instant) {
      i = (Instant) value;
    } else if (value instanceof LocalDateTime) {
      i = ((LocalDateTime) value).toInstant(ZoneOffset.UTC);
    } else if (value instanceof OffsetDateTime) {
      i = ((OffsetDateTime) value).toInstant();
    } else if (value instanceof Timestamp) {
      i = ((Timestamp) value).toLocalDateTime().toInstant(ZoneOffset.UTC);
    } else if (value instanceof String) {
      i = parseTimestamp((String) value);
      if (i == null) {
        return null;
      }
    } else {
      return null;
    }
    return Math.addExact(Math.multiplyExact(i.getEpochSecond(), 1_000_000L), i.getNano() / 1000);
  }
}
