package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.IngestResult;
import io.hyprstream.testing.PostgresAvailable;
import io.hyprstream.testing.PostgresSchema;
import io.hyprstream.testing.TcpProxy;
import io.hyprstream.testing.TestAllocator;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A single instance given the same ingest id twice (a client retrying after a lost acknowledgement)
 * stores the rows once: in the cache, in the windows (against DuckDB's {@code time_bucket} over the
 * rows sent once) and in PostgreSQL, also across a restart.
 */
@ExtendWith(PostgresAvailable.class)
final class IngestIdTest {
  private static final Instant NOW = ClusterWindowsTest.END.plusSeconds(60);

  @RegisterExtension final TestAllocator allocator = new TestAllocator();
  @RegisterExtension final PostgresSchema pg = new PostgresSchema("hs_ingest_id_");
  @TempDir Path dir;

  private Hyprstream writingToPostgres() {
    return PostgresAvailable.writingTo(PostgresAvailable.URI, pg.name(), allocator, dir)
        .clock(InstantSource.fixed(NOW))
        .cacheDuration(Duration.ofDays(30))
        .synchronousWriteThrough(true)
        .build();
  }

  private IngestResult ingest(Hyprstream hs, List<TestData.Row> rows, String ingestId) {
    try (VectorSchemaRoot batch = TestData.metrics(allocator, rows)) {
      return hs.ingest("metrics", batch, ingestId);
    }
  }

  private static long scalar(Hyprstream hs, String sql) throws Exception {
    return ((Number) TestData.scalar(hs.query(sql))).longValue();
  }

  private long postgresRows() throws Exception {
    return PostgresAvailable.firstRow("SELECT count(*) FROM \"" + pg.name() + "\".metrics")[0];
  }

  @Test
  void sameIdTwice_cacheWindowsAndPostgresHoldTheRowsOnce() throws Exception {
    List<TestData.Row> rows = ClusterWindowsTest.randomRows(41, 3000);
    try (Hyprstream hs = writingToPostgres()) {
      IngestResult first = ingest(hs, rows, "retry-me");
      assertEquals(3000, first.rowsAccepted());
      assertFalse(first.repeated());

      IngestResult again = ingest(hs, rows, "retry-me");
      assertTrue(again.repeated(), "the same id is a repeat");
      assertEquals(0, again.rowsAccepted());

      assertEquals(3000, scalar(hs, "SELECT count(*) FROM metrics"));
      assertEquals(3000, scalar(hs, "SELECT count(DISTINCT seq) FROM metrics"));
      WindowOracle.assertMetricsWindowsOver(hs, rows, NOW, allocator);
      assertEquals(3000, postgresRows());

      IngestResult other = ingest(hs, rows, "another-id");
      assertFalse(other.repeated(), "a different id stores again");
      assertEquals(3000, other.rowsAccepted());
      assertEquals(6000, scalar(hs, "SELECT count(*) FROM metrics"));
      assertEquals(6000, postgresRows());
    }
  }

  @Test
  void restart_theIdIsStillARepeat() throws Exception {
    List<TestData.Row> rows = ClusterWindowsTest.randomRows(42, 2000);
    List<TestData.Row> later = ClusterWindowsTest.randomRows(43, 500);
    try (Hyprstream hs = writingToPostgres()) {
      assertEquals(2000, ingest(hs, rows, "before-restart").rowsAccepted());
    }
    try (Hyprstream hs = writingToPostgres()) {
      assertTrue(ingest(hs, rows, "before-restart").repeated(), "remembered across the restart");
      assertEquals(500, ingest(hs, later, "after-restart").rowsAccepted());
      assertEquals(2500, scalar(hs, "SELECT count(*) FROM metrics"));
      WindowOracle.assertMetricsWindowsOver(
          hs, Stream.concat(rows.stream(), later.stream()).toList(), NOW, allocator);
      assertEquals(2500, postgresRows());
    }
    try (Hyprstream hs = writingToPostgres()) {
      assertTrue(ingest(hs, later, "after-restart").repeated(), "remembered across two restarts");
      assertTrue(ingest(hs, rows, "before-restart").repeated(), "remembered across two restarts");
      assertEquals(2500, postgresRows());
    }
  }

