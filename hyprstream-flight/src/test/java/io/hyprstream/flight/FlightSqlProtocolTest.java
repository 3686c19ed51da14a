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
import org.apache.arrow.flight.AsyncPutListener;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.Criteria;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.apache.arrow.flight.sql.FlightSqlClient.ExecuteIngestOptions;
import org.apache.arrow.flight.sql.FlightSqlClient.PreparedStatement;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest.TableDefinitionOptions;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest.TableDefinitionOptions.TableExistsOption;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest.TableDefinitionOptions.TableNotExistOption;
import org.apache.arrow.flight.sql.impl.FlightSql.SqlInfo;
import org.apache.arrow.flight.sql.util.TableRef;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Flight SQL at the protocol level with Arrow Java's own client: bulk ingest, DoPut, streaming,
 * every metadata command, and the status codes of bad requests.
 */
final class FlightSqlProtocolTest {
  private static final Instant T0 =
      Instant.now().truncatedTo(ChronoUnit.HOURS).minus(3, ChronoUnit.HOURS);
  private static final Schema NOTES =
      new Schema(
          List.of(
              new Field("id", FieldType.nullable(new ArrowType.Int(64, true)), null),
              new Field("body", FieldType.nullable(ArrowType.Utf8.INSTANCE), null)));

  private TestServer server;
  private FlightClient flight;
  private FlightSqlClient client;

  @BeforeEach
  void setUp() {
    server = new TestServer();
    flight = FlightClient.builder(server.allocator, server.location()).build();
    client = new FlightSqlClient(flight);
  }

  @AfterEach
  void tearDown() throws Exception {
    client.close();
    server.close();
  }

  private VectorSchemaRoot notes(long... ids) {
    VectorSchemaRoot root = VectorSchemaRoot.create(NOTES, server.allocator);
    root.allocateNew();
    for (int i = 0; i < ids.length; i++) {
      ((BigIntVector) root.getVector(0)).setSafe(i, ids[i]);
      ((VarCharVector) root.getVector(1))
          .setSafe(i, ("note " + ids[i]).getBytes(StandardCharsets.UTF_8));
    }
    root.setRowCount(ids.length);
    return root;
  }

  private static ExecuteIngestOptions ingest(
      String table, TableNotExistOption ifNotExist, TableExistsOption ifExists) {
    return new ExecuteIngestOptions(
        table,
        TableDefinitionOptions.newBuilder().setIfNotExist(ifNotExist).setIfExists(ifExists).build(),
        null,
        null,
        Map.of());
  }

  /** Every row of {@code info} as tab-separated text lines. */
  private List<String> rows(FlightInfo info) throws Exception {
    return rows(client, info);
  }

  private static List<String> rows(FlightSqlClient client, FlightInfo info) throws Exception {
    List<String> out = new ArrayList<>();
    try (FlightStream stream = client.getStream(info.getEndpoints().get(0).getTicket())) {
      while (stream.next()) {
        VectorSchemaRoot root = stream.getRoot();
        for (int r = 0; r < root.getRowCount(); r++) {
          StringBuilder line = new StringBuilder();
          for (int c = 0; c < root.getFieldVectors().size(); c++) {
            if (c > 0) {
              line.append('\t');
            }
            line.append(root.getVector(c).getObject(r));
          }
          out.add(line.toString());
        }
      }
    }
    return out;
  }

  private List<String> query(String sql) throws Exception {
    return rows(client.execute(sql));
  }

  private static FlightStatusCode code(Runnable call) {
    return assertThrows(FlightRuntimeException.class, call::run).status().code();
  }

