package io.hyprstream.flight.internal;

import io.hyprstream.StatementInfo;
import java.util.List;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * A prepared statement held by the server between calls: its SQL, the schemas computed once at
 * prepare time, and the parameter rows last bound to it. Plain Java values only, so dropping it
 * (close, expiry) frees nothing but heap.
 */
public final class PreparedStatementState {
  private final String sql;
  private final boolean query;
  private final Schema datasetSchema;
  private final Schema parameterSchema;
  private final StatementInfo.@Nullable PlainInsert insert;
  private volatile List<List<@Nullable Object>> boundRows = List.of();

  public PreparedStatementState(
      String sql,
      boolean query,
      Schema datasetSchema,
      Schema parameterSchema,
      StatementInfo.@Nullable PlainInsert insert) {
    this.sql = sql;
    this.query = query;
    this.datasetSchema = datasetSchema;
    this.parameterSchema = parameterSchema;
    this.insert = insert;
  }

  public String sql() {
    return sql;
  }

  /** True when the statement returns rows. */
  public boolean isQuery() {
    return query;
  }

  /** The result schema (empty for statements that return no rows). */
  public Schema datasetSchema() {
    return datasetSchema;
  }

  /** One field per {@code ?}. */
  public Schema parameterSchema() {
    return parameterSchema;
  }

  /** The statement as a plain parameterised insert (run as an ingest), or null. */
  public StatementInfo.@Nullable PlainInsert insert() {
    return insert;
  }

  /** The rows bound by the last parameter DoPut; empty when none were bound. */
  public List<List<@Nullable Object>> boundRows() {
    return boundRows;
  }

  public void bind(List<List<@Nullable Object>> rows) {
    this.boundRows = List.copyOf(rows);
  }
}