  /**
   * A crash after the acknowledgement, before any snapshot holds the id, with PostgreSQL cut off:
   * the id comes back from the write-ahead log alone.
   */
  @Test
  void crashBeforeASnapshot_theIdComesBackFromTheLog() throws Exception {
    List<TestData.Row> rows = ClusterWindowsTest.randomRows(46, 1500);
    try (TcpProxy proxy = new TcpProxy(5432);
        BufferAllocator crashedAllocator = new RootAllocator()) {
      Hyprstream crashed =
          PostgresAvailable.writingTo(
                  PostgresAvailable.viaPort(proxy.port()), pg.name(), crashedAllocator, dir)
              .clock(InstantSource.fixed(NOW))
              .cacheDuration(Duration.ofDays(30))
              .drainTimeout(Duration.ofMillis(200))
              .build();
      proxy.cut(); // the batch stays in the log, which is all a restart has of it
      try (VectorSchemaRoot batch = TestData.metrics(crashedAllocator, rows)) {
        assertEquals(1500, crashed.ingest("metrics", batch, "before-crash").rowsAccepted());
      }
      // The process "dies" here: the next one starts on its directory and never hears from it.
      try (Hyprstream restarted = writingToPostgres()) {
        assertTrue(ingest(restarted, rows, "before-crash").repeated(), "remembered from the log");
        assertEquals(1500, scalar(restarted, "SELECT count(*) FROM metrics"));
        WindowOracle.assertMetricsWindowsOver(restarted, rows, NOW, allocator);
      }
      assertEquals(1500, postgresRows());
      crashed.close();
    }
  }

  @Test
  void moreIdsThanTheBound_theOldestIsForgotten() throws Exception {
    List<TestData.Row> rows = ClusterWindowsTest.randomRows(44, 100);
    try (Hyprstream hs =
        Hyprstream.builder()
            .allocator(allocator)
            .clock(InstantSource.fixed(NOW))
            .cacheDuration(Duration.ofDays(30))
            .ingestIdsRemembered(2)
            .build()) {
      ingest(hs, rows, "a");
      ingest(hs, rows, "b");
      ingest(hs, rows, "c"); // the third id: "a" is forgotten
      assertTrue(ingest(hs, rows, "c").repeated());
      assertTrue(ingest(hs, rows, "b").repeated());
      assertEquals(100, ingest(hs, rows, "a").rowsAccepted(), "a forgotten id stores again");
      assertEquals(400, scalar(hs, "SELECT count(*) FROM metrics"));
      try (VectorSchemaRoot batch = TestData.metrics(allocator, rows)) {
        assertTrue(hs.ingest("other", batch, "a").rowsAccepted() > 0, "ids are scoped per table");
      }
    }
  }

  @Test
  void emptyOrOverlongId_isRefusedNamingTheLimit() throws Exception {
    List<TestData.Row> rows = ClusterWindowsTest.randomRows(45, 10);
    try (Hyprstream hs = Hyprstream.builder().allocator(allocator).build()) {
      IllegalArgumentException empty =
          assertThrows(IllegalArgumentException.class, () -> ingest(hs, rows, ""));
      assertTrue(empty.getMessage().contains("1 to 200 characters"), empty.getMessage());
      IllegalArgumentException overlong =
          assertThrows(IllegalArgumentException.class, () -> ingest(hs, rows, "x".repeat(201)));
      assertTrue(overlong.getMessage().contains("got 201"), overlong.getMessage());
      assertEquals(10, ingest(hs, rows, "x".repeat(200)).rowsAccepted());
      List<VectorSchemaRoot> handedOver = new java.util.ArrayList<>();
      handedOver.add(TestData.metrics(allocator, rows));
      assertThrows(
          IllegalArgumentException.class, () -> hs.ingestTransferred("metrics", handedOver, ""));
      assertEquals(10, scalar(hs, "SELECT count(*) FROM metrics"));
    }
  }
}
