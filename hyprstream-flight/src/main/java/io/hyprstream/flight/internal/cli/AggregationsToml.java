package io.hyprstream.flight.internal.cli;

import io.hyprstream.api.AggregateFunction;
import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.WindowSpec;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.tomlj.TomlArray;
import org.tomlj.TomlTable;

/**
 * The {@code [[aggregations]]} tables of a TOML file, and windows written {@code SIZE[:RETENTION]}
 * (there and in {@code metrics.windows}).
 */
final class AggregationsToml {
  private AggregationsToml() {}

  /** How to write a window, for error messages. */
  static final String WINDOW_FORM =
      "write SIZE[:RETENTION] with units s, m, h, d, w (e.g. 5m:10d or 1h)";

  /**
   * Parses a window written {@code SIZE[:RETENTION]} ({@code 5m}, {@code 5m:10d}); without a
   * retention, the size's default.
   *
   * @throws IllegalArgumentException saying what is wrong with {@code text}
   */
  static WindowSpec parseWindow(String text) {
    String t = text.trim();
    int colon = t.indexOf(':');
    WindowSpec w = WindowSpec.parse(colon < 0 ? t : t.substring(0, colon));
    if (colon < 0) {
      return w;
    }
    return w.withRetention(WindowSpec.parseDuration(t.substring(colon + 1)));
  }

  /** {@code 5m:1d}: the form {@link #parseWindow} reads. */
  static String windowText(WindowSpec w) {
    return w.name() + ":" + durationText(w.retention());
  }

  /** Days up to a year ({@code 7d}, {@code 400d}), whole weeks past it ({@code 260w}). */
  private static String durationText(Duration d) {
    long s = d.getSeconds();
    if (s % (7 * 86400) == 0 && s > 365 * 86400L) {
      return s / (7 * 86400) + "w";
    } else if (s % 86400 == 0) {
      return s / 86400 + "d";
    } else if (s % 3600 == 0) {
      return s / 3600 + "h";
    } else if (s % 60 == 0) {
      return s / 60 + "m";
    }
    return s + "s";
  }

  /** The {@code [[aggregations]]} tables of {@code origin}, checked. */
  static List<AggregationSpec> parse(TomlArray array, String origin) {
    List<AggregationSpec> out = new ArrayList<>();
    for (int i = 0; i < array.size(); i++) {
      String where = origin + ": aggregations[" + i + "]";
      Object item = array.get(i);
      if (!(item instanceof TomlTable)) {
        throw new ConfigException(where + " must be a table");
      }
      TomlTable t = (TomlTable) item;
      for (String k : t.keySet()) {
        if (!Set.of(
                "table",
                "time_column",
                "epoch_unit",
                "key_columns",
                "value_columns",
                "windows",
                "functions")
            .contains(k)) {
          throw new ConfigException(
              where
                  + ": unknown key '"
                  + k
                  + "' (known: table, time_column, epoch_unit, key_columns, value_columns,"
                  + " windows, functions)");
        }
      }
      try {
        AggregationSpec.Builder b =
            AggregationSpec.builder(requiredString(t, "table", where))
                .timeColumn(requiredString(t, "time_column", where));
        Object unit = t.get(List.of("epoch_unit"));
        if (unit != null) {
          b.epochUnit(epochUnit(String.valueOf(unit), where));
        }
        List<String> keys = strings(t, "key_columns", where);
        if (!keys.isEmpty()) {
          b.keyColumns(keys.toArray(new String[0]));
        }
        b.valueColumns(strings(t, "value_columns", where).toArray(new String[0]));
        List<String> windows = strings(t, "windows", where);
        if (!windows.isEmpty()) {
          List<WindowSpec> specs = new ArrayList<>();
          for (String w : windows) {
            try {
              specs.add(parseWindow(w));
            } catch (IllegalArgumentException e) {
              throw new ConfigException(
                  where + ".windows: '" + w + "': " + e.getMessage() + "; " + WINDOW_FORM, e);
            }
          }
          b.windows(specs);
        }
        List<String> functions = strings(t, "functions", where);
        if (!functions.isEmpty()) {
          Set<AggregateFunction> fs = EnumSet.noneOf(AggregateFunction.class);
          for (String f : functions) {
            try {
              fs.add(AggregateFunction.valueOf(f.toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
              throw new ConfigException(
                  where
                      + ".functions: unknown function '"
                      + f
                      + "' (known: count, sum, avg, min, max, stddev, slope, intercept)");
            }
          }
          b.functions(fs);
        }
        out.add(b.build());
      } catch (IllegalArgumentException | IllegalStateException e) {
        throw new ConfigException(where + ": " + e.getMessage(), e);
      }
    }
    return out;
  }

  private static ChronoUnit epochUnit(String text, String where) {
    switch (text.toLowerCase(Locale.ROOT)) {
      case "seconds":
        return ChronoUnit.SECONDS;
      case "millis":
        return ChronoUnit.MILLIS;
      case "micros":
        return ChronoUnit.MICROS;
      case "nanos":
        return ChronoUnit.NANOS;
      default:
        throw new ConfigException(
            where + ".epoch_unit: '" + text + "' is not seconds, millis, micros or nanos");
    }
  }

  /** The non-blank string {@code key} of {@code t}. */
  static String requiredString(TomlTable t, String key, String where) {
    Object v = t.get(List.of(key));
    if (!(v instanceof String) || ((String) v).isBlank()) {
      throw new ConfigException(where + "." + key + " is required and must be a string");
    }
    return (String) v;
  }

  private static List<String> strings(TomlTable t, String key, String where) {
    Object v = t.get(List.of(key));
    if (v == null) {
      return List.of();
    }
    if (!(v instanceof TomlArray)) {
      throw new ConfigException(where + "." + key + " must be an array of strings");
    }
    List<String> out = new ArrayList<>();
    for (Object o : ((TomlArray) v).toList()) {
      if (!(o instanceof String)) {
        throw new ConfigException(where + "." + key + " must be an array of strings");
      }
      out.add((String) o);
    }
    return out;
  }
}
