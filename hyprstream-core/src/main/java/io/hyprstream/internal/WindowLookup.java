package io.hyprstream.internal;

import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Recognises the common window lookup — one key's windows of one view, optionally bounded in time,
 * ordered by {@code window_start}, optionally limited — so it can be answered from the aggregator's
 * state in microseconds instead of through DuckDB (which costs a millisecond or more per query):
 *
 * <pre>{@code
 * SELECT * | col, ... FROM <view> WHERE <key> = ? | '<text>'
 *   [AND window_start >|>=|<|<= ? | TIMESTAMP '<ts>' ...]
 *   [ORDER BY window_start [ASC|DESC]] [LIMIT n | ?]
 * }</pre>
 *
 * Anything else (or a parameter of a type it does not know) is left to DuckDB.
 */
final class WindowLookup {
  private static final String IDENT = "(?:\"(?:[^\"]|\"\")+\"|[A-Za-z_][A-Za-z0-9_]*)";
  private static final String VALUE = "(\\?|'(?:[^']|'')*'|TIMESTAMP\\s+'[^']*'|-?\\d+)";
  private static final Pattern STATEMENT =
      Pattern.compile(
          "^\\s*SELECT\\s+(\\*|"
              + IDENT
              + "(?:\\s*,\\s*"
              + IDENT
              + ")*)\\s+FROM\\s+("
              + IDENT
              + ")\\s+WHERE\\s+(.+?)"
              + "(?:\\s+ORDER\\s+BY\\s+(\"?window_start\"?)(?:\\s+(ASC|DESC))?)?"
              + "(?:\\s+LIMIT\\s+(\\d+|\\?))?\\s*;?\\s*$",
          Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
  private static final Pattern TERM =
      Pattern.compile(
          "^\\s*(" + IDENT + ")\\s*(=|>=|<=|>|<)\\s*" + VALUE + "\\s*$", Pattern.CASE_INSENSITIVE);
  private static final Pattern AND = Pattern.compile("\\s+AND\\s+", Pattern.CASE_INSENSITIVE);

  final String view;
  final @Nullable List<String> columns;
  final String keyColumn;
  final Object key;
  final long fromMicros;
  final long toMicros;
  final boolean descending;
  final int limit;

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

  /** The lookup {@code sql} asks for with {@code parameters} bound, or null when it is not one. */
  static @Nullable WindowLookup parse(String sql, List<@Nullable Object> parameters) {
    Matcher m = STATEMENT.matcher(sql);
    if (!m.matches()) {
      return null;
    }
    int nextParam = 0;
    List<String> columns = null;
    if (!m.group(1).equals("*")) {
      columns = new ArrayList<>();
      for (String c : m.group(1).split(",")) {
        columns.add(unquote(c.strip()));
      }
    }
    String view = unquote(m.group(2));
    String keyColumn = null;
    Object key = null;
    long from = Long.MIN_VALUE;
    long to = Long.MAX_VALUE;
    for (String term : AND.split(m.group(3))) {
      Matcher t = TERM.matcher(term);
      if (!t.matches()) {
        return null;
      }
      String column = unquote(t.group(1));
      String op = t.group(2);
      Object value;
      if (t.group(3).equals("?")) {
        if (nextParam >= parameters.size()) {
          return null;
        }
        value = parameters.get(nextParam++);
      } else {
        value = literal(t.group(3));
      }
      if (value == null) {
        return null;
      }
      if (column.equalsIgnoreCase("window_start")) {
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
          default:
            return null; // window_start = x: rare, left to DuckDB
        }
      } else if (op.equals("=") && keyColumn == null) {
        keyColumn = column;
        key = value instanceof Number ? (Object) ((Number) value).longValue() : value.toString();
      } else {
        return null;
      }
    }
    if (keyColumn == null || key == null) {
      return null;
    }
    boolean ordered = m.group(4) != null;
    boolean descending = ordered && m.group(5) != null && m.group(5).equalsIgnoreCase("DESC");
    int limit = Integer.MAX_VALUE;
    if (m.group(6) != null) {
      if (!ordered) {
        return null; // LIMIT without ORDER BY picks arbitrary rows; DuckDB decides which
      }
      Object l = m.group(6).equals("?") ? param(parameters, nextParam++) : Long.valueOf(m.group(6));
      if (!(l instanceof Number) || ((Number) l).longValue() < 0) {
        return null;
      }
      limit = (int) Math.min(Integer.MAX_VALUE, ((Number) l).longValue());
    }
    if (nextParam != parameters.size()) {
      return null;
    }
    return new WindowLookup(view, columns, keyColumn, key, from, to, descending, limit);
  }

  private static @Nullable Object param(List<@Nullable Object> parameters, int i) {
    return i < parameters.size() ? parameters.get(i) : null;
  }

  private static @Nullable Object literal(String text) {
    if (text.startsWith("'")) {
      return text.substring(1, text.length() - 1).replace("''", "'");
    }
    if (text.regionMatches(true, 0, "TIMESTAMP", 0, 9)) {
      String inner = text.substring(text.indexOf('\'') + 1, text.lastIndexOf('\''));
      return parseTimestamp(inner);
    }
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      return null;
    }
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

  private static String unquote(String identifier) {
    if (identifier.startsWith("\"")) {
      return identifier.substring(1, identifier.length() - 1).replace("\"\"", "\"");
    }
    return identifier.toLowerCase(Locale.ROOT);
  }
}
