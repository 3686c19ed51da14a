package io.hyprstream.api;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Declares the window aggregates of one table: which column holds event time, which columns
 * identify a series, which numeric columns are aggregated, over which windows, with which
 * functions.
 *
 * <p>Each window becomes a view {@code <table>_<window>} (for example {@code trades_1h}) with the
 * columns: the key columns, {@code window_start}, {@code window_end}, then {@code
 * <value>_<function>} for each value column and function.
 *
 * <pre>{@code
 * AggregationSpec trades = AggregationSpec.builder("trades")
 *     .timeColumn("ts")
 *     .keyColumns("symbol")
 *     .valueColumns("price", "qty")
 *     .build();
 * }</pre>
 */
public final class AggregationSpec {
  private final String table;
  private final String timeColumn;
  private final ChronoUnit epochUnit;
  private final List<String> keyColumns;
  private final List<String> valueColumns;
  private final List<WindowSpec> windows;
  private final Set<AggregateFunction> functions;
  private final @Nullable WindowSpec runningWindow;

  private AggregationSpec(Builder b) {
    this.table = b.table;
    this.timeColumn = Objects.requireNonNull(b.timeColumn);
    this.epochUnit = b.epochUnit;
    this.keyColumns = List.copyOf(b.keyColumns);
    this.valueColumns = List.copyOf(b.valueColumns);
    this.windows = List.copyOf(b.windows);
    this.functions = Set.copyOf(b.functions);
    this.runningWindow = b.runningWindow;
  }

  /** Starts a spec for {@code table}. */
  public static Builder builder(String table) {
    return new Builder(table);
  }

  /** The table whose rows are aggregated. */
  public String table() {
    return table;
  }

  /** The event-time column: an Arrow timestamp of any unit, or int64 in {@link #epochUnit()}. */
  public String timeColumn() {
    return timeColumn;
  }

  /** The unit of an int64 time column (default milliseconds). Ignored for timestamp columns. */
  public ChronoUnit epochUnit() {
    return epochUnit;
  }

  /** The columns that identify one series; windows are kept per distinct key. May be empty. */
  public List<String> keyColumns() {
    return keyColumns;
  }

  /** The numeric columns aggregated in every window. */
  public List<String> valueColumns() {
    return valueColumns;
  }

  /** The windows maintained, in the order their views are listed. */
  public List<WindowSpec> windows() {
    return windows;
  }

  /** The functions exposed as view columns. */
  public Set<AggregateFunction> functions() {
    return functions;
  }

  /**
   * The window whose running aggregates are written into each ingested row as {@code
   * <value>_running_window_sum|avg|count}, or null when rows get no running columns.
   */
  public @Nullable WindowSpec runningWindow() {
    return runningWindow;
  }

  /** The name of the view for {@code window}: {@code <table>_<window name>}. */
  public String viewName(WindowSpec window) {
    return table + "_" + window.name();
  }

  /**
   * True when batches of {@code schema} carry pre-aggregated running state instead of values: the
   * spec has a {@link #runningWindow()}, the schema lacks the first value column but has {@code
   * <value>_running_window_count} and {@code _sum} or {@code _avg} (names matched ignoring case).
   * {@link WindowAggregator#update} merges such a batch as partial state.
   */
  public boolean isPreAggregated(org.apache.arrow.vector.types.pojo.Schema schema) {
    if (runningWindow == null) {
      return false;
    }
    String v = valueColumns.get(0);
    return !hasField(schema, v)
        && hasField(schema, v + "_running_window_count")
        && (hasField(schema, v + "_running_window_sum")
            || hasField(schema, v + "_running_window_avg"));
  }

  private static boolean hasField(org.apache.arrow.vector.types.pojo.Schema schema, String name) {
    return schema.getFields().stream().anyMatch(f -> f.getName().equalsIgnoreCase(name));
  }

  @Override
  public String toString() {
    return "AggregationSpec{table="
        + table
        + ", time="
        + timeColumn
        + ", keys="
        + keyColumns
        + ", values="
        + valueColumns
        + ", windows="
        + windows
        + "}";
  }

  /** Builds an {@link AggregationSpec}; each option may be set once. */
  public static final class Builder {
    private final String table;
    private @Nullable String timeColumn;
    private ChronoUnit epochUnit = ChronoUnit.MILLIS;
    private boolean epochUnitSet;
    private List<String> keyColumns = List.of();
    private boolean keyColumnsSet;
    private List<String> valueColumns = List.of();
    private List<WindowSpec> windows = WindowSpec.DEFAULTS;
    private boolean windowsSet;
    private Set<AggregateFunction> functions = EnumSet.allOf(AggregateFunction.class);
    private boolean functionsSet;
    private @Nullable WindowSpec runningWindow;

