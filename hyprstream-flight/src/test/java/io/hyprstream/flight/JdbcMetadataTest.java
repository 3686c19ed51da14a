package io.hyprstream.flight;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.Hyprstream;
import io.hyprstream.backend.DuckDbBackendStore;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.apache.arrow.flight.sql.impl.FlightSql.SqlInfo;
import org.apache.arrow.flight.sql.impl.FlightSql.SqlSupportedCaseSensitivity;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.UInt4Vector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.DenseUnionVector;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DatabaseMetaData through the real Arrow Flight SQL JDBC driver, as sqlline and DBeaver call it:
 * names in any case, patterns, each table kind's columns (types, nullability, positions) checked
 * against DuckDB's own {@code DESCRIBE}, and declared keys.
 */
final class JdbcMetadataTest {
  private static final Instant T0 =
      Instant.now().truncatedTo(ChronoUnit.HOURS).minus(3, ChronoUnit.HOURS);

  private TestServer server;
  private Connection connection;

  @BeforeEach
  void setUp() throws Exception {
    server = new TestServer();
    connection = FlightJdbc.connect(server.jdbcUrl());
    try (VectorSchemaRoot batch =
        TestServer.metrics(
            server.allocator, new String[] {"cpu"}, new Instant[] {T0}, new double[] {1})) {
      server.hyprstream.ingest("metrics", batch);
    }
    try (Statement st = connection.createStatement()) {
      st.executeUpdate(
          "CREATE TABLE devices (site INTEGER, device_id VARCHAR, name VARCHAR NOT NULL,"
              + " price DECIMAL(10, 2), seen TIMESTAMPTZ, PRIMARY KEY (site, device_id))");
      st.executeUpdate(
          "CREATE TABLE readings (device_id VARCHAR, site INTEGER, ok BOOLEAN,"
              + " FOREIGN KEY (site, device_id) REFERENCES devices (site, device_id))");
    }
  }

  @AfterEach
  void tearDown() throws Exception {
    connection.close();
    server.close();
  }

  /**
   * The 18.3 driver never reads SQL_IDENTIFIER_CASE (its storesUpperCaseIdentifiers() is Avatica's
   * constant true), so what the server says is checked over Flight SQL itself.
   */
  @Test
  void sqlInfo_identifierCase_isCaseInsensitiveForPlainAndQuotedNames() throws Exception {
    try (BufferAllocator allocator = new RootAllocator();
        FlightSqlClient client =
            new FlightSqlClient(FlightClient.builder(allocator, server.location()).build())) {
      FlightInfo info =
          client.getSqlInfo(SqlInfo.SQL_IDENTIFIER_CASE, SqlInfo.SQL_QUOTED_IDENTIFIER_CASE);
      List<Integer> values = new ArrayList<>();
      try (FlightStream stream = client.getStream(info.getEndpoints().get(0).getTicket())) {
        while (stream.next()) {
          VectorSchemaRoot root = stream.getRoot();
          DenseUnionVector value = (DenseUnionVector) root.getVector("value");
          for (int i = 0; i < root.getRowCount(); i++) {
            values.add(((Number) value.getObject(i)).intValue());
          }
          assertEquals(
              List.of(
                  (long) SqlInfo.SQL_IDENTIFIER_CASE_VALUE,
                  (long) SqlInfo.SQL_QUOTED_IDENTIFIER_CASE_VALUE),
              List.of(
                  ((UInt4Vector) root.getVector("info_name")).getValueAsLong(0),
                  ((UInt4Vector) root.getVector("info_name")).getValueAsLong(1)));
        }
      }
      int insensitive = SqlSupportedCaseSensitivity.SQL_CASE_SENSITIVITY_CASE_INSENSITIVE_VALUE;
      assertEquals(List.of(insensitive, insensitive), values);
    }
  }