  @Test
  void executeIngest_createThenAppend_storesEveryRow() throws Exception {
    try (VectorSchemaRoot batch = notes(1, 2)) {
      assertEquals(
          2,
          client.executeIngest(
              batch,
              ingest(
                  "notes",
                  TableNotExistOption.TABLE_NOT_EXIST_OPTION_CREATE,
                  TableExistsOption.TABLE_EXISTS_OPTION_FAIL)));
    }
    try (VectorSchemaRoot batch = notes(3)) {
      // Naming the one catalog and schema explicitly is fine.
      ExecuteIngestOptions qualified =
          new ExecuteIngestOptions(
              "notes",
              TableDefinitionOptions.newBuilder()
                  .setIfNotExist(TableNotExistOption.TABLE_NOT_EXIST_OPTION_FAIL)
                  .setIfExists(TableExistsOption.TABLE_EXISTS_OPTION_APPEND)
                  .build(),
              "memory",
              "main",
              Map.of());
      assertEquals(1, client.executeIngest(batch, qualified));
    }
    assertEquals(
        List.of("1\tnote 1", "2\tnote 2", "3\tnote 3"),
        query("SELECT id, body FROM notes ORDER BY id"));
  }

  @Test
  void executeIngest_replace_keepsOnlyTheNewRows() throws Exception {
    try (VectorSchemaRoot batch = notes(1, 2)) {
      client.executeIngest(
          batch,
          ingest(
              "notes",
              TableNotExistOption.TABLE_NOT_EXIST_OPTION_CREATE,
              TableExistsOption.TABLE_EXISTS_OPTION_FAIL));
    }
    try (VectorSchemaRoot batch = notes(7)) {
      client.executeIngest(
          batch,
          ingest(
              "notes",
              TableNotExistOption.TABLE_NOT_EXIST_OPTION_FAIL,
              TableExistsOption.TABLE_EXISTS_OPTION_REPLACE));
    }
    assertEquals(List.of("7\tnote 7"), query("SELECT id, body FROM notes"));
  }

  @Test
  void executeIngest_metricsWithTimestampsInMillis_updatesWindows() throws Exception {
    try (VectorSchemaRoot batch =
        TestServer.metrics(
            server.allocator,
            new String[] {"cpu", "cpu"},
            new Instant[] {T0, T0.plusSeconds(1)},
            new double[] {2, 4})) {
      client.executeIngest(
          batch,
          ingest(
              "metrics",
              TableNotExistOption.TABLE_NOT_EXIST_OPTION_FAIL,
              TableExistsOption.TABLE_EXISTS_OPTION_APPEND));
    }
    // Read-your-writes: visible as soon as the ingest call returned.
    assertEquals(
        List.of("2\t3.0"),
        query("SELECT value_count, value_avg FROM metrics_5m WHERE metric_id = 'cpu'"));
  }

  @Test
  void executeIngest_narrowerIntegers_areWidenedToTheTableType() throws Exception {
    try (VectorSchemaRoot batch = notes(1)) {
      client.executeIngest(
          batch,
          ingest(
              "notes",
              TableNotExistOption.TABLE_NOT_EXIST_OPTION_CREATE,
              TableExistsOption.TABLE_EXISTS_OPTION_FAIL));
    }
    Schema narrow =
        new Schema(
            List.of(
                new Field("id", FieldType.nullable(new ArrowType.Int(16, true)), null),
                NOTES.getFields().get(1)));
    try (VectorSchemaRoot batch = VectorSchemaRoot.create(narrow, server.allocator)) {
      batch.allocateNew();
      ((org.apache.arrow.vector.SmallIntVector) batch.getVector(0)).setSafe(0, 2);
      batch.getVector(1).setNull(0);
      batch.setRowCount(1);
      client.executeIngest(
          batch,
          ingest(
              "notes",
              TableNotExistOption.TABLE_NOT_EXIST_OPTION_FAIL,
              TableExistsOption.TABLE_EXISTS_OPTION_APPEND));
    }
    assertEquals(List.of("1\tnote 1", "2\tnull"), query("SELECT id, body FROM notes ORDER BY id"));
  }

