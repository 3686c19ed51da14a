package io.hyprstream.flight;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The real Arrow Flight SQL JDBC driver against a real server. */
final class JdbcEndToEndTest {
  /** Recent enough for every window's retention, and at the start of an hour. */
  private static final Instant T0 =
      Instant.now().truncatedTo(ChronoUnit.HOURS).minus(3, ChronoUnit.HOURS);

  private TestServer server;
  private Connection connection;

  @BeforeEach
  void setUp() throws Exception {
    server = new TestServer();
    connection = FlightJdbc.connect(server.jdbcUrl());
  }

  @AfterEach
  void tearDown() throws Exception {
    connection.close();
    server.close();
  }

  private void ingestMetrics(String[] ids, Instant[] times, double[] values) {
    try (VectorSchemaRoot batch = TestServer.metrics(server.allocator, ids, times, values)) {
      server.hyprstream.ingest("metrics", batch);
    }
  }

  @Test
  void executeQuery_literalSelect_returnsTypedRow() throws Exception {
    try (Statement st = connection.createStatement();
        ResultSet rs = st.executeQuery("SELECT 42::BIGINT AS answer, 'hi' AS greeting")) {
      assertTrue(rs.next());
      assertEquals(42L, rs.getLong("answer"));
      assertEquals("hi", rs.getString("greeting"));
      assertFalse(rs.next());
    }
  }

  @Test
  void preparedQuery_withStringParameter_returnsOnlyThatSeries() throws Exception {
    ingestMetrics(
        new String[] {"cpu", "mem", "cpu"},
        new Instant[] {T0, T0, T0.plusSeconds(1)},
        new double[] {1, 2, 3});
    try (PreparedStatement ps =
        connection.prepareStatement(
            "SELECT value FROM metrics WHERE metric_id = ? ORDER BY timestamp")) {
      ps.setString(1, "cpu");
      assertEquals(List.of(1.0, 3.0), doubles(ps.executeQuery()));
      ps.setString(1, "mem");
      assertEquals(List.of(2.0), doubles(ps.executeQuery()));
    }
  }

  @Test
  void preparedQuery_windowLookup_returnsNewestWindowsFirst() throws Exception {
    ingestMetrics(
        new String[] {"cpu", "cpu", "cpu"},
        new Instant[] {T0, T0.plusSeconds(60), T0.plusSeconds(3600)},
        new double[] {1, 3, 10});
    try (PreparedStatement ps =
        connection.prepareStatement(
            "SELECT * FROM metrics_1h WHERE metric_id = ? ORDER BY window_start DESC LIMIT 24")) {
      ps.setString(1, "cpu");
      try (ResultSet rs = ps.executeQuery()) {
        assertTrue(rs.next());
        assertEquals(1L, rs.getLong("value_count"));
        assertEquals(10.0, rs.getDouble("value_sum"));
        assertTrue(rs.next());
        assertEquals(2L, rs.getLong("value_count"));
        assertEquals(2.0, rs.getDouble("value_avg"));
        assertFalse(rs.next());
      }
    }
  }

  @Test
  void preparedQuery_timestampAndLimitParameters_areBoundWithTheirTypes() throws Exception {
    ingestMetrics(
        new String[] {"cpu", "cpu", "cpu"},
        new Instant[] {T0, T0.plusSeconds(10), T0.plusSeconds(20)},
        new double[] {1, 2, 3});
    try (PreparedStatement ps =
        connection.prepareStatement(
            "SELECT value FROM metrics WHERE timestamp >= ? ORDER BY timestamp LIMIT ?")) {
      ps.setTimestamp(1, new Timestamp(T0.plusSeconds(10).toEpochMilli()));
      ps.setLong(2, 1);
      assertEquals(List.of(2.0), doubles(ps.executeQuery()));
    }
  }

