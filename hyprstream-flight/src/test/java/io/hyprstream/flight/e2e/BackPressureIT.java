package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import io.hyprstream.testing.TcpProxy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.flight.AsyncPutListener;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.Location;
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
 * PostgreSQL stalled (not refused: a proxy in this JVM holds every byte, connections stay open)
 * under the jar: ingest goes on past {@code --max-backlog-bytes} (the backlog spills to the
 * write-ahead log, visible in the status table and /metrics) until the log reaches {@code
 * --max-log-bytes}, where it is refused RESOURCE_EXHAUSTED naming {@code engine.max_log_bytes};
 * /ready turns 503 once the write-through lag passes {@code --max-lag}; resumed, /ready is 200
 * again and PostgreSQL holds every acknowledged row exactly once.
 */
final class BackPressureIT {
  private static final int BATCH = 300;
  private static final long MEMORY_BOUND = 64 << 10;
  private static final Schema SCHEMA =
      new Schema(
          List.of(
              Field.notNullable("metric_id", ArrowType.Utf8.INSTANCE),
              Field.notNullable("timestamp", new ArrowType.Timestamp(TimeUnit.MILLISECOND, null)),
              Field.nullable("value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));

  @TempDir Path dir;

  @Test
  void stalledBackend_spillsThenRefusesAtTheLogBound_readyTurns503_resumedLosesNothing()
      throws Exception {
    Instant now = Instant.now();
    List<MetricRows.Row> acked = new ArrayList<>();
    int seed = 0;
    try (PostgresDatabase pg = PostgresDatabase.create();
        TcpProxy proxy = new TcpProxy(5432);
        ServerProcess server =
            ServerProcess.start(
                "--engine",
                "adbc",
                "--engine-connection",
                "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + pg.name() + "?user=postgres",
                "--engine-options",
                "socket_timeout=5",
                "--max-lag",
                "3",
                "--max-backlog-bytes",
                String.valueOf(MEMORY_BOUND),
                "--max-log-bytes",
                String.valueOf(1 << 20),
                "--data-dir",
                dir + "/data");
        BufferAllocator allocator = new RootAllocator();
        FlightClient client =
            FlightClient.builder(allocator, Location.forGrpcInsecure("127.0.0.1", server.port()))
                .build()) {
      List<MetricRows.Row> rows = MetricRows.generate(BATCH, seed++, now);
      put(client, allocator, rows);
      acked.addAll(rows);
      pg.assertHoldsExactly(acked);
      assertEquals(200, ready(server).statusCode());

      proxy.stall();
      long stalledAt = System.nanoTime();
      FlightRuntimeException refused = null;
      int accepted = 0;
      for (int i = 0; i < 1000 && refused == null; i++) {
        rows = MetricRows.generate(BATCH, seed++, now);
        try {
          put(client, allocator, rows);
          acked.addAll(rows);
          accepted++;
        } catch (FlightRuntimeException e) {
          refused = e;
        }
      }
      assertNotNull(refused, "ingest must be refused once the 1 MiB log is full");
      assertEquals(FlightStatusCode.RESOURCE_EXHAUSTED, refused.status().code(), "" + refused);
      assertTrue(refused.getMessage().contains("engine.max_log_bytes"), refused.getMessage());

      // The status table answers while PostgreSQL is stalled, over JDBC, and shows the spill.
      long asked = System.nanoTime();
      try (Connection flight = FlightJdbc.connect(server.jdbcUrl());
          Statement st = flight.createStatement();
          ResultSet rs =
              st.executeQuery(
                  "SELECT backlog_rows, backlog_bytes, spilled_batches, spilled_bytes, held_bytes,"
                      + " backlog_batches FROM hyprstream_backend_status")) {
        assertTrue(rs.next());
        assertEquals((long) accepted * BATCH, rs.getLong(1), "every batch since the stall waits");
        assertTrue(
            rs.getLong(2) > 4 * MEMORY_BOUND,
            "ingest went on far past the memory bound: " + rs.getLong(2) + " bytes waiting");
        assertTrue(rs.getLong(3) > 0, "batches spilled");
        assertEquals(rs.getLong(2), rs.getLong(4) + rs.getLong(5), "each held or spilled");
        assertTrue(rs.getLong(5) <= MEMORY_BOUND, "held in memory: " + rs.getLong(5) + " bytes");
        assertEquals(accepted, rs.getLong(6));
      }
      assertTrue(
          System.nanoTime() - asked < Duration.ofSeconds(5).toNanos(),
          "the status table must not wait for the stalled backend");
      String metrics = get(server, "/metrics").body();
      assertTrue(
          metricValue(metrics, "hyprstream_writethrough_backlog_spilled_batches") > 0, metrics);

      HttpResponse<String> r = ready(server);
      while (r.statusCode() == 200) {
        assertTrue(
            System.nanoTime() - stalledAt < Duration.ofSeconds(30).toNanos(),
            "/ready stayed 200 with PostgreSQL stalled:\n" + server.log());
        Thread.sleep(200);
        r = ready(server);
      }
      assertEquals(503, r.statusCode(), r.body());
      assertTrue(r.body().contains("engine.max_lag"), r.body());
      try (Connection flight = FlightJdbc.connect(server.jdbcUrl());
          Statement st = flight.createStatement();
          ResultSet rs =
              st.executeQuery("SELECT lag_ms, max_lag_ms FROM hyprstream_backend_status")) {
        assertTrue(rs.next());
        assertTrue(rs.getLong(1) > rs.getLong(2), "lag over the bound");
        assertEquals(3000, rs.getLong(2));
      }

      proxy.resume();
      long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
      while ((r = ready(server)).statusCode() != 200) {
        assertTrue(System.nanoTime() < deadline, "/ready stayed 503: " + r.body());
        Thread.sleep(200);
      }
      // Accepted again once the drained log's segments are free: when a window snapshot covers
      // them, which the snapshotter takes within seconds while the log is over half its bound.
      rows = MetricRows.generate(BATCH, seed++, now);
      long acceptBy = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (true) {
        try {
          put(client, allocator, rows);
          break;
        } catch (FlightRuntimeException e) {
          assertEquals(FlightStatusCode.RESOURCE_EXHAUSTED, e.status().code(), "" + e);
          assertTrue(System.nanoTime() < acceptBy, "the drained log still refuses: " + e);
          Thread.sleep(200);
        }
      }
      acked.addAll(rows);
      pg.assertHoldsExactly(acked);
      assertEquals(0, server.terminate(), server.log());
    }
  }

  /** The value of the unlabelled sample {@code name} in a Prometheus text exposition. */
  private static double metricValue(String exposition, String name) {
    for (String line : exposition.split("\n")) {
      if (line.startsWith(name + " ")) {
        return Double.parseDouble(line.substring(name.length() + 1).trim());
      }
    }
    throw new AssertionError(name + " is not in /metrics:\n" + exposition);
  }

  private static HttpResponse<String> get(ServerProcess server, String path) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create(server.httpUrl(path))).build(),
            HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
  }

  private static HttpResponse<String> ready(ServerProcess server) throws Exception {
    return get(server, "/ready");
  }

  /** One Flight DoPut of {@code rows} into metrics; throws the server's refusal. */
  private static void put(FlightClient client, BufferAllocator allocator, List<MetricRows.Row> rows)
      throws Exception {
    try (VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator)) {
      root.allocateNew();
      for (int i = 0; i < rows.size(); i++) {
        ((VarCharVector) root.getVector(0))
            .setSafe(i, rows.get(i).metricId().getBytes(StandardCharsets.UTF_8));
        ((TimeStampMilliVector) root.getVector(1)).setSafe(i, rows.get(i).epochMillis());
        ((Float8Vector) root.getVector(2)).setSafe(i, rows.get(i).value());
      }
      root.setRowCount(rows.size());
      FlightClient.ClientStreamListener l =
          client.startPut(FlightDescriptor.path("metrics"), root, new AsyncPutListener());
      l.putNext();
      l.completed();
      l.getResult();
    }
  }
}
