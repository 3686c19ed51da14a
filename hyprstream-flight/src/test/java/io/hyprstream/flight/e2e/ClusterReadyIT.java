package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.testing.EmbeddedKafka;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code /ready} of cluster server processes ({@code java -jar}) on a broker in the test JVM: 503
 * naming the partitions while a server restores partitions it took over, and naming the cause when
 * Kafka stopped its partition consumer for good.
 */
final class ClusterReadyIT {
  private static final Duration TIMEOUT = Duration.ofSeconds(90);
  private static final Pattern RESTORING =
      Pattern.compile("cluster: restoring partitions \\[([0-9, ]+)\\] of (hs\\.[^\"]+\\.ingest)");

  private static ServerProcess server(EmbeddedKafka kafka, String name) {
    return ServerProcess.start(
        "--cluster-kafka",
        kafka.bootstrapServers(),
        "--cluster-name",
        name,
        "--cluster-partitions",
        String.valueOf(ClusterIT.PARTITIONS));
  }

  /**
   * Two servers hold 600,000 rows of 60 metrics; one stops, and the other takes its partitions and
   * replays them from the start of the log: meanwhile its {@code /ready} answers 503 naming
   * partitions it was given and the ingest topic, then 200 once they are restored.
   */
  @Test
  void serverTakingOverPartitions_isUnreadyNamingThemUntilRestored() throws Exception {
    String name = "ready-" + System.nanoTime();
    Random random = new Random(61);
    long end = Instant.now().toEpochMilli();
    List<MetricRows.Row> rows = new ArrayList<>();
    for (int i = 0; i < 600_000; i++) {
      rows.add(
          new MetricRows.Row(
              "m" + random.nextInt(60),
              end - (long) (random.nextDouble() * Duration.ofMinutes(50).toMillis()),
              Math.round(random.nextDouble() * 100_000) / 1000.0));
    }
    try (EmbeddedKafka kafka = EmbeddedKafka.start();
        ServerProcess leaving = server(kafka, name);
        ServerProcess staying = server(kafka, name)) {
      ClusterIT.awaitBalanced(List.of(leaving, staying));
      for (int from = 0; from < rows.size(); from += 100_000) {
        MetricRows.ingestAdbc(leaving.grpcUri(), Map.of(), rows.subList(from, from + 100_000));
      }
      staying.awaitReady(r -> r.statusCode() == 200, TIMEOUT, "ready before the other leaves");

      List<String> heldBefore = latestOwnership(staying.log());
      // SIGTERM without waiting for the exit: the leaver leaves the group as it shuts down, and
      // the restore may begin before the process has ended.
      java.util.concurrent.CompletableFuture<Integer> exit =
          java.util.concurrent.CompletableFuture.supplyAsync(leaving::terminate);
      String restoring = null;
      int unready = 0;
      long firstUnready = 0;
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (true) {
        HttpResponse<String> r = staying.ready();
        if (r.statusCode() == 200) {
          if (restoring != null) {
            break;
          }
        } else {
          assertEquals(503, r.statusCode(), r.body());
          Matcher m = RESTORING.matcher(r.body());
          assertTrue(m.find(), "503 for another reason than a restore: " + r.body());
          assertEquals("hs." + name + ".ingest", m.group(2), r.body());
          restoring = m.group(1);
          if (unready++ == 0) {
            firstUnready = System.nanoTime();
          }
        }
        if (System.nanoTime() > deadline) {
          throw new AssertionError(
              "/ready never named partitions being restored, then answered 200; last: "
                  + r.statusCode()
                  + " "
                  + r.body()
                  + "\n"
                  + staying.logTail());
        }
      }
      System.out.println(
          "ClusterReadyIT: /ready named partitions ["
              + restoring
              + "] being restored in "
              + unready
              + " answers over "
              + (System.nanoTime() - firstUnready) / 1_000_000
              + " ms");
      assertEquals(0, exit.get(), leaving.logTail());
      for (String p : restoring.split(", ")) {
        assertTrue(
            !heldBefore.contains(p),
            "restoring " + restoring + ", which includes partitions held before: " + heldBefore);
      }
      assertTrue(staying.log().contains("owns partitions [0, 1, 2, 3, 4, 5]"), staying.logTail());
    }
  }

  /**
   * A broker that allows one member per consumer group: the second server's partition consumer is
   * stopped by Kafka for good, and its {@code /ready} answers 503 naming the ingest topic and the
   * cause while the first server is ready.
   */
  @Test
  void consumerStoppedForGood_isUnreadyNamingTheCause() throws Exception {
    String name = "full-" + System.nanoTime();
    try (EmbeddedKafka kafka = EmbeddedKafka.start(Map.of("group.consumer.max.size", "1"));
        ServerProcess first = server(kafka, name)) {
      first.awaitReady(r -> r.statusCode() == 200, TIMEOUT, "the first member ready");
      try (ServerProcess second = server(kafka, name)) {
        HttpResponse<String> r =
            second.awaitReady(x -> x.body().contains("stopped"), TIMEOUT, "the second unready");
        assertEquals(503, r.statusCode(), r.body());
        assertTrue(
            r.body()
                .contains(
                    "cluster: this instance stopped applying its partitions of hs."
                        + name
                        + ".ingest: org.apache.kafka.common.errors.GroupMaxSizeReachedException"),
            r.body());
        assertEquals(200, first.ready().statusCode(), first.ready().body());
      }
    }
  }

  /** The partitions the server's log last said it owns. */
  private static List<String> latestOwnership(String log) {
    Matcher m =
        Pattern.compile("cluster member \\S+ owns partitions \\[([0-9, ]*)\\]").matcher(log);
    String last = "";
    while (m.find()) {
      last = m.group(1);
    }
    return last.isBlank() ? List.of() : List.of(last.split(", "));
  }
}
