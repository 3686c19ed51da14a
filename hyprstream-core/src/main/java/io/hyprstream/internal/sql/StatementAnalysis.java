package io.hyprstream.internal.sql;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * What DuckDB's parser says about one SQL text: its kind, the tables it reads and, per reading of a
 * table, the comparisons on its columns that bound the rows it needs. Immutable and independent of
 * parameter values and of the clock, so one analysis serves every execution of the text; {@link
 * #bounds} evaluates the bounds for one execution.
 */
public final class StatementAnalysis {

  /** What a SQL text is, as far as routing cares. */
  public enum Kind {
    /** One or more SELECT statements (including WITH, FROM-first and set operations). */
    QUERY,
    /** A statement DuckDB parses but does not serialise: anything but SELECT (INSERT, PRAGMA…). */
    NOT_A_QUERY,
    /** Text DuckDB's parser refuses. */
    INVALID
  }

  /** A value of event time a comparison bounds a column by, evaluated at execution. */
  @FunctionalInterface
  interface TimeValue {
    /** The value in epoch microseconds, or null when it cannot be proven. */
    @Nullable Long micros(List<@Nullable Object> parameters, long nowMicros);
  }

  /** {@code column >= value} (lower), {@code column <= value} (upper), or both for {@code =}. */
  record Bound(String column, boolean lower, boolean upper, TimeValue value) {}

  /** One reading of a table (a FROM item) and the bounds its SELECT's WHERE puts on it. */
  record Occurrence(TableRef table, List<Bound> bounds) {}

  private final Kind kind;
  private final @Nullable String error;
  private final List<Occurrence> occurrences;
  private final List<TableRef> tables;
  private final @Nullable AggregateQuery aggregate;

  private StatementAnalysis(
      Kind kind,
      @Nullable String error,
      List<Occurrence> occurrences,
      @Nullable AggregateQuery aggregate) {
    this.kind = kind;
    this.error = error;
    this.aggregate = aggregate;
    this.occurrences = List.copyOf(occurrences);
    Set<TableRef> distinct = new LinkedHashSet<>();
    for (Occurrence o : occurrences) {
      distinct.add(o.table());
    }
    this.tables = List.copyOf(distinct);
  }

  static StatementAnalysis query(
      List<Occurrence> occurrences, @Nullable AggregateQuery aggregate) {
    return new StatementAnalysis(Kind.QUERY, null, occurrences, aggregate);
  }

  static StatementAnalysis refused(Kind kind, String error) {
    return new StatementAnalysis(kind, error, List.of(), null);
  }

  public Kind kind() {
    return kind;
  }

  public boolean isQuery() {
    return kind == Kind.QUERY;
  }

  /** DuckDB's reason when the text is not a query, else null. */
  public @Nullable String error() {
    return error;
  }

  /**
   * The statement as a plain aggregate of one table that can be split into partial aggregates
   * ({@link AggregateQuery}), or null when it is not one.
   */
  public @Nullable AggregateQuery aggregate() {
    return aggregate;
  }

  /** The distinct tables the statement reads, in the order it names them (empty unless a query). */
  public List<TableRef> tables() {
    return tables;
  }

  /** The references to {@code table} (case-insensitive name), however qualified. */
  public List<TableRef> referencesTo(String table) {
    List<TableRef> out = new ArrayList<>();
    for (TableRef t : tables) {
      if (t.names(table)) {
        out.add(t);
      }
    }
    return out;
  }

  /**
   * The span of {@code column} of {@code table} the statement can read, for one execution: the hull
   * over every reading of the table of what its ANDed comparisons prove, with {@code now()} taken
   * as {@code now} and {@code ?} as {@code parameters}. {@link TimeSpan#ALL} when any reading is
   * unbounded; null when the statement does not read the table.
   */
  public @Nullable TimeSpan bounds(
      String table, String column, List<@Nullable Object> parameters, Instant now) {
    long nowMicros = TimeValues.micros(now);
    String col = column.toLowerCase(Locale.ROOT);
    TimeSpan hull = null;
    for (Occurrence o : occurrences) {
      if (!o.table().names(table)) {
        continue;
      }
      TimeSpan span = TimeSpan.ALL;
      for (Bound b : o.bounds()) {
        if (!b.column().equals(col)) {
          continue;
        }
        Long v = b.value().micros(parameters, nowMicros);
        if (v == null) {
          continue; // unproven: dropping a conjunct only widens the span
        }
        span =
            span.intersect(
                new TimeSpan(b.lower() ? v : Long.MIN_VALUE, b.upper() ? v : Long.MAX_VALUE));
      }
      hull = hull == null ? span : hull.hull(span);
    }
    return hull;
  }

  /** Bounds per table name, for tests and logs. */
  Map<TableRef, List<Bound>> boundsByTable() {
    Map<TableRef, List<Bound>> out = new java.util.LinkedHashMap<>();
    for (Occurrence o : occurrences) {
      out.computeIfAbsent(o.table(), t -> new ArrayList<>()).addAll(o.bounds());
    }
    return out;
  }
}
