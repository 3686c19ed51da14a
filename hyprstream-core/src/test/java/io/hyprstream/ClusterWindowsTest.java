package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.IngestResult;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.backend.BackendStores;
import io.hyprstream.cluster.ClusterConfig;
import io.hyprstream.internal.cluster.ClusteredHyprstream;
import io.hyprstream.testing.EmbeddedKafka;
import io.hyprstream.testing.TcpProxy;
import io.hyprstream.testing.TestAllocator;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Instances of one cluster on a real KRaft broker in this JVM. Three of them: rows ingested through
 * any of them land, whole keys at a time, on the instance that owns the key's partition, and the
 * union of the three instances' window views and running columns equals one instance fed the same
 * rows and DuckDB's {@code time_bucket ... GROUP BY} over those rows.
 */
final class ClusterWindowsTest {
  static final Instant END = Instant.parse("2026-03-11T08:00:00Z");
  private static final long DAY_MICROS = 86_400_000_000L;
  private static final int METRICS = 60;
  private static final int PARTITIONS = 6;
  private static final Duration SETTLE = Duration.ofSeconds(60);
  private static final int CLUSTER_TABLE_COLUMNS = 9;

  private static EmbeddedKafka kafka;
  private static int clusters;
  @RegisterExtension final TestAllocator allocator = new TestAllocator();

  @BeforeAll
  static void startKafka() throws Exception {
    kafka = EmbeddedKafka.start();
  }

  @AfterAll
  static void stopKafka() throws Exception {
    kafka.close();
  }

  private static String newClusterName() {
    return "test-" + (++clusters) + "-" + System.nanoTime();
  }

  private Hyprstream instance(@Nullable ClusterConfig cluster) {
    HyprstreamBuilder b =
        Hyprstream.builder()
            .allocator(allocator)
            .clock(InstantSource.fixed(END.plusSeconds(60)))
            .cacheDuration(Duration.ofDays(30))
            .expiryInterval(Duration.ZERO);
    return cluster == null ? b.build() : b.cluster(cluster).build();
  }

