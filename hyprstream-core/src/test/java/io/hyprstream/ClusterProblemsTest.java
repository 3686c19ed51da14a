package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.cluster.ClusterConfig;
import io.hyprstream.internal.cluster.ClusteredHyprstream;
import io.hyprstream.testing.EmbeddedKafka;
import io.hyprstream.testing.TestAllocator;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What keeps a cluster member from serving its part ({@link ClusterMember#problems}, the server's
 * {@code /ready}), on a real KRaft broker in this JVM: partitions it is restoring from the log, and
 * a partition consumer Kafka stopped for good. Also the lag {@code hyprstream_cluster} shows while
 * a partition is restored.
 */
final class ClusterProblemsTest {
  private static final int PARTITIONS = 6;
  private static final Duration SETTLE = Duration.ofSeconds(60);
  private static final Pattern RESTORING =
      Pattern.compile("cluster: restoring partitions \\[([0-9, ]+)\\] of (\\S+)");

  @RegisterExtension final TestAllocator allocator = new TestAllocator();

  private ClusteredHyprstream member(EmbeddedKafka kafka, String name, String id) {
    return (ClusteredHyprstream)
        Hyprstream.builder()
            .allocator(allocator)
            .clock(InstantSource.fixed(ClusterWindowsTest.END.plusSeconds(60)))
            .cacheDuration(Duration.ofDays(30))
            .expiryInterval(Duration.ZERO)
            .cluster(
                ClusterConfig.kafka(kafka.bootstrapServers(), name)
                    .withPartitions(PARTITIONS)
                    .withInstanceId(id))
            .build();
  }

  private static void awaitOwns(ClusteredHyprstream n, int partitions) throws InterruptedException {
    long deadline = System.nanoTime() + SETTLE.toNanos();
    while (n.ownedPartitions().size() != partitions) {
      assertTrue(
          System.nanoTime() < deadline,
          n.clusterConfig().instanceId() + " owns " + n.ownedPartitions());
      Thread.sleep(20);
    }
  }

  /**
   * A member joining a cluster whose log holds 400,000 rows is given partitions and replays them
   * from the start of the log: meanwhile its problems name exactly those partitions and the ingest
   * topic, and {@code hyprstream_cluster} shows them restoring with records left to apply; once it
   * has caught up, it has no problem and a lag of 0 on each of its partitions.
   */
  @Test
  void joiningMember_namesThePartitionsItRestores_untilCaughtUp() throws Exception {
    List<TestData.Row> rows = ClusterWindowsTest.randomRows(41, 400_000);
    String name = "problems-" + System.nanoTime();
    String topic = "hs." + name + ".ingest";
    try (EmbeddedKafka kafka = EmbeddedKafka.start();
        ClusteredHyprstream i0 = member(kafka, name, "i0")) {
      awaitOwns(i0, PARTITIONS);
      ingest(i0, rows);
      assertTrue(i0.awaitCaughtUp(SETTLE), "i0 caught up");
      assertEquals(List.of(), i0.problems(), "i0 applies every partition of " + topic);

      try (ClusteredHyprstream i1 = member(kafka, name, "i1")) {
        Set<Integer> namedRestoring = new TreeSet<>();
        List<String> otherProblems = new ArrayList<>();
        Set<Integer> tableRestoring = new TreeSet<>();
        long maxLagWhileRestoring = -1;
        long deadline = System.nanoTime() + SETTLE.toNanos();
        while (true) {
          assertTrue(System.nanoTime() < deadline, "i1 never caught up: " + i1.problems());
          Set<Integer> owned = i1.ownedPartitions();
          List<String> problems = i1.problems();
          for (String p : problems) {
            Matcher m = RESTORING.matcher(p);
            if (m.matches() && m.group(2).equals(topic)) {
              for (String part : m.group(1).split(", ")) {
                namedRestoring.add(Integer.parseInt(part));
              }
            } else {
              otherProblems.add(p);
            }
          }
          for (List<@Nullable Object> r :
              TestData.rows(
                  i1.query(
                      "SELECT partition, restoring, lag FROM hyprstream_cluster"
                          + " WHERE this_instance AND partition IS NOT NULL"))) {
            if (Boolean.TRUE.equals(r.get(1))) {
              tableRestoring.add((Integer) r.get(0));
              if (r.get(2) != null) {
                maxLagWhileRestoring = Math.max(maxLagWhileRestoring, (Long) r.get(2));
              }
            }
          }
          if (owned.size() == PARTITIONS / 2 && problems.isEmpty() && !namedRestoring.isEmpty()) {
            break;
          }
          if (owned.size() == PARTITIONS / 2 && problems.isEmpty()) {
            throw new AssertionError(
                "i1 owns "
                    + owned
                    + " with no problem, never having named a partition it restores");
          }
        }
        Set<Integer> mine = i1.ownedPartitions();
        assertEquals(List.of(), otherProblems, "problems other than the restore");
        assertTrue(mine.containsAll(namedRestoring), namedRestoring + " named, i1 owns " + mine);
        assertTrue(
            mine.containsAll(tableRestoring), tableRestoring + " restoring, i1 owns " + mine);
        assertTrue(
            maxLagWhileRestoring > 0, "a restoring partition's lag: " + maxLagWhileRestoring);

        assertTrue(i1.awaitCaughtUp(SETTLE), "i1 caught up");
        assertTrue(i0.awaitCaughtUp(SETTLE), "i0 caught up");
        assertEquals(List.of(), i1.problems(), "i1 restored " + mine);
        assertEquals(List.of(), i0.problems(), "i0 gave partitions away and restores none");
        awaitLagZero(i1);
      }
    }
  }

  /**
   * After catching up, each partition the member owns shows a lag of 0 in {@code
   * hyprstream_cluster} (the lag is the last poll's, so it is awaited, not read once).
   */
  private static void awaitLagZero(ClusteredHyprstream n) throws Exception {
    long deadline = System.nanoTime() + SETTLE.toNanos();
    List<List<@Nullable Object>> rows;
    do {
      rows =
          TestData.rows(
              n.query(
                  "SELECT partition, lag FROM hyprstream_cluster"
                      + " WHERE this_instance AND partition IS NOT NULL ORDER BY partition"));
      boolean zero = rows.size() == n.ownedPartitions().size();
      for (List<@Nullable Object> r : rows) {
        zero &= Long.valueOf(0).equals(r.get(1));
      }
      if (zero) {
        return;
      }
      Thread.sleep(20);
    } while (System.nanoTime() < deadline);
    throw new AssertionError(n.clusterConfig().instanceId() + " lag never 0: " + rows);
  }

  /**
   * A broker that lets a consumer group have one member: the second member's consumer is refused
   * for good ({@code GROUP_MAX_SIZE_REACHED}, fatal to a Kafka consumer). Its problems say that it
   * stopped applying its partitions of the ingest topic, and why; the first member has none.
   */
  @Test
  void consumerStoppedForGood_problemNamesTheTopicAndTheCause() throws Exception {
    String name = "stopped-" + System.nanoTime();
    try (EmbeddedKafka kafka = EmbeddedKafka.start(Map.of("group.consumer.max.size", "1"));
        ClusteredHyprstream i0 = member(kafka, name, "i0")) {
      awaitOwns(i0, PARTITIONS);
      try (ClusteredHyprstream i1 = member(kafka, name, "i1")) {
        long deadline = System.nanoTime() + SETTLE.toNanos();
        List<String> problems;
        while ((problems = i1.problems()).isEmpty()) {
          assertTrue(System.nanoTime() < deadline, "i1 never reported its consumer stopped");
          Thread.sleep(20);
        }
        assertEquals(1, problems.size(), problems.toString());
        String line = problems.get(0);
        assertTrue(
            line.startsWith(
                "cluster: this instance stopped applying its partitions of hs."
                    + name
                    + ".ingest: "),
            line);
        assertTrue(line.contains("GroupMaxSizeReachedException"), line);
        assertEquals(Set.of(), i1.ownedPartitions(), "a stopped member owns nothing");
        assertEquals(List.of(), i0.problems(), "i0 applies every partition");
        assertEquals(PARTITIONS, i0.ownedPartitions().size());
      }
    }
  }

  /**
   * The broker stops under a member: its problems name the cluster log, where Kafka was looked for
   * and the ingest topic, while an ingest is refused; the broker back on the same address, the
   * problem clears, ingest is acknowledged again and the member applies it.
   */
  @Test
  void kafkaStops_problemNamesTheClusterLog_untilItIsBack() throws Exception {
    String name = "down-" + System.nanoTime();
    List<TestData.Row> rows = ClusterWindowsTest.randomRows(43, 3000);
    try (EmbeddedKafka kafka = EmbeddedKafka.start();
        ClusteredHyprstream i0 = member(kafka, name, "i0")) {
      awaitOwns(i0, PARTITIONS);
      ingest(i0, rows.subList(0, 1000));
      assertTrue(i0.awaitCaughtUp(SETTLE), "i0 caught up");
      assertEquals(List.of(), awaitProblems(i0, List::isEmpty), "Kafka up");

      kafka.stopBroker();
      List<String> down = awaitProblems(i0, l -> !l.isEmpty());
      assertEquals(1, down.size(), down.toString());
      String line = down.get(0);
      assertTrue(
          line.startsWith(
              "cluster: cannot reach the cluster log (Kafka at "
                  + kafka.bootstrapServers()
                  + ", topic hs."
                  + name
                  + ".ingest): "),
          line);
      assertTrue(line.endsWith("; ingest is refused meanwhile"), line);
      BackendUnavailableException refused =
          assertThrows(
              BackendUnavailableException.class, () -> ingest(i0, rows.subList(1000, 1100)));
      assertTrue(refused.getMessage().contains("the cluster log"), refused.getMessage());

      kafka.restartBroker();
      assertEquals(List.of(), awaitProblems(i0, List::isEmpty), "Kafka back");
      ingest(i0, rows.subList(1100, 3000));
      assertTrue(i0.awaitCaughtUp(SETTLE), "i0 caught up after the outage");
      // The refused ingest may have left records in Kafka (an ingest is not atomic across
      // partitions): every acknowledged row is held, and nothing beyond what was sent.
      long held =
          ((Number) TestData.scalar(i0.queryLocal("SELECT count(*) FROM metrics"))).longValue();
      assertTrue(held >= 2900 && held <= 3000, held + " rows held of 2900 acknowledged");
    }
  }

  private void ingest(Hyprstream hs, List<TestData.Row> rows) {
    for (int from = 0; from < rows.size(); from += 500) {
      try (VectorSchemaRoot batch =
          TestData.metrics(allocator, rows.subList(from, Math.min(rows.size(), from + 500)))) {
        hs.ingest("metrics", batch);
      }
    }
  }

  /** Waits until {@code n}'s problems satisfy {@code until}; returns them. */
  private static List<String> awaitProblems(
      ClusteredHyprstream n, java.util.function.Predicate<List<String>> until)
      throws InterruptedException {
    long deadline = System.nanoTime() + SETTLE.toNanos();
    List<String> problems;
    while (!until.test(problems = n.problems())) {
      assertTrue(System.nanoTime() < deadline, "problems stayed " + problems);
      Thread.sleep(50);
    }
    return problems;
  }
}
