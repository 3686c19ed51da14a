package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import io.hyprstream.testing.EmbeddedKafka;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Three server processes ({@code java -jar}) of one cluster writing through to PostgreSQL, on a
 * real KRaft broker in this JVM, while rows are sent to one of them: the other two are killed with
 * {@code kill -9} in turn and started again, and one is frozen (SIGSTOP) past a rebalance and
 * thawed. Owners checkpoint their partitions every second, so the takeovers load checkpoints. Every
 * acknowledged row is in PostgreSQL exactly once, and every server's windows equal DuckDB's {@code
 * time_bucket} over the acknowledged rows after the takeovers.
 */
final class ClusterCrashIT {
  private static final int ROWS = 20_000;
  private static final int CHUNK = 100;

  @Test
  void ownersKilledAndFrozenDuringIngest_postgresHoldsEachAcknowledgedRowOnce() throws Exception {
    List<MetricRows.Row> rows = rows(ROWS, 41, Instant.now());
    try (EmbeddedKafka kafka = EmbeddedKafka.start();
        PostgresDatabase pg = PostgresDatabase.create()) {
      List<String> args =
          List.of(
              "--cluster-kafka",
              kafka.bootstrapServers(),
              "--cluster-name",
              "crash-" + System.nanoTime(),
              "--cluster-partitions",
              String.valueOf(ClusterIT.PARTITIONS),
              "--engine",
              "adbc",
              "--engine-connection",
              pg.jdbcUrl(),
              "--http-port",
              "-1",
              // Owners checkpoint every second, so the takeovers load checkpoints.
              "--cluster-checkpoint-interval",
              "1");
      List<ServerProcess> servers = new ArrayList<>();
      List<String> logs = new ArrayList<>(); // of the servers killed, frozen or replaced
      try {
        for (int i = 0; i < 3; i++) {
          servers.add(ServerProcess.builder().args(args).start());
        }
        ClusterIT.awaitBalanced(servers);

        // Rows go to server 0 throughout; an ingest is acknowledged once Kafka holds it.
        List<MetricRows.Row> acknowledged = Collections.synchronizedList(new ArrayList<>());
        AtomicReference<Throwable> failed = new AtomicReference<>();
        AtomicBoolean faultsDone = new AtomicBoolean();
        Thread ingest =
            new Thread(
                () -> {
                  try (Connection flight = FlightJdbc.connect(servers.get(0).jdbcUrl())) {
                    for (int from = 0; from < rows.size(); from += CHUNK) {
                      List<MetricRows.Row> chunk = rows.subList(from, from + CHUNK);
                      MetricRows.ingestJdbc(flight, chunk);
                      acknowledged.addAll(chunk);
                      Thread.sleep(faultsDone.get() ? 0 : 250); // paced to span the faults
                    }
                  } catch (Throwable t) {
                    failed.set(t);
                  }
                },
                "ingest");
        ingest.start();

        // kill -9 server 1, then 2, then 1 again, each started anew once the others took over.
        for (int round = 0; round < 3; round++) {
          Thread.sleep(1500);
          int victim = 1 + round % 2;
          long killedAt = System.nanoTime();
          servers.get(victim).kill();
          List<ServerProcess> survivors = new ArrayList<>(servers);
          survivors.remove(victim);
          ClusterIT.awaitBalanced(survivors);
          System.out.printf(
              "takeover after kill -9 of server %d: %d ms until the survivors owned every"
                  + " partition (%d rows acknowledged so far)%n",
              victim, (System.nanoTime() - killedAt) / 1_000_000, acknowledged.size());
          logs.add(servers.get(victim).log());
          servers.get(victim).close();
          servers.set(victim, ServerProcess.builder().args(args).start());
          ClusterIT.awaitBalanced(servers);
        }

        // A zombie: server 2 frozen past the rebalance that moves its partitions, then thawed. Its
        // late writes carry the same batch ids as the new owner's, so they change nothing.
        ServerProcess frozen = servers.get(2);
        signal("STOP", frozen.pid());
        long frozenAt = System.nanoTime();
        ClusterIT.awaitBalanced(servers.subList(0, 2));
        System.out.printf(
            "takeover from a frozen server: %d ms%n", (System.nanoTime() - frozenAt) / 1_000_000);
        Thread.sleep(1000);
        signal("CONT", frozen.pid());
        faultsDone.set(true);

        ingest.join(Duration.ofMinutes(3).toMillis());
        assertFalse(ingest.isAlive(), "the ingest finished");
        assertEquals(null, failed.get(), "every ingest through server 0 was acknowledged");
        assertEquals(rows.size(), acknowledged.size());
        ClusterIT.awaitBalanced(servers);

        servers.forEach(s -> logs.add(s.log()));
        assertTrue(
            logs.stream().anyMatch(l -> l.contains("loaded the checkpoint of partition")),
            "a takeover loaded a checkpoint");

        assertPostgresHoldsEachRowOnce(pg, acknowledged);
        List<List<Object>> fiveMinutes = MetricRows.oracle(acknowledged, Duration.ofMinutes(5));
        for (int i = 0; i < servers.size(); i++) {
          try (Connection flight = FlightJdbc.connect(servers.get(i).jdbcUrl())) {
            ClusterIT.awaitEquals(
                flight,
                MetricRows.windowsQuery("metrics_5m"),
                fiveMinutes,
                "metrics_5m through server " + i + " after the takeovers vs time_bucket");
          }
        }
      } finally {
        servers.forEach(ServerProcess::close);
      }
    }
  }

  /**
   * Waits (at most 2 minutes) until PostgreSQL holds as many rows as were acknowledged, then checks
   * that each acknowledged row (its value is its unique index) is there exactly once.
   */
  private static void assertPostgresHoldsEachRowOnce(
      PostgresDatabase pg, List<MetricRows.Row> acknowledged) throws Exception {
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    try (Connection c = pg.connect();
        Statement st = c.createStatement()) {
      long count = -1;
      while (System.nanoTime() < deadline) {
        try (ResultSet rs = st.executeQuery("SELECT count(*) FROM metrics")) {
          rs.next();
          count = rs.getLong(1);
        }
        if (count >= acknowledged.size()) {
          break;
        }
        Thread.sleep(250);
      }
      try (ResultSet rs =
          st.executeQuery(
              "SELECT count(*), count(DISTINCT value), count(*) FILTER (WHERE value < 0 OR value"
                  + " >= "
                  + acknowledged.size()
                  + ") FROM metrics")) {
        rs.next();
        assertEquals(acknowledged.size(), rs.getLong(1), "rows in PostgreSQL");
        assertEquals(acknowledged.size(), rs.getLong(2), "distinct acknowledged rows: each once");
        assertEquals(0, rs.getLong(3), "rows that were never sent");
      }
    }
  }

  private static void signal(String name, long pid) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + name, String.valueOf(pid)).start();
    assertEquals(0, kill.waitFor(), "kill -" + name + " " + pid);
  }

  /** {@code n} rows over 30 metrics in the 50 minutes before {@code end}; row i's value is i. */
  private static List<MetricRows.Row> rows(int n, long seed, Instant end) {
    Random random = new Random(seed);
    List<MetricRows.Row> rows = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      rows.add(
          new MetricRows.Row(
              "m" + random.nextInt(30),
              end.toEpochMilli() - (long) (random.nextDouble() * Duration.ofMinutes(50).toMillis()),
              i));
    }
    return rows;
  }
}
