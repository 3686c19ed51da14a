package io.hyprstream.flight.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.arrow.flight.sql.SqlInfoBuilder;
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
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * What the server tells Flight SQL clients about its SQL in {@code GetSqlInfo}: server name and
 * versions, the grammar, joins, subqueries, unions and conversions DuckDB supports, identifier case
 * rules and transactions (none), so JDBC's {@code DatabaseMetaData} answers truthfully.
 */
public final class ServerSqlInfo {
  private ServerSqlInfo() {}

  /** The SQL info a client reads: server identity, capabilities and SQL dialect facts. */
  public static SqlInfoBuilder build(String version) {
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
        // DuckDB resolves names ignoring case, quoted or not, and keeps them as written. The 18.3
        // JDBC driver never reads these two (its storesUpperCaseIdentifiers() is always true), so
        // name filters match ignoring case too: see nameIs.
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
}
