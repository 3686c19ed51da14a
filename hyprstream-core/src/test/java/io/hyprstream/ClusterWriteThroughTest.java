package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.IngestResult;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.backend.BackendStores;
import io.hyprstream.cluster.ClusterConfig;
import io.hyprstream.internal.cluster.ClusteredHyprstream;
import io.hyprstream.testing.EmbeddedKafka;
import io.hyprstream.testing.ManualClock;
import io.hyprstream.testing.PostgresAvailable;
import io.hyprstream.testing.PostgresSchema;
import io.hyprstream.testing.TcpProxy;
import io.hyprstream.testing.TestAllocator;
import java.net.InetSocketAddress;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A cluster writing through to PostgreSQL, on a real KRaft broker in this JVM: every acknowledged
 * row reaches PostgreSQL exactly once, whoever owns its partition when, through joins, leaves,
 * outages of the backend and an owner leaving with rows it could not write.
 */
@ExtendWith(PostgresAvailable.class)
final class ClusterWriteThroughTest {
  private static final int PARTITIONS = 6;
  private static final Duration SETTLE = Duration.ofSeconds(60);

  private static EmbeddedKafka kafka;
  private static int clusters;

  @RegisterExtension final TestAllocator allocator = new TestAllocator();
  @RegisterExtension final PostgresSchema pg = new PostgresSchema("hs_cluster_");

  @BeforeAll
  static void startKafka() throws Exception {
    kafka = EmbeddedKafka.start();
  }

  @AfterAll
  static void stopKafka() throws Exception {
    kafka.close();
  }

  private static String newClusterName() {
    return "wt-" + (++clusters) + "-" + System.nanoTime();
  }

  /**
   * A member of cluster {@code name} writing to PostgreSQL at {@code uri}, in this test's schema.
   */
  private ClusteredHyprstream member(String name, String id, String uri, InstantSource clock) {
    return (ClusteredHyprstream)
        Hyprstream.builder()
            .allocator(allocator)
            .clock(clock)
            .cacheDuration(Duration.ofDays(30))
            .expiryInterval(Duration.ZERO)
            .backend(
                BackendStores.open(
                    "adbc",
                    uri,
                    Map.of("schema", pg.name(), "connect_timeout", "2", "socket_timeout", "5"),
                    null,
                    null,
                    allocator))
            .cluster(
                ClusterConfig.kafka(kafka.bootstrapServers(), name)
                    .withPartitions(PARTITIONS)
                    .withInstanceId(id)
                    .withPeerServer(new InetSocketAddress("127.0.0.1", 0)))
            .build();
  }

  private ClusteredHyprstream member(String name, String id) {
    return member(name, id, PostgresAvailable.URI, fixedClock());
  }

  private static InstantSource fixedClock() {
    return InstantSource.fixed(ClusterWindowsTest.END.plusSeconds(60));
  }

  /** Ingests {@code rows} through {@code node} in batches of {@code batchRows}; rows accepted. */
  private long ingest(Hyprstream node, List<TestData.Row> rows, int batchRows) {
    long accepted = 0;
    for (int from = 0; from < rows.size(); from += batchRows) {
      try (VectorSchemaRoot batch =
          TestData.metrics(
              allocator, rows.subList(from, Math.min(rows.size(), from + batchRows)))) {
        accepted += node.ingest("metrics", batch).rowsAccepted();
      }
    }
    return accepted;
  }

  private static void awaitWritten(List<ClusteredHyprstream> nodes) {
    for (ClusteredHyprstream n : nodes) {
      assertTrue(
          n.awaitCaughtUp(SETTLE),
          n.clusterConfig().instanceId() + " applied and wrote its partitions");
      assertEquals(0, n.recordsRefused(), n.clusterConfig().instanceId() + " refused records");
      assertEquals(0, n.backendBatchesRefused(), n.clusterConfig().instanceId() + " refusals");
    }
  }