  /** Three instances of a new cluster, once Kafka has assigned each of them partitions. */
  private List<ClusteredHyprstream> cluster3() throws InterruptedException {
    String name = newClusterName();
    List<ClusterConfig> configs = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      configs.add(
          ClusterConfig.kafka(kafka.bootstrapServers(), name)
              .withPartitions(PARTITIONS)
              .withInstanceId("i" + i));
    }
    return cluster(configs);
  }

  /** A cluster's instances, started in order, once Kafka has assigned each of them partitions. */
  private List<ClusteredHyprstream> cluster(List<ClusterConfig> configs)
      throws InterruptedException {
    List<ClusteredHyprstream> nodes = new ArrayList<>();
    try {
      for (ClusterConfig c : configs) {
        nodes.add((ClusteredHyprstream) instance(c));
      }
      awaitBalanced(nodes);
      return nodes;
    } catch (RuntimeException | Error | InterruptedException e) {
      nodes.forEach(Hyprstream::close);
      throw e;
    }
  }

  /** A config of a cluster member that serves other instances' reads on a free loopback port. */
  private static ClusterConfig serving(String name, String id) {
    return ClusterConfig.kafka(kafka.bootstrapServers(), name)
        .withPartitions(PARTITIONS)
        .withInstanceId(id)
        .withPeerServer(new InetSocketAddress("127.0.0.1", 0));
  }

  /**
   * Waits until every instance's membership names, for every partition, the instance that owns it.
   */
  private static void awaitMembership(List<ClusteredHyprstream> nodes) throws InterruptedException {
    Map<Integer, String> truth = new TreeMap<>();
    for (ClusteredHyprstream n : nodes) {
      n.ownedPartitions().forEach(p -> truth.put(p, n.clusterConfig().instanceId()));
    }
    long deadline = System.nanoTime() + SETTLE.toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      boolean all = true;
      StringBuilder seen = new StringBuilder();
      for (ClusteredHyprstream n : nodes) {
        Map<Integer, String> owners = n.partitionOwners();
        all &= owners.equals(truth);
        seen.append(n.clusterConfig().instanceId()).append(" sees ").append(owners).append("; ");
      }
      last = seen.toString();
      if (all) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("membership never matched the assignment " + truth + ": " + last);
  }

  private static int freePort() throws java.io.IOException {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static List<List<@Nullable Object>> sorted(List<List<@Nullable Object>> rows) {
    List<List<@Nullable Object>> out = new ArrayList<>(rows);
    out.sort(ROW_ORDER);
    return out;
  }

  /** Waits until every partition has exactly one owner and every instance owns some. */
  static void awaitBalanced(List<ClusteredHyprstream> nodes) throws InterruptedException {
    long deadline = System.nanoTime() + SETTLE.toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      Set<Integer> union = new TreeSet<>();
      int total = 0;
      boolean everyOneOwns = true;
      StringBuilder seen = new StringBuilder();
      for (ClusteredHyprstream n : nodes) {
        Set<Integer> owned = n.ownedPartitions();
        union.addAll(owned);
        total += owned.size();
        everyOneOwns &= !owned.isEmpty();
        seen.append(n.clusterConfig().instanceId()).append('=').append(owned).append(' ');
      }
      last = seen.toString();
      if (union.size() == PARTITIONS && total == PARTITIONS && everyOneOwns) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError(
        "partitions not assigned to all " + nodes.size() + " instances: " + last);
  }

  /** 10 days of random rows for 60 metrics, ~2% null values, 10% out of order. */
  static List<TestData.Row> randomRows(long seed, int count) {
    Random random = new Random(seed);
    long endMicros = TestData.micros(END);
    List<TestData.Row> rows = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      long t = endMicros - (long) (random.nextDouble() * 10 * DAY_MICROS);
      String id = "m" + random.nextInt(METRICS);
      Double v = random.nextInt(50) == 0 ? null : Math.round(random.nextGaussian() * 1000) / 10.0;
      rows.add(new TestData.Row(id, t, v, 0));
    }
    rows.sort(Comparator.comparingLong(r -> r.micros));
    for (int i = 0; i < count / 10; i++) {
      int a = random.nextInt(count);
      Collections.swap(rows, a, Math.max(0, a - random.nextInt(2000)));
    }
    List<TestData.Row> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      TestData.Row r = rows.get(i);
      out.add(new TestData.Row(r.id, r.micros, r.value, i));
    }
    return out;
  }

  /** Ingests {@code rows} in batches, batch i through {@code through.get(i % size)}. */
  private long ingestRoundRobin(
      List<? extends Hyprstream> through, List<TestData.Row> rows, int batchRows) {
    long accepted = 0;
    for (int from = 0, i = 0; from < rows.size(); from += batchRows, i++) {
      try (VectorSchemaRoot batch =
          TestData.metrics(
              allocator, rows.subList(from, Math.min(rows.size(), from + batchRows)))) {
        IngestResult r = through.get(i % through.size()).ingest("metrics", batch);
        accepted += r.rowsAccepted();
      }
    }
    return accepted;
  }

  private static void awaitCaughtUp(List<ClusteredHyprstream> nodes) {
    for (ClusteredHyprstream n : nodes) {
      assertTrue(n.awaitCaughtUp(SETTLE), n.clusterConfig().instanceId() + " caught up");
      assertEquals(0, n.recordsRefused(), n.clusterConfig().instanceId() + " refused records");
    }
  }

  /**
   * {@code sql}'s answer: from a clustered instance, from the partitions it owns alone (as it
   * answers another instance's read), so that instances' parts can be compared.
   */
  private static List<List<@Nullable Object>> rows(Hyprstream hs, String sql) throws Exception {
    return TestData.rows(hs instanceof ClusteredHyprstream c ? c.queryLocal(sql) : hs.query(sql));
  }

  /**
   * Every instance's own part of {@code sql}'s answer, concatenated, sorted by the first columns.
   */
  private static List<List<@Nullable Object>> union(List<? extends Hyprstream> nodes, String sql)
      throws Exception {
    List<List<@Nullable Object>> all = new ArrayList<>();
    for (Hyprstream n : nodes) {
      all.addAll(rows(n, sql));
    }
    all.sort(ROW_ORDER);
    return all;
  }

  /** The whole answer of {@code hs} to {@code sql} (from every owner, for a clustered one). */
  private static List<List<@Nullable Object>> answer(Hyprstream hs, String sql) throws Exception {
    return TestData.rows(hs.query(sql));
  }

  private static final Comparator<List<@Nullable Object>> ROW_ORDER =
      Comparator.comparing((List<@Nullable Object> r) -> String.valueOf(r.get(0)))
          .thenComparing(r -> String.valueOf(r.get(1)));

  @Test
  void threeInstances_unionOfWindowViewsEqualsOneInstanceAndTimeBucketOracle() throws Exception {
    List<TestData.Row> rows = randomRows(16, 24_000);
    List<ClusteredHyprstream> nodes = cluster3();
    try (Hyprstream single = instance(null)) {
      try {
        assertEquals(rows.size(), ingestRoundRobin(nodes, rows, 1500), "rows acknowledged");
        ingestRoundRobin(List.of(single), rows, 1500);
        awaitCaughtUp(nodes);

        // Raw rows: each row on exactly one instance, each key on exactly one instance.
        assertEquals(
            rows.size(),
            union(nodes, "SELECT seq, metric_id FROM metrics").size(),
            "raw rows across the cluster");
        Map<Object, String> ownerOfKey = new HashMap<>();
        for (ClusteredHyprstream n : nodes) {
          for (List<@Nullable Object> r : rows(n, "SELECT DISTINCT metric_id FROM metrics")) {
            String before = ownerOfKey.put(r.get(0), n.clusterConfig().instanceId());
            assertEquals(null, before, "key " + r.get(0) + " on two instances");
          }
          assertTrue(n.recordsApplied() > 0, n.clusterConfig().instanceId() + " applied records");
        }
        assertEquals(METRICS, ownerOfKey.size(), "every key has an owner");

        for (WindowSpec w : WindowSpec.DEFAULTS) {
          String view = WindowOracle.viewRows("metrics", w);
          String oracle =
              WindowOracle.timeBucketGroupBy(
                  "metrics", w, END.plusSeconds(60).minus(w.retention()));
          List<List<@Nullable Object>> clustered = union(nodes, view);
          List<List<@Nullable Object>> alone = union(List.of(single), view);
          List<List<@Nullable Object>> expected = union(List.of(single), oracle);
          assertTrue(expected.size() > METRICS, "oracle found windows for " + w.name());
          assertEquals(alone.size(), clustered.size(), "windows of metrics_" + w.name());
          assertEquals(expected.size(), clustered.size(), "oracle windows of " + w.name());
          for (int i = 0; i < clustered.size(); i++) {
            String where = "metrics_" + w.name() + " row " + i;
            WindowOracle.assertRowClose(alone.get(i), clustered.get(i), where + " vs single");
            WindowOracle.assertRowClose(expected.get(i), clustered.get(i), where + " vs oracle");
          }
        }

        // Running columns depend on each key's arrival order, which its partition keeps.
        String running =
            "SELECT seq, metric_id, value_running_window_sum, value_running_window_avg,"
                + " value_running_window_count FROM metrics";
        List<List<@Nullable Object>> clustered = union(nodes, running);
        List<List<@Nullable Object>> alone = union(List.of(single), running);
        Comparator<List<@Nullable Object>> bySeq = Comparator.comparingLong(r -> (Long) r.get(0));
        clustered.sort(bySeq);
        alone.sort(bySeq);
        assertEquals(alone.size(), clustered.size());
        for (int i = 0; i < alone.size(); i++) {
          WindowOracle.assertRowClose(alone.get(i), clustered.get(i), "running row " + i);
        }
      } finally {
        nodes.forEach(Hyprstream::close);
      }
    }
  }

  /**
   * Stage 2: each of three instances answers for the whole cluster. Every window view, the running
   * columns, global aggregates and a top-5 read through any instance equal one instance fed the
   * same rows (and DuckDB's {@code time_bucket} oracle for the views); a key lookup through an
   * instance that does not own the key equals the owner's answer.
   */
  @Test
  void everyInstance_answersForTheWholeCluster_equalToOneInstanceAndTheOracle() throws Exception {
    List<TestData.Row> rows = randomRows(17, 12_000);
    String name = newClusterName();
    List<ClusteredHyprstream> nodes =
        cluster(List.of(serving(name, "i0"), serving(name, "i1"), serving(name, "i2")));
    try (Hyprstream single = instance(null)) {
      try {
        assertEquals(rows.size(), ingestRoundRobin(nodes, rows, 1500), "rows acknowledged");
        ingestRoundRobin(List.of(single), rows, 1500);
        awaitCaughtUp(nodes);
        awaitMembership(nodes);

        for (WindowSpec w : WindowSpec.DEFAULTS) {
          String view = WindowOracle.viewRows("metrics", w);
          String oracle =
              WindowOracle.timeBucketGroupBy(
                  "metrics", w, END.plusSeconds(60).minus(w.retention()));
          List<List<@Nullable Object>> alone = sorted(answer(single, view));
          List<List<@Nullable Object>> expected = sorted(answer(single, oracle));
          assertTrue(expected.size() > METRICS, "oracle found windows for " + w.name());
          for (ClusteredHyprstream n : nodes) {
            String where = "metrics_" + w.name() + " through " + n.clusterConfig().instanceId();
            List<List<@Nullable Object>> got = sorted(answer(n, view));
            WindowOracle.assertRowsClose(alone, got, where + " vs single");
            WindowOracle.assertRowsClose(expected, got, where + " vs oracle");
          }
        }

        List<String> queries =
            List.of(
                "SELECT count(*), count(value), sum(value), min(value), max(value) FROM metrics",
                "SELECT metric_id, count(*) AS n, sum(value) AS s FROM metrics"
                    + " GROUP BY metric_id ORDER BY n DESC, metric_id LIMIT 5",
                "SELECT count(*), sum(value_count) FROM metrics_1h"
                    + " WHERE window_start >= TIMESTAMP '2026-03-08 00:00:00'",
                "SELECT metric_id, sum(value_count), max(value_max) FROM metrics_1d"
                    + " GROUP BY metric_id ORDER BY metric_id",
                "SELECT metric_id, sum(value_count) FROM metrics_1h GROUP BY 1 ORDER BY 2 DESC, 1"
                    + " LIMIT 10",
                "SELECT seq, metric_id, value_running_window_sum, value_running_window_avg,"
                    + " value_running_window_count FROM metrics ORDER BY seq");
        for (String sql : queries) {
          List<List<@Nullable Object>> alone = answer(single, sql);
          assertTrue(!alone.isEmpty(), sql);
          for (ClusteredHyprstream n : nodes) {
            WindowOracle.assertRowsClose(
                alone, answer(n, sql), sql + " through " + n.clusterConfig().instanceId());
          }
        }
        assertEquals(
            (long) rows.size(),
            ((Number) TestData.scalar(nodes.get(1).query("SELECT count(*) FROM metrics")))
                .longValue(),
            "every row through one instance");
        // The plain aggregates above combined the owners' partial aggregates; no rows moved.
        for (int q : new int[] {0, 1, 2, 3, 4}) {
          ClusteredHyprstream.FanOuts before = nodes.get(2).fanOuts();
          answer(nodes.get(2), queries.get(q));
          ClusteredHyprstream.FanOuts after = nodes.get(2).fanOuts();
          assertEquals(
              List.of(before.rows(), before.partialAggregates() + 1),
              List.of(after.rows(), after.partialAggregates()),
              "fanned out by partial aggregates: " + queries.get(q));
        }

        // A key lookup through every instance equals the key's owner's own answer and one
        // instance's, with the key as a literal and as a parameter.
        String key = "m7";
        ClusteredHyprstream keyOwner = null;
        for (ClusteredHyprstream n : nodes) {
          if (!rows(n, "SELECT 1 FROM metrics WHERE metric_id = 'm7' LIMIT 1").isEmpty()) {
            keyOwner = n;
          }
        }
        assertTrue(keyOwner != null, "the key has an owner");
        String lookup = "SELECT * FROM metrics_1h WHERE metric_id = 'm7' ORDER BY window_start";
        List<List<@Nullable Object>> owned = rows(keyOwner, lookup);
        assertTrue(owned.size() > 10, "the owner's windows of the key");
        WindowOracle.assertRowsClose(answer(single, lookup), owned, "owner vs single");
        for (ClusteredHyprstream n : nodes) {
          String where = "lookup through " + n.clusterConfig().instanceId();
          WindowOracle.assertRowsClose(owned, answer(n, lookup), where);
          WindowOracle.assertRowsClose(
              owned,
              TestData.rows(
                  n.query(
                      "SELECT * FROM metrics_1h WHERE metric_id = ? ORDER BY window_start",
                      List.of(key))),
              where + " with a parameter");
        }

        // The cluster as any instance sees it: every partition, its owner and where it is reached.
        Map<Integer, String> truth = new TreeMap<>();
        for (ClusteredHyprstream n : nodes) {
          n.ownedPartitions().forEach(p -> truth.put(p, n.clusterConfig().instanceId()));
        }
        List<List<@Nullable Object>> table =
            answer(
                nodes.get(1),
                "SELECT partition, instance, location, this_instance, restoring, lag, state_bytes"
                    + " FROM hyprstream_cluster ORDER BY partition");
        assertEquals(PARTITIONS, table.size(), "hyprstream_cluster: " + table);
        for (List<@Nullable Object> r : table) {
          String owner = truth.get((Integer) r.get(0));
          assertEquals(owner, r.get(1), "owner in " + r);
          assertTrue(String.valueOf(r.get(2)).startsWith("grpc://127.0.0.1:"), "location " + r);
          assertEquals("i1".equals(owner), r.get(3), "this_instance in " + r);
          assertEquals("i1".equals(owner) ? false : null, r.get(4), "restoring in " + r);
          // Caught up: nothing of i1's partitions left to apply; others' lag is theirs to say.
          assertEquals("i1".equals(owner) ? 0L : null, r.get(5), "lag in " + r);
          assertEquals(
              "i1".equals(owner) ? nodes.get(1).operations().windowStateBytes() : null,
              r.get(6),
              "state_bytes in " + r);
          assertTrue(!"i1".equals(owner) || (Long) r.get(6) > 0, "i1 holds window state " + r);
        }
        assertEquals(
            CLUSTER_TABLE_COLUMNS,
            nodes.get(0).querySchema("SELECT * FROM hyprstream_cluster").getFields().size());

        // What would read one instance's share alone is refused, not answered partially.
        QueryRejectedException copy =
            assertThrows(
                QueryRejectedException.class,
                () ->
                    nodes
                        .get(0)
                        .execute("CREATE TABLE copied AS SELECT * FROM metrics", List.of()));
        assertTrue(copy.getMessage().contains("in a cluster"), copy.getMessage());
        QueryRejectedException view =
            assertThrows(
                QueryRejectedException.class,
                () ->
                    nodes
                        .get(0)
                        .execute("CREATE VIEW hourly AS SELECT * FROM metrics_1h", List.of()));
        assertTrue(view.getMessage().contains("in a cluster"), view.getMessage());
        QueryRejectedException qualified =
            assertThrows(
                QueryRejectedException.class,
                () -> answer(nodes.get(0), "SELECT count(*) FROM memory.main.metrics"));
        assertTrue(qualified.getMessage().contains("without its catalog"), qualified.getMessage());
      } finally {
        nodes.forEach(Hyprstream::close);
      }
    }
  }

  /**
   * Rebalances while the cluster holds data: an instance joins (its partitions leave the others,
   * which keep the keys they had applied), then leaves again (its partitions go back, some to an
   * instance that never held them). After each, every instance's answers equal one instance fed the
   * same rows: the rows an instance keeps of partitions it no longer owns are left out.
   */
  @Test
  void joinAndLeave_answersStayExact_stateOfMovedPartitionsIsDropped() throws Exception {
    List<TestData.Row> rows = randomRows(19, 9000);
    List<TestData.Row> first = rows.subList(0, 3000);
    List<TestData.Row> second = rows.subList(3000, 6000);
    List<TestData.Row> third = rows.subList(6000, 9000);
    String name = newClusterName();
    List<ClusteredHyprstream> nodes =
        new ArrayList<>(cluster(List.of(serving(name, "i0"), serving(name, "i1"))));
    List<String> queries =
        List.of(
            "SELECT count(*), sum(value), count(DISTINCT metric_id) FROM metrics",
            "SELECT metric_id, sum(value_count), max(value_max) FROM metrics_1d"
                + " GROUP BY metric_id ORDER BY metric_id",
            WindowOracle.viewRows("metrics", WindowSpec.DEFAULTS.get(1)));
    try (Hyprstream single = instance(null)) {
      try {
        ingestRoundRobin(nodes, first, 500);
        ingestRoundRobin(List.of(single), first, 500);
        awaitCaughtUp(nodes);

        nodes.add((ClusteredHyprstream) instance(serving(name, "i2")));
        awaitBalanced(nodes);
        awaitCaughtUp(nodes);
        awaitMembership(nodes);
        ingestRoundRobin(nodes, second, 500);
        ingestRoundRobin(List.of(single), second, 500);
        awaitCaughtUp(nodes);
        // i0 and i1 dropped the windows of the partitions i2 took: each window is held once.
        assertWindowsHeldOnce(nodes, single, "after a join");
        for (String sql : queries) {
          List<List<@Nullable Object>> alone = answer(single, sql);
          for (ClusteredHyprstream n : nodes) {
            WindowOracle.assertRowsClose(
                alone,
                answer(n, sql),
                sql + " after a join, through " + n.clusterConfig().instanceId());
          }
        }

        nodes.remove(2).close();
        awaitBalanced(nodes);
        awaitCaughtUp(nodes);
        awaitMembership(nodes);
        ingestRoundRobin(nodes, third, 500);
        ingestRoundRobin(List.of(single), third, 500);
        awaitCaughtUp(nodes);
        // The partitions came back to owners that had dropped them: replayed from the log start.
        assertWindowsHeldOnce(nodes, single, "after a leave");
        for (String sql : queries) {
          List<List<@Nullable Object>> alone = answer(single, sql);
          for (ClusteredHyprstream n : nodes) {
            WindowOracle.assertRowsClose(
                alone,
                answer(n, sql),
                sql + " after a leave, through " + n.clusterConfig().instanceId());
          }
        }
      } finally {
        nodes.forEach(Hyprstream::close);
      }
    }
  }

  /**
   * Direct reads of a row filter of a window view: each instance plans one part per owner, each
   * part's route ticket naming the owner's partitions, and every part answers exactly the rows of
   * its partitions wherever it is redeemed, also after a leave moved them (a part then reads what
   * it no longer owns from the new owner). Together the parts equal one instance fed the same rows.
   */
  @Test
  void rowFilterOfAView_onePartPerOwner_eachAnswersExactlyItsPartitions_evenAfterALeave()
      throws Exception {
    List<TestData.Row> rows = randomRows(23, 9000);
    String name = newClusterName();
    List<ClusteredHyprstream> nodes =
        new ArrayList<>(
            cluster(
                List.of(
                    serving(name, "i0").withDirectReads(true),
                    serving(name, "i1").withDirectReads(true),
                    serving(name, "i2").withDirectReads(true))));
    String sql =
        "SELECT metric_id, window_start, value_count, value_sum FROM metrics_1h"
            + " WHERE window_start >= TIMESTAMP '2026-03-05 00:00:00' AND metric_id <> ?";
    List<@Nullable Object> parameters = List.of("m3");
    try (Hyprstream single = instance(null)) {
      try {
        ingestRoundRobin(nodes, rows, 1000);
        ingestRoundRobin(List.of(single), rows, 1000);
        awaitCaughtUp(nodes);
        awaitMembership(nodes);
        List<List<@Nullable Object>> expected =
            sorted(TestData.rows(single.query(sql, parameters)));
        assertTrue(expected.size() > 1000, "windows to read: " + expected.size());
        Map<String, ClusteredHyprstream> at = new HashMap<>();
        nodes.forEach(n -> at.put(n.advertisedLocation(), n));

        List<ClusterMember.Endpoint> planned = List.of();
        for (ClusteredHyprstream asked : nodes) {
          String who = "planned by " + asked.clusterConfig().instanceId();
          List<ClusterMember.Endpoint> parts = asked.directEndpoints(sql, parameters);
          assertTrue(parts != null && parts.size() == 3, who + ": " + parts);
          Set<Integer> covered = new TreeSet<>();
          List<List<@Nullable Object>> atOwners = new ArrayList<>();
          for (ClusterMember.Endpoint part : parts) {
            ClusterMember.Route route = asked.readRoute(part.ticket());
            ClusteredHyprstream owner = part.location() == null ? asked : at.get(part.location());
            assertTrue(owner != null, who + ": a part at " + part.location());
            assertEquals(
                owner.ownedPartitions(),
                route.partitions(),
                who + ", part of " + owner.clusterConfig().instanceId());
            assertTrue(covered.addAll(route.partitions()), who + ": parts overlap " + covered);
            atOwners.addAll(TestData.rows(owner.answerRoute(route, allocator)));
            // Redeemed at an instance that does not own them, the part reads them from the owner.
            for (ClusteredHyprstream n : nodes) {
              WindowOracle.assertRowsClose(
                  sorted(TestData.rows(owner.answerRoute(route, allocator))),
                  sorted(TestData.rows(n.answerRoute(n.readRoute(part.ticket()), allocator))),
                  who
                      + ", part of "
                      + owner.clusterConfig().instanceId()
                      + " redeemed at "
                      + n.clusterConfig().instanceId());
            }
          }
          assertEquals(PARTITIONS, covered.size(), who + ": every partition in one part");
          WindowOracle.assertRowsClose(expected, sorted(atOwners), who + ": the parts together");
          planned = parts;
        }

        // A part narrower than what its instance owns answers its own partition's keys alone.
        ClusteredHyprstream i0 = nodes.get(0);
        int p = i0.ownedPartitions().iterator().next();
        List<List<@Nullable Object>> ofP = new ArrayList<>();
        for (List<@Nullable Object> r : expected) {
          if (partitionOf((String) r.get(0)) == p) {
            ofP.add(r);
          }
        }
        assertTrue(!ofP.isEmpty() && ofP.size() < expected.size(), "partition " + p + "'s rows");
        WindowOracle.assertRowsClose(
            ofP,
            sorted(
                TestData.rows(
                    i0.answerRoute(
                        new ClusterMember.Route(sql, parameters, Set.of(p)), allocator))),
            "partition " + p + " alone at its owner");

        // What is not a row filter of one view, or reads one key this instance owns, gets no parts.
        for (String other :
            List.of(
                "SELECT count(*) FROM metrics_1h",
                "SELECT * FROM metrics_1h ORDER BY window_start",
                "SELECT * FROM metrics_1h LIMIT 10",
                "SELECT DISTINCT metric_id FROM metrics_1h",
                "SELECT metric_id, value_sum * 2 FROM metrics_1h",
                "SELECT * FROM metrics_1h WHERE value_sum > (SELECT avg(value_sum) FROM metrics_1h)",
                "SELECT * FROM metrics")) {
          assertEquals(null, i0.directEndpoints(other, List.of()), other);
        }

        // i2 leaves; the parts planned before are redeemed at the two left: still exact.
        nodes.remove(2).close();
        awaitBalanced(nodes);
        awaitCaughtUp(nodes);
        awaitMembership(nodes);
        for (ClusteredHyprstream n : nodes) {
          List<List<@Nullable Object>> all = new ArrayList<>();
          for (ClusterMember.Endpoint part : planned) {
            all.addAll(TestData.rows(n.answerRoute(n.readRoute(part.ticket()), allocator)));
          }
          WindowOracle.assertRowsClose(
              expected,
              sorted(all),
              "parts planned before the leave, redeemed at " + n.clusterConfig().instanceId());
        }
      } finally {
        nodes.forEach(Hyprstream::close);
      }
    }
  }

  /**
   * A table of one's own with window aggregates, whose rows all have one key: its view is read
   * through every instance, relayed and as one part per owner, though two of the three instances
   * never received a row of it (they hold it empty, from the column claims, or answer an empty
   * share). Before, those instances failed the query.
   */
  @Test
  void viewOfATableOnlyOneOwnerHolds_isReadThroughEveryInstanceAndEveryPart() throws Exception {
    AggregationSpec requests =
        AggregationSpec.builder("requests")
            .timeColumn("at")
            .keyColumns("service")
            .valueColumns("ms")
            .windows(List.of(WindowSpec.parse("1h")))
            .build();
    String name = newClusterName();
    List<ClusteredHyprstream> nodes = new ArrayList<>();
    try {
      for (String id : List.of("i0", "i1", "i2")) {
        nodes.add(
            (ClusteredHyprstream)
                Hyprstream.builder()
                    .allocator(allocator)
                    .clock(InstantSource.fixed(END.plusSeconds(60)))
                    .cacheDuration(Duration.ofDays(30))
                    .expiryInterval(Duration.ZERO)
                    .aggregate(requests)
                    .cluster(serving(name, id).withDirectReads(true))
                    .build());
      }
      awaitBalanced(nodes);
      Schema schema =
          new Schema(
              List.of(
                  Field.nullable("service", new ArrowType.Utf8()),
                  Field.nullable(
                      "at",
                      new ArrowType.Timestamp(
                          org.apache.arrow.vector.types.TimeUnit.MICROSECOND, null)),
                  Field.nullable(
                      "ms",
                      new ArrowType.FloatingPoint(
                          org.apache.arrow.vector.types.FloatingPointPrecision.DOUBLE))));
      try (VectorSchemaRoot batch = VectorSchemaRoot.create(schema, allocator)) {
        for (int i = 0; i < 4; i++) {
          ((VarCharVector) batch.getVector(0)).setSafe(i, "svc-a".getBytes(StandardCharsets.UTF_8));
          ((org.apache.arrow.vector.TimeStampMicroVector) batch.getVector(1))
              .setSafe(i, TestData.micros(END) - i * 3_600_000_000L);
          ((org.apache.arrow.vector.Float8Vector) batch.getVector(2)).setSafe(i, 10.0 * (i + 1));
        }
        batch.setRowCount(4);
        assertEquals(4, nodes.get(0).ingest("requests", batch).rowsAccepted());
      }
      awaitCaughtUp(nodes);
      awaitMembership(nodes);
      assertEquals(
          1,
          nodes.stream().filter(n -> n.tableSchema("requests") != null).count(),
          "one key: one instance holds the table");
      String sql = "SELECT service, window_start, ms_count, ms_sum FROM requests_1h";
      for (ClusteredHyprstream n : nodes) {
        String where = "through " + n.clusterConfig().instanceId();
        List<List<@Nullable Object>> relayed = sorted(answer(n, sql));
        assertEquals(4, relayed.size(), where + ": " + relayed);
        List<ClusterMember.Endpoint> parts = n.directEndpoints(sql, List.of());
        assertTrue(parts != null && parts.size() == 3, where + ": " + parts);
        List<List<@Nullable Object>> fromParts = new ArrayList<>();
        for (ClusterMember.Endpoint part : parts) {
          for (ClusteredHyprstream at : nodes) {
            if (part.location() == null
                ? at == n
                : part.location().equals(at.advertisedLocation())) {
              fromParts.addAll(
                  TestData.rows(at.answerRoute(at.readRoute(part.ticket()), allocator)));
            }
          }
        }
        assertEquals(relayed, sorted(fromParts), where + ", part by part at the owners");
      }
    } finally {
      nodes.forEach(Hyprstream::close);
    }
  }

  /** The partition of a {@code metrics} key: Kafka's default partitioner over its UTF-8 bytes. */
  private static int partitionOf(String metricId) {
    byte[] key = metricId.getBytes(StandardCharsets.UTF_8);
    return org.apache.kafka.common.utils.Utils.toPositive(
            org.apache.kafka.common.utils.Utils.murmur2(key))
        % PARTITIONS;
  }

  /**
   * The instances' window counts add up to one instance's fed the same rows (waiting up to 30 s for
   * the owners to drop what moved away): no window is held by two instances.
   */
  private static void assertWindowsHeldOnce(
      List<ClusteredHyprstream> nodes, Hyprstream single, String when) throws InterruptedException {
    long expected = single.operations().windowCount();
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    long held;
    List<Long> each = new ArrayList<>();
    do {
      each.clear();
      for (ClusteredHyprstream n : nodes) {
        each.add(n.operations().windowCount());
      }
      held = each.stream().mapToLong(Long::longValue).sum();
      if (held == expected) {
        return;
      }
      Thread.sleep(100);
    } while (System.nanoTime() < deadline);
    assertEquals(expected, held, "windows held by the instances " + each + " " + when);
  }

  /**
   * Without a backend, rows that left another owner's cache are said missing by the receiving
   * instance's answer, naming that owner, whether the query combined partial aggregates or read
   * rows: one instance of two expires its old rows, and a query through the other says so.
   */
  @Test
  void rowsThatLeftAnotherOwnersCache_areSaidMissingNamingIt() throws Exception {
    io.hyprstream.testing.ManualClock clock =
        new io.hyprstream.testing.ManualClock(END.plusSeconds(60));
    String name = newClusterName();
    List<ClusteredHyprstream> nodes = new ArrayList<>();
    try {
      for (String id : List.of("i0", "i1")) {
        nodes.add(
            (ClusteredHyprstream)
                Hyprstream.builder()
                    .allocator(allocator)
                    .clock(clock)
                    .cacheDuration(Duration.ofDays(30))
                    .expiryInterval(Duration.ZERO)
                    .cluster(serving(name, id))
                    .build());
      }
      awaitBalanced(nodes);
      ingestRoundRobin(nodes, randomRows(23, 3000), 500);
      awaitCaughtUp(nodes);
      awaitMembership(nodes);
      for (String sql :
          List.of("SELECT count(*) FROM metrics", "SELECT count(DISTINCT seq) FROM metrics")) {
        try (QueryResult r = nodes.get(0).query(sql)) {
          assertEquals(null, r.freshness().missing(), sql + " before expiry");
        }
      }
      clock.advance(Duration.ofDays(25)); // rows span ten days: five of them leave a 30-day cache
      nodes.get(1).expire();
      for (String sql :
          List.of("SELECT count(*) FROM metrics", "SELECT count(DISTINCT seq) FROM metrics")) {
        try (QueryResult r = nodes.get(0).query(sql)) {
          String missing = r.freshness().missing();
          assertTrue(
              missing != null && missing.startsWith("i1: ") && missing.contains("left the cache"),
              sql + " says i1's share is missing rows: " + missing);
        }
      }
    } finally {
      nodes.forEach(Hyprstream::close);
    }
  }

  /**
   * Never a partial answer: a query that needs partitions whose owner cannot be reached (its link
   * cut) or advertises no location fails, naming the partitions and the owner; a key lookup whose
   * owner is reachable still answers; once the link is back, so does everything.
   */
  @Test
  void ownerUnreachableOrWithoutLocation_queryFailsNamingPartitionsAndOwner() throws Exception {
    List<TestData.Row> rows = randomRows(18, 3000);
    String name = newClusterName();
    int hidden = freePort();
    try (TcpProxy link = new TcpProxy(hidden)) {
      List<ClusteredHyprstream> nodes =
          cluster(
              List.of(
                  serving(name, "i0"),
                  serving(name, "i1"),
                  ClusterConfig.kafka(kafka.bootstrapServers(), name)
                      .withPartitions(PARTITIONS)
                      .withInstanceId("i2")
                      .withPeerServer(new InetSocketAddress("127.0.0.1", hidden))
                      .withAdvertisedLocation("grpc://127.0.0.1:" + link.port())));
      try {
        ingestRoundRobin(nodes, rows, 500);
        awaitCaughtUp(nodes);
        awaitMembership(nodes);
        ClusteredHyprstream asker = nodes.get(0);
        ClusteredHyprstream cutOff = nodes.get(2);
        String count = "SELECT count(*) FROM metrics";
        assertEquals(
            (long) rows.size(), ((Number) TestData.scalar(asker.query(count))).longValue());

        link.cut();
        BackendUnavailableException e =
            assertThrows(BackendUnavailableException.class, () -> answer(asker, count));
        String partitions = new TreeSet<>(cutOff.ownedPartitions()).toString();
        assertTrue(e.getMessage().contains("partitions " + partitions), e.getMessage());
        assertTrue(e.getMessage().contains("owned by i2 at grpc://127.0.0.1:"), e.getMessage());
        assertTrue(e.getMessage().contains("no answer"), e.getMessage());
        assertThrows(
            BackendUnavailableException.class,
            () -> answer(asker, "SELECT * FROM metrics_5m ORDER BY 1, 2"));
        // A key lookup needs only its key's owner.
        for (int m = 0; m < METRICS; m++) {
          String lookup = "SELECT count(*) FROM metrics WHERE metric_id = 'm" + m + "'";
          String sql = "SELECT * FROM metrics_1d WHERE metric_id = 'm" + m + "'";
          long onI2 = ((Number) TestData.scalar(cutOff.queryLocal(lookup))).longValue();
          long onI1 = ((Number) TestData.scalar(nodes.get(1).queryLocal(lookup))).longValue();
          if (onI1 > 0) {
            assertEquals(rows(nodes.get(1), sql), answer(asker, sql), "key m" + m + " of i1");
          } else if (onI2 > 0) {
            BackendUnavailableException k =
                assertThrows(BackendUnavailableException.class, () -> answer(asker, sql));
            assertTrue(k.getMessage().contains("owned by i2"), k.getMessage());
          }
        }

        link.restore();
        assertEquals(
            (long) rows.size(), ((Number) TestData.scalar(asker.query(count))).longValue());
      } finally {
        nodes.forEach(Hyprstream::close);
      }
    }

    // An instance that serves no reads advertises no location: what it owns cannot be read.
    String other = newClusterName();
    List<ClusteredHyprstream> pair =
        cluster(
            List.of(
                serving(other, "a0"),
                (ClusterConfig.kafka(kafka.bootstrapServers(), other)
                    .withPartitions(PARTITIONS)
                    .withInstanceId("a1"))));
    try {
      awaitMembership(pair);
      BackendUnavailableException e =
          assertThrows(
              BackendUnavailableException.class,
              () -> answer(pair.get(0), "SELECT count(*) FROM metrics"));
      String partitions = new TreeSet<>(pair.get(1).ownedPartitions()).toString();
      assertTrue(
          e.getMessage()
              .contains("partitions " + partitions + " are owned by a1, which advertises"),
          e.getMessage());
      // The instance without a location still answers from every owner that has one.
      assertEquals(
          0L,
          ((Number) TestData.scalar(pair.get(1).query("SELECT count(*) FROM metrics")))
              .longValue());
    } finally {
      pair.forEach(Hyprstream::close);
    }
  }

  @Test
  void badIngest_isRefusedAtTheReceivingInstance_andNothingIsLogged() throws Exception {
    List<ClusteredHyprstream> nodes = cluster3();
    try {
      ClusteredHyprstream first = nodes.get(0);
      try (VectorSchemaRoot batch = TestData.metrics(allocator, randomRows(3, 10).subList(0, 10))) {
        QueryRejectedException view =
            assertThrows(QueryRejectedException.class, () -> first.ingest("metrics_5m", batch));
        assertTrue(view.getMessage().contains("window view"), view.getMessage());
      }
      Schema noKey = new Schema(List.of(Field.nullable("value", new ArrowType.Utf8())));
      try (VectorSchemaRoot batch = VectorSchemaRoot.create(noKey, allocator)) {
        ((VarCharVector) batch.getVector(0)).setSafe(0, "x".getBytes(StandardCharsets.UTF_8));
        batch.setRowCount(1);
        SchemaMismatchException e =
            assertThrows(SchemaMismatchException.class, () -> first.ingest("metrics", batch));
        assertEquals("metric_id", e.column());
      }
      // What the owner would refuse after the acknowledgement is refused before it: a value
      // column of another type, and one column sent twice (names compare without case).
      Schema textValue =
          new Schema(
              List.of(
                  Field.nullable("metric_id", new ArrowType.Utf8()),
                  TestData.METRICS_WITH_SEQ.findField("timestamp"),
                  Field.nullable("value", new ArrowType.Utf8())));
      try (VectorSchemaRoot batch = VectorSchemaRoot.create(textValue, allocator)) {
        ((VarCharVector) batch.getVector(0)).setSafe(0, "m1".getBytes(StandardCharsets.UTF_8));
        ((org.apache.arrow.vector.TimeStampMicroVector) batch.getVector(1))
            .setSafe(0, TestData.micros(END));
        ((VarCharVector) batch.getVector(2)).setSafe(0, "1.5".getBytes(StandardCharsets.UTF_8));
        batch.setRowCount(1);
        SchemaMismatchException e =
            assertThrows(SchemaMismatchException.class, () -> first.ingest("metrics", batch));
        assertEquals("value", e.column(), e.getMessage());
      }
      Schema twice =
          new Schema(
              List.of(
                  Field.nullable("metric_id", new ArrowType.Utf8()),
                  TestData.METRICS_WITH_SEQ.findField("timestamp"),
                  Field.nullable("value", new ArrowType.Utf8()),
                  Field.nullable("VALUE", new ArrowType.Utf8())));
      try (VectorSchemaRoot batch = VectorSchemaRoot.create(twice, allocator)) {
        batch.setRowCount(0);
        SchemaMismatchException e =
            assertThrows(SchemaMismatchException.class, () -> first.ingest("metrics", batch));
        assertTrue(e.getMessage().contains("twice"), e.getMessage());
      }
      // A table without window aggregates has no key: its batches spread whole over partitions.
      Schema plain = new Schema(List.of(Field.nullable("name", new ArrowType.Utf8())));
      for (int i = 0; i < 12; i++) {
        try (VectorSchemaRoot batch = VectorSchemaRoot.create(plain, allocator)) {
          ((VarCharVector) batch.getVector(0))
              .setSafe(0, ("n" + i).getBytes(StandardCharsets.UTF_8));
          batch.setRowCount(1);
          assertEquals(1, nodes.get(i % 3).ingest("events", batch).rowsAccepted());
        }
      }
      awaitCaughtUp(nodes);
      long events = 0;
      for (ClusteredHyprstream n : nodes) {
        if (n.tableSchema("events") != null) {
          events +=
              ((Number) TestData.scalar(n.queryLocal("SELECT count(*) FROM events"))).longValue();
        }
        assertEquals(
            0L,
            ((Number) TestData.scalar(n.queryLocal("SELECT count(*) FROM metrics"))).longValue(),
            "refused batches left no rows");
      }
      assertEquals(12, events, "every keyless row on exactly one instance");
    } finally {
      nodes.forEach(Hyprstream::close);
    }
  }

  /**
   * A label column only one instance's rows have, sent through another instance with another type,
   * is refused before the acknowledgement: the cluster's first claim of a column decides its type
   * ({@code ColumnClaims}). Before, the other instance acknowledged it and the owner then refused
   * the record, losing acknowledged rows. Two instances racing to bring one new column with two
   * types: exactly one wins, and no owner refuses a record.
   */
  @Test
  void columnSeenOnlyElsewhere_anotherTypeIsRefusedBeforeTheAcknowledgement() throws Exception {
    List<ClusteredHyprstream> nodes = cluster3();
    try {
      ClusteredHyprstream owner = nodes.get(0);
      List<String> ownersKeys = new ArrayList<>();
      for (int i = 0; ownersKeys.size() < 8; i++) {
        if (owner.ownedPartitions().contains(partitionOf("m" + i))) {
          ownersKeys.add("m" + i);
        }
      }
      try (VectorSchemaRoot batch = labelled(ownersKeys.get(0), "host", new ArrowType.Utf8())) {
        assertEquals(1, owner.ingest("metrics", batch).rowsAccepted());
      }
      awaitCaughtUp(nodes);
      // i1 never applied a row with 'host': its own tables do not have the column.
      try (VectorSchemaRoot batch =
          labelled(ownersKeys.get(1), "host", new ArrowType.Int(64, true))) {
        SchemaMismatchException e =
            assertThrows(
                SchemaMismatchException.class, () -> nodes.get(1).ingest("metrics", batch));
        assertEquals("host", e.column(), e.getMessage());
        assertTrue(e.getMessage().contains("Utf8"), e.getMessage());
      }

      for (int c = 0; c < 4; c++) {
        String column = "tag" + c;
        String textKey = ownersKeys.get(2 + c);
        java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
        java.util.concurrent.ExecutorService two =
            java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
          java.util.concurrent.Future<Long> text =
              two.submit(
                  () -> {
                    try (VectorSchemaRoot b = labelled(textKey, column, new ArrowType.Utf8())) {
                      start.await();
                      return nodes.get(1).ingest("metrics", b).rowsAccepted();
                    }
                  });
          java.util.concurrent.Future<Long> number =
              two.submit(
                  () -> {
                    try (VectorSchemaRoot b =
                        labelled(textKey, column, new ArrowType.Int(64, true))) {
                      start.await();
                      return nodes.get(2).ingest("metrics", b).rowsAccepted();
                    }
                  });
          int won = 0;
          for (java.util.concurrent.Future<Long> f : List.of(text, number)) {
            try {
              assertEquals(1L, f.get(60, java.util.concurrent.TimeUnit.SECONDS));
              won++;
            } catch (java.util.concurrent.ExecutionException e) {
              assertTrue(e.getCause() instanceof SchemaMismatchException, e.getCause().toString());
              assertEquals(column, ((SchemaMismatchException) e.getCause()).column());
            }
          }
          assertEquals(1, won, column + ": one of the two types wins");
        } finally {
          two.shutdownNow();
        }
      }
      awaitCaughtUp(nodes); // and no owner refused a record
      assertEquals(
          5L,
          ((Number) TestData.scalar(owner.queryLocal("SELECT count(*) FROM metrics"))).longValue(),
          "the acknowledged rows, all at their owner");
    } finally {
      nodes.forEach(Hyprstream::close);
    }
  }

  /**
   * A table only other instances hold (ingest created it on its owner alone) is read from its
   * owners through any instance: the column claims tell every instance its columns. Before, the
   * instances that had never seen it failed the query as a table not found.
   */
  @Test
  void tableOnlyOthersHold_isReadThroughEveryInstance() throws Exception {
    String name = newClusterName();
    List<ClusteredHyprstream> nodes =
        new ArrayList<>(
            cluster(List.of(serving(name, "i0"), serving(name, "i1"), serving(name, "i2"))));
    try {
      ingestRoundRobin(nodes, randomRows(29, 3000), 500); // every instance holds data
      Schema events =
          new Schema(
              List.of(
                  Field.nullable("name", new ArrowType.Utf8()),
                  Field.nullable("n", new ArrowType.Int(64, true))));
      try (VectorSchemaRoot batch = VectorSchemaRoot.create(events, allocator)) {
        for (int i = 0; i < 3; i++) {
          ((VarCharVector) batch.getVector(0))
              .setSafe(i, ("e" + i).getBytes(StandardCharsets.UTF_8));
          ((org.apache.arrow.vector.BigIntVector) batch.getVector(1)).setSafe(i, i * 10L);
        }
        batch.setRowCount(3);
        assertEquals(3, nodes.get(0).ingest("events", batch).rowsAccepted());
      }
      awaitCaughtUp(nodes);
      awaitMembership(nodes);
      List<ClusteredHyprstream> holders =
          nodes.stream().filter(n -> n.tableSchema("events") != null).toList();
      assertEquals(1, holders.size(), "one batch of a keyless table is on one instance");
      ClusteredHyprstream holder = holders.get(0);
      assertEventsThroughEach(nodes, holder, "");

      // A fourth instance takes partitions from all three, which all held data. The instances
      // that hold the table empty still answer it. If the holder lost the table's partition, it
      // cannot tell those rows apart (docs/cluster.md, "Not yet"): every query of it fails,
      // naming the holder, rather than count the rows twice.
      nodes.add((ClusteredHyprstream) instance(serving(name, "i3")));
      awaitBalanced(nodes);
      awaitCaughtUp(nodes);
      awaitMembership(nodes);
      boolean moved = false;
      for (ClusteredHyprstream n : nodes) {
        moved |= n != holder && localEvents(n) > 0;
      }
      if (!moved) {
        assertEventsThroughEach(nodes, holder, " after a join");
      } else {
        for (ClusteredHyprstream n : nodes) {
          BackendUnavailableException e =
              assertThrows(
                  BackendUnavailableException.class,
                  () -> answer(n, "SELECT count(*) FROM events"));
          assertTrue(
              e.getMessage().contains(holder.clusterConfig().instanceId() + " holds rows of"),
              e.getMessage());
        }
      }
    } finally {
      nodes.forEach(Hyprstream::close);
    }
  }

  /** The three rows of {@code events}, read through each of {@code nodes} but their holder. */
  private static void assertEventsThroughEach(
      List<ClusteredHyprstream> nodes, ClusteredHyprstream holder, String when) throws Exception {
    for (ClusteredHyprstream n : nodes) {
      String where = "through " + n.clusterConfig().instanceId() + when;
      if (n != holder) {
        assertEquals(0, localEvents(n), where + ": held empty, if at all");
      }
      assertEquals(
          List.of(List.of(3L, 30L)),
          answer(n, "SELECT count(*), sum(n)::BIGINT FROM events"),
          where);
      assertEquals(
          List.of(List.of("e0", 0L), List.of("e1", 10L), List.of("e2", 20L)),
          answer(n, "SELECT name, n FROM events ORDER BY name"),
          where);
    }
  }

  /** The rows of {@code events} {@code n} holds itself (0 without the table). */
  private static long localEvents(ClusteredHyprstream n) throws Exception {
    return n.tableSchema("events") == null
        ? 0
        : ((Number) TestData.scalar(n.queryLocal("SELECT count(*) FROM events"))).longValue();
  }

  /** One {@code metrics} row of {@code key} with a label column of {@code type}. */
  private VectorSchemaRoot labelled(String key, String label, ArrowType type) {
    Schema schema =
        new Schema(
            List.of(
                Field.nullable("metric_id", new ArrowType.Utf8()),
                TestData.METRICS_WITH_SEQ.findField("timestamp"),
                Field.nullable(
                    "value",
                    new ArrowType.FloatingPoint(
                        org.apache.arrow.vector.types.FloatingPointPrecision.DOUBLE)),
                Field.nullable(label, type)));
    VectorSchemaRoot batch = VectorSchemaRoot.create(schema, allocator);
    ((VarCharVector) batch.getVector(0)).setSafe(0, key.getBytes(StandardCharsets.UTF_8));
    ((org.apache.arrow.vector.TimeStampMicroVector) batch.getVector(1))
        .setSafe(0, TestData.micros(END));
    ((org.apache.arrow.vector.Float8Vector) batch.getVector(2)).setSafe(0, 1.5);
    if (type instanceof ArrowType.Utf8) {
      ((VarCharVector) batch.getVector(3)).setSafe(0, "a".getBytes(StandardCharsets.UTF_8));
    } else {
      ((org.apache.arrow.vector.BigIntVector) batch.getVector(3)).setSafe(0, 7L);
    }
    batch.setRowCount(1);
    return batch;
  }

  @Test
  void kafkaUnreachable_startFailsNamingTheClusterLog() {
    ClusterConfig nowhere =
        ClusterConfig.kafka("127.0.0.1:1", newClusterName())
            .withKafkaProperty("default.api.timeout.ms", "1500")
            .withKafkaProperty("request.timeout.ms", "1000");
    BackendUnavailableException e =
        assertThrows(BackendUnavailableException.class, () -> instance(nowhere));
    assertTrue(e.getMessage().contains("cluster log"), e.getMessage());
    assertTrue(e.getMessage().contains("127.0.0.1:1"), e.getMessage());
  }

  /**
   * With its Kafka gone, an instance refuses ingest naming the cluster log, and what it had
   * acknowledged before is still in its windows.
   */
  @Test
  void kafkaGoesDown_ingestIsRefusedNamingTheClusterLog_acknowledgedRowsStay() throws Exception {
    List<TestData.Row> before = randomRows(5, 3000);
    try (EmbeddedKafka own = EmbeddedKafka.start();
        ClusteredHyprstream node =
            (ClusteredHyprstream)
                instance(
                    ClusterConfig.kafka(own.bootstrapServers(), newClusterName())
                        .withPartitions(PARTITIONS)
                        .withKafkaProperty("request.timeout.ms", "1000")
                        .withKafkaProperty("delivery.timeout.ms", "3000"))) {
      awaitBalanced(List.of(node));
      assertEquals(before.size(), ingestRoundRobin(List.of(node), before, 500));
      awaitCaughtUp(List.of(node));
      String counts = "SELECT metric_id, sum(value_count) FROM metrics_1d GROUP BY 1";
      List<List<@Nullable Object>> acknowledged = union(List.of(node), counts);
      assertTrue(acknowledged.size() > 1);

      String bootstrap = own.bootstrapServers();
      own.close();
      try (VectorSchemaRoot batch = TestData.metrics(allocator, randomRows(6, 100))) {
        BackendUnavailableException e =
            assertThrows(BackendUnavailableException.class, () -> node.ingest("metrics", batch));
        assertTrue(e.getMessage().contains("cluster log"), e.getMessage());
        assertTrue(e.getMessage().contains(bootstrap), e.getMessage());
      }
      assertEquals(acknowledged, union(List.of(node), counts), "acknowledged rows stay");
    }
  }

  /**
   * A partition's sub-batch larger than a Kafka record may be is sent as several records of row
   * ranges, and every row arrives once, in order (the running count is the arrival position).
   */
  @Test
  void subBatchLargerThanARecord_isSentInRowRanges_everyRowOnce() throws Exception {
    long start = TestData.micros(END) - DAY_MICROS / 2;
    List<TestData.Row> rows = new ArrayList<>();
    for (int i = 0; i < 120_000; i++) { // one key: ~3.8 MB of Arrow in one partition
      rows.add(new TestData.Row("big", start + i * 1000L, (double) (i % 97), i));
    }
    try (ClusteredHyprstream node =
        (ClusteredHyprstream)
            instance(
                ClusterConfig.kafka(kafka.bootstrapServers(), newClusterName())
                    .withPartitions(PARTITIONS))) {
      awaitBalanced(List.of(node));
      assertEquals(rows.size(), ingestRoundRobin(List.of(node), rows, rows.size()));
      awaitCaughtUp(List.of(node));
      assertTrue(node.recordsApplied() > 4, "records: " + node.recordsApplied());
      List<List<@Nullable Object>> counted =
          rows(
              node,
              "SELECT count(*), count(DISTINCT seq), min(seq), max(seq),"
                  + " bool_and(value_running_window_count = 1 + seq - first_seq)"
                  + " FROM (SELECT *, min(seq) OVER (PARTITION BY time_bucket(INTERVAL '5"
                  + " minutes', timestamp)) AS first_seq FROM metrics)");
      assertEquals(
          List.of(120_000L, 120_000L, 0L, 119_999L, true), counted.get(0), "rows once, in order");
    }
  }

  @Test
  void partitionCountDiffersFromTheTopic_startIsRefused() {
    String name = newClusterName();
    try (Hyprstream first =
        instance(ClusterConfig.kafka(kafka.bootstrapServers(), name).withPartitions(4))) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  instance(ClusterConfig.kafka(kafka.bootstrapServers(), name).withPartitions(5)));
      assertTrue(e.getMessage().contains("has 4 partitions"), e.getMessage());
      assertTrue(first.tables().size() > 0);
    }
  }

  @Test
  void clusterWithSynchronousWriteThrough_isRefused(@TempDir Path dir) {
    // A real backend (a DuckDB file): BackendStore.none() means no backend, which a cluster takes.
    try (BackendStore backend =
        BackendStores.open(
            "duckdb", dir.resolve("backend.duckdb").toString(), Map.of(), null, null, allocator)) {
      HyprstreamBuilder b =
          Hyprstream.builder()
              .allocator(allocator)
              .backend(backend)
              .synchronousWriteThrough(true)
              .cluster(ClusterConfig.kafka("127.0.0.1:1", "x"));
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, b::build);
      assertTrue(e.getMessage().contains("synchronousWriteThrough"), e.getMessage());
    }
  }
}
