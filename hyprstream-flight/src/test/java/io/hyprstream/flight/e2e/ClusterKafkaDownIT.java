package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import io.hyprstream.testing.EmbeddedKafka;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.arrow.adbc.core.AdbcException;
import org.apache.arrow.adbc.core.AdbcStatusCode;
import org.junit.jupiter.api.Test;

/**
 * A cluster server process ({@code java -jar}) whose Kafka goes away: ingest over the Flight SQL
 * JDBC driver and over ADBC is refused, naming the cluster log and where it was looked for, and the
 * rows acknowledged before still answer exactly, through the same clients.
 */
final class ClusterKafkaDownIT {
  @Test
  void kafkaGoesDown_ingestIsRefusedNamingTheClusterLog_acknowledgedRowsStillAnswer()
      throws Exception {
    List<MetricRows.Row> rows = MetricRows.generate(1500, 51, Instant.now());
    List<MetricRows.Row> later = MetricRows.generate(50, 52, Instant.now());
    EmbeddedKafka kafka = EmbeddedKafka.start();
    String bootstrap = kafka.bootstrapServers();
    try (ServerProcess server =
        ServerProcess.start(
            "--cluster-kafka",
            bootstrap,
            "--cluster-name",
            "down-" + System.nanoTime(),
            "--cluster-partitions",
            String.valueOf(ClusterIT.PARTITIONS),
            "--http-port",
            "-1")) {
      ClusterIT.awaitBalanced(List.of(server));
      try (Connection flight = FlightJdbc.connect(server.jdbcUrl())) {
        MetricRows.ingestJdbc(flight, rows.subList(0, 1000));
        MetricRows.ingestAdbc(server.grpcUri(), Map.of(), rows.subList(1000, rows.size()));
        List<List<Object>> fiveMinutes = MetricRows.oracle(rows, Duration.ofMinutes(5));
        ClusterIT.awaitEquals(
            flight, MetricRows.windowsQuery("metrics_5m"), fiveMinutes, "metrics_5m before");

        kafka.close();

        SQLException jdbc =
            assertThrows(SQLException.class, () -> MetricRows.ingestJdbc(flight, later));
        assertNamesTheClusterLog(jdbc, bootstrap);
        assertTrue(causes(jdbc).contains("UNAVAILABLE"), causes(jdbc));
        AdbcException adbc =
            assertThrows(
                AdbcException.class,
                () -> MetricRows.ingestAdbc(server.grpcUri(), Map.of(), later));
        assertNamesTheClusterLog(adbc, bootstrap);
        // ADBC's Flight SQL driver maps Flight's UNAVAILABLE to its IO status.
        assertEquals(AdbcStatusCode.IO, adbc.getStatus(), causes(adbc));

        // What was acknowledged is held by this instance, whole: its answers stay exact.
        ClusterIT.awaitEquals(
            flight,
            MetricRows.windowsQuery("metrics_5m"),
            fiveMinutes,
            "metrics_5m with Kafka down vs time_bucket over the acknowledged rows");
        MetricRows.assertSameRows(
            MetricRows.overRawRows(rows, "SELECT count(*), round(sum(value), 6) FROM metrics"),
            MetricRows.queryAdbc(
                server.grpcUri(), "SELECT count(*), round(sum(value), 6) FROM metrics"),
            "count and sum over ADBC with Kafka down");
      }
    } finally {
      kafka.close();
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
