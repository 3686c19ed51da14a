package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.util.AutoCloseables;
import org.junit.jupiter.api.Test;

/**
 * No client starves the others, against the jar: 16 Flight SQL clients that each read one batch of
 * a many-batch result and stop neither hold the query slots (16 by default) nor keep a 17th client
 * waiting, and lose their streams with CANCELLED once {@code --stream-idle-timeout} passes, giving
 * their memory back; a query asking for more memory than the server's ceiling is refused
 * RESOURCE_EXHAUSTED, and the server answers on with {@code metrics} intact.
 */
final class StarvationIT {
  /** Rows of {@code metrics}: {@code SELECT *} answers them in 16 batches of 64 Ki rows. */
  private static final int ROWS = 1 << 20;

  private static final int STALLED_READERS = 16;

  /** The bound the issue sets for the 17th client's queries (a correctness bound, not speed). */
  private static final Duration ANSWER_BOUND = Duration.ofSeconds(2);

  private static final int IDLE_SECONDS = 5;

  @Test
  void sixteenStalledReaders_keepNoOneOut_andLoseTheirStreamsAfterTheIdleLimit() throws Exception {
    List<MetricRows.Row> rows = MetricRows.generate(ROWS, 13, Instant.now());
    List<FlightSqlClient> readers = new ArrayList<>();
    List<FlightStream> stalled = new ArrayList<>();
    try (ServerProcess server =
            ServerProcess.start("--stream-idle-timeout", Integer.toString(IDLE_SECONDS));
        BufferAllocator allocator = new RootAllocator()) {
      MetricRows.ingestAdbc(server.grpcUri(), Map.of(), rows);
      double arrowAtRest = server.metric("hyprstream_arrow_allocated_bytes");
      double duckDbAtRest = server.metric("hyprstream_duckdb_memory_bytes");
      // The 17th client connects first: its driver's own start-up is not the server's answer.
      Connection other = FlightJdbc.connect(server.jdbcUrl());
      try {
        timedQuery(other, "SELECT 1", Duration.ofSeconds(60));
        for (int i = 0; i < STALLED_READERS; i++) {
          FlightSqlClient reader =
              new FlightSqlClient(
                  FlightClient.builder(
                          allocator, Location.forGrpcInsecure("127.0.0.1", server.port()))
                      .build());
          readers.add(reader);
          FlightStream stream =
              reader.getStream(
                  reader.execute("SELECT * FROM metrics").getEndpoints().get(0).getTicket());
          stalled.add(stream);
          assertTrue(stream.next(), "reader " + i + " got its first batch");
          assertTrue(stream.getRoot().getRowCount() > 0);
        }
        double arrowStalled = server.metric("hyprstream_arrow_allocated_bytes");
        double duckDbStalled = server.metric("hyprstream_duckdb_memory_bytes");

        assertEquals(List.of(List.of(1L)), timedQuery(other, "SELECT 1", ANSWER_BOUND));
        assertEquals(
            List.of(List.of((long) ROWS, min(rows), max(rows))),
            timedQuery(
                other, "SELECT count(*), min(value), max(value) FROM metrics", ANSWER_BOUND));

        // Past the idle limit each stalled reader finds what was already sent, then CANCELLED.
        Thread.sleep(Duration.ofSeconds(IDLE_SECONDS + 2).toMillis());
        for (FlightStream stream : stalled) {
          long[] read = {stream.getRoot().getRowCount()};
          FlightRuntimeException cut =
              assertThrows(
                  FlightRuntimeException.class,
                  () -> {
                    while (stream.next()) {
                      read[0] += stream.getRoot().getRowCount();
                    }
                  });
          assertEquals(FlightStatusCode.CANCELLED, cut.status().code(), cut.toString());
          assertTrue(
              cut.getMessage().contains("limits.stream_idle_timeout = " + IDLE_SECONDS * 1000),
              cut.getMessage());
          assertTrue(read[0] < ROWS, "the stream was cut, not finished: " + read[0]);
        }
        double arrowAfter = server.metric("hyprstream_arrow_allocated_bytes");
        double duckDbAfter = server.metric("hyprstream_duckdb_memory_bytes");
        System.out.printf(
            "StarvationIT memory: Arrow %.0f at rest, %.0f with %d stalled readers, %.0f after;"
                + " DuckDB %.0f, %.0f, %.0f%n",
            arrowAtRest,
            arrowStalled,
            STALLED_READERS,
            arrowAfter,
            duckDbAtRest,
            duckDbStalled,
            duckDbAfter);
        assertTrue(arrowStalled > arrowAtRest, "the stalled streams held result batches");
        assertEquals(arrowAtRest, arrowAfter, "every stalled stream's Arrow buffers were freed");

        assertEquals(List.of(List.of(1L)), timedQuery(other, "SELECT 1", Duration.ofSeconds(1)));
        try (Statement st = other.createStatement()) {
          assertEquals(
              List.of(List.of((long) ROWS)),
              MetricRows.rows(st.executeQuery("SELECT count(*) FROM metrics")));
        }
      } finally {
        AutoCloseables.close(stalled);
        AutoCloseables.close(readers);
        other.close();
      }
      assertTrue(server.isAlive());
    }
  }

