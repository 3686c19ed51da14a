package io.hyprstream.flight.internal;

import io.hyprstream.Hyprstream;
import io.hyprstream.api.HyprstreamException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.jspecify.annotations.Nullable;

/**
 * What DuckDB's own catalog says about the cache's tables beyond their Arrow schemas: each column's
 * SQL type name and NOT NULL, and the primary, unique and foreign keys. Arrow schemas exported by
 * DuckDB mark every column nullable and carry no type names, so tools describing a table need
 * these. Read from {@code duckdb_columns()} and {@code duckdb_constraints()} of the cache
 * database's {@code main} schema, once per metadata call; a snapshot, never updated.
 */
public final class DuckDbCatalog {
  /** One column as DuckDB declares it. */
  public record Column(
      String name,
      String typeName,
      boolean nullable,
      boolean autoIncrement,
      @Nullable String comment) {}

  /** A PRIMARY KEY, UNIQUE or FOREIGN KEY constraint; columns in key order. */
  public record Key(
      String table,
      String type,
      @Nullable String name,
      List<String> columns,
      @Nullable String referencedTable,
      List<String> referencedColumns) {
    /** The constraint type of primary keys in {@code duckdb_constraints()}. */
    public static final String PRIMARY = "PRIMARY KEY";

    /** The constraint type of unique constraints. */
    public static final String UNIQUE = "UNIQUE";

    /** The constraint type of foreign keys. */
    public static final String FOREIGN = "FOREIGN KEY";
  }

  private static final String COLUMNS =
      "SELECT table_name, column_name, data_type, is_nullable,"
          + " coalesce(column_default LIKE 'nextval(%', false) AS auto_increment, comment"
          + " FROM duckdb_columns()"
          + " WHERE database_name = current_database() AND schema_name = 'main'"
          + " ORDER BY table_name, column_index";

  private static final String KEYS =
      "SELECT table_name, constraint_type, constraint_name, constraint_column_names,"
          + " referenced_table, referenced_column_names FROM duckdb_constraints()"
          + " WHERE database_name = current_database() AND schema_name = 'main'"
          + " AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')"
          + " ORDER BY table_name, constraint_index";

  /** Keyed by table name folded to lower case: DuckDB names are unique ignoring case. */
  private final Map<String, Map<String, Column>> columns;

  private final Map<String, String> tableNames;
  private final List<Key> keys;

  private DuckDbCatalog(
      Map<String, Map<String, Column>> columns, Map<String, String> tableNames, List<Key> keys) {
    this.columns = columns;
    this.tableNames = tableNames;
    this.keys = keys;
  }

  /** A catalog knowing nothing (for callers that need no column facts). */
  public static DuckDbCatalog empty() {
    return new DuckDbCatalog(Map.of(), Map.of(), List.of());
  }

  /**
   * Reads the columns, or the columns and keys, of every table in the cache; buffers come from
   * {@code allocator} and are released before this returns.
   *
   * @throws HyprstreamException when DuckDB cannot answer
   */
  public static DuckDbCatalog read(Hyprstream hyprstream, boolean withKeys, BufferAllocator alloc) {
    Map<String, Map<String, Column>> columns = new HashMap<>();
    Map<String, String> tableNames = new HashMap<>();
    for (List<@Nullable Object> row : rows(hyprstream, COLUMNS, alloc)) {
      String table = text(row.get(0));
      tableNames.put(fold(table), table);
      columns
          .computeIfAbsent(fold(table), t -> new LinkedHashMap<>())
          .put(
              text(row.get(1)),
              new Column(
                  text(row.get(1)),
                  text(row.get(2)),
                  !Boolean.FALSE.equals(row.get(3)),
                  Boolean.TRUE.equals(row.get(4)),
                  row.get(5) == null ? null : text(row.get(5))));
    }
    List<Key> keys = new ArrayList<>();
    if (withKeys) {
      for (List<@Nullable Object> row : rows(hyprstream, KEYS, alloc)) {
        keys.add(
            new Key(
                text(row.get(0)),
                text(row.get(1)),
                row.get(2) == null ? null : text(row.get(2)),
                texts(row.get(3)),
                row.get(4) == null ? null : text(row.get(4)),
                texts(row.get(5))));
      }
    }
    return new DuckDbCatalog(columns, tableNames, List.copyOf(keys));
  }

  /** The columns of {@code table} by name, or an empty map when DuckDB does not hold it. */
  public Map<String, Column> columns(String table) {
    return columns.getOrDefault(fold(table), Map.of());
  }

  /**
   * The table's name as stored, for a name written in any case (a foreign key names the table it
   * references as its DDL spelled it), or {@code name} itself when DuckDB does not hold it.
   */
  public String tableName(String name) {
    return tableNames.getOrDefault(fold(name), name);
  }

  /** The column's name as stored in {@code table}, for a name written in any case. */
  public String columnName(String table, String name) {
    for (String stored : columns(table).keySet()) {
      if (stored.equalsIgnoreCase(name)) {
        return stored;
      }
    }
    return name;
  }

  /** Every key constraint, by table then declaration order (empty unless read with keys). */
  public List<Key> keys() {
    return keys;
  }

  private static String fold(String name) {
    return name.toLowerCase(Locale.ROOT);
  }

  private static List<List<@Nullable Object>> rows(
      Hyprstream hyprstream, String sql, BufferAllocator alloc) {
    List<List<@Nullable Object>> out = new ArrayList<>();
    try (ArrowReader reader = hyprstream.query(sql, List.of(), alloc)) {
      while (reader.loadNextBatch()) {
        VectorSchemaRoot root = reader.getVectorSchemaRoot();
        for (int i = 0; i < root.getRowCount(); i++) {
          List<@Nullable Object> row = new ArrayList<>();
          for (FieldVector v : root.getFieldVectors()) {
            row.add(v.getObject(i));
          }
          out.add(row);
        }
      }
    } catch (IOException e) {
      throw new HyprstreamException("cannot read DuckDB's catalog: " + e.getMessage(), e);
    }
    return out;
  }

  private static String text(@Nullable Object value) {
    return String.valueOf(value);
  }

  private static List<String> texts(@Nullable Object value) {
    List<String> out = new ArrayList<>();
    if (value instanceof List<?>) {
      for (Object o : (List<?>) value) {
        out.add(String.valueOf(o));
      }
    }
    return List.copyOf(out);
  }
}