  @Test
  void executeIngest_unsupportedOptions_areInvalidArgumentAndStoreNothing() {
    TableDefinitionOptions create =
        TableDefinitionOptions.newBuilder()
            .setIfNotExist(TableNotExistOption.TABLE_NOT_EXIST_OPTION_CREATE)
            .setIfExists(TableExistsOption.TABLE_EXISTS_OPTION_APPEND)
            .build();
    List<ExecuteIngestOptions> bad =
        List.of(
            new ExecuteIngestOptions("notes", create, true, null, null, Map.of()),
            new ExecuteIngestOptions("notes", create, null, "other", Map.of()),
            new ExecuteIngestOptions("notes", create, null, null, Map.of("compression", "zstd")),
            new ExecuteIngestOptions(
                "notes", TableDefinitionOptions.getDefaultInstance(), null, null, Map.of()));
    for (ExecuteIngestOptions options : bad) {
      try (VectorSchemaRoot batch = notes(1)) {
        assertEquals(
            FlightStatusCode.INVALID_ARGUMENT, code(() -> client.executeIngest(batch, options)));
      }
    }
    try (VectorSchemaRoot batch = notes(1)) {
      ExecuteIngestOptions append = new ExecuteIngestOptions("notes", create, null, null, Map.of());
      FlightSqlClient.Transaction tx =
          new FlightSqlClient.Transaction("tx".getBytes(StandardCharsets.UTF_8));
      assertEquals(
          FlightStatusCode.INVALID_ARGUMENT, code(() -> client.executeIngest(batch, append, tx)));
    }
    assertEquals(null, server.hyprstream.tableSchema("notes"));
  }

  @Test
  void executeIngest_missingTableWithFail_isNotFound() {
    try (VectorSchemaRoot batch = notes(1)) {
      assertEquals(
          FlightStatusCode.NOT_FOUND,
          code(
              () ->
                  client.executeIngest(
                      batch,
                      ingest(
                          "nope",
                          TableNotExistOption.TABLE_NOT_EXIST_OPTION_FAIL,
                          TableExistsOption.TABLE_EXISTS_OPTION_APPEND))));
    }
  }

  @Test
  void executeIngest_existingTableWithFail_isAlreadyExists() {
    try (VectorSchemaRoot batch = notes(1)) {
      assertEquals(
          FlightStatusCode.ALREADY_EXISTS,
          code(
              () ->
                  client.executeIngest(
                      batch,
                      ingest(
                          "metrics",
                          TableNotExistOption.TABLE_NOT_EXIST_OPTION_CREATE,
                          TableExistsOption.TABLE_EXISTS_OPTION_FAIL))));
    }
  }

  @Test
  void executeIngest_wrongColumnType_isInvalidArgumentNamingColumnAndStoresNothing()
      throws Exception {
    Schema wrong =
        new Schema(
            List.of(
                new Field("metric_id", FieldType.notNullable(new ArrowType.Int(64, true)), null),
                TestServer.METRICS_BATCH.getFields().get(1),
                TestServer.METRICS_BATCH.getFields().get(2)));
    try (VectorSchemaRoot batch = VectorSchemaRoot.create(wrong, server.allocator)) {
      batch.allocateNew();
      ((BigIntVector) batch.getVector(0)).setSafe(0, 1);
      ((org.apache.arrow.vector.TimeStampMilliVector) batch.getVector(1))
          .setSafe(0, T0.toEpochMilli());
      ((org.apache.arrow.vector.Float8Vector) batch.getVector(2)).setSafe(0, 1.0);
      batch.setRowCount(1);
      FlightRuntimeException e =
          assertThrows(
              FlightRuntimeException.class,
              () ->
                  client.executeIngest(
                      batch,
                      ingest(
                          "metrics",
                          TableNotExistOption.TABLE_NOT_EXIST_OPTION_FAIL,
                          TableExistsOption.TABLE_EXISTS_OPTION_APPEND)));
      assertEquals(FlightStatusCode.INVALID_ARGUMENT, e.status().code());
      assertTrue(String.valueOf(e.getMessage()).contains("metric_id"), e.getMessage());
    }
    assertEquals(List.of("0"), query("SELECT count(*) FROM metrics"));
  }

