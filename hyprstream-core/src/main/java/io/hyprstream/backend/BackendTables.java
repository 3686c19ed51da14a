package io.hyprstream.backend;

import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.api.SqlIdentifier;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * The tables a SQL backend writes into, created from a batch's Arrow schema and grown by the
 * columns a later batch adds ({@code CREATE TABLE IF NOT EXISTS} / {@code ALTER TABLE ... ADD
 * COLUMN}), with the columns each table is known to have cached so most appends skip the catalog.
 *
 * <p>What differs between the SQL backends is explicit in the constructor: the dialect's column
 * types and indexes ({@link SqlTypes}), how a table name is written (PostgreSQL qualifies it with
 * the store's schema), whether {@code ADD COLUMN IF NOT EXISTS} is understood (not by SQLite or
 * generic JDBC), and whether column names compare case-insensitively. How the catalog is read and
 * the statements run (one JDBC statement, one ADBC statement each, inside a transaction or not) is
 * the store's, passed to {@link #ensure}.
 */
final class BackendTables {
  /** Reads the column names {@code table} has, empty when it does not exist. */
  @FunctionalInterface
  interface ColumnReader<E extends Exception> {
    Set<String> columns(String table) throws E;
  }

  /** Runs DDL statements, in order. */
  @FunctionalInterface
  interface DdlRunner<E extends Exception> {
    void run(List<String> statements) throws E;
  }

  private final SqlTypes dialect;
  private final UnaryOperator<String> tableName;
  private final boolean addColumnIfNotExists;
  private final boolean caseInsensitive;
  private final Map<String, Set<String>> knownColumns = new ConcurrentHashMap<>();

  /**
   * @param tableName writes a table's name as the DDL needs it (quoted, perhaps qualified)
   * @param addColumnIfNotExists whether the dialect understands {@code ADD COLUMN IF NOT EXISTS}
   * @param caseInsensitive whether a batch's column matches a stored column whatever its case
   */
  BackendTables(
      SqlTypes dialect,
      UnaryOperator<String> tableName,
      boolean addColumnIfNotExists,
      boolean caseInsensitive) {
    this.dialect = dialect;
    this.tableName = tableName;
    this.addColumnIfNotExists = addColumnIfNotExists;
    this.caseInsensitive = caseInsensitive;
  }

  /**
   * Creates {@code table} from {@code arrow} when it is missing, adds the fields it lacks as
   * nullable columns, and returns the batch's column names in batch order. A table whose columns
   * are all known returns at once; otherwise the catalog is read through {@code reader} and the DDL
   * run through {@code runner}, one table change at a time.
   *
   * @throws SchemaMismatchException when a column is still missing after the DDL, or the dialect
   *     has no column type for a field
   */
  <E extends Exception> List<String> ensure(
      String table, Schema arrow, ColumnReader<E> reader, DdlRunner<E> runner) throws E {
    List<String> names = namesOf(arrow);
    if (knowsAll(table, names)) {
      return names;
    }
    synchronized (this) {
      Set<String> have = normalised(reader.columns(table));
      List<String> ddl = have.isEmpty() ? create(table, arrow) : addMissing(table, arrow, have);
      if (!ddl.isEmpty()) {
        runner.run(ddl);
        have = normalised(reader.columns(table));
      }
      for (String n : names) {
        if (!have.contains(key(n))) {
          throw new SchemaMismatchException(
              table, n, "column is missing after CREATE or ALTER TABLE");
        }
      }
      knownColumns.put(table, have);
      return names;
    }
  }

  /**
   * The batch's column names when {@code table} is known to have every one of them (no catalog read
   * needed), else null.
   */
  @Nullable List<String> knownNames(String table, Schema arrow) {
    List<String> names = namesOf(arrow);
    return knowsAll(table, names) ? names : null;
  }

  private static List<String> namesOf(Schema arrow) {
    List<String> names = new ArrayList<>();
    for (Field f : arrow.getFields()) {
      names.add(f.getName());
    }
    return names;
  }

  private boolean knowsAll(String table, List<String> names) {
    Set<String> known = knownColumns.get(table);
    if (known == null) {
      return false;
    }
    for (String n : names) {
      if (!known.contains(key(n))) {
        return false;
      }
    }
    return true;
  }

  /** The CREATE TABLE statement, then the dialect's indexes on the time columns. */
  private List<String> create(String table, Schema arrow) {
    String name = tableName.apply(table);
    StringBuilder ddl = new StringBuilder("CREATE TABLE IF NOT EXISTS ").append(name).append(" (");
    for (int i = 0; i < arrow.getFields().size(); i++) {
      Field f = arrow.getFields().get(i);
      ddl.append(i == 0 ? "" : ", ")
          .append(SqlIdentifier.quote(f.getName()))
          .append(' ')
          .append(dialect.columnType(table, f))
          .append(f.isNullable() ? "" : " NOT NULL");
    }
    List<String> out = new ArrayList<>();
    out.add(ddl.append(')').toString());
    out.addAll(dialect.timeIndexes(name, table, arrow));
    return out;
  }

  /** One ALTER TABLE statement a field the table lacks; added columns are nullable. */
  private List<String> addMissing(String table, Schema arrow, Set<String> have) {
    List<String> out = new ArrayList<>();
    for (Field f : arrow.getFields()) {
      if (!have.contains(key(f.getName()))) {
        out.add(
            "ALTER TABLE "
                + tableName.apply(table)
                + (addColumnIfNotExists ? " ADD COLUMN IF NOT EXISTS " : " ADD COLUMN ")
                + SqlIdentifier.quote(f.getName())
                + ' '
                + dialect.columnType(table, f));
      }
    }
    return out;
  }

  private Set<String> normalised(Set<String> columns) {
    if (!caseInsensitive) {
      return columns;
    }
    Set<String> out = new HashSet<>();
    for (String c : columns) {
      out.add(key(c));
    }
    return out;
  }

  private String key(String column) {
    return caseInsensitive ? column.toLowerCase(Locale.ROOT) : column;
  }
}
