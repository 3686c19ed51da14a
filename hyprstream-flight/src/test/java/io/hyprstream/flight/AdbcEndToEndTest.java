package io.hyprstream.flight;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.arrow.adbc.core.AdbcConnection;
import org.apache.arrow.adbc.core.AdbcDatabase;
import org.apache.arrow.adbc.core.AdbcDriver;
import org.apache.arrow.adbc.core.AdbcException;
import org.apache.arrow.adbc.core.AdbcStatement;
import org.apache.arrow.adbc.core.AdbcStatusCode;
import org.apache.arrow.adbc.core.BulkIngestMode;
import org.apache.arrow.adbc.driver.flightsql.FlightSqlDriver;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The real ADBC Flight SQL driver (Java) against a real server. */
final class AdbcEndToEndTest {
  private static final Instant T0 =
      Instant.now().truncatedTo(ChronoUnit.HOURS).minus(3, ChronoUnit.HOURS);

  private TestServer server;
  private AdbcDatabase database;
  private AdbcConnection connection;

  @BeforeEach
  void setUp() throws Exception {
    server = new TestServer();
    database =
        new FlightSqlDriver(server.allocator)
            .open(
                Map.of(
                    AdbcDriver.PARAM_URI.getKey(), "grpc+tcp://127.0.0.1:" + server.server.port()));
    connection = database.connect();
  }

  @AfterEach
  void tearDown() throws Exception {
    connection.close();
    database.close();
    server.close();
  }

  private List<List<Object>> query(String sql) throws Exception {
    try (AdbcStatement st = connection.createStatement()) {
      st.setSqlQuery(sql);
      return read(st);
    }
  }

  private static List<List<Object>> read(AdbcStatement st) throws Exception {
    List<List<Object>> rows = new ArrayList<>();
    try (AdbcStatement.QueryResult result = st.executeQuery()) {
      ArrowReader reader = result.getReader();
      while (reader.loadNextBatch()) {
        VectorSchemaRoot root = reader.getVectorSchemaRoot();
        for (int r = 0; r < root.getRowCount(); r++) {
          List<Object> row = new ArrayList<>();
          for (int c = 0; c < root.getFieldVectors().size(); c++) {
            Object v = root.getVector(c).getObject(r);
            row.add(v == null ? "NULL" : v.toString());
          }
          rows.add(row);
        }
      }
    }
    return rows;
  }

  @Test
  void executeQuery_select_returnsRows() throws Exception {
    assertEquals(
        List.of(List.of("1", "a"), List.of("2", "b")),
        query("SELECT * FROM (VALUES (1, 'a'), (2, 'b')) t(n, s) ORDER BY n"));
  }

  @Test
  void bulkIngest_appendToMetrics_isOneIngestWithWindows() throws Exception {
    try (VectorSchemaRoot batch =
            TestServer.metrics(
                server.allocator,
                new String[] {"cpu", "cpu", "mem"},
                new Instant[] {T0, T0.plusSeconds(30), T0},
                new double[] {1, 5, 7});
        AdbcStatement st = connection.bulkIngest("metrics", BulkIngestMode.APPEND)) {
      st.bind(batch);
      assertEquals(3, st.executeUpdate().getAffectedRows());
    }
    assertEquals(
        List.of(List.of("cpu", "2", "6.0", "5.0"), List.of("mem", "1", "7.0", "7.0")),
        query(
            "SELECT metric_id, value_count, value_sum, value_max FROM metrics_5m"
                + " ORDER BY metric_id"));
    // The running columns were computed at ingest, per row.
    assertEquals(
        List.of(List.of("1.0", "1"), List.of("6.0", "2")),
        query(
            "SELECT value_running_window_sum, value_running_window_count FROM metrics"
                + " WHERE metric_id = 'cpu' ORDER BY timestamp"));
  }

  @Test
  void bulkIngest_appendToUnknownTable_isNotFoundAndCreatesNothing() throws Exception {
    try (VectorSchemaRoot batch =
            TestServer.metrics(
                server.allocator, new String[] {"x"}, new Instant[] {T0}, new double[] {1});
        AdbcStatement st = connection.bulkIngest("nowhere", BulkIngestMode.APPEND)) {
      st.bind(batch);
      AdbcException e = assertThrows(AdbcException.class, st::executeUpdate);
      assertEquals(AdbcStatusCode.NOT_FOUND, e.getStatus());
    }
    assertEquals(null, server.hyprstream.tableSchema("nowhere"));
  }

  @Test
  void preparedStatement_withBoundParameter_filtersRows() throws Exception {
    try (VectorSchemaRoot batch =
        TestServer.metrics(
            server.allocator,
            new String[] {"cpu", "mem"},
            new Instant[] {T0, T0},
            new double[] {1, 2})) {
      server.hyprstream.ingest("metrics", batch);
    }
    Schema params =
        new Schema(List.of(new Field("p1", FieldType.nullable(ArrowType.Utf8.INSTANCE), null)));
    try (AdbcStatement st = connection.createStatement();
        VectorSchemaRoot p = VectorSchemaRoot.create(params, server.allocator)) {
      st.setSqlQuery("SELECT value FROM metrics WHERE metric_id = ?");
      st.prepare();
      assertEquals("p1", st.getParameterSchema().getFields().get(0).getName());
      p.allocateNew();
      ((VarCharVector) p.getVector(0)).setSafe(0, "mem".getBytes(StandardCharsets.UTF_8));
      p.setRowCount(1);
      st.bind(p);
      assertEquals(List.of(List.of("2.0")), read(st));
    }
  }

  @Test
  void executeUpdate_ddlAndDml_returnsCounts() throws Exception {
    try (AdbcStatement st = connection.createStatement()) {
      st.setSqlQuery("CREATE TABLE notes (id BIGINT, body VARCHAR)");
      st.executeUpdate();
      st.setSqlQuery("INSERT INTO notes VALUES (1, 'a'), (2, 'b'), (3, 'c')");
      assertEquals(3, st.executeUpdate().getAffectedRows());
    }
  }

  @Test
  void executeQuery_badSql_isInvalidArgument() throws Exception {
    try (AdbcStatement st = connection.createStatement()) {
      st.setSqlQuery("SELEC 1");
      AdbcException e = assertThrows(AdbcException.class, st::executeQuery);
      assertEquals(AdbcStatusCode.INVALID_ARGUMENT, e.getStatus());
    }
  }

  @Test
  void getObjects_tablesDepth_listsTablesAndViews() throws Exception {
    List<String> tables = new ArrayList<>();
    try (ArrowReader objects =
        connection.getObjects(
            AdbcConnection.GetObjectsDepth.TABLES, null, null, "metrics%", null, null)) {
      while (objects.loadNextBatch()) {
        VectorSchemaRoot root = objects.getVectorSchemaRoot();
        for (int r = 0; r < root.getRowCount(); r++) {
          tables.add(String.valueOf(root.getVector("catalog_db_schemas").getObject(r)));
        }
      }
    }
    assertEquals(1, tables.size(), tables.toString());
    assertTrue(tables.get(0).contains("metrics_1h"), tables.get(0));

    // ADBC 0.20's Java getInfo() clears the server's answer before reading it (allocateNew on the
    // stream's root), so SqlInfo is checked with Arrow's client in FlightSqlProtocolTest.
  }
}