  @Test
  void doPut_pathDescriptor_ingestsIntoTheTable() throws Exception {
    try (VectorSchemaRoot batch = notes(1, 2, 3)) {
      FlightClient.ClientStreamListener put =
          flight.startPut(FlightDescriptor.path("notes"), batch, new AsyncPutListener());
      put.putNext();
      put.completed();
      put.getResult();
    }
    assertEquals(List.of("3"), query("SELECT count(*) FROM notes"));
  }

  @Test
  void doPut_streamLongerThanOneChunk_storesEveryRow() throws Exception {
    Schema ids =
        new Schema(List.of(new Field("id", FieldType.nullable(new ArrowType.Int(64, true)), null)));
    int batches = 17; // 17 x 64 Ki rows: more than one 1 Mi-row ingest chunk
    int rows = 64 * 1024;
    try (VectorSchemaRoot batch = VectorSchemaRoot.create(ids, server.allocator)) {
      FlightClient.ClientStreamListener put =
          flight.startPut(FlightDescriptor.path("ids"), batch, new AsyncPutListener());
      for (int b = 0; b < batches; b++) {
        batch.allocateNew(); // putNext sends asynchronously: fresh buffers for every batch
        BigIntVector v = (BigIntVector) batch.getVector(0);
        for (int i = 0; i < rows; i++) {
          v.setSafe(i, (long) b * rows + i);
        }
        batch.setRowCount(rows);
        put.putNext();
      }
      put.completed();
      put.getResult();
    }
    long n = (long) batches * rows;
    assertEquals(
        List.of(n + "\t" + (n - 1) * n / 2), query("SELECT count(*), sum(id)::BIGINT FROM ids"));
  }

  @Test
  void doPut_intoWindowView_isInvalidArgument() {
    try (VectorSchemaRoot batch = notes(1)) {
      FlightClient.ClientStreamListener put =
          flight.startPut(FlightDescriptor.path("metrics_1h"), batch, new AsyncPutListener());
      put.putNext();
      put.completed();
      assertEquals(FlightStatusCode.INVALID_ARGUMENT, code(put::getResult));
    }
  }

  @Test
  void listFlights_tables_eachReadableByItsTicket() throws Exception {
    List<String> names = new ArrayList<>();
    @Nullable FlightInfo metrics = null;
    for (FlightInfo info : flight.listFlights(Criteria.ALL)) {
      names.add(info.getDescriptor().getPath().get(0));
      if (info.getDescriptor().getPath().get(0).equals("metrics")) {
        metrics = info;
      }
    }
    assertTrue(names.containsAll(List.of("metrics", "metrics_5m", "metrics_1w")), names.toString());
    assertEquals(List.of(), rows(java.util.Objects.requireNonNull(metrics)));
    FlightInfo byPath = flight.getInfo(FlightDescriptor.path("metrics_1h"));
    assertEquals("window_start", byPath.getSchema().getFields().get(1).getName());
    assertEquals(
        FlightStatusCode.NOT_FOUND, code(() -> flight.getInfo(FlightDescriptor.path("nope"))));
  }

  @Test
  void execute_largeResult_streamsInSeveralBatches() throws Exception {
    FlightInfo info = client.execute("SELECT range AS n FROM range(300000)");
    long rows = 0;
    int batches = 0;
    try (FlightStream stream = client.getStream(info.getEndpoints().get(0).getTicket())) {
      while (stream.next()) {
        rows += stream.getRoot().getRowCount();
        batches++;
      }
    }
    assertEquals(300_000, rows);
    assertTrue(batches > 1, "batches: " + batches);
  }

