package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.Hyprstream;
import io.hyprstream.testing.PostgresAvailable;
import io.hyprstream.testing.PostgresSchema;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} of a JVM in the middle of ingest, then a restart on the same data directory:
 * PostgreSQL ends up with every acknowledged row exactly once.
 */
@ExtendWith(PostgresAvailable.class)
final class CrashRecoveryTest {
  private static final int ROWS = 5000;

  @TempDir Path dir;
  @RegisterExtension final PostgresSchema pg = new PostgresSchema("hs_crash_");
  private final String schema = pg.name();

  @Test
  void killDashNine_midIngest_restartDeliversEveryAcknowledgedRowOnce() throws Exception {
    Path data = dir.resolve("data");
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("--add-opens=java.base/java.nio=ALL-UNNAMED");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(CrashChild.class.getName());
    command.add(schema);
    command.add(data.toString());
    command.add(Integer.toString(ROWS));
    Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
    long lastAck = -1;
    try (BufferedReader out =
        new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        if (line.startsWith("ACK ")) {
          lastAck = Long.parseLong(line.substring(4).trim());
          if (lastAck >= 60) {
            break;
          }
        }
      }
      child.destroyForcibly(); // SIGKILL: no shutdown hooks, no drain
      assertTrue(child.waitFor(30, TimeUnit.SECONDS));
    }
    assertTrue(lastAck >= 60, "the child acknowledged batches before it was killed");

    // Restart on the same data directory: the log's backlog goes to PostgreSQL.
    try (BufferAllocator allocator = new RootAllocator();
        Hyprstream hs =
            PostgresAvailable.writingTo(PostgresAvailable.URI, schema, allocator, data).build()) {
      assertTrue(hs.tables().size() > 0);
    }

    long[] row =
        PostgresAvailable.firstRow(
            "SELECT count(*), count(DISTINCT \"timestamp\"), count(DISTINCT batch),"
                + " count(*) FILTER (WHERE batch <= "
                + lastAck
                + ") FROM \""
                + schema
                + "\".metrics");
    assertEquals(row[1], row[0], "no row twice");
    assertEquals((lastAck + 1) * ROWS, row[3], "every acknowledged batch, whole");
    assertEquals(row[2] * ROWS, row[0], "batches are whole, never partial");
  }
}