  /**
   * The oracle for exactly once: PostgreSQL's metrics rows, by seq, hold each acknowledged row once
   * with its id, time and value, and nothing else.
   */
  private void assertPostgresHoldsEachRowOnce(List<TestData.Row> acknowledged) throws Exception {
    Map<Long, TestData.Row> expected = new HashMap<>();
    acknowledged.forEach(r -> expected.put(r.seq, r));
    Map<Long, Integer> seen = new HashMap<>();
    List<String> wrong = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(PostgresSchema.URL, PostgresSchema.props());
        Statement st = c.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT seq, metric_id, timestamp, value FROM \"" + pg.name() + "\".metrics")) {
      while (rs.next()) {
        long seq = rs.getLong(1);
        seen.merge(seq, 1, Integer::sum);
        TestData.Row r = expected.get(seq);
        double value = rs.getDouble(4);
        Double v = rs.wasNull() ? null : value;
        if (r == null || !r.id.equals(rs.getString(2)) || !java.util.Objects.equals(r.value, v)) {
          wrong.add("seq " + seq);
        }
      }
    }
    List<Long> twice = new ArrayList<>();
    seen.forEach(
        (seq, n) -> {
          if (n > 1) {
            twice.add(seq);
          }
        });
    long missing = expected.keySet().stream().filter(s -> !seen.containsKey(s)).count();
    assertEquals(
        List.of(),
        wrong.subList(0, Math.min(10, wrong.size())),
        wrong.size() + " rows in PostgreSQL were not acknowledged as such; the first ten:");
    assertEquals(
        List.of(),
        twice.subList(0, Math.min(10, twice.size())),
        twice.size() + " rows are in PostgreSQL more than once; the first ten:");
    assertEquals(0, missing, "acknowledged rows missing from PostgreSQL");
    assertEquals(acknowledged.size(), seen.size());
  }

  /** Each of the five window views through {@code through} equals one instance fed the rows. */
  private void assertWindowsEqualOneInstance(Hyprstream through, List<TestData.Row> rows)
      throws Exception {
    try (Hyprstream single =
        Hyprstream.builder()
            .allocator(allocator)
            .clock(fixedClock())
            .cacheDuration(Duration.ofDays(30))
            .expiryInterval(Duration.ZERO)
            .build()) {
      ingest(single, rows, 1000);
      for (WindowSpec w : WindowSpec.DEFAULTS) {
        String view = WindowOracle.viewRows("metrics", w);
        WindowOracle.assertRowsClose(
            TestData.rows(single.query(view)),
            TestData.rows(through.query(view)),
            "metrics_" + w.name() + " through the cluster vs one instance");
      }
    }
  }

  @Test
  void joinAndLeaveDuringIngest_everyAcknowledgedRowIsInPostgresOnce() throws Exception {
    List<TestData.Row> rows = ClusterWindowsTest.randomRows(31, 12_000);
    String name = newClusterName();
    List<ClusteredHyprstream> nodes = new ArrayList<>();
    try {
      nodes.add(member(name, "i0"));
      nodes.add(member(name, "i1"));
      ClusterWindowsTest.awaitBalanced(nodes);
      // i0 takes the ingest throughout, while i2 joins and i1 leaves under it.
      AtomicReference<Throwable> failed = new AtomicReference<>();
      ClusteredHyprstream entry = nodes.get(0);
      Thread ingester =
          new Thread(
              () -> {
                try {
                  for (int from = 0; from < rows.size(); from += 400) {
                    ingest(entry, rows.subList(from, Math.min(rows.size(), from + 400)), 200);
                    Thread.sleep(40);
                  }
                } catch (Throwable t) {
                  failed.set(t);
                }
              },
              "ingest");
      ingester.start();
      Thread.sleep(300);
      nodes.add(member(name, "i2"));
      ClusterWindowsTest.awaitBalanced(nodes);
      nodes.remove(1).close(); // i1 leaves gracefully
      ClusterWindowsTest.awaitBalanced(nodes);
      ingester.join(SETTLE.toMillis());
      assertFalse(ingester.isAlive(), "ingest finished");
      assertEquals(null, failed.get(), "every ingest was acknowledged");
      awaitWritten(nodes);

      assertPostgresHoldsEachRowOnce(rows);
      assertWindowsEqualOneInstance(nodes.get(1), rows);
    } finally {
      nodes.forEach(Hyprstream::close);
    }
  }

  /**
   * A client retrying one batch with one ingest id through each instance (its first acknowledgement
   * lost): the owners skip the second attempt's records, so every row is once in the windows and in
   * PostgreSQL, and a new owner replaying the log after a leave skips them again.
   */
  @Test
  void sameIngestIdThroughEachInstance_rowsOnce_alsoAfterANewOwnerReplays() throws Exception {
    List<TestData.Row> rows = ClusterWindowsTest.randomRows(34, 3000);
    String name = newClusterName();
    List<ClusteredHyprstream> nodes = new ArrayList<>();
    try {
      nodes.add(member(name, "i0"));
      nodes.add(member(name, "i1"));
      ClusterWindowsTest.awaitBalanced(nodes);
      for (ClusteredHyprstream n : List.copyOf(nodes)) {
        try (VectorSchemaRoot batch = TestData.metrics(allocator, rows)) {
          IngestResult r = n.ingest("metrics", batch, "client-batch-1");
          // The receiving instance cannot know a repeat: it acknowledges the rows it logged.
          assertEquals(rows.size(), r.rowsAccepted());
          assertFalse(r.repeated());
        }
      }
      awaitWritten(nodes);
      assertPostgresHoldsEachRowOnce(rows);
      WindowOracle.assertMetricsWindowsOver(nodes.get(0), rows, fixedClock().instant(), allocator);
      assertEquals(
          PARTITIONS,
          nodes.stream().mapToLong(ClusteredHyprstream::recordsRepeated).sum(),
          "the second attempt's record of each partition was skipped");

      nodes.remove(1).close(); // i0 takes i1's partitions over and replays them from the start
      ClusterWindowsTest.awaitBalanced(nodes);
      ClusteredHyprstream survivor = nodes.get(0);
      try (VectorSchemaRoot batch = TestData.metrics(allocator, rows)) {
        survivor.ingest("metrics", batch, "client-batch-1"); // a third attempt
      }
      awaitWritten(nodes);
      assertPostgresHoldsEachRowOnce(rows);
      WindowOracle.assertMetricsWindowsOver(survivor, rows, fixedClock().instant(), allocator);
      assertTrue(
          survivor.recordsRepeated() > PARTITIONS / 2,
          "the new owner skipped the repeats it replayed, and the third attempt: "
              + survivor.recordsRepeated());
    } finally {
      nodes.forEach(Hyprstream::close);
    }
  }

  @Test
  void ownerCutOffFromPostgres_rowsWaitInKafka_thenTheNextOwnerWritesThemOnce() throws Exception {
    List<TestData.Row> rows = ClusterWindowsTest.randomRows(32, 9000);
    List<TestData.Row> first = rows.subList(0, 4000);
    List<TestData.Row> second = rows.subList(4000, 6000);
    List<TestData.Row> third = rows.subList(6000, 9000);
    String name = newClusterName();
    List<ClusteredHyprstream> nodes = new ArrayList<>();
    try (TcpProxy proxy = new TcpProxy(5432)) {
      try {
        nodes.add(member(name, "i0"));
        nodes.add(member(name, "i1", PostgresAvailable.viaPort(proxy.port()), fixedClock()));
        ClusterWindowsTest.awaitBalanced(nodes);
        ClusteredHyprstream i0 = nodes.get(0);
        ClusteredHyprstream i1 = nodes.get(1);

        // Cut off, i1 writes nothing (and pauses its partitions after the first records it cannot
        // write: the rest wait in Kafka); once the link is back it writes what waited, once. (Its
        // first rows go in with the link up:
        // the table's first batch checks its columns against PostgreSQL.)
        assertEquals(1200, ingest(i0, first.subList(0, 1200), 200));
        awaitWritten(nodes);
        proxy.cut();
        assertEquals(2800, ingest(i0, first.subList(1200, 4000), 200), "acknowledged, i1 cut off");
        assertFalse(i1.awaitCaughtUp(Duration.ofSeconds(3)), "i1 cannot write while cut off");
        List<String> problems = i1.problems(); // what the server's /ready reports
        assertTrue(
            problems.stream()
                .anyMatch(
                    p ->
                        p.startsWith("cluster: cannot write to backend postgresql (")
                            && p.endsWith("; acknowledged rows wait in hs." + name + ".ingest")),
            problems.toString());
        assertEquals(List.of(), i0.problems(), "i0 writes");
        proxy.restore();
        awaitWritten(nodes);
        assertEquals(List.of(), i1.problems(), "i1 writes again");
        assertPostgresHoldsEachRowOnce(first);

        // Cut off again, i1 leaves with rows it could not write: i0 takes its partitions, rebuilds
        // their windows from the log and writes the records from i1's committed offsets on.
        proxy.cut();
        assertEquals(second.size(), ingest(i0, second, 200));
        assertFalse(i1.awaitCaughtUp(Duration.ofSeconds(3)), "i1 cannot write while cut off");
        long writtenBefore = i0.backendBatchesWritten();
        nodes.remove(1).close();
        ClusterWindowsTest.awaitBalanced(nodes);
        awaitWritten(nodes);
        assertPostgresHoldsEachRowOnce(rows.subList(0, 6000));
        // Only i1's unwritten records are written again, not its whole history: 10 ingests of the
        // second part make at most 10 records per partition; the first part had 20 per partition.
        long rewritten = i0.backendBatchesWritten() - writtenBefore;
        assertTrue(
            rewritten <= 10L * PARTITIONS, "i0 wrote " + rewritten + " batches after taking over");

        assertEquals(third.size(), ingest(i0, third, 200));
        awaitWritten(nodes);
        assertPostgresHoldsEachRowOnce(rows);
        assertWindowsEqualOneInstance(i0, rows);
      } finally {
        nodes.forEach(Hyprstream::close);
      }
    }
  }

  /**
   * The committed offsets are only a shortcut; the batch ids carry exactly once. With them lost (as
   * when an owner crashes between its write and its commit), the next owner writes every record
   * again, and PostgreSQL keeps each row once.
   */
  @Test
  void committedOffsetsLost_theNextOwnerWritesEverythingAgain_postgresKeepsEachRowOnce()
      throws Exception {
    List<TestData.Row> rows = ClusterWindowsTest.randomRows(34, 4000);
    String name = newClusterName();
    ClusterConfig config;
    try (ClusteredHyprstream first = member(name, "i0")) {
      config = first.clusterConfig();
      ClusterWindowsTest.awaitBalanced(List.of(first));
      ingest(first, rows, 200);
      awaitWritten(List.of(first));
      assertPostgresHoldsEachRowOnce(rows);
    }
    Map<TopicPartition, OffsetAndMetadata> zero = new HashMap<>();
    for (int p = 0; p < PARTITIONS; p++) {
      zero.put(new TopicPartition(config.ingestTopic(), p), new OffsetAndMetadata(0));
    }
    try (org.apache.kafka.clients.admin.Admin admin = kafka.admin()) {
      admin.alterConsumerGroupOffsets(config.groupId(), zero).all().get();
    }
    try (ClusteredHyprstream next = member(name, "i1")) {
      ClusterWindowsTest.awaitBalanced(List.of(next));
      awaitWritten(List.of(next));
      assertTrue(
          next.backendBatchesWritten() >= rows.size() / 200,
          "every record was written again: " + next.backendBatchesWritten());
      assertPostgresHoldsEachRowOnce(rows);
      assertWindowsEqualOneInstance(next, rows);
    }
  }

  @Test
  void rowsThatLeftTheCaches_areReadOnceFromPostgres_exactThroughEveryInstance() throws Exception {
    ManualClock clock = new ManualClock(ClusterWindowsTest.END.plusSeconds(60));
    // Ten days of rows before END; 25 days on, the caches' 30 days hold only the last five.
    List<TestData.Row> rows = ClusterWindowsTest.randomRows(33, 6000);
    String name = newClusterName();
    List<ClusteredHyprstream> nodes = new ArrayList<>();
    try (TcpProxy proxy = new TcpProxy(5432)) {
      try {
        nodes.add(member(name, "i0", PostgresAvailable.URI, clock));
        nodes.add(member(name, "i1", PostgresAvailable.viaPort(proxy.port()), clock));
        ClusterWindowsTest.awaitBalanced(nodes);
        ingest(nodes.get(0), rows.subList(0, 3000), 500);
        ingest(nodes.get(1), rows.subList(3000, rows.size()), 500);
        awaitWritten(nodes);
        assertPostgresHoldsEachRowOnce(rows);
        assertRawRowsExact(nodes, rows, "while the caches hold every row");

        clock.advance(Duration.ofDays(25));
        Instant expiredBefore = clock.instant().minus(Duration.ofDays(30));
        long expired = rows.stream().filter(r -> r.micros < TestData.micros(expiredBefore)).count();
        assertTrue(expired > 1000 && expired < rows.size() - 1000, expired + " rows expire");
        // The caches still hold the old rows, and PostgreSQL has them too: each is counted once.
        assertRawRowsExact(nodes, rows, "25 days on, before the caches expire anything");
        for (ClusteredHyprstream n : nodes) {
          n.expire();
        }
        // Each owner now holds only its partitions' last five days; the older rows of every
        // partition come once from PostgreSQL, the rest from the owners.
        assertRawRowsExact(nodes, rows, "after expiry");

        // With i1 cut off from PostgreSQL, new rows of its partitions are not in PostgreSQL: a
        // read of the older rows from there would miss none of them (they are recent), but it
        // cannot know that, so it fails naming i1; a query bounded to the caches answers.
        proxy.cut();
        List<TestData.Row> recent = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
          TestData.Row r = rows.get(i);
          recent.add(
              new TestData.Row(
                  r.id, TestData.micros(clock.instant()) - i * 1_000_000L, r.value, 10_000 + i));
        }
        ingest(nodes.get(0), recent, 100);
        assertFalse(nodes.get(1).awaitCaughtUp(Duration.ofSeconds(3)), "i1 cannot write");
        io.hyprstream.api.BackendUnavailableException e =
            assertThrows(
                io.hyprstream.api.BackendUnavailableException.class,
                () -> TestData.rows(nodes.get(0).query("SELECT count(*) FROM metrics")));
        assertTrue(e.getMessage().contains("i1"), e.getMessage());
        assertTrue(e.getMessage().contains("not yet in the backend"), e.getMessage());
        String sinceYesterday =
            "SELECT count(*) FROM metrics WHERE timestamp >= TIMESTAMP '"
                + clock
                    .instant()
                    .minus(Duration.ofDays(1))
                    .toString()
                    .replace("T", " ")
                    .replace("Z", "")
                + "'";
        for (ClusteredHyprstream n : nodes) {
          // i1 pauses its partitions while it cannot write, so its share of the new rows waits in
          // Kafka (lag), but the query answers; exactly once the link is back (below).
          long seen = (Long) TestData.rows(n.query(sinceYesterday)).get(0).get(0);
          assertTrue(
              seen <= recent.size(),
              seen + " rows since yesterday through " + n.clusterConfig().instanceId());
        }
        proxy.restore();
        awaitWritten(nodes);
        List<TestData.Row> all = new ArrayList<>(rows);
        all.addAll(recent);
        assertPostgresHoldsEachRowOnce(all);
        assertRawRowsExact(nodes, all, "with the link back");
        for (ClusteredHyprstream n : nodes) {
          assertEquals(
              (long) recent.size(),
              TestData.rows(n.query(sinceYesterday)).get(0).get(0),
              "rows since yesterday through " + n.clusterConfig().instanceId());
        }
      } finally {
        nodes.forEach(Hyprstream::close);
      }
    }
  }

  /**
   * Through every node: the count and sum of the raw rows, per key and in all, and over a span that
   * straddles the cold boundary, equal the same figures computed over {@code rows}.
   */
  private void assertRawRowsExact(
      List<ClusteredHyprstream> nodes, List<TestData.Row> rows, String when) throws Exception {
    Instant from = ClusterWindowsTest.END.minus(Duration.ofDays(7));
    Map<String, double[]> perKey = new java.util.TreeMap<>();
    long fromMicros = TestData.micros(from);
    long[] spanCount = {0};
    for (TestData.Row r : rows) {
      double[] f = perKey.computeIfAbsent(r.id, k -> new double[2]);
      f[0]++;
      f[1] += r.value == null ? 0 : r.value;
      if (r.micros >= fromMicros) {
        spanCount[0]++;
      }
    }
    String span =
        "SELECT count(*) FROM metrics WHERE timestamp >= TIMESTAMP '"
            + from.toString().replace("T", " ").replace("Z", "")
            + "'";
    for (ClusteredHyprstream n : nodes) {
      String through = when + ", through " + n.clusterConfig().instanceId();
      List<List<@Nullable Object>> total = TestData.rows(n.query("SELECT count(*) FROM metrics"));
      assertEquals((long) rows.size(), total.get(0).get(0), "count(*) " + through);
      assertEquals(spanCount[0], TestData.rows(n.query(span)).get(0).get(0), "span " + through);
      List<List<@Nullable Object>> keyed =
          TestData.rows(
              n.query(
                  "SELECT metric_id, count(*), coalesce(sum(value), 0) FROM metrics"
                      + " GROUP BY metric_id ORDER BY metric_id"));
      assertEquals(perKey.size(), keyed.size(), "keys " + through);
      for (List<@Nullable Object> row : keyed) {
        double[] f = perKey.get((String) row.get(0));
        assertEquals((long) f[0], row.get(1), "count of " + row.get(0) + " " + through);
        assertEquals(f[1], (Double) row.get(2), 1e-6, "sum of " + row.get(0) + " " + through);
      }
      // A key lookup of raw rows reaching before the boundary fans out like any other query.
      String key = rows.get(0).id;
      List<List<@Nullable Object>> one =
          TestData.rows(
              n.query(
                  "SELECT count(*) FROM metrics WHERE metric_id = ?",
                  java.util.Arrays.asList((Object) key)));
      assertEquals(
          (long) perKey.get(key)[0], one.get(0).get(0), "lookup of " + key + " " + through);
    }
  }
}
