package io.hyprstream.flight;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.apache.arrow.flight.AsyncPutListener;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every Flight SQL answer carries its freshness as JSON app metadata on its first batch: where it
 * was read, whether the result cache served it, and the newest event time ingested.
 */
final class FreshnessTest {
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

  /** Runs {@code sql}; returns the first batch's app metadata as text and the row count. */
  private String freshnessOf(String sql, long[] rows) throws Exception {
    FlightInfo info = client.execute(sql);
    try (FlightStream stream = client.getStream(info.getEndpoints().get(0).getTicket())) {
      assertTrue(stream.next(), "an answer has at least one batch, even with no rows");
      ArrowBuf meta = stream.getLatestMetadata();
      assertNotNull(meta, "the first batch carries the freshness");
      byte[] bytes = new byte[(int) meta.readableBytes()];
      meta.getBytes(0, bytes);
      long n = stream.getRoot().getRowCount();
      while (stream.next()) {
        n += stream.getRoot().getRowCount();
      }
      rows[0] = n;
      return new String(bytes, StandardCharsets.UTF_8);
    }
  }

  @Test
  void answers_sayWhereTheyCameFromAndHowCurrentTheyAre() throws Exception {
    Instant newest = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    // Both rows in one hour, so the hourly lookup below finds one window whatever the clock says.
    Instant earlier = newest.minusSeconds(30);
    if (!earlier.truncatedTo(ChronoUnit.HOURS).equals(newest.truncatedTo(ChronoUnit.HOURS))) {
      earlier = newest.truncatedTo(ChronoUnit.HOURS);
    }
    try (VectorSchemaRoot batch =
        TestServer.metrics(
            server.allocator,
            new String[] {"cpu", "cpu"},
            new Instant[] {earlier, newest},
            new double[] {1, 2})) {
      FlightClient.ClientStreamListener put =
          flight.startPut(FlightDescriptor.path("metrics"), batch, new AsyncPutListener());
      put.putNext();
      put.completed();
      put.getResult();
    }
    long[] rows = new long[1];
    String sql = "SELECT metric_id, sum(value) FROM metrics GROUP BY metric_id";
    String first = freshnessOf(sql, rows);
    assertEquals(1, rows[0]);
    assertTrue(first.contains("\"source\":\"cache\""), first);
    assertTrue(first.contains("\"result_cache_hit\":false"), first);
    assertTrue(first.contains("\"as_of\":\"" + newest + "\""), first);
    assertTrue(first.contains("\"stale\":false"), first);
    assertTrue(first.contains("\"missing\":null"), first);

    String again = freshnessOf(sql, rows);
    assertEquals(1, rows[0]);
    assertTrue(again.contains("\"result_cache_hit\":true"), again);

    String empty = freshnessOf("SELECT * FROM metrics WHERE metric_id = 'none'", rows);
    assertEquals(0, rows[0]);
    assertTrue(empty.contains("\"source\":\"cache\""), empty);

    String lookup =
        freshnessOf(
            "SELECT * FROM metrics_1h WHERE metric_id = 'cpu' ORDER BY window_start DESC LIMIT 24",
            rows);
    assertEquals(1, rows[0]);
    assertTrue(lookup.contains("\"source\":\"aggregator\""), lookup);
    assertFalse(lookup.contains("\"result_cache_hit\":true"), lookup);
  }
}
