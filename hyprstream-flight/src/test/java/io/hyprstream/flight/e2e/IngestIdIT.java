package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.arrow.flight.AsyncPutListener;
import org.apache.arrow.flight.CallOption;
import org.apache.arrow.flight.FlightCallHeaders;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.HeaderCallOption;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.apache.arrow.flight.sql.FlightSqlClient.ExecuteIngestOptions;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest.TableDefinitionOptions;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest.TableDefinitionOptions.TableExistsOption;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest.TableDefinitionOptions.TableNotExistOption;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMilliVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code hyprstream-ingest-id} call header through the jar, with PostgreSQL as the backend: a
 * plain Flight DoPut and a Flight SQL bulk ingest each sent twice with one id (a client retrying
 * after a lost acknowledgement) store their rows once, in the cache, the windows and PostgreSQL;
 * sent twice without the header, twice. An overlong id is refused naming the header.
 */
final class IngestIdIT {
  private static final String HEADER = "hyprstream-ingest-id";
  private static final Schema SCHEMA =
      new Schema(
          List.of(
              Field.notNullable("metric_id", ArrowType.Utf8.INSTANCE),
              Field.notNullable("timestamp", new ArrowType.Timestamp(TimeUnit.MILLISECOND, null)),
              Field.nullable("value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));

  @TempDir Path dir;

  private static CallOption ingestId(String id) {
    FlightCallHeaders headers = new FlightCallHeaders();
    headers.insert(HEADER, id);
    return new HeaderCallOption(headers);
  }

  private static VectorSchemaRoot batch(BufferAllocator allocator, List<MetricRows.Row> rows) {
    VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator);
    root.allocateNew();
    for (int i = 0; i < rows.size(); i++) {
      ((VarCharVector) root.getVector(0))
          .setSafe(i, rows.get(i).metricId().getBytes(StandardCharsets.UTF_8));
      ((TimeStampMilliVector) root.getVector(1)).setSafe(i, rows.get(i).epochMillis());
      ((Float8Vector) root.getVector(2)).setSafe(i, rows.get(i).value());
    }
    root.setRowCount(rows.size());
    return root;
  }

  /** One plain Flight DoPut of {@code rows} into metrics; throws the server's refusal. */
  private static void put(
      FlightClient client, BufferAllocator allocator, List<MetricRows.Row> rows, CallOption... o) {
    try (VectorSchemaRoot root = batch(allocator, rows)) {
      FlightClient.ClientStreamListener l =
          client.startPut(FlightDescriptor.path("metrics"), root, new AsyncPutListener(), o);
      l.putNext();
      l.completed();
      l.getResult();
    }
  }

  private static long bulkIngest(
      FlightSqlClient client, BufferAllocator allocator, List<MetricRows.Row> rows, CallOption o) {
    try (VectorSchemaRoot root = batch(allocator, rows)) {
      return client.executeIngest(
          root,
          new ExecuteIngestOptions(
              "metrics",
              TableDefinitionOptions.newBuilder()
                  .setIfNotExist(TableNotExistOption.TABLE_NOT_EXIST_OPTION_FAIL)
                  .setIfExists(TableExistsOption.TABLE_EXISTS_OPTION_APPEND)
                  .build(),
              null,
              null,
              Map.of()),
          o);
    }
  }

  /** The server's {@code count(*)} and {@code sum(value)} of metrics, over JDBC. */
  private static double[] countAndSum(Connection flight) throws Exception {
    try (Statement st = flight.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*), sum(value) FROM metrics")) {
      rs.next();
      return new double[] {rs.getLong(1), rs.getDouble(2)};
    }
  }

  private static void assertCountAndSum(
      Connection flight, List<MetricRows.Row> expected, String what) throws Exception {
    double[] actual = countAndSum(flight);
    double sum = expected.stream().mapToDouble(MetricRows.Row::value).sum();
    assertEquals(expected.size(), (long) actual[0], what + ": count(*)");
    assertEquals(sum, actual[1], 1e-6 * Math.max(1, Math.abs(sum)), what + ": sum(value)");
  }

  @Test
  void sameHeaderTwice_storesOnce_withoutItTwice() throws Exception {
    Instant now = Instant.now();
    List<MetricRows.Row> viaPut = MetricRows.generate(800, 71, now);
    List<MetricRows.Row> viaBulk = MetricRows.generate(600, 72, now);
    List<MetricRows.Row> noHeader = MetricRows.generate(400, 73, now);
    List<MetricRows.Row> acked = new ArrayList<>();
    try (PostgresDatabase pg = PostgresDatabase.create();
        ServerProcess server =
            ServerProcess.start(
                "--engine",
                "adbc",
                "--engine-connection",
                pg.jdbcUrl(),
                "--data-dir",
                dir + "/data");
        BufferAllocator allocator = new RootAllocator();
        FlightClient client =
            FlightClient.builder(allocator, Location.forGrpcInsecure("127.0.0.1", server.port()))
                .build();
        FlightSqlClient sql = new FlightSqlClient(client);
        Connection flight = FlightJdbc.connect(server.jdbcUrl())) {
      put(client, allocator, viaPut, ingestId("put-1"));
      put(client, allocator, viaPut, ingestId("put-1")); // the retry
      acked.addAll(viaPut);
      assertCountAndSum(flight, acked, "a DoPut sent twice with one id");

      assertEquals(600, bulkIngest(sql, allocator, viaBulk, ingestId("bulk-1")));
      assertEquals(
          0,
          bulkIngest(sql, allocator, viaBulk, ingestId("bulk-1")),
          "a repeated bulk ingest acknowledges no rows stored");
      acked.addAll(viaBulk);
      assertCountAndSum(flight, acked, "a bulk ingest sent twice with one id");

      put(client, allocator, noHeader);
      put(client, allocator, noHeader);
      acked.addAll(noHeader);
      acked.addAll(noHeader);
      assertCountAndSum(flight, acked, "a DoPut sent twice without the header");

      FlightRuntimeException overlong =
          assertThrows(
              FlightRuntimeException.class,
              () -> put(client, allocator, viaPut, ingestId("x".repeat(201))));
      assertEquals(FlightStatusCode.INVALID_ARGUMENT, overlong.status().code());
      assertTrue(overlong.getMessage().contains(HEADER), overlong.getMessage());
      assertTrue(overlong.getMessage().contains("200"), overlong.getMessage());

      MetricRows.assertWindowsMatchOracle(flight, acked);
      pg.assertHoldsExactly(acked);
    }
  }
}