  @Test
  void preparedStatement_parametersBoundAsBatch_runOncePerRow() throws Exception {
    try (VectorSchemaRoot batch = notes(1, 2, 3)) {
      client.executeIngest(
          batch,
          ingest(
              "notes",
              TableNotExistOption.TABLE_NOT_EXIST_OPTION_CREATE,
              TableExistsOption.TABLE_EXISTS_OPTION_FAIL));
    }
    try (PreparedStatement ps = client.prepare("SELECT body FROM notes WHERE id = ?")) {
      assertEquals(
          List.of(new Field("p1", FieldType.nullable(new ArrowType.Int(64, true)), null)),
          ps.getParameterSchema().getFields());
      assertEquals("body", ps.getResultSetSchema().getFields().get(0).getName());
      Schema params = ps.getParameterSchema();
      try (VectorSchemaRoot p = VectorSchemaRoot.create(params, server.allocator)) {
        p.allocateNew();
        ((BigIntVector) p.getVector(0)).setSafe(0, 3);
        ((BigIntVector) p.getVector(0)).setSafe(1, 1);
        p.setRowCount(2);
        ps.setParameters(p);
        assertEquals(List.of("note 3", "note 1"), rows(ps.execute()));
      }
    }
  }

  @Test
  void preparedInsertWithoutColumnList_boundBatch_isIngestedByFieldName() throws Exception {
    try (PreparedStatement ps = client.prepare("INSERT INTO metrics VALUES (?, ?, ?)");
        VectorSchemaRoot batch =
            TestServer.metrics(
                server.allocator,
                new String[] {"a", "b", "a"},
                new Instant[] {T0, T0, T0.plusSeconds(5)},
                new double[] {1, 2, 3})) {
      ps.setParameters(batch);
      assertEquals(3, ps.executeUpdate());
    }
    assertEquals(
        List.of("a\t2\t4.0", "b\t1\t2.0"),
        query("SELECT metric_id, value_count, value_sum FROM metrics_1h ORDER BY metric_id"));
  }

  @Test
  void preparedStatement_evictedByTheBound_isNotFound() throws Exception {
    try (TestServer small = new TestServer(1);
        FlightSqlClient c =
            new FlightSqlClient(FlightClient.builder(small.allocator, small.location()).build());
        PreparedStatement first = c.prepare("SELECT 1");
        PreparedStatement second = c.prepare("SELECT 2")) {
      assertEquals(1, small.server.producer().preparedStatementCount());
      assertEquals(FlightStatusCode.NOT_FOUND, code(first::execute));
      assertEquals(List.of("2"), rows(c, second.execute()));
    }
  }

  @Test
  void errors_badSqlOrUnknownTable_mapToInvalidArgumentAndNotFound() {
    assertEquals(FlightStatusCode.INVALID_ARGUMENT, code(() -> client.execute("SELEC 1")));
    assertEquals(FlightStatusCode.NOT_FOUND, code(() -> client.execute("SELECT * FROM nope")));
    assertEquals(
        FlightStatusCode.INVALID_ARGUMENT,
        code(() -> client.executeUpdate("DELETE FROM metrics_1h")));
  }

  /**
   * A result far larger than gRPC's outbound buffer streams to the end: the producer waits for the
   * client on its own thread, not on the gRPC thread that delivers the "ready" signal.
   */
  @Test
  void largeResult_streamsToTheEndWithBackpressure() throws Exception {
    FlightInfo info = client.execute("SELECT range AS n FROM range(3000000)");
    long rows = 0;
    long sum = 0;
    try (FlightStream stream = client.getStream(info.getEndpoints().get(0).getTicket())) {
      while (stream.next()) {
        BigIntVector n = (BigIntVector) stream.getRoot().getVector(0);
        for (int i = 0; i < n.getValueCount(); i++) {
          sum += n.get(i);
        }
        rows += stream.getRoot().getRowCount();
        Thread.sleep(rows < 200_000 ? 5 : 0); // a slow reader at first: the server must wait
      }
    }
    assertEquals(3_000_000, rows);
    assertEquals(3_000_000L * 2_999_999L / 2, sum);
  }

