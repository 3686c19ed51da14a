package io.hyprstream;

import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What the engine's SQL analyser (DuckDB's own parser and binder) says about one statement text,
 * for a front end that must decide before running it: whether it returns rows, whether a read-only
 * caller may run it, the types its parameters take, and whether it is a plain parameterised INSERT
 * that can run as an ingest of a bound batch. From {@link Hyprstream#describe(String)}.
 *
 * @param query true when the statement returns rows (SELECT, WITH ... SELECT, VALUES, SHOW,
 *     DESCRIBE, SUMMARIZE, PIVOT ...); false for INSERT, UPDATE, CREATE, EXPLAIN ...
 * @param readOnly true when running it changes nothing (only queries can be)
 * @param tables the tables and views a query reads, as written (CTE names resolved); empty for
 *     other statements
 * @param parameters one entry per {@code ?}, in order
 * @param insert the statement as {@code INSERT INTO t [(c, ...)] VALUES (?, ...)}, or null
 * @param error DuckDB's reason when it cannot parse the text, else null
 */
public record StatementInfo(
    boolean query,
    boolean readOnly,
    List<String> tables,
    List<Parameter> parameters,
    @Nullable PlainInsert insert,
    @Nullable String error) {

  public StatementInfo {
    tables = List.copyOf(tables);
    parameters = List.copyOf(parameters);
  }

  /**
   * What one {@code ?} meets, as far as the statement says.
   *
   * @param column the column it is compared with ({@code col = ?}, {@code col IN (?, ?)}, {@code
   *     col BETWEEN ? AND ?}, {@code col LIKE ?}), or null
   * @param integer true for a LIMIT or OFFSET
   * @param boundType the type DuckDB's binder gave it ({@code INTEGER}, {@code TIMESTAMP}, {@code
   *     VARCHAR} ...), for statements other than SELECT; else null
   */
  public record Parameter(@Nullable String column, boolean integer, @Nullable String boundType) {}

  /**
   * {@code INSERT INTO table [(columns)] VALUES (?, ...)}: one row of parameters only.
   *
   * @param table the target table, unquoted and without catalog or schema
   * @param columns the listed columns, or null when the statement lists none
   * @param parameters the number of {@code ?}
   */
  public record PlainInsert(String table, @Nullable List<String> columns, int parameters) {
    public PlainInsert {
      columns = columns == null ? null : List.copyOf(columns);
    }
  }
}
