package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import io.hyprstream.testing.EmbeddedKafka;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Three server processes ({@code java -jar}) in one cluster ({@code --cluster-kafka}, {@code
 * --cluster-name}, {@code --cluster-partitions}) on a real KRaft broker in this JVM: rows sent to
 * any of them (a JDBC prepared INSERT, an ADBC bulk ingest) are held by the one that owns their
 * key, and the three servers' window views together equal DuckDB's {@code time_bucket} over every
 * row sent. Stage 1 of issue 16: each server answers for the keys it owns.
 */
final class ClusterIT {
  private static final int PARTITIONS = 6;
  private static final Pattern OWNS =
      Pattern.compile("cluster member (\\S+) owns partitions \\[([0-9, ]*)\\]");

  @Test
  void threeServers_ingestThroughAny_windowsTogetherEqualTheOracle() throws Exception {
    List<MetricRows.Row> rows = rows(3000, 16, Instant.now());
    try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
      String name = "it-" + System.nanoTime();
      List<ServerProcess> servers = new ArrayList<>();
      try {
        for (int i = 0; i < 3; i++) {
          servers.add(
              ServerProcess.start(
                  "--cluster-kafka",
                  kafka.bootstrapServers(),
                  "--cluster-name",
                  name,
                  "--cluster-partitions",
                  String.valueOf(PARTITIONS),
                  "--http-port",
                  "-1"));
        }
        awaitBalanced(servers);
        List<Connection> flights = new ArrayList<>();
        try {
          for (ServerProcess s : servers) {
            flights.add(FlightJdbc.connect(s.jdbcUrl()));
          }
          int third = rows.size() / 3;
          MetricRows.ingestJdbc(flights.get(0), rows.subList(0, third)); // prepared INSERT
          MetricRows.ingestAdbc( // DoPut bulk ingest
              servers.get(1).grpcUri(), Map.of(), rows.subList(third, 2 * third));
          MetricRows.ingestJdbc(flights.get(2), rows.subList(2 * third, rows.size()));

          for (Map.Entry<String, Duration> view :
              Map.of(
                      "metrics_5m", Duration.ofMinutes(5),
                      "metrics_1h", Duration.ofHours(1))
                  .entrySet()) {
            List<List<Object>> expected = MetricRows.oracle(rows, view.getValue());
            awaitUnionEquals(flights, view.getKey(), expected);
          }
          // Each key is held by exactly one server.
          Map<Object, Integer> holder = new HashMap<>();
          for (int i = 0; i < flights.size(); i++) {
            for (List<Object> r : MetricRows.windows(flights.get(i), "metrics_1h")) {
              Integer before = holder.put(r.get(0), i);
              assertTrue(before == null || before == i, "key " + r.get(0) + " on two servers");
            }
          }
          assertEquals(
              rows.stream().map(MetricRows.Row::metricId).distinct().count(),
              holder.size(),
              "every key is held");
          assertEquals(3, new TreeSet<>(holder.values()).size(), "every server holds keys");
        } finally {
          for (Connection c : flights) {
            c.close();
          }
        }
        for (ServerProcess s : servers) {
          assertEquals(0, s.terminate(), s.log());
        }
      } finally {
        servers.forEach(ServerProcess::close);
      }
    }
  }

  /** {@code n} rows over 30 metrics in the 50 minutes before {@code end}. */
  private static List<MetricRows.Row> rows(int n, long seed, Instant end) {
    Random random = new Random(seed);
    List<MetricRows.Row> rows = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      rows.add(
          new MetricRows.Row(
              "m" + random.nextInt(30),
              end.toEpochMilli() - (long) (random.nextDouble() * Duration.ofMinutes(50).toMillis()),
              Math.round(random.nextDouble() * 100_000) / 1000.0));
    }
    return rows;
  }

  /**
   * Waits until the servers' latest ownership lines cover every partition once, each owning some.
   */
  private static void awaitBalanced(List<ServerProcess> servers) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    String seen = "";
    while (System.nanoTime() < deadline) {
      Set<Integer> union = new TreeSet<>();
      int total = 0;
      boolean everyOneOwns = true;
      StringBuilder b = new StringBuilder();
      for (ServerProcess s : servers) {
        Set<Integer> owned = latestOwnership(s.log());
        union.addAll(owned);
        total += owned.size();
        everyOneOwns &= !owned.isEmpty();
        b.append(owned).append(' ');
      }
      seen = b.toString();
      if (union.size() == PARTITIONS && total == PARTITIONS && everyOneOwns) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError(
        "partitions never spread over the 3 servers: " + seen + "\n" + servers.get(0).log());
  }

  private static Set<Integer> latestOwnership(String log) {
    Matcher m = OWNS.matcher(log);
    String last = null;
    while (m.find()) {
      last = m.group(2);
    }
    Set<Integer> owned = new TreeSet<>();
    if (last != null) {
      for (String p : last.split(",")) {
        if (!p.isBlank()) {
          owned.add(Integer.parseInt(p.strip()));
        }
      }
    }
    return owned;
  }

  /**
   * Polls (at most 60 s) until the servers' rows of {@code view}, together, equal {@code expected}.
   */
  private static void awaitUnionEquals(
      List<Connection> flights, String view, List<List<Object>> expected) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      List<List<Object>> union = new ArrayList<>();
      for (Connection c : flights) {
        union.addAll(MetricRows.windows(c, view));
      }
      union.sort(
          Comparator.comparing((List<Object> r) -> (String) r.get(0))
              .thenComparing(r -> (Long) r.get(1)));
      try {
        MetricRows.assertSameRows(expected, union, view + " over the 3 servers vs time_bucket");
        return;
      } catch (AssertionError e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(200);
      }
    }
  }
}
