package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.WindowSpec;
import io.hyprstream.cluster.ClusterConfig;
import io.hyprstream.internal.cluster.ClusteredHyprstream;
import io.hyprstream.testing.EmbeddedKafka;
import io.hyprstream.testing.TestAllocator;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.common.TopicPartition;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Partition checkpoints on a real KRaft broker: the owner of each partition writes its keys'
 * windows, hot rows and remembered ingest ids at a log offset, and the next owner loads them and
 * replays only the records after it. The proof is that the log before the checkpoints is deleted
 * (as the topic's retention would) before the next owner takes over, and its answers still equal
 * one instance fed every row and DuckDB's {@code time_bucket ... GROUP BY} over them.
 */
final class ClusterCheckpointTest {
  private static final int PARTITIONS = 6;
  private static final Duration SETTLE = Duration.ofSeconds(60);

  private static EmbeddedKafka kafka;
  @RegisterExtension final TestAllocator allocator = new TestAllocator();

  @BeforeAll
  static void startKafka() throws Exception {
    kafka = EmbeddedKafka.start();
  }

  @AfterAll
  static void stopKafka() throws Exception {
    kafka.close();
  }

  private Hyprstream instance(@Nullable ClusterConfig cluster) {
    HyprstreamBuilder b =
        Hyprstream.builder()
            .allocator(allocator)
            .clock(InstantSource.fixed(ClusterWindowsTest.END.plusSeconds(60)))
            .cacheDuration(Duration.ofDays(30))
            .expiryInterval(Duration.ZERO);
    return cluster == null ? b.build() : b.cluster(cluster).build();
  }

  private static ClusterConfig member(String cluster, String id) {
    return ClusterConfig.kafka(kafka.bootstrapServers(), cluster)
        .withPartitions(PARTITIONS)
        .withInstanceId(id)
        .withCheckpointInterval(Duration.ofMillis(200));
  }

  private void ingest(Hyprstream hs, List<TestData.Row> rows, @Nullable String ingestId) {
    for (int from = 0; from < rows.size(); from += 1000) {
      try (VectorSchemaRoot batch =
          TestData.metrics(allocator, rows.subList(from, Math.min(rows.size(), from + 1000)))) {
        if (ingestId == null) {
          hs.ingest("metrics", batch);
        } else {
          hs.ingest("metrics", batch, ingestId);
        }
      }
    }
  }

  /** Every partition's log end offset, read from the broker. */
  private static Map<TopicPartition, Long> endOffsets(String topic) throws Exception {
    Map<TopicPartition, OffsetSpec> ask = new HashMap<>();
    for (int p = 0; p < PARTITIONS; p++) {
      ask.put(new TopicPartition(topic, p), OffsetSpec.latest());
    }
    Map<TopicPartition, Long> out = new HashMap<>();
    kafka.admin().listOffsets(ask).all().get().forEach((tp, info) -> out.put(tp, info.offset()));
    return out;
  }

  /** Waits until {@code hs}'s checkpoints cover every record of every partition. */
  private static void awaitCheckpointed(ClusteredHyprstream hs) throws Exception {
    Map<Integer, Long> ends = new TreeMap<>();
    endOffsets(hs.clusterConfig().ingestTopic()).forEach((tp, o) -> ends.put(tp.partition(), o));
    long deadline = System.nanoTime() + SETTLE.toNanos();
    while (!hs.checkpointedOffsets().equals(ends)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "checkpoints cover " + hs.checkpointedOffsets() + ", the log ends at " + ends);
      }
      Thread.sleep(50);
    }
  }

  private static List<List<@Nullable Object>> rows(Hyprstream hs, String sql) throws Exception {
    List<List<@Nullable Object>> out = new ArrayList<>(TestData.rows(hs.query(sql)));
    out.sort(
        Comparator.comparing((List<@Nullable Object> r) -> String.valueOf(r.get(0)))
            .thenComparing(r -> String.valueOf(r.get(1))));
    return out;
  }

  /** Equal rows, sums within rounding (the instances add the same values in other orders). */
  private static void assertClose(
      List<List<@Nullable Object>> expected, List<List<@Nullable Object>> got, String what) {
    assertEquals(expected.size(), got.size(), what);
    for (int i = 0; i < got.size(); i++) {
      WindowOracle.assertRowClose(expected.get(i), got.get(i), what + " row " + i);
    }
  }

  @Test
  void newOwner_loadsCheckpoints_andIsExactAfterTheLogBeforeThemWasDeleted() throws Exception {
    List<TestData.Row> all = ClusterWindowsTest.randomRows(31, 12_000);
    List<TestData.Row> before = all.subList(0, 7_000);
    List<TestData.Row> retried = all.subList(7_000, 8_000); // sent with an ingest id, then again
    List<TestData.Row> after = all.subList(8_000, all.size());
    String cluster = "checkpoints-" + System.nanoTime();
    try (Hyprstream single = instance(null)) {
      ingest(single, all, null);
      ClusteredHyprstream b;
      try (ClusteredHyprstream a = (ClusteredHyprstream) instance(member(cluster, "a"))) {
        ClusterWindowsTest.awaitBalanced(List.of(a));
        ingest(a, before, null);
        ingest(a, retried, "retried-batch");
        assertTrue(a.awaitCaughtUp(SETTLE), "a caught up");
        awaitCheckpointed(a);
        assertTrue(a.checkpointsWritten() >= PARTITIONS, "a wrote a checkpoint of each partition");
        Map<Integer, Long> shown = new TreeMap<>();
        for (List<@Nullable Object> r :
            TestData.rows(a.query("SELECT partition, checkpoint_offset FROM hyprstream_cluster"))) {
          shown.put((Integer) r.get(0), (Long) r.get(1));
        }
        assertEquals(a.checkpointedOffsets(), shown, "hyprstream_cluster's checkpoint_offset");

        // What retention would do: the log before the checkpoints is gone.
        Map<TopicPartition, RecordsToDelete> delete = new HashMap<>();
        a.checkpointedOffsets()
            .forEach(
                (p, o) ->
                    delete.put(
                        new TopicPartition(a.clusterConfig().ingestTopic(), p),
                        RecordsToDelete.beforeOffset(o)));
        kafka.admin().deleteRecords(delete).all().get();

        ingest(a, after, null);
        assertTrue(a.awaitCaughtUp(SETTLE), "a caught up again");
        b = (ClusteredHyprstream) instance(member(cluster, "b"));
      } // a leaves: b is given every partition
      try (b) {
        ClusterWindowsTest.awaitBalanced(List.of(b));
        assertTrue(b.awaitCaughtUp(SETTLE), "b caught up");
        assertEquals(0, b.recordsRefused(), "records b refused");

        // A retry of an ingest the checkpoints remember is skipped by the new owner.
        ingest(b, retried, "retried-batch");
        assertTrue(b.awaitCaughtUp(SETTLE), "b caught up after the retry");
        assertTrue(b.recordsRepeated() > 0, "b skipped the retry");

        assertClose(
            rows(single, "SELECT count(*), sum(value), count(DISTINCT seq) FROM metrics"),
            rows(b, "SELECT count(*), sum(value), count(DISTINCT seq) FROM metrics"),
            "raw rows");
        assertClose(
            rows(single, "SELECT metric_id, count(*), sum(value) FROM metrics GROUP BY 1"),
            rows(b, "SELECT metric_id, count(*), sum(value) FROM metrics GROUP BY 1"),
            "raw rows per key");
        for (WindowSpec w : WindowSpec.DEFAULTS) {
          List<List<@Nullable Object>> got = rows(b, WindowOracle.viewRows("metrics", w));
          List<List<@Nullable Object>> alone = rows(single, WindowOracle.viewRows("metrics", w));
          List<List<@Nullable Object>> oracle =
              rows(
                  single,
                  WindowOracle.timeBucketGroupBy(
                      "metrics", w, ClusterWindowsTest.END.plusSeconds(60).minus(w.retention())));
          assertTrue(oracle.size() > 60, "the oracle found windows of " + w.name());
          assertEquals(oracle.size(), got.size(), "windows of metrics_" + w.name());
          for (int i = 0; i < got.size(); i++) {
            String where = "metrics_" + w.name() + " row " + i;
            WindowOracle.assertRowClose(alone.get(i), got.get(i), where + " vs one instance");
            WindowOracle.assertRowClose(oracle.get(i), got.get(i), where + " vs the oracle");
          }
        }
        // Last, so that without the checkpoints the answers above fail first.
        assertEquals(PARTITIONS, b.checkpointsLoaded(), "b loaded a checkpoint of each partition");
        String running =
            "SELECT seq, metric_id, value_running_window_sum, value_running_window_count"
                + " FROM metrics";
        List<List<@Nullable Object>> got = rows(b, running);
        List<List<@Nullable Object>> alone = rows(single, running);
        Comparator<List<@Nullable Object>> bySeq = Comparator.comparingLong(r -> (Long) r.get(0));
        got.sort(bySeq);
        alone.sort(bySeq);
        assertEquals(alone.size(), got.size(), "rows with running columns");
        for (int i = 0; i < alone.size(); i++) {
          WindowOracle.assertRowClose(alone.get(i), got.get(i), "running columns of row " + i);
        }
      }
    }
  }
}