  @Test
  void getColumns_tableNameInAnyCase_findsTheTableAsStored() throws Exception {
    DatabaseMetaData md = connection.getMetaData();
    List<String> expected = describe("metrics").stream().map(c -> c.name).toList();
    assertEquals(6, expected.size(), expected.toString());
    for (String name : List.of("metrics", "METRICS", "Metrics")) {
      try (ResultSet rs = md.getColumns(null, null, name, "%")) {
        List<String> names = new ArrayList<>();
        while (rs.next()) {
          assertEquals("metrics", rs.getString("TABLE_NAME"), name);
          names.add(rs.getString("COLUMN_NAME"));
        }
        assertEquals(expected, names, name);
      }
    }
    try (ResultSet rs = md.getColumns(null, null, "METRICS_5M", null)) {
      assertTrue(rs.next(), "METRICS_5M names the window view metrics_5m");
      assertEquals("metrics_5m", rs.getString("TABLE_NAME"));
    }
  }

  @Test
  void getColumns_tablesViewsAndSystemTables_matchDuckDbsDescribe() throws Exception {
    for (String table :
        List.of("metrics", "metrics_5m", "metrics_1h", "hyprstream_cache_stats", "devices")) {
      assertColumnsMatchDescribe(table);
    }
  }

  @Test
  void getColumns_metrics_keyColumnsAreNotNull() throws Exception {
    List<String> rows =
        rows(
            connection.getMetaData().getColumns(null, null, "metrics", "%"),
            "COLUMN_NAME",
            "TYPE_NAME",
            "NULLABLE",
            "IS_NULLABLE",
            "ORDINAL_POSITION");
    assertEquals("metric_id\tVARCHAR\t0\tNO\t1", rows.get(0));
    assertEquals("timestamp\tTIMESTAMP\t0\tNO\t2", rows.get(1));
    assertEquals("value\tDOUBLE\t1\tYES\t3", rows.get(2));
  }

  @Test
  void getColumns_decimalAndTimestampWithTimeZone_carryDuckDbsTypes() throws Exception {
    assertEquals(
        List.of(
            "site\tINTEGER\t" + Types.INTEGER + "\tNO",
            "device_id\tVARCHAR\t" + Types.VARCHAR + "\tNO",
            "name\tVARCHAR\t" + Types.VARCHAR + "\tNO",
            "price\tDECIMAL(10,2)\t" + Types.DECIMAL + "\tYES",
            "seen\tTIMESTAMP WITH TIME ZONE\t" + Types.TIMESTAMP_WITH_TIMEZONE + "\tYES"),
        rows(
            connection.getMetaData().getColumns(null, null, "devices", "%"),
            "COLUMN_NAME",
            "TYPE_NAME",
            "DATA_TYPE",
            "IS_NULLABLE"));
    try (Statement st = connection.createStatement()) {
      st.executeUpdate("COMMENT ON COLUMN devices.name IS 'shown in the console'");
    }
    assertEquals(
        List.of("name\tshown in the console\tNO"),
        rows(
            connection.getMetaData().getColumns(null, null, "devices", "name"),
            "COLUMN_NAME",
            "REMARKS",
            "IS_AUTOINCREMENT"));
    assertEquals(
        List.of("10\t2\t10"),
        rows(
            connection.getMetaData().getColumns(null, null, "devices", "price"),
            "COLUMN_SIZE",
            "DECIMAL_DIGITS",
            "NUM_PREC_RADIX"));
  }

  @Test
  void getTables_patterns_followJdbcAndIgnoreCase() throws Exception {
    DatabaseMetaData md = connection.getMetaData();
    List<String> all = tableNames(md.getTables(null, null, null, null));
    assertEquals(all, tableNames(md.getTables(null, null, "%", null)));
    assertEquals(allKnownTables(), all);
    assertEquals(List.of("metrics_5m"), tableNames(md.getTables(null, null, "metrics\\_5m", null)));
    assertEquals(List.of("metrics_5m"), tableNames(md.getTables(null, null, "METRICS_5_", null)));
    assertEquals(List.of("metrics"), tableNames(md.getTables(null, null, "_ETRICS", null)));
    assertEquals(
        all.stream().filter(t -> t.startsWith("metrics_")).toList(),
        tableNames(md.getTables(null, null, "Metrics\\_%", null)));
    assertEquals(List.of(), tableNames(md.getTables(null, null, "metrics\\_", null)));
    assertEquals(List.of(), tableNames(md.getTables(null, null, "metricsx", null)));
    assertEquals(all, tableNames(md.getTables("MEMORY", "MAIN", "%", null)));
    assertEquals(all, tableNames(md.getTables("memory", "m_in", "%", null)));
    assertEquals(List.of(), tableNames(md.getTables("other", null, "%", null)));
    assertEquals(List.of(), tableNames(md.getTables("", null, "%", null)));
    assertEquals(List.of(), tableNames(md.getTables(null, "other", "%", null)));
  }

