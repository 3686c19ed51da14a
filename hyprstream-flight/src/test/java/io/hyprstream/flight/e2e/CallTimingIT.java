package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The server's share of each Flight call, as {@code /metrics} reports it through the jar: a {@code
 * PreparedStatement} lookup through the Flight SQL JDBC driver is one parameter {@code DoPut}, one
 * {@code GetFlightInfo} and one {@code DoGet} on the server, each timed there, and the server's
 * time for the three is less than what the client waited for them.
 */
final class CallTimingIT {
  private static final int LOOKUPS = 200;

  @Test
  void preparedLookups_areTimedPerFlightMethod_belowTheClientsRoundTrip() throws Exception {
    List<MetricRows.Row> rows = MetricRows.generate(2_000, 5, Instant.now());
    try (ServerProcess server = ServerProcess.start()) {
      MetricRows.ingestAdbc(server.grpcUri(), Map.of(), rows);
      try (Connection c = FlightJdbc.connect(server.jdbcUrl());
          PreparedStatement ps =
              c.prepareStatement(
                  "SELECT * FROM metrics_1h WHERE metric_id = ?"
                      + " ORDER BY window_start DESC LIMIT 24")) {
        Map<String, double[]> before = callTimes(server);
        long clientNanos = 0;
        for (int i = 0; i < LOOKUPS; i++) {
          ps.setString(1, rows.get(i % rows.size()).metricId());
          long t0 = System.nanoTime();
          int read = 0;
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              read++;
            }
          }
          clientNanos += System.nanoTime() - t0;
          assertTrue(read > 0, "lookup " + i + " found its metric's windows");
        }
        Map<String, double[]> after = callTimes(server);
        double serverSeconds = 0;
        for (String method : List.of("DO_PUT", "GET_FLIGHT_INFO", "DO_GET")) {
          double calls = after.get(method)[0] - before.get(method)[0];
          assertEquals(LOOKUPS, calls, method + " calls timed, one per lookup");
          double seconds = after.get(method)[1] - before.get(method)[1];
          assertTrue(seconds > 0, method + " has a server time");
          serverSeconds += seconds;
        }
        assertTrue(
            serverSeconds < clientNanos / 1e9,
            "the server's share ("
                + serverSeconds
                + " s) is part of the client's wait ("
                + clientNanos / 1e9
                + " s)");
      }
    }
  }

  /** Per Flight method: {count, sum of seconds} of {@code hyprstream_flight_call_seconds}. */
  static Map<String, double[]> callTimes(ServerProcess server) throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(server.httpUrl("/metrics"))).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    assertEquals(200, r.statusCode(), r.body());
    Map<String, double[]> out = new java.util.HashMap<>();
    for (String line : r.body().split("\n")) {
      boolean count = line.startsWith("hyprstream_flight_call_seconds_count{");
      boolean sum = line.startsWith("hyprstream_flight_call_seconds_sum{");
      if (!count && !sum) {
        continue;
      }
      int at = line.indexOf("method=\"") + "method=\"".length();
      String method = line.substring(at, line.indexOf('"', at));
      double value = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      out.computeIfAbsent(method, m -> new double[2])[count ? 0 : 1] = value;
    }
    assertTrue(out.containsKey("DO_GET"), "/metrics times Flight calls:\n" + r.body());
    return out;
  }
}