    private Builder(String table) {
      this.table = requireName(table, "table");
    }

    /** The event-time column. Required. */
    public Builder timeColumn(String column) {
      check(timeColumn == null, "timeColumn");
      this.timeColumn = requireName(column, "timeColumn");
      return this;
    }

    /** The unit of an int64 time column: seconds, millis (default), micros or nanos. */
    public Builder epochUnit(ChronoUnit unit) {
      check(!epochUnitSet, "epochUnit");
      if (unit != ChronoUnit.SECONDS
          && unit != ChronoUnit.MILLIS
          && unit != ChronoUnit.MICROS
          && unit != ChronoUnit.NANOS) {
        throw new IllegalArgumentException(
            "epochUnit must be SECONDS, MILLIS, MICROS or NANOS, got " + unit);
      }
      this.epochUnit = unit;
      this.epochUnitSet = true;
      return this;
    }

    /** The series key columns (utf8, integer or boolean). */
    public Builder keyColumns(String... columns) {
      check(!keyColumnsSet, "keyColumns");
      this.keyColumns = names(columns, "keyColumns");
      this.keyColumnsSet = true;
      return this;
    }

    /** The numeric value columns. At least one is required. */
    public Builder valueColumns(String... columns) {
      check(valueColumns.isEmpty(), "valueColumns");
      this.valueColumns = names(columns, "valueColumns");
      return this;
    }

    /** The windows to maintain (default {@link WindowSpec#DEFAULTS}). */
    public Builder windows(List<WindowSpec> windows) {
      check(!windowsSet, "windows");
      if (windows.isEmpty()) {
        throw new IllegalArgumentException("windows must not be empty");
      }
      Set<Duration> sizes = new HashSet<>();
      for (WindowSpec w : windows) {
        if (!sizes.add(w.size())) {
          throw new IllegalArgumentException("windows lists the size " + w.name() + " twice");
        }
      }
      this.windows = List.copyOf(windows);
      this.windowsSet = true;
      return this;
    }

    /** The functions exposed by the views (default: all). */
    public Builder functions(Set<AggregateFunction> functions) {
      check(!functionsSet, "functions");
      if (functions.isEmpty()) {
        throw new IllegalArgumentException("functions must not be empty");
      }
      this.functions = EnumSet.copyOf(functions);
      this.functionsSet = true;
      return this;
    }

    /**
     * Writes each row's running sum, average and count within this window into the row (the
     * built-in {@code metrics} table uses its 5-minute window). The window must be one of {@link
     * #windows}; requires exactly one value column.
     */
    public Builder runningWindow(WindowSpec window) {
      check(runningWindow == null, "runningWindow");
      this.runningWindow = Objects.requireNonNull(window, "runningWindow");
      return this;
    }

    /**
     * Checks the options together and returns the spec.
     *
     * @throws IllegalArgumentException naming the option that is missing or inconsistent
     */
    public AggregationSpec build() {
      if (timeColumn == null) {
        throw new IllegalArgumentException(
            "aggregation of '" + table + "': timeColumn is required");
      }
      if (valueColumns.isEmpty()) {
        throw new IllegalArgumentException(
            "aggregation of '" + table + "': at least one value column is required");
      }
      Set<String> all = new HashSet<>();
      all.add(timeColumn);
      for (String c : keyColumns) {
        if (!all.add(c)) {
          throw new IllegalArgumentException(
              "aggregation of '" + table + "': column '" + c + "' is listed twice");
        }
      }
      for (String c : valueColumns) {
        if (!all.add(c)) {
          throw new IllegalArgumentException(
              "aggregation of '" + table + "': column '" + c + "' is listed twice");
        }
      }
      WindowSpec running = runningWindow;
      if (running != null) {
        if (windows.stream().noneMatch(w -> w.size().equals(running.size()))) {
          throw new IllegalArgumentException(
              "aggregation of '"
                  + table
                  + "': runningWindow "
                  + running.name()
                  + " is not one of its windows");
        }
        if (valueColumns.size() != 1) {
          throw new IllegalArgumentException(
              "aggregation of '" + table + "': runningWindow needs exactly one value column");
        }
        this.runningWindow =
            windows.stream().filter(w -> w.size().equals(running.size())).findFirst().orElseThrow();
      }
      return new AggregationSpec(this);
    }

    private static void check(boolean unset, String option) {
      if (!unset) {
        throw new IllegalStateException(option + " was already set");
      }
    }

    private static List<String> names(String[] columns, String option) {
      List<String> out = new ArrayList<>(columns.length);
      for (String c : columns) {
        out.add(requireName(c, option));
      }
      return out;
    }

    private static String requireName(String name, String option) {
      if (name == null || name.isBlank()) {
        throw new IllegalArgumentException(option + " must be a non-blank name");
      }
      return name;
    }
  }
}