  @Test
  void getTables_eachType_listsThatKindOnly() throws Exception {
    DatabaseMetaData md = connection.getMetaData();
    List<String> views = new ArrayList<>();
    List<String> tables = new ArrayList<>();
    List<String> system = new ArrayList<>();
    for (Hyprstream.TableInfo t : server.hyprstream.tables()) {
      switch (t.kind()) {
        case WINDOW_VIEW -> views.add(t.name());
        case SYSTEM_TABLE -> system.add(t.name());
        default -> tables.add(t.name());
      }
    }
    assertEquals(List.of("devices", "metrics", "readings"), tables);
    assertTrue(views.contains("metrics_5m"), views.toString());
    assertEquals(List.of("hyprstream_cache_stats"), system);
    assertEquals(tables, tableNames(md.getTables(null, null, "%", new String[] {"TABLE"})));
    assertEquals(views, tableNames(md.getTables(null, null, "%", new String[] {"VIEW"})));
    assertEquals(system, tableNames(md.getTables(null, null, "%", new String[] {"SYSTEM TABLE"})));
    List<String> both = new ArrayList<>(tables);
    both.addAll(views);
    both.sort(null);
    assertEquals(both, tableNames(md.getTables(null, null, "%", new String[] {"TABLE", "VIEW"})));
    try (ResultSet rs = md.getTables(null, null, "metrics_5m", null)) {
      assertTrue(rs.next());
      assertEquals("memory", rs.getString("TABLE_CAT"));
      assertEquals("main", rs.getString("TABLE_SCHEM"));
      assertEquals("VIEW", rs.getString("TABLE_TYPE"));
      assertFalse(rs.next());
    }
  }

  @Test
  void getPrimaryKeys_declaredKey_inKeyOrderWithDuckDbsName() throws Exception {
    DatabaseMetaData md = connection.getMetaData();
    String name =
        scalar(
            "SELECT constraint_name FROM duckdb_constraints()"
                + " WHERE table_name = 'devices' AND constraint_type = 'PRIMARY KEY'");
    for (String table : List.of("devices", "DEVICES")) {
      assertEquals(
          List.of(
              "memory\tmain\tdevices\tsite\t1\t" + name,
              "memory\tmain\tdevices\tdevice_id\t2\t" + name),
          rows(
              md.getPrimaryKeys(null, null, table),
              "TABLE_CAT",
              "TABLE_SCHEM",
              "TABLE_NAME",
              "COLUMN_NAME",
              "KEY_SEQ",
              "PK_NAME"),
          table);
    }
    assertEquals(List.of(), rows(md.getPrimaryKeys(null, null, "metrics"), "COLUMN_NAME"));
    assertEquals(List.of(), rows(md.getPrimaryKeys(null, null, "metrics_5m"), "COLUMN_NAME"));
    assertEquals(List.of(), rows(md.getPrimaryKeys("other", null, "devices"), "COLUMN_NAME"));
    assertEquals(List.of(), rows(md.getPrimaryKeys(null, null, "device_"), "COLUMN_NAME"));
  }

