package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import io.hyprstream.testing.EmbeddedKafka;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Two server processes ({@code java -jar}) of one cluster writing through to PostgreSQL with a
 * one-minute cache, on a real KRaft broker in this JVM. Rows two to three hours old leave the
 * caches; asked afterwards through either server, over the Flight SQL JDBC driver and ADBC, every
 * query equals DuckDB over every acknowledged row: the older rows come once from PostgreSQL, the
 * rest from the owners' caches.
 */
final class ClusterReadThroughIT {
  private static final Duration WAIT = Duration.ofSeconds(90);

  @Test
  void afterExpiry_everyServerAnswersFromTheCachesAndPostgres_equalToDuckDb() throws Exception {
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    List<MetricRows.Row> old = MetricRows.generate(900, 21, now.minus(Duration.ofMinutes(130)));
    List<MetricRows.Row> fresh = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      fresh.add(new MetricRows.Row("m" + i % 5, now.toEpochMilli() - 20_000 + i * 50L, i / 8.0));
    }
    List<MetricRows.Row> all = new ArrayList<>(old);
    all.addAll(fresh);
    try (EmbeddedKafka kafka = EmbeddedKafka.start();
        PostgresDatabase pg = PostgresDatabase.create();
        Connection postgres = pg.connect()) {
      List<String> args =
          List.of(
              "--cluster-kafka",
              kafka.bootstrapServers(),
              "--cluster-name",
              "read-through-" + System.nanoTime(),
              "--cluster-partitions",
              String.valueOf(ClusterIT.PARTITIONS),
              "--engine",
              "adbc",
              "--engine-connection",
              pg.jdbcUrl(),
              "--cache-duration",
              "60",
              "--http-port",
              "-1");
      List<ServerProcess> servers = new ArrayList<>();
      List<Connection> flights = new ArrayList<>();
      try {
        for (int i = 0; i < 2; i++) {
          servers.add(ServerProcess.builder().args(args).start());
        }
        ClusterIT.awaitBalanced(servers);
        for (ServerProcess s : servers) {
          flights.add(FlightJdbc.connect(s.jdbcUrl()));
        }
        MetricRows.ingestJdbc(flights.get(0), old);
        MetricRows.ingestAdbc(servers.get(1).grpcUri(), Map.of(), fresh);
        awaitCount(postgres, "SELECT count(*) FROM metrics", all.size(), "rows in PostgreSQL");
        // Each owner expires its own partitions' rows: together, every old row leaves.
        long deadline = System.nanoTime() + WAIT.toNanos();
        long expired = 0;
        while (expired < old.size() && System.nanoTime() < deadline) {
          expired = 0;
          for (Connection f : flights) {
            expired +=
                count(
                    f,
                    "SELECT coalesce(max(evicted_expired), 0) FROM hyprstream_cache_stats"
                        + " WHERE name = 'metrics'");
          }
          Thread.sleep(250);
        }
        assertTrue(expired >= old.size(), expired + " rows expired from the caches");

        List<String> queries =
            List.of(
                "SELECT count(*), round(sum(value), 6), min(value), max(value) FROM metrics",
                "SELECT metric_id, count(*), round(sum(value), 6) FROM metrics"
                    + " GROUP BY metric_id ORDER BY metric_id",
                "SELECT count(*) FROM metrics WHERE timestamp >= now() - INTERVAL '4 hours'",
                "SELECT count(*), round(sum(value), 6) FROM metrics WHERE metric_id = 'm1'",
                "SELECT metric_id, epoch_ms(timestamp), value FROM metrics"
                    + " ORDER BY value DESC, 2, 1 LIMIT 7",
                MetricRows.RAW_ROWS);
        for (int i = 0; i < servers.size(); i++) {
          for (String q : queries) {
            List<List<Object>> expected = MetricRows.overRawRows(all, q);
            try (Statement st = flights.get(i).createStatement()) {
              MetricRows.assertSameRows(
                  expected,
                  MetricRows.rows(st.executeQuery(q)),
                  "JDBC through server " + i + ": " + q);
            }
            MetricRows.assertSameRows(
                expected,
                MetricRows.queryAdbc(servers.get(i).grpcUri(), q),
                "ADBC through server " + i + ": " + q);
          }
          // Window views come from the owners' window state, which keeps them past the cache.
          MetricRows.assertWindowsMatchOracle(flights.get(i), all);
        }
      } finally {
        for (Connection f : flights) {
          f.close();
        }
        servers.forEach(ServerProcess::close);
      }
    }
  }

  private static long count(Connection c, String sql) throws Exception {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static void awaitCount(Connection c, String sql, long atLeast, String what)
      throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    long seen = -1;
    while (System.nanoTime() < deadline) {
      try {
        seen = count(c, sql);
      } catch (java.sql.SQLException notYet) {
        seen = -1; // the table is created with the first write
      }
      if (seen >= atLeast) {
        return;
      }
      Thread.sleep(250);
    }
    throw new AssertionError(what + ": waited " + WAIT + " for " + atLeast + ", saw " + seen);
  }
}
