package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.Hyprstream;
import io.hyprstream.testing.PostgresAvailable;
import io.hyprstream.testing.PostgresSchema;
import io.hyprstream.testing.TcpProxy;
import io.hyprstream.writethrough.Quarantine;
import io.hyprstream.writethrough.WriteThrough;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A batch PostgreSQL refuses as data goes to the quarantine and blocks nothing; nothing
 * acknowledged is lost or written twice. (A stalled PostgreSQL: {@link BackPressureTest}.)
 */
@ExtendWith(PostgresAvailable.class)
final class QuarantineTest {
  private static final int ROWS = 1000;

  @TempDir Path dir;
  @RegisterExtension final PostgresSchema pg = new PostgresSchema("hs_quar_");
  private final String schema = pg.name();

  private static void sql(String statement) throws Exception {
    try (Connection c =
            DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
        Statement st = c.createStatement()) {
      st.execute(statement);
    }
  }

  /** Ingests batch {@code batch}: ROWS rows, values {@code sign * i}, distinct timestamps. */
  private static void ingest(
      Hyprstream hs, BufferAllocator allocator, long batch, long base, double sign) {
    try (VectorSchemaRoot root = VectorSchemaRoot.create(CrashChild.SCHEMA, allocator)) {
      root.allocateNew();
      for (int i = 0; i < ROWS; i++) {
        ((VarCharVector) root.getVector(0))
            .setSafe(i, ("m" + i % 5).getBytes(StandardCharsets.UTF_8));
        ((TimeStampMicroVector) root.getVector(1)).setSafe(i, base + batch * ROWS + i);
        ((Float8Vector) root.getVector(2)).setSafe(i, sign * (i + 1));
        ((BigIntVector) root.getVector(3)).setSafe(i, batch);
      }
      root.setRowCount(ROWS);
      hs.ingest("metrics", root);
    }
  }

  private static WriteThrough.Status status(Hyprstream hs) {
    return java.util.Objects.requireNonNull(hs.operations().writeThrough());
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    await(() -> what, condition);
  }

