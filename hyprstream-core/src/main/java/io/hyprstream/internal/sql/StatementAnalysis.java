package io.hyprstream.internal.sql;

import java.time.Duration;
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
    /**
     * Anything but SELECT (INSERT, CREATE, SET ...): DuckDB's binder says what it changes ({@link
     * #changes}), or why it cannot be bound ({@link #error}).
     */
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

  /**
   * What one {@code ?} meets in the statement: the column it is compared with (queries), whether it
   * is a LIMIT or OFFSET, and the type DuckDB's binder gave it (statements other than SELECT).
   */
  public record ParameterUse(@Nullable String column, boolean integer, @Nullable String boundType) {
    static final ParameterUse UNKNOWN = new ParameterUse(null, false, null);
  }

  /** What a text says beyond its kind; each field is empty for kinds it does not apply to. */
  record Details(
      Set<String> names,
      List<ParameterUse> parameters,
      String cacheKey,
      boolean readsCatalog,
      int valuesWidth,
      boolean oneRowOfParameters,
      boolean rowFilter) {
    static final Details NONE = new Details(Set.of(), List.of(), "", false, -1, false, false);
  }

  private final Kind kind;
  private final @Nullable String error;
  private final List<Occurrence> occurrences;
  private final List<TableRef> tables;
  private final List<Change> changes;
  private final int statements;
  private final @Nullable String missingTable;
  private final @Nullable LookupShape lookup;
  private final @Nullable AggregateQuery aggregate;
  private final Details details;
  private final @Nullable InsertStatement insert;
  private final @Nullable Duration maxStaleness;

  private StatementAnalysis(
      Kind kind,
      @Nullable String error,
      List<Occurrence> occurrences,
      List<Change> changes,
      int statements,
      @Nullable String missingTable,
      @Nullable LookupShape lookup,
      @Nullable AggregateQuery aggregate,
      Details details,
      @Nullable InsertStatement insert,
      @Nullable Duration maxStaleness) {
    this.kind = kind;
    this.error = error;
    this.aggregate = aggregate;
    this.occurrences = List.copyOf(occurrences);
    this.changes = List.copyOf(changes);
    this.statements = statements;
    this.missingTable = missingTable;
    this.lookup = lookup;
    this.details = details;
    this.insert = insert;
    this.maxStaleness = maxStaleness;
    Set<TableRef> distinct = new LinkedHashSet<>();
    for (Occurrence o : occurrences) {
      distinct.add(o.table());
    }
    this.tables = List.copyOf(distinct);
  }

  static StatementAnalysis query(
      List<Occurrence> occurrences,
      int statements,
      @Nullable LookupShape lookup,
      @Nullable AggregateQuery aggregate,
      Details details,
      @Nullable Duration maxStaleness) {
    return new StatementAnalysis(
        Kind.QUERY,
        null,
        occurrences,
        List.of(),
        statements,
        null,
        lookup,
        aggregate,
        details,
        null,
        maxStaleness);
  }

  static StatementAnalysis invalid(String error) {
    return new StatementAnalysis(
        Kind.INVALID, error, List.of(), List.of(), 0, null, null, null, Details.NONE, null, null);
  }

  /** A statement DuckDB bound: what it changes, over {@code statements} statements. */
  static StatementAnalysis bound(
      List<Change> changes, int statements, Details details, @Nullable InsertStatement insert) {
    return new StatementAnalysis(
        Kind.NOT_A_QUERY,
        null,
        List.of(),
        changes,
        statements,
        null,
        null,
        null,
        details,
        insert,
        null);
  }

  /** A statement DuckDB could not bind, with its reason (and the missing table, if that is it). */
  static StatementAnalysis unbound(
      String error, @Nullable String missingTable, @Nullable InsertStatement insert) {
    return new StatementAnalysis(
        Kind.NOT_A_QUERY,
        error,
        List.of(),
        List.of(),
        0,
        missingTable,
        null,
        null,
        Details.NONE,
        insert,
        null);
  }

  public Kind kind() {
    return kind;
  }

  public boolean isQuery() {
    return kind == Kind.QUERY;
  }

  /**
   * DuckDB's reason when it cannot parse the text (INVALID) or cannot bind the statement
   * (NOT_A_QUERY), else null.
   */
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

  /** The table DuckDB's binder did not find, when that is why it cannot bind, else null. */
  public @Nullable String missingTable() {
    return missingTable;
  }

  /** How many statements the text holds (0 when DuckDB cannot parse or bind it). */
  public int statements() {
    return statements;
  }

  /**
   * What the statement changes (empty for a query): every row write, catalog entry created, dropped
   * or altered, setting and transaction command, in plan order.
   */
  public List<Change> changes() {
    return changes;
  }

  /** The statement as a single-key window lookup, when it has that shape, else null. */
  public @Nullable LookupShape lookup() {
    return lookup;
  }

  /**
   * The lower-cased names the statement uses: for a query, every table, view, table function and
   * function it names (CTE names included; over-counting only flushes more); for another statement,
   * the tables its bound plan reads or changes. What read-your-writes prepares and the result
   * cache's volatility test looks at.
   */
  public Set<String> names() {
    return details.names();
  }

  /**
   * One entry per {@code ?} (by position, 1 first): what DuckDB's parse tree or binder says each
   * meets; {@link ParameterUse#UNKNOWN}-like entries when nothing.
   */
  public List<ParameterUse> parameters() {
    return details.parameters();
  }

  /**
   * The result cache's key for a query's text: a digest of DuckDB's parse tree without source
   * positions, so layout and comments do not matter while case, literals and quoting do (they can
   * change the answer or its column names); "" for anything but a query.
   */
  public String cacheKey() {
    return details.cacheKey();
  }

  /** True when the query reads DuckDB's catalog (SHOW, DESCRIBE, SUMMARIZE) rather than rows. */
  public boolean readsCatalog() {
    return details.readsCatalog();
  }

  /** For a bare {@code VALUES (...), ...} query, the width of its first row; otherwise -1. */
  public int valuesWidth() {
    return details.valuesWidth();
  }

  /**
   * True for a query that selects columns of one relation's rows, filtered row by row ({@link
   * RowFilters}): its answer over any split of the rows is the union of its answers over the parts.
   */
  public boolean isRowFilter() {
    return details.rowFilter();
  }

  /** True for a bare {@code VALUES (?, ...)}: one row, parameters only. */
  public boolean isOneRowOfParameters() {
    return details.oneRowOfParameters();
  }

  /** The statement's INSERT head, when it is an INSERT ({@link InsertStatement}), else null. */
  public @Nullable InsertStatement insert() {
    return insert;
  }

  /**
   * How stale a kept answer the query accepts by its {@code max_staleness} hint ({@link
   * StatementHints}), or null without one.
   */
  public @Nullable Duration maxStaleness() {
    return maxStaleness;
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