  @Test
  void getImportedExportedKeys_declaredForeignKey_bothWays() throws Exception {
    DatabaseMetaData md = connection.getMetaData();
    String fk =
        scalar(
            "SELECT constraint_name FROM duckdb_constraints()"
                + " WHERE table_name = 'readings' AND constraint_type = 'FOREIGN KEY'");
    String pk =
        scalar(
            "SELECT constraint_name FROM duckdb_constraints()"
                + " WHERE table_name = 'devices' AND constraint_type = 'PRIMARY KEY'");
    List<String> expected =
        List.of(
            "devices\tsite\treadings\tsite\t1\t" + fk + "\t" + pk + "\t3\t3",
            "devices\tdevice_id\treadings\tdevice_id\t2\t" + fk + "\t" + pk + "\t3\t3");
    String[] columns = {
      "PKTABLE_NAME",
      "PKCOLUMN_NAME",
      "FKTABLE_NAME",
      "FKCOLUMN_NAME",
      "KEY_SEQ",
      "FK_NAME",
      "PK_NAME",
      "UPDATE_RULE",
      "DELETE_RULE"
    };
    assertEquals(expected, rows(md.getImportedKeys(null, null, "READINGS"), columns));
    assertEquals(expected, rows(md.getExportedKeys(null, null, "devices"), columns));
    assertEquals(
        expected,
        rows(md.getCrossReference("memory", "main", "devices", null, null, "readings"), columns));
    assertEquals(List.of(), rows(md.getImportedKeys(null, null, "devices"), columns));
    assertEquals(List.of(), rows(md.getExportedKeys(null, null, "readings"), columns));
    assertEquals(
        List.of(), rows(md.getCrossReference(null, null, "readings", null, null, "devices")));
    assertEquals(List.of(), rows(md.getImportedKeys(null, null, "metrics"), columns));
  }

  /** DBeaver's navigator, in the order it calls: nothing may fail. */
  @Test
  void dbeaverSequence_everyCall_answersWithoutError() throws Exception {
    DatabaseMetaData md = connection.getMetaData();
    List<String> catalogs = rows(md.getCatalogs(), "TABLE_CAT");
    assertEquals(List.of("memory"), catalogs);
    assertEquals(List.of("main\tmemory"), rows(md.getSchemas(), "TABLE_SCHEM", "TABLE_CATALOG"));
    assertEquals(
        List.of("main\tmemory"),
        rows(md.getSchemas("memory", null), "TABLE_SCHEM", "TABLE_CATALOG"));
    assertEquals(List.of("SYSTEM TABLE", "TABLE", "VIEW"), rows(md.getTableTypes(), "TABLE_TYPE"));
    List<String> listed = new ArrayList<>();
    for (String[] types : new String[][] {{"TABLE"}, {"VIEW"}, {"SYSTEM TABLE"}, null}) {
      listed.addAll(tableNames(md.getTables("memory", "main", "%", types)));
    }
    for (String table : allKnownTables()) {
      assertTrue(listed.contains(table), table);
      assertFalse(rows(md.getColumns("memory", "main", table, "%"), "COLUMN_NAME").isEmpty());
      rows(md.getPrimaryKeys("memory", "main", table), "COLUMN_NAME");
      rows(md.getImportedKeys("memory", "main", table), "PKTABLE_NAME");
      rows(md.getExportedKeys("memory", "main", table), "FKTABLE_NAME");
      // No Flight SQL command lists indexes: the driver answers an empty result itself.
      assertEquals(
          List.of(), rows(md.getIndexInfo("memory", "main", table, false, true), "INDEX_NAME"));
    }
    // The 18.3 driver answers getTypeInfo and getFunctions itself, empty, without asking.
    assertEquals(List.of(), rows(md.getTypeInfo(), "TYPE_NAME"));
    assertEquals(List.of(), rows(md.getFunctions("memory", "main", "%"), "FUNCTION_NAME"));
    assertEquals(List.of(), rows(md.getProcedures("memory", "main", "%"), "PROCEDURE_NAME"));
  }

