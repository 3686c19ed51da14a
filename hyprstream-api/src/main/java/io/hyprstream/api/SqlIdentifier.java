package io.hyprstream.api;

/**
 * Writes a name into SQL text: the one way identifiers are quoted across Hyprstream, for DuckDB and
 * every backend dialect (double quotes, which DuckDB, PostgreSQL, SQLite and the SQL standard
 * accept, with embedded quotes doubled).
 */
public final class SqlIdentifier {
  private SqlIdentifier() {}

  /** {@code name} as a quoted SQL identifier: {@code a"b} becomes {@code "a""b"}. */
  public static String quote(String name) {
    return '"' + name.replace("\"", "\"\"") + '"';
  }
}
