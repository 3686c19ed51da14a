package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import io.hyprstream.testing.EmbeddedKafka;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.arrow.adbc.core.AdbcException;
import org.apache.arrow.adbc.core.AdbcStatusCode;
import org.junit.jupiter.api.Test;

/**
 * Two cluster server processes ({@code java -jar}) whose Kafka broker stops and starts again. While
 * it is down: ingest over the Flight SQL JDBC driver and over ADBC is refused, naming the cluster
 * log and where it was looked for; {@code /ready} answers 503 naming the cluster log; the rows
 * acknowledged before still answer exactly through both servers, through the same clients. Once the
 * broker is back on its address: {@code /ready} answers 200 again, ingest is acknowledged, and the
 * answers equal DuckDB over every acknowledged row.
 */
final class ClusterKafkaDownIT {
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);

  @Test
  void kafkaStopsAndStarts_ingestRefusedAndUnready_acknowledgedRowsStillAnswer_thenAllResumes()
      throws Exception {
    List<MetricRows.Row> rows = MetricRows.generate(1500, 51, Instant.now());
    List<MetricRows.Row> refused = MetricRows.generate(50, 52, Instant.now());
    List<MetricRows.Row> after = MetricRows.generate(500, 53, Instant.now());
    String name = "down-" + System.nanoTime();
    try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
      String bootstrap = kafka.bootstrapServers();
      List<ServerProcess> servers = new ArrayList<>();
      List<Connection> flights = new ArrayList<>();
      try {
        for (int i = 0; i < 2; i++) {
          servers.add(
              ServerProcess.start(
                  "--cluster-kafka",
                  bootstrap,
                  "--cluster-name",
                  name,
                  "--cluster-partitions",
                  String.valueOf(ClusterIT.PARTITIONS)));
        }
        ClusterIT.awaitBalanced(servers);
        for (ServerProcess s : servers) {
          flights.add(FlightJdbc.connect(s.jdbcUrl()));
          s.awaitReady(r -> r.statusCode() == 200, READY_TIMEOUT, "ready with Kafka up");
        }
        MetricRows.ingestJdbc(flights.get(0), rows.subList(0, 1000));
        MetricRows.ingestAdbc(servers.get(1).grpcUri(), Map.of(), rows.subList(1000, rows.size()));
        assertAnswersExactly(servers, flights, rows, "before Kafka stops");

        List<Integer> logBeforeOutage = new ArrayList<>();
        servers.forEach(s -> logBeforeOutage.add(s.log().length()));
        long outageStarted = System.nanoTime();
        kafka.stopBroker();

        SQLException jdbc =
            assertThrows(SQLException.class, () -> MetricRows.ingestJdbc(flights.get(0), refused));
        assertNamesTheClusterLog(jdbc, bootstrap);
        assertTrue(causes(jdbc).contains("UNAVAILABLE"), causes(jdbc));
        AdbcException adbc =
            assertThrows(
                AdbcException.class,
                () -> MetricRows.ingestAdbc(servers.get(1).grpcUri(), Map.of(), refused));
        assertNamesTheClusterLog(adbc, bootstrap);
        // ADBC's Flight SQL driver maps Flight's UNAVAILABLE to its IO status.
        assertEquals(AdbcStatusCode.IO, adbc.getStatus(), causes(adbc));

        String unreachable = "cannot reach the cluster log (Kafka at " + bootstrap;
        for (ServerProcess s : servers) {
          HttpResponse<String> r =
              s.awaitReady(x -> x.statusCode() != 200, READY_TIMEOUT, "unready with Kafka stopped");
          assertEquals(503, r.statusCode(), r.body());
          assertTrue(r.body().contains("\"ready\":false"), r.body());
          assertTrue(r.body().contains(unreachable), r.body());
        }

        // What was acknowledged is held by the owners, whole: their answers stay exact.
        assertAnswersExactly(servers, flights, rows, "with Kafka stopped");

        // Kafka's consumer logs each rebootstrap at INFO, in a tight loop while the broker is
        // down (138 million characters, about 900,000 a second, over one outage of this test
        // before the server raised Kafka's loggers to WARN); its clients' reconnection warnings,
        // a few a second, remain. An outage must not fill the disk.
        double outageSeconds = (System.nanoTime() - outageStarted) / 1e9;
        for (int i = 0; i < servers.size(); i++) {
          int grew = servers.get(i).log().length() - logBeforeOutage.get(i);
          assertTrue(
              grew / outageSeconds < 20_000,
              "server "
                  + i
                  + " logged "
                  + grew
                  + " characters in "
                  + Math.round(outageSeconds)
                  + " s of outage: "
                  + servers.get(i).logTail());
        }

        kafka.restartBroker();
        for (ServerProcess s : servers) {
          s.awaitReady(r -> r.statusCode() == 200, READY_TIMEOUT, "ready again with Kafka back");
        }
        MetricRows.ingestAdbc(servers.get(0).grpcUri(), Map.of(), after.subList(0, 250));
        MetricRows.ingestJdbc(flights.get(1), after.subList(250, after.size()));
        List<MetricRows.Row> acknowledged = new ArrayList<>(rows);
        acknowledged.addAll(after);
        // The refused rows never reached Kafka (the broker was down before they were sent), so
        // they must not appear once it is back.
        assertAnswersExactly(servers, flights, acknowledged, "after Kafka is back");
      } finally {
        for (Connection c : flights) {
          c.close();
        }
        for (ServerProcess s : servers) {
          s.close();
        }
      }
    }
  }

  /**
   * Through every server: {@code metrics_5m} over JDBC equals DuckDB's {@code time_bucket} over
   * {@code rows}, and count and sum over ADBC equal DuckDB's.
   */
  private static void assertAnswersExactly(
      List<ServerProcess> servers, List<Connection> flights, List<MetricRows.Row> rows, String when)
      throws Exception {
    List<List<Object>> fiveMinutes = MetricRows.oracle(rows, Duration.ofMinutes(5));
    List<List<Object>> countAndSum =
        MetricRows.overRawRows(rows, "SELECT count(*), round(sum(value), 6) FROM metrics");
    for (int i = 0; i < servers.size(); i++) {
      ClusterIT.awaitEquals(
          flights.get(i),
          MetricRows.windowsQuery("metrics_5m"),
          fiveMinutes,
          "metrics_5m through server " + i + " " + when + " vs time_bucket over the rows");
      MetricRows.assertSameRows(
          countAndSum,
          MetricRows.queryAdbc(
              servers.get(i).grpcUri(), "SELECT count(*), round(sum(value), 6) FROM metrics"),
          "count and sum over ADBC through server " + i + " " + when);
    }
  }

  /** The refusal, somewhere in its causes, names the cluster log and the bootstrap address. */
  private static void assertNamesTheClusterLog(Throwable refusal, String bootstrap) {
    String all = causes(refusal);
    assertTrue(all.contains("cluster log") && all.contains(bootstrap), all);
  }

  private static String causes(Throwable refusal) {
    StringBuilder text = new StringBuilder();
    for (Throwable t = refusal; t != null; t = t.getCause()) {
      text.append(t).append('\n');
    }
    return text.toString();
  }
}