  @Test
  void metadata_catalogsSchemasTablesAndTypes_followTheFilters() throws Exception {
    assertEquals(List.of("memory"), rows(client.getCatalogs()));
    assertEquals(List.of("memory\tmain"), rows(client.getSchemas(null, null)));
    assertEquals(List.of(), rows(client.getSchemas(null, "other%")));
    assertEquals(List.of("SYSTEM TABLE", "TABLE", "VIEW"), rows(client.getTableTypes()));
    assertEquals(
        List.of(
            "memory\tmain\tmetrics_1d\tVIEW",
            "memory\tmain\tmetrics_1h\tVIEW",
            "memory\tmain\tmetrics_1w\tVIEW"),
        rows(client.getTables(null, null, "metrics_1_", List.of("VIEW"), false)));
    assertEquals(
        List.of("memory\tmain\tmetrics\tTABLE"),
        rows(client.getTables(null, "main", "%", List.of("TABLE"), false)));
    assertEquals(List.of(), rows(client.getTables("somecatalog", null, null, null, false)));
    assertEquals(7, rows(client.getTables("memory", null, null, null, false)).size());

    FlightInfo withSchema = client.getTables(null, null, "metrics", null, true);
    try (FlightStream stream = client.getStream(withSchema.getEndpoints().get(0).getTicket())) {
      stream.next();
      byte[] bytes = (byte[]) stream.getRoot().getVector("table_schema").getObject(0);
      Schema schema = Schema.deserializeMessage(java.nio.ByteBuffer.wrap(bytes));
      assertEquals("metric_id", schema.getFields().get(0).getName());
    }
  }

  @Test
  void metadata_keysAreEmptyButValid() throws Exception {
    TableRef metrics = TableRef.of(null, null, "metrics");
    assertEquals(List.of(), rows(client.getPrimaryKeys(metrics)));
    assertEquals(List.of(), rows(client.getExportedKeys(metrics)));
    assertEquals(List.of(), rows(client.getImportedKeys(metrics)));
    assertEquals(
        List.of(), rows(client.getCrossReference(metrics, TableRef.of(null, null, "metrics_1h"))));
  }

  @Test
  void metadata_sqlInfoAndTypeInfo_describeTheServer() throws Exception {
    List<String> info =
        rows(
            client.getSqlInfo(
                SqlInfo.FLIGHT_SQL_SERVER_NAME,
                SqlInfo.FLIGHT_SQL_SERVER_READ_ONLY,
                SqlInfo.FLIGHT_SQL_SERVER_BULK_INGESTION));
    assertEquals(3, info.size(), info.toString());
    assertTrue(info.get(0).endsWith("Hyprstream"), info.toString());
    assertTrue(info.get(1).endsWith("false"), info.toString());
    assertTrue(info.get(2).endsWith("true"), info.toString());

    List<String> types = rows(client.getXdbcTypeInfo());
    assertTrue(types.stream().anyMatch(t -> t.startsWith("BIGINT\t")), types.toString());
    assertTrue(types.stream().anyMatch(t -> t.startsWith("TIMESTAMP\t")), types.toString());
    List<String> varchar = rows(client.getXdbcTypeInfo(java.sql.Types.VARCHAR));
    assertEquals(1, varchar.size());
    assertTrue(varchar.get(0).startsWith("VARCHAR\t"));
  }

  @Test
  void getSchema_statement_matchesTheResult() {
    Schema schema = client.getExecuteSchema("SELECT 1::BIGINT AS one").getSchema();
    assertEquals("one", schema.getFields().get(0).getName());
    assertEquals(
        CallStatus.NOT_FOUND.code(), code(() -> client.getExecuteSchema("SELECT * FROM nowhere")));
    assertEquals(
        CallStatus.INVALID_ARGUMENT.code(),
        code(() -> client.getExecuteSchema("SELECT no_such_column FROM metrics")));
  }
}
