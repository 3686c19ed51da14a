package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import io.hyprstream.testing.EmbeddedKafka;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * A cluster of server processes ({@code java -jar}) with {@code --auth}: each instance signs in to
 * the others as the configured peer user to read their partitions, so every query through any
 * server, by a user of its own, equals DuckDB over every row sent; an instance with the wrong peer
 * password gets no answer for a query that needs another instance, and the error names the owner
 * and {@code UNAUTHENTICATED}.
 */
final class ClusterAuthIT {
  private static Properties user(String name, String password) {
    Properties p = new Properties();
    p.setProperty("useEncryption", "false");
    p.setProperty("user", name);
    p.setProperty("password", password);
    return p;
  }

  @Test
  void instancesSignInToEachOther_queriesThroughEveryServerAreExact() throws Exception {
    String aliceHash = ShippedJar.hashPassword("alice-pw");
    String peerHash = ShippedJar.hashPassword("peer-pw");
    List<MetricRows.Row> rows = MetricRows.generate(2000, 31, Instant.now());
    List<String> queries =
        List.of(
            "SELECT count(*), round(sum(value), 6) FROM metrics",
            "SELECT metric_id, count(*), round(sum(value), 6) FROM metrics GROUP BY 1 ORDER BY 1",
            MetricRows.RAW_ROWS);
    try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
      String name = "auth-" + System.nanoTime();
      List<String> common =
          List.of(
              "--cluster-kafka",
              kafka.bootstrapServers(),
              "--cluster-name",
              name,
              "--cluster-partitions",
              String.valueOf(ClusterIT.PARTITIONS),
              "--auth",
              "--auth-user",
              "alice:" + aliceHash + ":read_write",
              "--auth-user",
              "peer:" + peerHash + ":read_only",
              "--cluster-peer-user",
              "peer",
              "--http-port",
              "-1");
      List<ServerProcess> servers = new ArrayList<>();
      List<Connection> flights = new ArrayList<>();
      try {
        for (int i = 0; i < 2; i++) {
          servers.add(
              ServerProcess.builder()
                  .args(common)
                  .env("HYPRSTREAM_CLUSTER_PEER_PASSWORD", "peer-pw")
                  .start());
        }
        ClusterIT.awaitBalanced(servers);
        for (ServerProcess s : servers) {
          flights.add(FlightJdbc.connect(s.jdbcUrl(), user("alice", "alice-pw")));
        }
        for (int i = 0; i < flights.size(); i++) {
          ClusterIT.awaitRestored(flights.get(i), "server " + i);
        }
        MetricRows.ingestJdbc(flights.get(0), rows);
        for (int i = 0; i < servers.size(); i++) {
          for (String q : queries) {
            try (Statement st = flights.get(i).createStatement()) {
              MetricRows.assertSameRows(
                  MetricRows.overRawRows(rows, q),
                  MetricRows.rows(st.executeQuery(q)),
                  "through server " + i + " as alice: " + q);
            }
          }
          MetricRows.assertWindowsMatchOracle(flights.get(i), rows);
          assertTrue(
              !servers.get(i).log().contains("peer-pw"), "the peer password is never logged");
        }

        // A third instance with the wrong peer password takes partitions; a query through it
        // needs the others' and fails naming them, never answering with its own share alone.
        servers.add(
            ServerProcess.builder()
                .args(common)
                .env("HYPRSTREAM_CLUSTER_PEER_PASSWORD", "wrong")
                .start());
        ClusterIT.awaitBalanced(servers);
        try (Connection third =
                FlightJdbc.connect(servers.get(2).jdbcUrl(), user("alice", "alice-pw"));
            Statement st = third.createStatement()) {
          // Refused for a partition it is still restoring, the query would fail for another reason.
          ClusterIT.awaitRestored(third, "the third server");
          SQLException e =
              assertThrows(
                  SQLException.class, () -> st.executeQuery("SELECT count(*) FROM metrics"));
          String message = String.valueOf(e.getMessage()) + " " + e.getCause();
          assertTrue(message.contains("UNAUTHENTICATED"), message);
          assertTrue(message.contains("cannot answer completely"), message);
        }
      } finally {
        for (Connection f : flights) {
          f.close();
        }
        servers.forEach(ServerProcess::close);
      }
    }
  }
}
