package io.hyprstream.internal.sql;

import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A query of the shape a window lookup can answer without DuckDB, read from DuckDB's parse tree:
 *
 * <pre>{@code
 * SELECT * | col, ... FROM <name> WHERE <col> <op> <value> [AND ...]
 *   [ORDER BY <col> [ASC|DESC]] [LIMIT <value>]
 * }</pre>
 *
 * Names are as written (unquoted, case kept); whether they name a view, its key and its {@code
 * window_start} is for the caller to decide.
 *
 * @param from the table or view read, unqualified
 * @param columns the selected columns, or null for {@code *}
 * @param terms the ANDed comparisons of the WHERE clause
 * @param orderBy the single ORDER BY column, or null
 * @param descending true for {@code ORDER BY ... DESC}
 * @param limit the LIMIT, or null
 */
public record LookupShape(
    String from,
    @Nullable List<String> columns,
    List<Term> terms,
    @Nullable String orderBy,
    boolean descending,
    @Nullable Value limit) {

  /** {@code column op value}, with {@code op} one of {@code = >= <= > <}. */
  public record Term(String column, String op, Value value) {}

  /**
   * A value in the text: the 1-based {@code parameter} it binds, or a {@code literal}: a {@link
   * String}, a {@link Long}, or for {@code TIMESTAMP '...'} the text with {@code timestamp} true.
   */
  public record Value(int parameter, @Nullable Object literal, boolean timestamp) {
    /** The value for one execution: the bound parameter or the literal. */
    public @Nullable Object resolve(List<@Nullable Object> parameters) {
      if (parameter > 0) {
        return parameter <= parameters.size() ? parameters.get(parameter - 1) : null;
      }
      return literal;
    }
  }
}
