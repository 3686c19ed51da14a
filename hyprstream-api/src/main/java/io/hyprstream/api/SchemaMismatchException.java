package io.hyprstream.api;

/**
 * A batch does not fit the table it is ingested into: a required column is missing, a column has
 * the wrong type, or a required column holds nulls. Nothing of the batch was stored.
 */
public final class SchemaMismatchException extends HyprstreamException {
  private static final long serialVersionUID = 1L;

  private final String table;
  private final String column;

  public SchemaMismatchException(String table, String column, String message) {
    super("table '" + table + "', column '" + column + "': " + message);
    this.table = table;
    this.column = column;
  }

  /** The table the batch was ingested into. */
  public String table() {
    return table;
  }

  /** The offending column. */
  public String column() {
    return column;
  }
}
