package io.hyprstream.api;

/** A table or window view named by the caller does not exist. */
public final class TableNotFoundException extends HyprstreamException {
  private static final long serialVersionUID = 1L;

  private final String table;

  public TableNotFoundException(String table) {
    super("table '" + table + "' does not exist");
    this.table = table;
  }

  /** The missing table's name. */
  public String table() {
    return table;
  }
}
