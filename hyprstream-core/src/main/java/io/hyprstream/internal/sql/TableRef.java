package io.hyprstream.internal.sql;

import java.util.Locale;

/**
 * A table a statement reads, as written: {@code catalog} and {@code schema} are empty when the SQL
 * does not qualify the name. Common table expressions are resolved and never appear as a table.
 */
public record TableRef(String catalog, String schema, String name) {

  /** True when this reference names {@code table} (case-insensitively), however qualified. */
  public boolean names(String table) {
    return name.equalsIgnoreCase(table);
  }

  /** True when the SQL names the table with a catalog (e.g. {@code memory.main.t}). */
  public boolean catalogQualified() {
    return !catalog.isEmpty();
  }

  @Override
  public String toString() {
    String n = name.toLowerCase(Locale.ROOT);
    return (catalog.isEmpty() ? "" : catalog + ".") + (schema.isEmpty() ? "" : schema + ".") + n;
  }
}