  @Test
  void getColumns_backendStatusSystemTable_withABackend(@TempDir Path dir) throws Exception {
    try (BufferAllocator allocator = new RootAllocator();
        Hyprstream hs =
            Hyprstream.builder()
                .allocator(allocator)
                .backend(DuckDbBackendStore.open(dir.resolve("backend.duckdb"), allocator))
                .dataDirectory(dir.resolve("data"))
                .build();
        HyprstreamServer s =
            HyprstreamServer.builder(hs).host("127.0.0.1").port(0).allocator(allocator).start();
        Connection c =
            FlightJdbc.connect(
                "jdbc:arrow-flight-sql://127.0.0.1:" + s.port() + "?useEncryption=false")) {
      List<String> system =
          tableNames(c.getMetaData().getTables(null, null, "%", new String[] {"SYSTEM TABLE"}));
      assertEquals(
          List.of("hyprstream_backend_status", "hyprstream_cache_stats", "hyprstream_quarantine"),
          system);
      assertColumnsMatchDescribe(c, "hyprstream_backend_status");
      assertColumnsMatchDescribe(c, "HYPRSTREAM_BACKEND_STATUS");
      assertColumnsMatchDescribe(c, "hyprstream_quarantine");
    }
  }

  // ----------------------------------------------------------------------------------- helpers

  private record Described(String name, String type, boolean nullable) {}

  /** DuckDB's own DESCRIBE of {@code table}, through the server: the oracle for getColumns. */
  private List<Described> describe(String table) throws SQLException {
    return describe(connection, table);
  }

  private static List<Described> describe(Connection c, String table) throws SQLException {
    List<Described> out = new ArrayList<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("DESCRIBE " + table)) {
      while (rs.next()) {
        out.add(
            new Described(
                rs.getString("column_name"),
                rs.getString("column_type"),
                rs.getString("null").equals("YES")));
      }
    }
    return out;
  }

  private void assertColumnsMatchDescribe(String table) throws SQLException {
    assertColumnsMatchDescribe(connection, table);
  }

  /**
   * getColumns of {@code table} says what DuckDB's DESCRIBE says (names, type names, nullability,
   * positions), and its DATA_TYPE is the one the driver gives the same column in a query result.
   */
  private static void assertColumnsMatchDescribe(Connection c, String table) throws SQLException {
    List<Described> expected = describe(c, table);
    assertFalse(expected.isEmpty(), table);
    List<Integer> queryTypes = new ArrayList<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT * FROM " + table + " LIMIT 0")) {
      ResultSetMetaData md = rs.getMetaData();
      for (int i = 1; i <= md.getColumnCount(); i++) {
        queryTypes.add(md.getColumnType(i));
      }
    }
    List<String> want = new ArrayList<>();
    for (int i = 0; i < expected.size(); i++) {
      Described d = expected.get(i);
      want.add(
          String.join(
              "\t",
              table.toLowerCase(Locale.ROOT),
              d.name,
              d.type,
              String.valueOf(queryTypes.get(i)),
              String.valueOf(
                  d.nullable ? DatabaseMetaData.columnNullable : DatabaseMetaData.columnNoNulls),
              d.nullable ? "YES" : "NO",
              String.valueOf(i + 1)));
    }
    assertEquals(
        want,
        rows(
            c.getMetaData().getColumns(null, null, table, "%"),
            "TABLE_NAME",
            "COLUMN_NAME",
            "TYPE_NAME",
            "DATA_TYPE",
            "NULLABLE",
            "IS_NULLABLE",
            "ORDINAL_POSITION"),
        table);
  }

  /** Every table, view and system table the engine lists, in name order. */
  private List<String> allKnownTables() {
    return server.hyprstream.tables().stream()
        .map(Hyprstream.TableInfo::name)
        .collect(Collectors.toList());
  }

  private String scalar(String sql) throws SQLException {
    try (Statement st = connection.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      assertTrue(rs.next(), sql);
      return rs.getString(1);
    }
  }

  private static List<String> tableNames(ResultSet rs) throws SQLException {
    return rows(rs, "TABLE_NAME");
  }

  /** Each row's {@code columns}, tab-separated; closes {@code rs}. */
  private static List<String> rows(ResultSet rs, String... columns) throws SQLException {
    List<String> out = new ArrayList<>();
    try (rs) {
      while (rs.next()) {
        List<@Nullable String> values = new ArrayList<>();
        for (String column : columns) {
          values.add(rs.getString(column));
        }
        out.add(values.stream().map(String::valueOf).collect(Collectors.joining("\t")));
      }
    }
    return out;
  }
}
