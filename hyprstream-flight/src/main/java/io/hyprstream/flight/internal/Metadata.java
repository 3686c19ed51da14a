package io.hyprstream.flight.internal;

import io.hyprstream.Hyprstream;
import java.nio.charset.StandardCharsets;
import java.sql.DatabaseMetaData;
import java.sql.Types;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.arrow.flight.FlightProducer.ServerStreamListener;
import org.apache.arrow.flight.sql.FlightSqlProducer.Schemas;
import org.apache.arrow.flight.sql.SqlInfoBuilder;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetDbSchemas;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetTables;
import org.apache.arrow.flight.sql.impl.FlightSql.SqlNullOrdering;
import org.apache.arrow.flight.sql.impl.FlightSql.SqlOuterJoinsSupportLevel;
import org.apache.arrow.flight.sql.impl.FlightSql.SqlSupportedCaseSensitivity;
import org.apache.arrow.flight.sql.impl.FlightSql.SqlSupportedGroupBy;
import org.apache.arrow.flight.sql.impl.FlightSql.SqlSupportedResultSetType;
import org.apache.arrow.flight.sql.impl.FlightSql.SqlSupportedSubqueries;
import org.apache.arrow.flight.sql.impl.FlightSql.SqlSupportedTransaction;
import org.apache.arrow.flight.sql.impl.FlightSql.SqlSupportedUnions;
import org.apache.arrow.flight.sql.impl.FlightSql.SqlSupportsConvert;
import org.apache.arrow.flight.sql.impl.FlightSql.SqlTransactionIsolationLevel;
import org.apache.arrow.flight.sql.impl.FlightSql.SupportedAnsi92SqlGrammarLevel;
import org.apache.arrow.flight.sql.impl.FlightSql.SupportedSqlGrammar;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
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

  /** The SQL info a client reads: server identity, capabilities and SQL dialect facts. */
  public static SqlInfoBuilder sqlInfo(String version) {
    return new SqlInfoBuilder()
        .withFlightSqlServerName("Hyprstream")
        .withFlightSqlServerVersion(version)
        .withFlightSqlServerArrowVersion(arrowVersion())
        .withFlightSqlServerReadOnly(false)
        .withFlightSqlServerSql(true)
        .withFlightSqlServerSubstrait(false)
        .withFlightSqlServerTransaction(SqlSupportedTransaction.SQL_SUPPORTED_TRANSACTION_NONE)
        .withFlightSqlServerCancel(false)
        .withFlightSqlServerBulkIngestion(true)
        .withFlightSqlServerBulkIngestionTransaction(false)
        .withFlightSqlServerStatementTimeout(0)
        .withFlightSqlServerTransactionTimeout(0)
        .withSqlIdentifierQuoteChar("\"")
        .withSqlIdentifierCase(SqlSupportedCaseSensitivity.SQL_CASE_SENSITIVITY_CASE_INSENSITIVE)
        .withSqlQuotedIdentifierCase(
            SqlSupportedCaseSensitivity.SQL_CASE_SENSITIVITY_CASE_INSENSITIVE)
        .withSqlNullOrdering(SqlNullOrdering.SQL_NULLS_SORTED_AT_END)
        .withSqlSearchStringEscape("\\")
        .withSqlExtraNameCharacters("")
        .withSqlSchemaTerm("schema")
        .withSqlCatalogTerm("catalog")
        .withSqlProcedureTerm("procedure")
        .withSqlDdlCatalog(false)
        .withSqlDdlSchema(false)
        .withSqlDdlTable(true)
        .withSqlSupportsColumnAliasing(true)
        .withSqlNullPlusNullIsNull(true)
        .withSqlSupportsTableCorrelationNames(true)
        .withSqlSupportsDifferentTableCorrelationNames(false)
        .withSqlSupportsExpressionsInOrderBy(true)
        .withSqlSupportsOrderByUnrelated(true)
        .withSqlSupportsLikeEscapeClause(true)
        .withSqlSupportsNonNullableColumns(true)
        .withSqlSupportsIntegrityEnhancementFacility(false)
        .withSqlCatalogAtStart(false)
        .withSqlSelectForUpdateSupported(false)
        .withSqlStoredProceduresSupported(false)
        .withSqlCorrelatedSubqueriesSupported(true)
        .withSqlTransactionsSupported(false)
        .withSqlBatchUpdatesSupported(true)
        .withSqlSavepointsSupported(false)
        .withSqlNamedParametersSupported(false)
        .withSqlAllTablesAreSelectable(true)
        .withSqlDataDefinitionCausesTransactionCommit(false)
        .withSqlDataDefinitionsInTransactionsIgnored(false)
        .withSqlMaxRowSizeIncludesBlobs(true)
        .withSqlLocatorsUpdateCopy(false)
        .withSqlStoredFunctionsUsingCallSyntaxSupported(false)
        .withSqlSupportedGroupBy(
            SqlSupportedGroupBy.SQL_GROUP_BY_UNRELATED,
            SqlSupportedGroupBy.SQL_GROUP_BY_BEYOND_SELECT)
        .withSqlSupportedGrammar(
            SupportedSqlGrammar.SQL_MINIMUM_GRAMMAR,
            SupportedSqlGrammar.SQL_CORE_GRAMMAR,
            SupportedSqlGrammar.SQL_EXTENDED_GRAMMAR)
        .withSqlAnsi92SupportedLevel(
            SupportedAnsi92SqlGrammarLevel.ANSI92_ENTRY_SQL,
            SupportedAnsi92SqlGrammarLevel.ANSI92_INTERMEDIATE_SQL)
        .withSqlOuterJoinSupportLevel(SqlOuterJoinsSupportLevel.SQL_FULL_OUTER_JOINS)
        .withSqlSchemasSupportedActions()
        .withSqlCatalogsSupportedActions()
        .withSqlSupportedPositionedCommands()
        .withSqlSubQueriesSupported(
            SqlSupportedSubqueries.SQL_SUBQUERIES_IN_COMPARISONS,
            SqlSupportedSubqueries.SQL_SUBQUERIES_IN_EXISTS,
            SqlSupportedSubqueries.SQL_SUBQUERIES_IN_INS,
            SqlSupportedSubqueries.SQL_SUBQUERIES_IN_QUANTIFIEDS)
        .withSqlSupportedUnions(SqlSupportedUnions.SQL_UNION, SqlSupportedUnions.SQL_UNION_ALL)
        .withSqlSupportedTransactionsIsolationLevels(
            SqlTransactionIsolationLevel.SQL_TRANSACTION_NONE)
        .withSqlSupportedResultSetTypes(SqlSupportedResultSetType.SQL_RESULT_SET_TYPE_FORWARD_ONLY)
        .withSqlSupportsConvert(conversions())
        .withSqlKeywords(new String[0])
        .withSqlNumericFunctions(new String[0])
        .withSqlStringFunctions(new String[0])
        .withSqlSystemFunctions(new String[0])
        .withSqlDatetimeFunctions(new String[0])
        // 0: no limit, or not known (JDBC's meaning).
        .withSqlMaxBinaryLiteralLength(0)
        .withSqlMaxCharLiteralLength(0)
        .withSqlMaxColumnNameLength(0)
        .withSqlMaxColumnsInGroupBy(0)
        .withSqlMaxColumnsInIndex(0)
        .withSqlMaxColumnsInOrderBy(0)
        .withSqlMaxColumnsInSelect(0)
        .withSqlMaxColumnsInTable(0)
        .withSqlMaxConnections(0)
        .withSqlMaxCursorNameLength(0)
        .withSqlMaxIndexLength(0)
        .withSqlDbSchemaNameLength(0)
        .withSqlMaxProcedureNameLength(0)
        .withSqlMaxCatalogNameLength(0)
        .withSqlMaxRowSize(0)
        .withSqlMaxStatementLength(0)
        .withSqlMaxStatements(0)
        .withSqlMaxTableNameLength(0)
        .withSqlMaxTablesInSelect(0)
        .withSqlMaxUsernameLength(0)
        .withSqlDefaultTransactionIsolation(java.sql.Connection.TRANSACTION_NONE);
  }

  /** CAST support: numbers, text, dates and times convert among themselves and to text. */
  private static Map<Integer, List<Integer>> conversions() {
    List<SqlSupportsConvert> numbers =
        List.of(
            SqlSupportsConvert.SQL_CONVERT_BIGINT,
            SqlSupportsConvert.SQL_CONVERT_BIT,
            SqlSupportsConvert.SQL_CONVERT_DECIMAL,
            SqlSupportsConvert.SQL_CONVERT_FLOAT,
            SqlSupportsConvert.SQL_CONVERT_INTEGER,
            SqlSupportsConvert.SQL_CONVERT_NUMERIC,
            SqlSupportsConvert.SQL_CONVERT_REAL,
            SqlSupportsConvert.SQL_CONVERT_SMALLINT,
            SqlSupportsConvert.SQL_CONVERT_TINYINT);
    List<SqlSupportsConvert> text =
        List.of(
            SqlSupportsConvert.SQL_CONVERT_CHAR,
            SqlSupportsConvert.SQL_CONVERT_VARCHAR,
            SqlSupportsConvert.SQL_CONVERT_LONGVARCHAR);
    List<SqlSupportsConvert> times =
        List.of(
            SqlSupportsConvert.SQL_CONVERT_DATE,
            SqlSupportsConvert.SQL_CONVERT_TIME,
            SqlSupportsConvert.SQL_CONVERT_TIMESTAMP);
    Map<Integer, List<Integer>> map = new LinkedHashMap<>();
    for (SqlSupportsConvert from : numbers) {
      map.put(from.getNumber(), numbers(numbers, text));
    }
    for (SqlSupportsConvert from : text) {
      map.put(from.getNumber(), numbers(numbers, text, times));
    }
    for (SqlSupportsConvert from : times) {
      map.put(from.getNumber(), numbers(text, times));
    }
    return map;
  }

  @SafeVarargs
  private static List<Integer> numbers(List<SqlSupportsConvert>... groups) {
    List<Integer> out = new ArrayList<>();
    for (List<SqlSupportsConvert> g : groups) {
      for (SqlSupportsConvert c : g) {
        out.add(c.getNumber());
      }
    }
    return out;
  }

  private static String arrowVersion() {
    Package p = Schema.class.getPackage();
    String v = p == null ? null : p.getImplementationVersion();
    return v == null ? "18" : v;
  }

  /** Sends {@code root} as the whole answer and closes it. */
  public static void send(VectorSchemaRoot root, ServerStreamListener listener) {
    try (root) {
      listener.start(root);
      listener.putNext();
      listener.completed();
    }
  }

  /** An answer with no rows. */
  public static VectorSchemaRoot empty(Schema schema, BufferAllocator allocator) {
    VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
    root.allocateNew();
    root.setRowCount(0);
    return root;
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
        catalogMatches(catalog, command.hasCatalog() ? command.getCatalog() : null)
            && (!command.hasDbSchemaFilterPattern()
                || SqlText.like(SCHEMA, command.getDbSchemaFilterPattern()));
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

  /** GetTables: every table and view the filters allow, with its schema when asked. */
  public static VectorSchemaRoot tables(
      String catalog,
      CommandGetTables command,
      List<Hyprstream.TableInfo> tables,
      BufferAllocator allocator) {
    boolean withSchema = command.getIncludeSchema();
    VectorSchemaRoot root =
        VectorSchemaRoot.create(
            withSchema ? Schemas.GET_TABLES_SCHEMA : Schemas.GET_TABLES_SCHEMA_NO_SCHEMA,
            allocator);
    root.allocateNew();
    List<Hyprstream.TableInfo> rows = new ArrayList<>();
    if (catalogMatches(catalog, command.hasCatalog() ? command.getCatalog() : null)
        && (!command.hasDbSchemaFilterPattern()
            || SqlText.like(SCHEMA, command.getDbSchemaFilterPattern()))) {
      for (Hyprstream.TableInfo t : tables) {
        String type = tableType(t);
        if (command.hasTableNameFilterPattern()
            && !SqlText.like(t.name(), command.getTableNameFilterPattern())) {
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
            .setSafe(i, t.schema().serializeAsMessage());
      }
    }
    root.setRowCount(rows.size());
    return root;
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

  /** Flight SQL catalog filters are exact names; "" asks for objects without a catalog. */
  private static boolean catalogMatches(String catalog, @Nullable String filter) {
    return filter == null || filter.equals(catalog);
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
