package io.hyprstream.internal.sql;

import com.fasterxml.jackson.databind.JsonNode;
import io.hyprstream.internal.sql.StatementAnalysis.TimeValue;
import java.math.BigDecimal;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The event-time values expressions in DuckDB's parse tree stand for, evaluated per execution:
 * string literals, {@code CAST}s of them, {@code now()}/{@code current_timestamp} plus or minus a
 * fixed interval, and bound parameters ({@code ?}, {@code $n}) with the values of that execution.
 * An expression it cannot read proves nothing (null).
 */
final class TimeExpressions {
  private TimeExpressions() {}

  /** The event-time value an expression stands for, or null when it proves nothing. */
  static @Nullable TimeValue value(JsonNode e) {
    String type = e.path("type").asText("");
    switch (type) {
      case "VALUE_CONSTANT":
        {
          JsonNode lit = e.path("literal");
          if (!lit.path("kind").asText("").equals("STRING")) {
            return null;
          }
          Long v = TimeValues.parseTimestamp(lit.path("text").asText(""));
          return v == null ? null : (p, now) -> v;
        }
      case "OPERATOR_CAST":
        return castValue(e);
      case "VALUE_PARAMETER":
        {
          int index;
          try {
            index = Integer.parseInt(e.path("identifier").asText("")) - 1;
          } catch (NumberFormatException x) {
            return null;
          }
          return (p, now) ->
              index >= 0 && index < p.size() ? TimeValues.parameter(p.get(index)) : null;
        }
      case "COLUMN_REF":
        {
          // current_timestamp without parentheses parses as a column name.
          JsonNode names = e.path("column_names");
          if (names.size() == 1) {
            return nowFunction(names.get(0).asText(""));
          }
          return null;
        }
      case "FUNCTION":
        {
          String name = e.path("function_name").asText("").toLowerCase(Locale.ROOT);
          JsonNode args = e.path("arguments");
          if (args.isEmpty()) {
            return nowFunction(name);
          }
          if (args.size() == 2 && (name.equals("+") || name.equals("-"))) {
            JsonNode a = args.get(0).path("expression");
            JsonNode b = args.get(1).path("expression");
            TimeValue t = value(a);
            Long interval = interval(b);
            if (t == null && name.equals("+")) {
              t = value(b);
              interval = interval(a);
            }
            if (t == null || interval == null) {
              return null;
            }
            long signed = name.equals("-") ? -interval : interval;
            TimeValue base = t;
            return (p, now) -> {
              Long v = base.micros(p, now);
              try {
                return v == null ? null : Math.addExact(v, signed);
              } catch (ArithmeticException x) {
                return null;
              }
            };
          }
          return null;
        }
      default:
        return null;
    }
  }

  private static @Nullable TimeValue nowFunction(String name) {
    switch (name.toLowerCase(Locale.ROOT)) {
      case "now":
      case "current_timestamp":
      case "get_current_timestamp":
      case "transaction_timestamp":
      case "localtimestamp":
        return (p, now) -> now;
      case "current_date":
      case "today":
        return (p, now) -> TimeValues.floor(now, TimeUnit.DAYS.toMicros(1));
      default:
        return null;
    }
  }

  /** A cast to a timestamp type keeps the value; to DATE or a coarser timestamp, floors it. */
  private static @Nullable TimeValue castValue(JsonNode e) {
    String target = e.path("type_expr").path("type_name").asText("").toUpperCase(Locale.ROOT);
    long unit;
    switch (target) {
      case "TIMESTAMP":
      case "TIMESTAMPTZ":
      case "TIMESTAMP WITH TIME ZONE":
      case "DATETIME":
      case "TIMESTAMP_US":
      case "TIMESTAMP_NS":
        unit = 1;
        break;
      case "TIMESTAMP_MS":
        unit = 1_000;
        break;
      case "TIMESTAMP_S":
        unit = TimeUnit.SECONDS.toMicros(1);
        break;
      case "DATE":
        unit = TimeUnit.DAYS.toMicros(1);
        break;
      default:
        return null;
    }
    TimeValue inner = value(e.path("child"));
    if (inner == null) {
      return null;
    }
    return unit == 1
        ? inner
        : (p, now) -> {
          Long v = inner.micros(p, now);
          return v == null ? null : TimeValues.floor(v, unit);
        };
  }

  /** A fixed interval in microseconds: {@code INTERVAL '4 hours'} or {@code INTERVAL 4 HOUR}. */
  static @Nullable Long interval(JsonNode e) {
    String type = e.path("type").asText("");
    if (type.equals("OPERATOR_CAST")) {
      String target = e.path("type_expr").path("type_name").asText("").toUpperCase(Locale.ROOT);
      JsonNode child = e.path("child");
      if (target.equals("INTERVAL")
          && child.path("type").asText("").equals("VALUE_CONSTANT")
          && child.path("literal").path("kind").asText("").equals("STRING")) {
        return TimeValues.parseInterval(child.path("literal").path("text").asText(""));
      }
      return null;
    }
    if (type.equals("FUNCTION") && e.path("arguments").size() == 1) {
      String name = e.path("function_name").asText("").toLowerCase(Locale.ROOT);
      if (!name.startsWith("to_")) {
        return null;
      }
      Long unit = TimeValues.unitMicros(name.substring(3));
      BigDecimal n = number(e.path("arguments").get(0).path("expression"));
      if (unit == null || n == null) {
        return null;
      }
      try {
        return n.multiply(BigDecimal.valueOf(unit)).longValueExact();
      } catch (ArithmeticException x) {
        return null; // a fraction of a microsecond, or out of range
      }
    }
    return null;
  }

  /** A numeric constant, through the casts and trunc() DuckDB wraps {@code INTERVAL 4 HOUR} in. */
  private static @Nullable BigDecimal number(JsonNode e) {
    String type = e.path("type").asText("");
    if (type.equals("VALUE_CONSTANT")) {
      String kind = e.path("literal").path("kind").asText("");
      if (kind.equals("INTEGER") || kind.equals("DECIMAL") || kind.equals("DOUBLE")) {
        try {
          return new BigDecimal(e.path("literal").path("text").asText(""));
        } catch (NumberFormatException x) {
          return null;
        }
      }
      return null;
    }
    if (type.equals("OPERATOR_CAST")) {
      BigDecimal n = number(e.path("child"));
      String target = e.path("type_expr").path("type_name").asText("").toUpperCase(Locale.ROOT);
      if (n == null) {
        return null;
      }
      switch (target) {
        case "DOUBLE":
        case "DECIMAL":
        case "FLOAT":
          return n;
        case "BIGINT":
        case "INTEGER":
          return n.stripTrailingZeros().scale() <= 0 ? n : null;
        default:
          return null;
      }
    }
    if (type.equals("FUNCTION")
        && e.path("function_name").asText("").equalsIgnoreCase("trunc")
        && e.path("arguments").size() == 1) {
      BigDecimal n = number(e.path("arguments").get(0).path("expression"));
      return n == null ? null : new BigDecimal(n.toBigInteger());
    }
    return null;
  }
}