  @Test
  void queryPastTheMemoryCeiling_resourceExhausted_serverAnswersOnWithMetricsIntact()
      throws Exception {
    List<MetricRows.Row> rows = MetricRows.generate(10_000, 17, Instant.now());
    // A 1 GiB heap and a 256 MiB cache budget: the ceilings derived from them are DuckDB's
    // memory_limit of 1.25 GiB (the budget plus 1 GiB) and 512 MiB of Arrow memory.
    try (ServerProcess server =
            ServerProcess.builder()
                .args("--cache-memory-bytes", Long.toString(256L << 20))
                .env("JAVA_TOOL_OPTIONS", "-Xmx1g")
                .start();
        BufferAllocator allocator = new RootAllocator();
        FlightSqlClient sql =
            new FlightSqlClient(
                FlightClient.builder(
                        allocator, Location.forGrpcInsecure("127.0.0.1", server.port()))
                    .build())) {
      MetricRows.ingestAdbc(server.grpcUri(), Map.of(), rows);
      FlightRuntimeException refused =
          assertThrows(
              FlightRuntimeException.class,
              () -> {
                try (FlightStream s =
                    sql.getStream(
                        sql.execute("SELECT list(x) FROM range(200000000) t(x)")
                            .getEndpoints()
                            .get(0)
                            .getTicket())) {
                  while (s.next()) {
                    // read everything there is
                  }
                }
              });
      assertEquals(
          FlightStatusCode.RESOURCE_EXHAUSTED, refused.status().code(), refused.toString());
      assertTrue(
          refused.getMessage().contains("limits.duckdb_memory_limit_bytes")
              || refused.getMessage().contains("limits.max_memory_bytes"),
          refused.getMessage());

      try (Connection client = FlightJdbc.connect(server.jdbcUrl())) {
        assertEquals(List.of(List.of(1L)), timedQuery(client, "SELECT 1", Duration.ofSeconds(1)));
        MetricRows.assertSameRows(
            MetricRows.sorted(rows), MetricRows.rawRows(client), "metrics after the refusal");
        MetricRows.assertWindowsMatchOracle(client, rows);
      }
      assertTrue(server.isAlive());
      assertEquals(0, server.terminate(), server.log());
    }
  }

  /** The rows of {@code sql}, failing when they took longer than {@code bound} to arrive. */
  private static List<List<Object>> timedQuery(Connection client, String sql, Duration bound)
      throws Exception {
    long start = System.nanoTime();
    List<List<Object>> answer;
    try (Statement st = client.createStatement()) {
      ResultSet rs = st.executeQuery(sql);
      answer = MetricRows.rows(rs);
    }
    long millis = (System.nanoTime() - start) / 1_000_000;
    System.out.println("StarvationIT: " + sql + " answered in " + millis + " ms");
    assertTrue(millis <= bound.toMillis(), sql + " took " + millis + " ms, over " + bound);
    return answer;
  }

  private static double min(List<MetricRows.Row> rows) {
    return rows.stream().mapToDouble(MetricRows.Row::value).min().orElseThrow();
  }

  private static double max(List<MetricRows.Row> rows) {
    return rows.stream().mapToDouble(MetricRows.Row::value).max().orElseThrow();
  }
}