  @Test
  void preparedInsert_batchOfRows_isIngestedWithWindows() throws Exception {
    try (PreparedStatement ps =
        connection.prepareStatement(
            "INSERT INTO metrics (metric_id, timestamp, value) VALUES (?, ?, ?)")) {
      for (int i = 0; i < 3; i++) {
        ps.setString(1, "disk");
        ps.setTimestamp(2, new Timestamp(T0.plusSeconds(i).toEpochMilli()));
        ps.setDouble(3, i + 1);
        ps.addBatch();
      }
      ps.executeBatch();
    }
    try (Statement st = connection.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT value_count, value_sum, window_start FROM metrics_5m"
                    + " WHERE metric_id = 'disk'")) {
      assertTrue(rs.next());
      assertEquals(3L, rs.getLong(1));
      assertEquals(6.0, rs.getDouble(2));
      assertFalse(rs.next());
    }
    try (Statement st = connection.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT epoch_ms(timestamp) FROM metrics WHERE metric_id = 'disk'"
                    + " ORDER BY timestamp")) {
      List<Long> times = new ArrayList<>();
      while (rs.next()) {
        times.add(rs.getLong(1));
      }
      assertEquals(
          List.of(T0.toEpochMilli(), T0.toEpochMilli() + 1000, T0.toEpochMilli() + 2000), times);
    }
  }

  @Test
  void executeUpdate_createTableAndInsert_returnsRowCounts() throws Exception {
    try (Statement st = connection.createStatement()) {
      st.executeUpdate("CREATE TABLE notes (id BIGINT, body VARCHAR)");
      assertEquals(2, st.executeUpdate("INSERT INTO notes VALUES (1, 'a'), (2, 'b')"));
      assertEquals(1, st.executeUpdate("DELETE FROM notes WHERE id = 1"));
      try (ResultSet rs = st.executeQuery("SELECT body FROM notes")) {
        assertTrue(rs.next());
        assertEquals("b", rs.getString(1));
        assertFalse(rs.next());
      }
    }
  }

  @Test
  void preparedUpdate_withParameters_changesMatchingRows() throws Exception {
    try (Statement st = connection.createStatement()) {
      st.executeUpdate("CREATE TABLE notes (id BIGINT, body VARCHAR)");
      st.executeUpdate("INSERT INTO notes VALUES (1, 'a'), (2, 'b')");
    }
    try (PreparedStatement ps =
        connection.prepareStatement("UPDATE notes SET body = ? WHERE id = ?")) {
      ps.setString(1, "z");
      ps.setLong(2, 2);
      assertEquals(1, ps.executeUpdate());
    }
    try (Statement st = connection.createStatement();
        ResultSet rs = st.executeQuery("SELECT body FROM notes ORDER BY id")) {
      List<String> bodies = new ArrayList<>();
      while (rs.next()) {
        bodies.add(rs.getString(1));
      }
      assertEquals(List.of("a", "z"), bodies);
    }
  }

  @Test
  void metadata_everyCall_answersWithoutError() throws Exception {
    ingestMetrics(new String[] {"cpu"}, new Instant[] {T0}, new double[] {1});
    DatabaseMetaData md = connection.getMetaData();
    assertEquals("Hyprstream", md.getDatabaseProductName());
    assertEquals("\"", md.getIdentifierQuoteString());

    List<String> tables = new ArrayList<>();
    List<String> types = new ArrayList<>();
    try (ResultSet rs = md.getTables(null, null, "metrics%", null)) {
      while (rs.next()) {
        tables.add(rs.getString("TABLE_NAME"));
        types.add(rs.getString("TABLE_TYPE"));
      }
    }
    assertTrue(tables.contains("metrics"), tables.toString());
    assertTrue(tables.contains("metrics_1h"), tables.toString());
    assertEquals("TABLE", types.get(tables.indexOf("metrics")));
    assertEquals("VIEW", types.get(tables.indexOf("metrics_1h")));

    List<String> columns = new ArrayList<>();
    try (ResultSet rs = md.getColumns(null, null, "metrics", null)) {
      while (rs.next()) {
        columns.add(rs.getString("COLUMN_NAME"));
      }
    }
    assertEquals(
        List.of(
            "metric_id",
            "timestamp",
            "value",
            "value_running_window_sum",
            "value_running_window_avg",
            "value_running_window_count"),
        columns);

    try (ResultSet rs = md.getSchemas()) {
      assertTrue(rs.next());
      assertEquals("main", rs.getString("TABLE_SCHEM"));
    }
    try (ResultSet rs = md.getCatalogs()) {
      assertTrue(rs.next());
      assertEquals("memory", rs.getString("TABLE_CAT"));
      assertFalse(rs.next());
    }
    List<String> tableTypes = new ArrayList<>();
    try (ResultSet rs = md.getTableTypes()) {
      while (rs.next()) {
        tableTypes.add(rs.getString(1));
      }
    }
    assertEquals(List.of("SYSTEM TABLE", "TABLE", "VIEW"), tableTypes);
    try (ResultSet rs = md.getPrimaryKeys(null, null, "metrics")) {
      assertFalse(rs.next());
    }
    try (ResultSet rs = md.getImportedKeys(null, null, "metrics")) {
      assertFalse(rs.next());
    }
    try (ResultSet rs = md.getExportedKeys(null, null, "metrics")) {
      assertFalse(rs.next());
    }
    try (ResultSet rs = md.getCrossReference(null, null, "metrics", null, null, "metrics_1h")) {
      assertFalse(rs.next());
    }
    // The 18.3 driver answers getTypeInfo itself (empty); GetXdbcTypeInfo is checked over Flight.
    try (ResultSet rs = md.getTypeInfo()) {
      rs.next();
    }
  }

  /**
   * Tools such as DBeaver call most of DatabaseMetaData on connect; the driver answers them from
   * GetSqlInfo and fails with NullPointerException on any info code the server leaves out.
   */
  @Test
  void databaseMetaData_everyNoArgumentMethod_answers() throws Exception {
    DatabaseMetaData md = connection.getMetaData();
    List<String> failed = new ArrayList<>();
    for (Method m : DatabaseMetaData.class.getMethods()) {
      if (m.getParameterCount() != 0 || m.getName().equals("getConnection")) {
        continue;
      }
      try {
        Object result = m.invoke(md);
        if (result instanceof ResultSet) {
          ((ResultSet) result).close();
        }
      } catch (InvocationTargetException e) {
        failed.add(m.getName() + ": " + e.getCause());
      }
    }
    assertEquals(List.of(), failed);
    assertTrue(md.supportsGroupBy());
    assertTrue(md.supportsUnionAll());
    assertFalse(md.supportsTransactions());
    assertTrue(md.supportsConvert(Types.INTEGER, Types.VARCHAR));
  }

  @Test
  void executeQuery_badSql_failsAndServerKeepsServing() throws Exception {
    try (Statement st = connection.createStatement()) {
      SQLException e = assertThrows(SQLException.class, () -> st.executeQuery("SELEC 1"));
      assertTrue(String.valueOf(e.getMessage()).toLowerCase().contains("syntax"), e.getMessage());
      try (ResultSet rs = st.executeQuery("SELECT 1")) {
        assertTrue(rs.next());
      }
    }
  }

  @Test
  void reusedStatement_manyQueries_doNotPileUpHandles() throws Exception {
    try (TestServer small = new TestServer(4);
        Connection c = FlightJdbc.connect(small.jdbcUrl());
        Statement st = c.createStatement()) {
      for (int i = 0; i < 20; i++) {
        try (ResultSet rs = st.executeQuery("SELECT " + i)) {
          assertTrue(rs.next());
        }
      }
      assertTrue(
          small.server.producer().preparedStatementCount() <= 4,
          "held " + small.server.producer().preparedStatementCount());
    }
  }

  private static List<Double> doubles(ResultSet rs) throws SQLException {
    List<Double> out = new ArrayList<>();
    try (rs) {
      while (rs.next()) {
        out.add(rs.getDouble(1));
      }
    }
    return out;
  }
}
