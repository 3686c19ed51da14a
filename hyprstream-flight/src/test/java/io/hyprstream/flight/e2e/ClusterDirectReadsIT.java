package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import io.hyprstream.testing.EmbeddedKafka;
import java.net.URI;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * Direct reads through the shaded jar: three cluster servers, two with {@code
 * --cluster-direct-reads} and one without (the default, relaying). A key lookup whose key another
 * server owns gets a FlightInfo naming that owner; the Flight SQL JDBC driver (a {@code Statement}
 * and a bound {@code PreparedStatement}) and ADBC follow it, so the owner serves the {@code DoGet}
 * and the asked server none, and the answers equal DuckDB's {@code time_bucket} over the rows sent.
 * The ticket is answered by every server, not only the owner.
 */
final class ClusterDirectReadsIT {
  /** A key lookup as the aggregator answers it: plain columns, one ORDER BY column. */
  private static final String COLUMNS =
      "SELECT metric_id, window_start, value_count, value_sum, value_min, value_max FROM metrics_1h";

  private static String lookup(String key) {
    return COLUMNS + " WHERE metric_id = '" + key + "' ORDER BY window_start";
  }

  @Test
  void keyLookupOfAnotherOwnersKey_clientsReadTheOwnerDirectly_answersEqualTheOracle()
      throws Exception {
    List<MetricRows.Row> rows = ClusterIT.rows(3000, 23, Instant.now());
    try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
      String name = "direct-" + System.nanoTime();
      List<String> args =
          List.of(
              "--cluster-kafka",
              kafka.bootstrapServers(),
              "--cluster-name",
              name,
              "--cluster-partitions",
              String.valueOf(ClusterIT.PARTITIONS));
      List<ServerProcess> servers = new ArrayList<>();
      try {
        List<String> direct = new ArrayList<>(args);
        direct.add("--cluster-direct-reads");
        servers.add(ServerProcess.builder().args(direct).start());
        servers.add(ServerProcess.builder().args(direct).start());
        servers.add(ServerProcess.builder().args(args).start()); // relays: the default
        ClusterIT.awaitBalanced(servers);
        try (Connection flight = FlightJdbc.connect(servers.get(0).jdbcUrl())) {
          MetricRows.ingestJdbc(flight, rows);
        }
        List<List<Object>> hourly = MetricRows.oracle(rows, Duration.ofHours(1));
        ServerProcess asked = servers.get(0);
        Map<String, Integer> ownerPort = new HashMap<>();
        try (BufferAllocator allocator = new RootAllocator();
            FlightSqlClient client =
                new FlightSqlClient(
                    FlightClient.builder(
                            allocator, Location.forGrpcInsecure("127.0.0.1", asked.port()))
                        .build());
            FlightSqlClient relay =
                new FlightSqlClient(
                    FlightClient.builder(
                            allocator, Location.forGrpcInsecure("127.0.0.1", servers.get(2).port()))
                        .build())) {
          // Which server owns each key, from the FlightInfo the first server gives.
          for (String key : keys(rows)) {
            String sql = lookup(key);
            awaitEquals(client, sql, filter(hourly, key), "key " + key + " through the first");
            FlightInfo info = client.execute(sql);
            FlightEndpoint e = info.getEndpoints().get(0);
            if (e.getLocations().isEmpty()) {
              continue; // the first server owns the key and answers it
            }
            assertEquals(1, e.getLocations().size(), "the owner's location only: " + e);
            URI owner = e.getLocations().get(0).getUri();
            assertTrue(
                owner.getPort() == servers.get(1).port()
                    || owner.getPort() == servers.get(2).port(),
                "the location names another server: " + owner);
            ownerPort.put(key, owner.getPort());
            // Any server answers the ticket: the owner, the server that issued it, the third.
            for (ServerProcess s : servers) {
              try (FlightClient other =
                  FlightClient.builder(allocator, Location.forGrpcInsecure("127.0.0.1", s.port()))
                      .build()) {
                MetricRows.assertSameRows(
                    filter(hourly, key),
                    comparable(read(other.getStream(e.getTicket()))),
                    "key " + key + "'s route ticket redeemed at port " + s.port());
              }
            }
            // The relaying server names no other location: it reads the owner itself.
            assertTrue(
                relay.execute(sql).getEndpoints().get(0).getLocations().isEmpty(),
                "without --cluster-direct-reads no location is named");
          }
        }
        assertTrue(ownerPort.size() >= 3, "keys owned elsewhere: " + ownerPort);

        // JDBC (plain and prepared) and ADBC through the first server read the owners directly.
        double askedGetsBefore = doGets(asked);
        Map<Integer, Double> ownerGetsBefore = new HashMap<>();
        for (ServerProcess s : servers.subList(1, 3)) {
          ownerGetsBefore.put(s.port(), doGets(s));
        }
        int lookups = 0;
        try (Connection flight = FlightJdbc.connect(asked.jdbcUrl());
            PreparedStatement bound =
                flight.prepareStatement(COLUMNS + " WHERE metric_id = ? ORDER BY window_start")) {
          for (String key : ownerPort.keySet()) {
            try (Statement st = flight.createStatement()) {
              MetricRows.assertSameRows(
                  filter(hourly, key),
                  comparable(MetricRows.rows(st.executeQuery(lookup(key)))),
                  "key " + key + " over a JDBC Statement");
            }
            bound.setString(1, key);
            MetricRows.assertSameRows(
                filter(hourly, key),
                comparable(MetricRows.rows(bound.executeQuery())),
                "key " + key + " over a JDBC PreparedStatement");
            MetricRows.assertSameRows(
                filter(hourly, key),
                comparable(MetricRows.queryAdbc(asked.grpcUri(), lookup(key))),
                "key " + key + " over ADBC");
            lookups += 3;
          }
        }
        assertEquals(askedGetsBefore, doGets(asked), "DoGets the first server served");
        double ownerGets = 0;
        for (ServerProcess s : servers.subList(1, 3)) {
          ownerGets += doGets(s) - ownerGetsBefore.get(s.port());
        }
        assertTrue(
            ownerGets >= lookups,
            "the owners served " + ownerGets + " DoGets for " + lookups + " lookups");

        rowFilterOfAView_onePartPerOwner(servers, hourly);
      } finally {
        servers.forEach(ServerProcess::close);
      }
    }
  }

  /**
   * A row filter of a window view read through the first server: its FlightInfo has one endpoint
   * per server, its own part without a location and each other server's at that server, and the
   * JDBC driver (plain and prepared) and ADBC read each part where it is named. After the second
   * server leaves, the parts planned before are still answered exactly by the servers left.
   */
  private static void rowFilterOfAView_onePartPerOwner(
      List<ServerProcess> servers, List<List<Object>> hourly) throws Exception {
    String sql = COLUMNS + " WHERE value_count >= 1";
    ServerProcess asked = servers.get(0);
    FlightInfo planned;
    try (BufferAllocator allocator = new RootAllocator();
        FlightSqlClient client =
            new FlightSqlClient(
                FlightClient.builder(allocator, Location.forGrpcInsecure("127.0.0.1", asked.port()))
                    .build())) {
      planned = client.execute(sql);
      List<Integer> ports = new ArrayList<>();
      for (FlightEndpoint e : planned.getEndpoints()) {
        ports.add(
            e.getLocations().isEmpty() ? asked.port() : e.getLocations().get(0).getUri().getPort());
      }
      assertEquals(
          servers.stream().map(ServerProcess::port).sorted().toList(),
          ports.stream().sorted().toList(),
          "one part per server: " + planned.getEndpoints());
      assertEquals(
          1,
          planned.getEndpoints().stream().filter(e -> e.getLocations().isEmpty()).count(),
          "the first server's own part names no location: " + planned.getEndpoints());
      MetricRows.assertSameRows(
          hourly, readParts(allocator, planned, asked, null), "the parts, each where it is named");
    }

    double askedGetsBefore = doGets(asked);
    try (Connection flight = FlightJdbc.connect(asked.jdbcUrl());
        Statement plain = flight.createStatement();
        PreparedStatement bound = flight.prepareStatement(COLUMNS + " WHERE value_count >= ?")) {
      MetricRows.assertSameRows(
          hourly, sortedComparable(MetricRows.rows(plain.executeQuery(sql))), "a JDBC Statement");
      bound.setLong(1, 1);
      MetricRows.assertSameRows(
          hourly,
          sortedComparable(MetricRows.rows(bound.executeQuery())),
          "a JDBC PreparedStatement");
    }
    MetricRows.assertSameRows(
        hourly, sortedComparable(MetricRows.queryAdbc(asked.grpcUri(), sql)), "ADBC");
    assertEquals(
        askedGetsBefore + 3, doGets(asked), "the first server served its own part, once a query");

    // The second server leaves: its partitions move to the others, which answer its part.
    assertEquals(0, servers.get(1).terminate(), "the second server's exit code");
    List<ServerProcess> left = List.of(servers.get(0), servers.get(2));
    ClusterIT.awaitBalanced(left);
    try (BufferAllocator allocator = new RootAllocator()) {
      for (ServerProcess s : left) {
        MetricRows.assertSameRows(
            hourly,
            readParts(allocator, planned, s, Duration.ofSeconds(60)),
            "the parts planned before the leave, redeemed at port " + s.port());
      }
    }
  }

  /**
   * Every part of {@code info} redeemed at {@code at}, the rows together as {@link
   * #sortedComparable} gives them; at the part's own location when {@code at} is null. With a
   * {@code wait}, tries again while a new owner still restores what moved to it.
   */
  private static List<List<Object>> readParts(
      BufferAllocator allocator, FlightInfo info, ServerProcess at, @Nullable Duration wait)
      throws Exception {
    long deadline = System.nanoTime() + (wait == null ? 0 : wait.toNanos());
    while (true) {
      List<List<Object>> all = new ArrayList<>();
      try {
        for (FlightEndpoint e : info.getEndpoints()) {
          Location where =
              wait != null || e.getLocations().isEmpty()
                  ? Location.forGrpcInsecure("127.0.0.1", at.port())
                  : e.getLocations().get(0);
          try (FlightClient c = FlightClient.builder(allocator, where).build()) {
            all.addAll(read(c.getStream(e.getTicket())));
          }
        }
        return sortedComparable(all);
      } catch (org.apache.arrow.flight.FlightRuntimeException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(200);
      }
    }
  }

  /** {@link #comparable} rows, sorted by key and window start as the oracle is. */
  private static List<List<Object>> sortedComparable(List<List<Object>> rows) {
    List<List<Object>> out = new ArrayList<>(comparable(rows));
    out.sort(
        java.util.Comparator.comparing((List<Object> r) -> (String) r.get(0))
            .thenComparing(r -> (Long) r.get(1)));
    return out;
  }

  private static List<String> keys(List<MetricRows.Row> rows) {
    return rows.stream().map(MetricRows.Row::metricId).distinct().sorted().limit(12).toList();
  }

  private static List<List<Object>> filter(List<List<Object>> windows, String key) {
    return windows.stream().filter(r -> r.get(0).equals(key)).toList();
  }

  /** Waits until the cluster's answer through {@code client} equals {@code expected}. */
  private static void awaitEquals(
      FlightSqlClient client, String sql, List<List<Object>> expected, String what)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    List<List<Object>> got = List.of();
    while (System.nanoTime() < deadline) {
      FlightInfo info = client.execute(sql);
      FlightEndpoint e = info.getEndpoints().get(0);
      got = comparable(read(client.getStream(e.getTicket())));
      if (MetricRows.sameRows(expected, got)) {
        return;
      }
      Thread.sleep(200);
    }
    MetricRows.assertSameRows(expected, got, what);
  }

  /**
   * Lookup rows as {@link MetricRows#oracle} gives windows: the window start in epoch milliseconds
   * (a naive UTC timestamp, whichever client read it) and the sum rounded to 6 decimals.
   */
  private static List<List<Object>> comparable(List<List<Object>> rows) {
    List<List<Object>> out = new ArrayList<>();
    for (List<Object> row : rows) {
      List<Object> r = new ArrayList<>(row);
      Object start = r.get(1);
      java.time.LocalDateTime wall =
          start instanceof java.sql.Timestamp t
              ? t.toLocalDateTime()
              : (java.time.LocalDateTime) start;
      r.set(1, wall.toInstant(java.time.ZoneOffset.UTC).toEpochMilli());
      r.set(3, Math.round((Double) r.get(3) * 1e6) / 1e6);
      out.add(r);
    }
    return out;
  }

  /** A stream's rows, as {@link MetricRows#rows} gives them. */
  private static List<List<Object>> read(FlightStream stream) throws Exception {
    List<List<Object>> out = new ArrayList<>();
    try (stream) {
      while (stream.next()) {
        MetricRows.addRows(stream.getRoot(), out);
      }
    }
    return out;
  }

  /** How many {@code DoGet}s the server has served, from its {@code /metrics}. */
  private static double doGets(ServerProcess server) throws Exception {
    return CallTimingIT.callTimes(server).get("DO_GET")[0];
  }
}
