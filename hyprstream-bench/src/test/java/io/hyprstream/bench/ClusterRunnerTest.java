package io.hyprstream.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.testing.EmbeddedKafka;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster runner, small, on a real KRaft broker in this JVM: it checks its own answers (every
 * row on one instance, the whole count through any instance) and throws on a wrong one, so a run
 * that completes is a correct one; this keeps the runner working between the runs that measure.
 */
final class ClusterRunnerTest {
  @Test
  void smallRun_completesWithEveryFigure(@TempDir Path dir) throws Exception {
    Path report = dir.resolve("cluster.md");
    try (EmbeddedKafka kafka = EmbeddedKafka.start();
        BufferAllocator root = new RootAllocator()) {
      new ClusterRunner(
              ClusterRunner.Options.parse(
                  new String[] {
                    report.toString(),
                    "--kafka",
                    kafka.bootstrapServers(),
                    "--rows",
                    "150000",
                    "--metrics",
                    "60",
                    "--partitions",
                    "6",
                    "--lookup-runs",
                    "30",
                    "--fan-out-runs",
                    "3",
                    "--checkpoint-interval",
                    "1"
                  }))
          .run(root);
    }
    String text = Files.readString(report);
    for (String figure :
        new String[] {
          "Single-node ingest",
          "Cluster of 1, CPU per row",
          "Cluster of 3, CPU per row",
          "routed to the owner",
          "JDBC key lookup, key owned by another server (read there directly)",
          "Fanned out",
          "Partition checkpoints written",
          "Graceful leave",
          "Join"
        }) {
      assertTrue(text.contains(figure), figure + " in\n" + text);
    }
  }
}
