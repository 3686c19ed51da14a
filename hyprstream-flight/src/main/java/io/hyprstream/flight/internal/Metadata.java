package io.hyprstream.flight.internal;

import io.hyprstream.Hyprstream;
import java.nio.charset.StandardCharsets;
import java.sql.DatabaseMetaData;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.arrow.flight.FlightProducer.ServerStreamListener;
import org.apache.arrow.flight.sql.FlightSqlColumnMetadata;
import org.apache.arrow.flight.sql.FlightSqlProducer.Schemas;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetDbSchemas;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetPrimaryKeys;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetTables;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.UInt1Vector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * The answers to Flight SQL's metadata commands. There is one catalog (the cache database's, {@code
 * memory} for the in-memory cache) holding one schema, {@value #SCHEMA}; tables are {@code TABLE}s,
 * system tables ({@code hyprstream_cache_stats}) {@code SYSTEM TABLE}s and window views are {@code
 * VIEW}s.
 */
public final class Metadata {
  /** The one schema every table and view lives in (DuckDB's default). */
  public static final String SCHEMA = "main";

  /** The table type of ingested tables. */
  public static final String TABLE = "TABLE";

  /** The table type of window views. */
  public static final String VIEW = "VIEW";

  /** The table type of Hyprstream's read-only state tables ({@code hyprstream_cache_stats}). */
  public static final String SYSTEM_TABLE = "SYSTEM TABLE";

  private Metadata() {}

  /** Sends {@code root} as the whole answer and closes it. */
  public static void send(VectorSchemaRoot root, ServerStreamListener listener) {
    try (root) {
      listener.start(root);
      listener.putNext();
      listener.completed();
    }
  }

  /** GetCatalogs: the one catalog. */
  public static VectorSchemaRoot catalogs(String catalog, BufferAllocator allocator) {
    VectorSchemaRoot root = VectorSchemaRoot.create(Schemas.GET_CATALOGS_SCHEMA, allocator);
    root.allocateNew();
    setString(root.getVector("catalog_name"), 0, catalog);
    root.setRowCount(1);
    return root;
  }

  /** GetDbSchemas: {@value #SCHEMA}, when the filters allow it. */
  public static VectorSchemaRoot schemas(
      String catalog, CommandGetDbSchemas command, BufferAllocator allocator) {
    VectorSchemaRoot root = VectorSchemaRoot.create(Schemas.GET_SCHEMAS_SCHEMA, allocator);
    root.allocateNew();
    boolean match =
        nameIs(catalog, command.hasCatalog() ? command.getCatalog() : null)
            && (!command.hasDbSchemaFilterPattern()
                || nameLike(SCHEMA, command.getDbSchemaFilterPattern()));
    if (match) {
      setString(root.getVector("catalog_name"), 0, catalog);
      setString(root.getVector("db_schema_name"), 0, SCHEMA);
      root.setRowCount(1);
    } else {
      root.setRowCount(0);
    }
    return root;
  }

  /** GetTableTypes: SYSTEM TABLE, TABLE and VIEW (in JDBC's order, by name). */
  public static VectorSchemaRoot tableTypes(BufferAllocator allocator) {
    VectorSchemaRoot root = VectorSchemaRoot.create(Schemas.GET_TABLE_TYPES_SCHEMA, allocator);
    root.allocateNew();
    setString(root.getVector("table_type"), 0, SYSTEM_TABLE);
    setString(root.getVector("table_type"), 1, TABLE);
    setString(root.getVector("table_type"), 2, VIEW);
    root.setRowCount(3);
    return root;
  }

  /**
   * GetTables: every table and view the filters allow, in name order (Flight SQL's order), with its
   * schema when asked. The schema's fields say what {@code columns} knows: nullability and, in
   * Flight SQL column metadata, DuckDB's type name; a table DuckDB does not hold (one only the
   * backend has) keeps its Arrow schema as it is.
   */
  public static VectorSchemaRoot tables(
      String catalog,
      CommandGetTables command,
      List<Hyprstream.TableInfo> tables,
      DuckDbCatalog columns,
      BufferAllocator allocator) {
    boolean withSchema = command.getIncludeSchema();
    VectorSchemaRoot root =
        VectorSchemaRoot.create(
            withSchema ? Schemas.GET_TABLES_SCHEMA : Schemas.GET_TABLES_SCHEMA_NO_SCHEMA,
            allocator);
    root.allocateNew();
    List<Hyprstream.TableInfo> rows = new ArrayList<>();
    if (nameIs(catalog, command.hasCatalog() ? command.getCatalog() : null)
        && (!command.hasDbSchemaFilterPattern()
            || nameLike(SCHEMA, command.getDbSchemaFilterPattern()))) {
      for (Hyprstream.TableInfo t : tables) {
        String type = tableType(t);
        if (command.hasTableNameFilterPattern()
            && !nameLike(t.name(), command.getTableNameFilterPattern())) {
          continue;
        }
        if (command.getTableTypesCount() > 0
            && command.getTableTypesList().stream().noneMatch(type::equalsIgnoreCase)) {
          continue;
        }
        rows.add(t);
      }
    }
    for (int i = 0; i < rows.size(); i++) {
      Hyprstream.TableInfo t = rows.get(i);
      setString(root.getVector("catalog_name"), i, catalog);
      setString(root.getVector("db_schema_name"), i, SCHEMA);
      setString(root.getVector("table_name"), i, t.name());
      setString(root.getVector("table_type"), i, tableType(t));
      if (withSchema) {
        ((VarBinaryVector) root.getVector("table_schema"))
            .setSafe(i, described(catalog, t, columns).serializeAsMessage());
      }
    }
    root.setRowCount(rows.size());
    return root;
  }

  /**
   * {@code t}'s schema with each field's nullability as DuckDB declares it and Flight SQL column
   * metadata (type name, catalog, schema, table, auto increment, remarks), which the JDBC driver's
   * getColumns turns into TYPE_NAME, NULLABLE, IS_NULLABLE, IS_AUTOINCREMENT and REMARKS.
   */
  static Schema described(String catalog, Hyprstream.TableInfo t, DuckDbCatalog columns) {
    Map<String, DuckDbCatalog.Column> declared = columns.columns(t.name());
    List<Field> fields = new ArrayList<>();
    for (Field f : t.schema().getFields()) {
      DuckDbCatalog.Column c = declared.get(f.getName());
      FlightSqlColumnMetadata.Builder m =
          new FlightSqlColumnMetadata.Builder()
              .catalogName(catalog)
              .schemaName(SCHEMA)
              .tableName(t.name());
      boolean nullable = f.isNullable();
      if (c != null) {
        m.typeName(c.typeName()).isAutoIncrement(c.autoIncrement());
        String comment = c.comment();
        if (comment != null) {
          m.remarks(comment);
        }
        nullable = c.nullable();
      }
      Map<String, String> metadata = new LinkedHashMap<>();
      if (f.getMetadata() != null) {
        metadata.putAll(f.getMetadata());
      }
      metadata.putAll(m.build().getMetadataMap());
      fields.add(
          new Field(
              f.getName(),
              new FieldType(nullable, f.getType(), f.getDictionary(), metadata),
              f.getChildren()));
    }
    return new Schema(fields, t.schema().getCustomMetadata());
  }

  /** The Flight SQL table type of {@code t}. */
  public static String tableType(Hyprstream.TableInfo t) {
    switch (t.kind()) {
      case WINDOW_VIEW:
        return VIEW;
      case SYSTEM_TABLE:
        return SYSTEM_TABLE;
      default:
        return TABLE;
    }
  }

  /**
   * GetPrimaryKeys: the PRIMARY KEY columns DuckDB declares for the table, in key order. Tables
   * Hyprstream creates ({@code metrics}, window views, system tables) declare none.
   */
  public static VectorSchemaRoot primaryKeys(
      String catalog, CommandGetPrimaryKeys command, DuckDbCatalog keys, BufferAllocator alloc) {
    VectorSchemaRoot root = VectorSchemaRoot.create(Schemas.GET_PRIMARY_KEYS_SCHEMA, alloc);
    root.allocateNew();
    int row = 0;
    if (inSchema(
        catalog,
        command.hasCatalog() ? command.getCatalog() : null,
        command.hasDbSchema() ? command.getDbSchema() : null)) {
      for (DuckDbCatalog.Key k : keys.keys()) {
        if (!k.type().equals(DuckDbCatalog.Key.PRIMARY)
            || !k.table().equalsIgnoreCase(command.getTable())) {
          continue;
        }
        for (int i = 0; i < k.columns().size(); i++) {
          setString(root.getVector("catalog_name"), row, catalog);
          setString(root.getVector("db_schema_name"), row, SCHEMA);
          setString(root.getVector("table_name"), row, keys.tableName(k.table()));
          setString(
              root.getVector("column_name"), row, keys.columnName(k.table(), k.columns().get(i)));
          setInt(root.getVector("key_sequence"), row, i + 1);
          setString(root.getVector("key_name"), row, k.name());
          row++;
        }
      }
    }
    root.setRowCount(row);
    return root;
  }

  /**
   * GetImportedKeys, GetExportedKeys and GetCrossReference: the FOREIGN KEY columns DuckDB declares
   * from a table ({@code fkTable}, null for any) to a table ({@code pkTable}, null for any), in
   * Flight SQL's order. DuckDB refuses changes that would break a foreign key and has no cascading
   * actions, so the update and delete rules are NO ACTION.
   */
  public static VectorSchemaRoot foreignKeys(
      String catalog,
      @Nullable TableFilter pkTable,
      @Nullable TableFilter fkTable,
      DuckDbCatalog keys,
      Schema schema,
      BufferAllocator alloc) {
    VectorSchemaRoot root = VectorSchemaRoot.create(schema, alloc);
    root.allocateNew();
    List<ForeignKeyColumn> rows = new ArrayList<>();
    for (DuckDbCatalog.Key k : keys.keys()) {
      String referenced = k.referencedTable();
      if (!k.type().equals(DuckDbCatalog.Key.FOREIGN) || referenced == null) {
        continue;
      }
      String pk = keys.tableName(referenced);
      String fk = keys.tableName(k.table());
      if ((pkTable != null && !pkTable.matches(catalog, pk))
          || (fkTable != null && !fkTable.matches(catalog, fk))) {
        continue;
      }
      @Nullable String pkName = referencedKeyName(keys, pk, k.referencedColumns());
      for (int i = 0; i < k.columns().size() && i < k.referencedColumns().size(); i++) {
        rows.add(
            new ForeignKeyColumn(
                pk,
                keys.columnName(pk, k.referencedColumns().get(i)),
                fk,
                keys.columnName(fk, k.columns().get(i)),
                i + 1,
                k.name(),
                pkName));
      }
    }
    // Imported keys are ordered by the referenced table, exported keys and cross references by
    // the referencing one (both then by key name and sequence).
    Comparator<ForeignKeyColumn> order =
        fkTable != null && pkTable == null
            ? Comparator.comparing(ForeignKeyColumn::pkTable)
                .thenComparing(r -> String.valueOf(r.pkKeyName()))
            : Comparator.comparing(ForeignKeyColumn::fkTable)
                .thenComparing(r -> String.valueOf(r.fkKeyName()));
    rows.sort(order.thenComparingInt(ForeignKeyColumn::sequence));
    for (int i = 0; i < rows.size(); i++) {
      ForeignKeyColumn r = rows.get(i);
      setString(root.getVector("pk_catalog_name"), i, catalog);
      setString(root.getVector("pk_db_schema_name"), i, SCHEMA);
      setString(root.getVector("pk_table_name"), i, r.pkTable());
      setString(root.getVector("pk_column_name"), i, r.pkColumn());
      setString(root.getVector("fk_catalog_name"), i, catalog);
      setString(root.getVector("fk_db_schema_name"), i, SCHEMA);
      setString(root.getVector("fk_table_name"), i, r.fkTable());
      setString(root.getVector("fk_column_name"), i, r.fkColumn());
      setInt(root.getVector("key_sequence"), i, r.sequence());
      setString(root.getVector("fk_key_name"), i, r.fkKeyName());
      setString(root.getVector("pk_key_name"), i, r.pkKeyName());
      ((UInt1Vector) root.getVector("update_rule"))
          .setSafe(i, DatabaseMetaData.importedKeyNoAction);
      ((UInt1Vector) root.getVector("delete_rule"))
          .setSafe(i, DatabaseMetaData.importedKeyNoAction);
    }
    root.setRowCount(rows.size());
    return root;
  }

  /** The name of {@code table}'s primary or unique key on exactly {@code columns}, if any. */
  private static @Nullable String referencedKeyName(
      DuckDbCatalog keys, String table, List<String> columns) {
    for (DuckDbCatalog.Key k : keys.keys()) {
      if ((k.type().equals(DuckDbCatalog.Key.PRIMARY) || k.type().equals(DuckDbCatalog.Key.UNIQUE))
          && k.table().equalsIgnoreCase(table)
          && k.columns().size() == columns.size()) {
        boolean same = true;
        for (int i = 0; i < columns.size(); i++) {
          same &= k.columns().get(i).equalsIgnoreCase(columns.get(i));
        }
        if (same) {
          return k.name();
        }
      }
    }
    return null;
  }

  /** One column of a foreign key, as a row of GetImportedKeys and its kin. */
  private record ForeignKeyColumn(
      String pkTable,
      String pkColumn,
      String fkTable,
      String fkColumn,
      int sequence,
      @Nullable String fkKeyName,
      @Nullable String pkKeyName) {}

  /** The table named by a key command: exact names, with catalog and schema when given. */
  public record TableFilter(@Nullable String catalog, @Nullable String schema, String table) {
    boolean matches(String serverCatalog, String name) {
      return inSchema(serverCatalog, catalog, schema) && name.equalsIgnoreCase(table);
    }
  }

  /** True when the catalog and schema filters of a key command allow the one schema. */
  private static boolean inSchema(
      String catalog, @Nullable String catalogFilter, @Nullable String schemaFilter) {
    return nameIs(catalog, catalogFilter) && nameIs(SCHEMA, schemaFilter);
  }

  /**
   * True when {@code filter}, an exact name, names {@code name}: null filters nothing, and names
   * compare ignoring case, as DuckDB resolves them. JDBC tools upper-case an unquoted name when the
   * driver says identifiers are stored upper case (the 18.3 Flight SQL JDBC driver always says so),
   * and DuckDB would resolve that name to this object.
   */
  static boolean nameIs(String name, @Nullable String filter) {
    return filter == null || name.equalsIgnoreCase(filter);
  }

  /**
   * True when {@code name} matches the search pattern {@code pattern} ({@code %} any run, {@code _}
   * any one character, a backslash escaping either), ignoring case for the reason {@link #nameIs}
   * gives.
   */
  static boolean nameLike(String name, String pattern) {
    StringBuilder regex = new StringBuilder();
    for (int i = 0; i < pattern.length(); i++) {
      char c = pattern.charAt(i);
      if (c == '\\' && i + 1 < pattern.length()) {
        regex.append(Pattern.quote(String.valueOf(pattern.charAt(++i))));
      } else if (c == '%') {
        regex.append(".*");
      } else if (c == '_') {
        regex.append('.');
      } else {
        regex.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return Pattern.compile(
            regex.toString(), Pattern.DOTALL | Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE)
        .matcher(name)
        .matches();
  }

  /** One row of GetXdbcTypeInfo. */
  private static final class TypeRow {
    final String name;
    final int jdbcType;
    final @Nullable Integer columnSize;
    final @Nullable String literalPrefix;
    final boolean caseSensitive;
    final @Nullable Boolean unsigned;
    final boolean fixedPrecisionScale;
    final @Nullable Integer radix;

    TypeRow(
        String name,
        int jdbcType,
        @Nullable Integer columnSize,
        @Nullable String literalPrefix,
        boolean caseSensitive,
        @Nullable Boolean unsigned,
        boolean fixedPrecisionScale,
        @Nullable Integer radix) {
      this.name = name;
      this.jdbcType = jdbcType;
      this.columnSize = columnSize;
      this.literalPrefix = literalPrefix;
      this.caseSensitive = caseSensitive;
      this.unsigned = unsigned;
      this.fixedPrecisionScale = fixedPrecisionScale;
      this.radix = radix;
    }
  }

  /** The SQL types a client can use in CREATE TABLE and casts, ordered by JDBC type number. */
  private static final List<TypeRow> TYPES =
      List.of(
          new TypeRow("BIGINT", Types.BIGINT, 19, null, false, false, false, 10),
          new TypeRow("BLOB", Types.VARBINARY, null, "'", false, null, false, null),
          new TypeRow("DECIMAL", Types.DECIMAL, 38, null, false, false, true, 10),
          new TypeRow("INTEGER", Types.INTEGER, 10, null, false, false, false, 10),
          new TypeRow("SMALLINT", Types.SMALLINT, 5, null, false, false, false, 10),
          new TypeRow("FLOAT", Types.REAL, 24, null, false, false, false, 2),
          new TypeRow("DOUBLE", Types.DOUBLE, 53, null, false, false, false, 2),
          new TypeRow("VARCHAR", Types.VARCHAR, null, "'", true, null, false, null),
          new TypeRow("BOOLEAN", Types.BOOLEAN, 1, null, false, null, false, null),
          new TypeRow("DATE", Types.DATE, 10, "DATE '", false, null, false, null),
          new TypeRow("TIMESTAMP", Types.TIMESTAMP, 26, "TIMESTAMP '", false, null, false, null),
          new TypeRow(
              "TIMESTAMP WITH TIME ZONE",
              Types.TIMESTAMP_WITH_TIMEZONE,
              32,
              "TIMESTAMPTZ '",
              false,
              null,
              false,
              null));

  /** GetXdbcTypeInfo: every type, or only those of {@code dataType} when given. */
  public static VectorSchemaRoot typeInfo(@Nullable Integer dataType, BufferAllocator allocator) {
    VectorSchemaRoot root = VectorSchemaRoot.create(Schemas.GET_TYPE_INFO_SCHEMA, allocator);
    root.allocateNew();
    int i = 0;
    List<TypeRow> sorted = new ArrayList<>(TYPES);
    sorted.sort((a, b) -> Integer.compare(a.jdbcType, b.jdbcType));
    for (TypeRow t : sorted) {
      if (dataType != null && t.jdbcType != dataType) {
        continue;
      }
      setString(root.getVector("type_name"), i, t.name);
      setInt(root.getVector("data_type"), i, t.jdbcType);
      setInt(root.getVector("column_size"), i, t.columnSize);
      setString(root.getVector("literal_prefix"), i, t.literalPrefix);
      setString(root.getVector("literal_suffix"), i, t.literalPrefix == null ? null : "'");
      root.getVector("create_params").setNull(i);
      setInt(root.getVector("nullable"), i, DatabaseMetaData.typeNullable);
      setBool(root.getVector("case_sensitive"), i, t.caseSensitive);
      setInt(root.getVector("searchable"), i, DatabaseMetaData.typeSearchable);
      setBool(root.getVector("unsigned_attribute"), i, t.unsigned);
      setBool(root.getVector("fixed_prec_scale"), i, t.fixedPrecisionScale);
      setBool(root.getVector("auto_increment"), i, false);
      setString(root.getVector("local_type_name"), i, t.name);
      setInt(root.getVector("minimum_scale"), i, t.jdbcType == Types.DECIMAL ? 0 : null);
      setInt(root.getVector("maximum_scale"), i, t.jdbcType == Types.DECIMAL ? 38 : null);
      setInt(root.getVector("sql_data_type"), i, t.jdbcType);
      setInt(root.getVector("datetime_subcode"), i, null);
      setInt(root.getVector("num_prec_radix"), i, t.radix);
      setInt(root.getVector("interval_precision"), i, null);
      i++;
    }
    root.setRowCount(i);
    return root;
  }

  private static void setString(FieldVector v, int i, @Nullable String s) {
    if (s == null) {
      v.setNull(i);
    } else {
      ((VarCharVector) v).setSafe(i, s.getBytes(StandardCharsets.UTF_8));
    }
  }

  private static void setInt(FieldVector v, int i, @Nullable Integer value) {
    if (value == null) {
      v.setNull(i);
    } else {
      ((IntVector) v).setSafe(i, value);
    }
  }

  private static void setBool(FieldVector v, int i, @Nullable Boolean value) {
    if (value == null) {
      v.setNull(i);
    } else {
      ((BitVector) v).setSafe(i, value ? 1 : 0);
    }
  }
}