  private static void await(java.util.function.Supplier<String> what, BooleanSupplier condition)
      throws InterruptedException {
    long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < end, () -> "timed out waiting until " + what.get());
      Thread.sleep(20);
    }
  }

  private static java.util.function.Supplier<String> describe(Hyprstream hs) {
    return () -> {
      WriteThrough.Status s = status(hs);
      return "backlog "
          + s.backlogBatches()
          + ", quarantined "
          + s.quarantinedBatches()
          + ", failures "
          + s.failures()
          + ", last error "
          + s.lastError();
    };
  }

  private static Object scalar(Hyprstream hs, String sql) throws Exception {
    try (var r = hs.query(sql)) {
      assertTrue(r.loadNextBatch());
      return r.getVectorSchemaRoot().getVector(0).getObject(0);
    }
  }

  private long[] postgres() throws Exception {
    return PostgresAvailable.firstRow(
        "SELECT count(*), count(DISTINCT \"timestamp\"), count(*) FILTER (WHERE value < 0) FROM \""
            + schema
            + "\".metrics");
  }

  @Test
  void refusedBatch_isQuarantined_laterBatchesFlow_restartKeepsIt_requeueWritesItOnce()
      throws Exception {
    long base = System.currentTimeMillis() * 1000 - 600_000_000L;
    Path data = dir.resolve("data");
    String batchId;
    try (BufferAllocator allocator = new RootAllocator()) {
      try (Hyprstream hs =
          PostgresAvailable.writingTo(PostgresAvailable.URI, schema, allocator, data).build()) {
        ingest(hs, allocator, 0, base, 1);
        await("batch 0 is in PostgreSQL", () -> status(hs).committedBatches() == 1);
        // A rule added by hand in PostgreSQL that ingest cannot know: negative values are refused
        // by PostgreSQL itself, for real, after the acknowledgement.
        sql(
            "ALTER TABLE \""
                + schema
                + "\".metrics ADD CONSTRAINT non_negative CHECK (value >= 0)");
        ingest(hs, allocator, 1, base, -1); // acknowledged, then refused by PostgreSQL
        for (long b = 2; b < 5; b++) {
          ingest(hs, allocator, b, base, 1);
        }
        await(
            () -> "the refused batch is quarantined and the rest committed: " + describe(hs).get(),
            () -> status(hs).quarantinedBatches() == 1 && status(hs).backlogBatches() == 0);
        WriteThrough.Status st = status(hs);
        assertEquals(ROWS, st.quarantinedRows());
        assertEquals(4L * ROWS, st.committedRows(), "the batches behind the bad one flowed on");
        long[] pg = postgres();
        assertEquals(4L * ROWS, pg[0], "PostgreSQL holds the four good batches");
        assertEquals(0, pg[2], "and nothing of the refused one");

        List<Quarantine.Entry> q = hs.operations().quarantined();
        assertEquals(1, q.size());
        batchId = q.get(0).batchId();
        assertTrue(q.get(0).error().contains("non_negative"), q.get(0).error());
        assertTrue(
            Files.exists(data.resolve("quarantine").resolve("metrics").resolve(batchId + ".arrow")),
            "kept as an Arrow file under the data directory");
        try (var r =
            hs.query("SELECT table_name, batch_id, row_count, error FROM hyprstream_quarantine")) {
          assertTrue(r.loadNextBatch());
          VectorSchemaRoot root = r.getVectorSchemaRoot();
          assertEquals(1, root.getRowCount());
          assertEquals("metrics", root.getVector(0).getObject(0).toString());
          assertEquals(batchId, root.getVector(1).getObject(0).toString());
          assertEquals((long) ROWS, root.getVector(2).getObject(0));
          assertTrue(root.getVector(3).getObject(0).toString().contains("non_negative"));
        }
        assertEquals(
            1L,
            scalar(hs, "SELECT quarantined_batches FROM hyprstream_backend_status"),
            "the status table counts it");
        assertEquals(5L * ROWS, scalar(hs, "SELECT count(*) FROM metrics"));
      }

      // A restart: every acknowledged row is still visible, the refused batch's too.
      try (Hyprstream hs =
          PostgresAvailable.writingTo(PostgresAvailable.URI, schema, allocator, data).build()) {
        assertEquals(
            5L * ROWS,
            scalar(hs, "SELECT count(*) FROM metrics"),
            "every acknowledged row is visible after the restart");
        assertEquals(
            (long) ROWS,
            scalar(hs, "SELECT count(*) FROM metrics WHERE value < 0"),
            "the quarantined rows among them");
        assertEquals(1, hs.operations().quarantined().size(), "the quarantine survives a restart");
        assertEquals(1L, status(hs).quarantinedBatches());

        // Fix the cause, re-send: the batch reaches PostgreSQL once and leaves the quarantine.
        sql("ALTER TABLE \"" + schema + "\".metrics DROP CONSTRAINT non_negative");
        assertEquals(1, hs.operations().requeueQuarantine(batchId).size());
        await("the requeued batch is committed", () -> status(hs).backlogBatches() == 0);
        assertEquals(0L, status(hs).quarantinedBatches());
        assertTrue(hs.operations().quarantined().isEmpty());
        assertFalse(
            Files.exists(
                data.resolve("quarantine").resolve("metrics").resolve(batchId + ".arrow")));
        // A second requeue of the same id is refused by name, not sent again.
        var again =
            org.junit.jupiter.api.Assertions.assertThrows(
                io.hyprstream.api.QueryRejectedException.class,
                () -> hs.operations().requeueQuarantine(batchId));
        assertTrue(again.getMessage().contains(batchId), again.getMessage());
        assertEquals(5L * ROWS, scalar(hs, "SELECT count(*) FROM metrics"));
      }
      long[] pg = postgres();
      assertEquals(5L * ROWS, pg[0], "PostgreSQL holds every acknowledged row");
      assertEquals(pg[0], pg[1], "none twice");
      assertEquals(ROWS, pg[2], "the requeued batch exactly once");
    }
  }

  @Test
  void restart_withTheBackendAway_showsTheRowsStillQueuedForIt_thenDeliversThemOnce()
      throws Exception {
    long base = System.currentTimeMillis() * 1000 - 600_000_000L;
    Path data = dir.resolve("data");
    try (TcpProxy proxy = new TcpProxy(5432);
        BufferAllocator allocator = new RootAllocator()) {
      String uri = PostgresAvailable.viaPort(proxy.port());
      try (Hyprstream hs =
          PostgresAvailable.writingTo(uri, schema, allocator, data)
              .drainTimeout(Duration.ofMillis(300))
              .build()) {
        ingest(hs, allocator, 0, base, 1);
        await("batch 0 is in PostgreSQL", () -> status(hs).committedBatches() == 1);
        proxy.cut();
        ingest(hs, allocator, 1, base, 1);
        ingest(hs, allocator, 2, base, 1);
      } // batches 1 and 2 stay in the log
      // The backend is reachable when the store opens, then goes away before the cache is rebuilt.
      io.hyprstream.HyprstreamBuilder builder;
      proxy.restore();
      builder =
          PostgresAvailable.writingTo(uri, schema, allocator, data)
              .drainTimeout(Duration.ofSeconds(1));
      proxy.cut();
      try (Hyprstream hs = builder.build()) {
        assertEquals(
            2L * ROWS,
            scalar(hs, "SELECT count(*) FROM metrics WHERE batch >= 1"),
            "rows acknowledged but not yet in the backend are visible after the restart");
        assertTrue(status(hs).backlogBatches() >= 2, "and still on their way");
        proxy.restore();
        await("the backlog drains", () -> status(hs).backlogBatches() == 0);
        assertEquals(
            2L * ROWS,
            scalar(hs, "SELECT count(*) FROM metrics WHERE batch >= 1"),
            "delivering them does not show them twice");
      }
    }
    long[] pg = postgres();
    assertEquals(3L * ROWS, pg[0], "PostgreSQL holds every acknowledged row");
    assertEquals(pg[0], pg[1], "none twice");
  }
}
