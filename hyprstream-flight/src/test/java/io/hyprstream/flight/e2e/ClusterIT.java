package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import io.hyprstream.testing.EmbeddedKafka;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * Three server processes ({@code java -jar}) in one cluster ({@code --cluster-kafka}, {@code
 * --cluster-name}, {@code --cluster-partitions}) on a real KRaft broker in this JVM: rows sent to
 * any of them (a JDBC prepared INSERT, an ADBC bulk ingest) are held by the one that owns their
 * key, and every server's window views and aggregates equal DuckDB's {@code time_bucket} over every
 * row sent. Stage 2 of issue 16: each server answers for the whole cluster, reading the other
 * servers' partitions over Flight at the locations they advertise.
 */
final class ClusterIT {
  static final int PARTITIONS = 6;
  private static final Pattern OWNS =
      Pattern.compile("cluster member (\\S+) owns partitions \\[([0-9, ]*)\\]");

  @Test
  void threeServers_ingestThroughAny_everyServerAnswersTheWholeCluster() throws Exception {
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

          // A batch the owners would refuse is refused by the server it is sent to, before the
          // acknowledgement, naming the column; the answers below show nothing of it was stored.
          String refused = textValueIngestRefusal(servers.get(1).grpcUri());
          assertTrue(
              refused.contains("value") && refused.contains("Utf8"),
              "the refusal names the column and its type: " + refused);
          // A column's type is the cluster's once one server took it: another server refuses
          // another type before the acknowledgement, whichever server owns the rows.
          assertEquals(null, hostIngestError(servers.get(0).port(), true), "a text host");
          String otherType = hostIngestError(servers.get(2).port(), false);
          assertTrue(
              otherType != null && otherType.contains("host") && otherType.contains("Utf8"),
              "the refusal names the column and the cluster's type: " + otherType);

          // Every server answers for the whole cluster: the views equal the oracle through each.
          for (Map.Entry<String, Duration> view :
              Map.of(
                      "metrics_5m", Duration.ofMinutes(5),
                      "metrics_1h", Duration.ofHours(1))
                  .entrySet()) {
            List<List<Object>> expected = MetricRows.oracle(rows, view.getValue());
            for (int i = 0; i < flights.size(); i++) {
              awaitEquals(
                  flights.get(i),
                  MetricRows.windowsQuery(view.getKey()),
                  expected,
                  view.getKey() + " through server " + i + " vs time_bucket");
            }
          }
          // Global aggregates and a top-5 through each server, over JDBC, equal the oracle's.
          Map<String, String> aggregates =
              Map.of(
                  "SELECT count(*), round(sum(value), 6), min(value), max(value) FROM metrics",
                  "SELECT count(*), round(sum(value), 6), min(value), max(value) FROM metrics",
                  "SELECT metric_id, count(*) AS n, round(sum(value), 6) FROM metrics"
                      + " GROUP BY metric_id ORDER BY n DESC, metric_id LIMIT 5",
                  "SELECT metric_id, count(*) AS n, round(sum(value), 6) FROM metrics"
                      + " GROUP BY metric_id ORDER BY n DESC, metric_id LIMIT 5",
                  "SELECT metric_id, sum(value_count)::BIGINT FROM metrics_1h"
                      + " GROUP BY 1 ORDER BY 1",
                  "SELECT metric_id, count(value) FROM metrics GROUP BY 1 ORDER BY 1");
          for (Map.Entry<String, String> q : aggregates.entrySet()) {
            List<List<Object>> expected = MetricRows.overRawRows(rows, q.getValue());
            for (int i = 0; i < flights.size(); i++) {
              try (java.sql.Statement st = flights.get(i).createStatement()) {
                MetricRows.assertSameRows(
                    expected,
                    MetricRows.rows(st.executeQuery(q.getKey())),
                    q.getKey() + " through server " + i);
              }
            }
          }
          // ADBC through each server: the whole metrics_1h, and a key lookup (sent to its owner).
          List<List<Object>> hourly = MetricRows.oracle(rows, Duration.ofHours(1));
          for (ServerProcess s : servers) {
            MetricRows.assertSameRows(
                hourly,
                MetricRows.queryAdbc(s.grpcUri(), MetricRows.windowsQuery("metrics_1h")),
                "metrics_1h over ADBC through " + s.grpcUri());
            MetricRows.assertSameRows(
                hourly.stream().filter(r -> r.get(0).equals("m7")).toList(),
                MetricRows.queryAdbc(
                    s.grpcUri(),
                    "SELECT "
                        + MetricRows.WINDOW_COLUMNS
                        + " FROM metrics_1h WHERE metric_id = 'm7' ORDER BY 1, 2"),
                "key m7 over ADBC through " + s.grpcUri());
          }
          // hyprstream_cluster through each server: every partition owned by one of the three.
          for (int i = 0; i < flights.size(); i++) {
            try (java.sql.Statement st = flights.get(i).createStatement()) {
              assertEquals(
                  List.of(List.of((long) PARTITIONS, 3L, 1L)),
                  MetricRows.rows(
                      st.executeQuery(
                          "SELECT count(partition), count(DISTINCT instance),"
                              + " count(DISTINCT this_instance) FILTER (WHERE this_instance)"
                              + " FROM hyprstream_cluster WHERE location LIKE 'grpc://127.0.0.1:%'")),
                  "hyprstream_cluster through server " + i);
            }
          }
          // Each server published where it is reached; none answered from its own keys alone.
          for (ServerProcess s : servers) {
            assertTrue(s.log().contains("advertises grpc://127.0.0.1:" + s.port()), s.log());
          }
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
  static List<MetricRows.Row> rows(int n, long seed, Instant end) {
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

  /** The error of an ADBC bulk ingest into {@code metrics} whose {@code value} column is text. */
  private static String textValueIngestRefusal(String grpcUri) throws Exception {
    Schema schema =
        new Schema(
            List.of(
                Field.notNullable("metric_id", ArrowType.Utf8.INSTANCE),
                Field.notNullable(
                    "timestamp",
                    new ArrowType.Timestamp(
                        org.apache.arrow.vector.types.TimeUnit.MILLISECOND, null)),
                Field.nullable("value", ArrowType.Utf8.INSTANCE)));
    String error =
        adbcIngestError(
            grpcUri,
            "metrics",
            schema,
            root -> {
              text(root, 0, "m1");
              ((org.apache.arrow.vector.TimeStampMilliVector) root.getVector(1))
                  .setSafe(0, System.currentTimeMillis());
              text(root, 2, "1.5");
            });
    if (error == null) {
      throw new AssertionError("a text value column was acknowledged");
    }
    return error;
  }

  /**
   * The error of a Flight SQL bulk ingest (creating the table when it is missing) of one row into
   * the keyless table {@code events} with a {@code host} column of text or of 64-bit integers, or
   * null when it was acknowledged.
   */
  private static @Nullable String hostIngestError(int port, boolean text) throws Exception {
    Schema schema =
        new Schema(
            List.of(
                Field.nullable("name", ArrowType.Utf8.INSTANCE),
                Field.nullable(
                    "host", text ? ArrowType.Utf8.INSTANCE : new ArrowType.Int(64, true))));
    try (org.apache.arrow.memory.BufferAllocator allocator =
            new org.apache.arrow.memory.RootAllocator();
        org.apache.arrow.flight.sql.FlightSqlClient client =
            new org.apache.arrow.flight.sql.FlightSqlClient(
                org.apache.arrow.flight.FlightClient.builder(
                        allocator,
                        org.apache.arrow.flight.Location.forGrpcInsecure("127.0.0.1", port))
                    .build());
        VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator)) {
      root.allocateNew();
      text(root, 0, "started");
      if (text) {
        text(root, 1, "web-1");
      } else {
        ((org.apache.arrow.vector.BigIntVector) root.getVector(1)).setSafe(0, 7L);
      }
      root.setRowCount(1);
      client.executeIngest(
          root,
          new org.apache.arrow.flight.sql.FlightSqlClient.ExecuteIngestOptions(
              "events",
              org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest
                  .TableDefinitionOptions.newBuilder()
                  .setIfNotExist(
                      org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest
                          .TableDefinitionOptions.TableNotExistOption.TABLE_NOT_EXIST_OPTION_CREATE)
                  .setIfExists(
                      org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest
                          .TableDefinitionOptions.TableExistsOption.TABLE_EXISTS_OPTION_APPEND)
                  .build(),
              null,
              null,
              Map.of()));
      return null;
    } catch (org.apache.arrow.flight.FlightRuntimeException e) {
      return e.getMessage();
    }
  }

  private static void text(VectorSchemaRoot root, int column, String value) {
    ((org.apache.arrow.vector.VarCharVector) root.getVector(column))
        .setSafe(0, value.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /** The error of an ADBC bulk ingest of one row {@code fill} writes, or null when acknowledged. */
  private static @Nullable String adbcIngestError(
      String grpcUri,
      String table,
      Schema schema,
      java.util.function.Consumer<VectorSchemaRoot> fill)
      throws Exception {
    try (org.apache.arrow.memory.BufferAllocator allocator =
            new org.apache.arrow.memory.RootAllocator();
        org.apache.arrow.adbc.core.AdbcDatabase db =
            new org.apache.arrow.adbc.driver.flightsql.FlightSqlDriver(allocator)
                .open(
                    Map.of(
                        org.apache.arrow.adbc.core.AdbcDriver.PARAM_URI.getKey(),
                        grpcUri.replace("grpc://", "grpc+tcp://")));
        org.apache.arrow.adbc.core.AdbcConnection connection = db.connect();
        VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator)) {
      root.allocateNew();
      fill.accept(root);
      root.setRowCount(1);
      try (org.apache.arrow.adbc.core.AdbcStatement st =
          connection.bulkIngest(table, org.apache.arrow.adbc.core.BulkIngestMode.APPEND)) {
        st.bind(root);
        st.executeUpdate();
        return null;
      } catch (org.apache.arrow.adbc.core.AdbcException e) {
        return e.getMessage();
      }
    }
  }

  /**
   * Waits until the servers' latest ownership lines cover every partition once, each owning some.
   */
  static void awaitBalanced(List<ServerProcess> servers) throws InterruptedException {
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
        "partitions never spread over the "
            + servers.size()
            + " servers: "
            + seen
            + "\n"
            + servers.get(0).log());
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

  /** Polls (at most 60 s) until {@code sql} through {@code flight} answers {@code expected}. */
  /**
   * Waits until the server behind {@code flight} holds every partition it owns: a query that needs
   * a partition it is still restoring from the cluster log is refused (no partial answer), so a
   * test that expects another outcome waits for this after {@link #awaitBalanced}, which only sees
   * who owns what.
   */
  static void awaitRestored(Connection flight, String what) throws Exception {
    awaitEquals(
        flight,
        "SELECT partition FROM hyprstream_cluster WHERE this_instance AND restoring",
        List.of(),
        "partitions " + what + " still restores");
  }

  static void awaitEquals(Connection flight, String sql, List<List<Object>> expected, String what)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      List<List<Object>> got;
      try (java.sql.Statement st = flight.createStatement()) {
        got = MetricRows.rows(st.executeQuery(sql));
      }
      try {
        MetricRows.assertSameRows(expected, got, what);
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
