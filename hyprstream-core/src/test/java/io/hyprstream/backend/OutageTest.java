package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.Hyprstream;
import io.hyprstream.internal.Engine;
import io.hyprstream.testing.PostgresAvailable;
import io.hyprstream.testing.PostgresSchema;
import io.hyprstream.testing.TcpProxy;
import io.hyprstream.writethrough.WriteThrough;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
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

/** PostgreSQL cut off, held away and restored under ingest: no loss, no duplicates. */
@ExtendWith(PostgresAvailable.class)
final class OutageTest {
  private static final int ROWS = 2000;

  @TempDir Path dir;
  @RegisterExtension final PostgresSchema pg = new PostgresSchema("hs_outage_");
  private final String schema = pg.name();

  private static void ingest(Hyprstream hs, BufferAllocator allocator, long batch, long base) {
    try (VectorSchemaRoot root = VectorSchemaRoot.create(CrashChild.SCHEMA, allocator)) {
      root.allocateNew();
      for (int i = 0; i < ROWS; i++) {
        ((VarCharVector) root.getVector(0))
            .setSafe(i, ("m" + i % 5).getBytes(StandardCharsets.UTF_8));
        ((TimeStampMicroVector) root.getVector(1)).setSafe(i, base + batch * ROWS + i);
        ((Float8Vector) root.getVector(2)).setSafe(i, i);
        ((BigIntVector) root.getVector(3)).setSafe(i, batch);
      }
      root.setRowCount(ROWS);
      hs.ingest("metrics", root);
    }
  }

  @Test
  void outage_cutHoldRestore_backendGetsEveryRowOnce() throws Exception {
    long base = System.currentTimeMillis() * 1000 - 600_000_000L;
    try (TcpProxy proxy = new TcpProxy(5432);
        BufferAllocator allocator = new RootAllocator()) {
      String uri = "postgresql://postgres@127.0.0.1:" + proxy.port() + "/test";
      try (Hyprstream hs =
          PostgresAvailable.writingTo(uri, schema, allocator, dir.resolve("data"))
              .drainTimeout(Duration.ofSeconds(60))
              .build()) {
        for (long b = 0; b < 10; b++) {
          ingest(hs, allocator, b, base);
        }
        proxy.cut();
        for (long b = 10; b < 30; b++) {
          ingest(hs, allocator, b, base); // ingest keeps working from the cache and the log
        }
        Thread.sleep(1500); // hold the outage while write-through retries
        WriteThrough.Status during = hs.operations().writeThrough();
        assertTrue(during.backlogBatches() > 0, "the backlog is visible during the outage");
        assertTrue(during.failures() > 0, "so are the failed attempts");
        try (var r = hs.query("SELECT backlog_batches, failures FROM hyprstream_backend_status")) {
          assertTrue(r.loadNextBatch());
          assertTrue((Long) r.getVectorSchemaRoot().getVector(0).getObject(0) > 0);
        }
        assertEquals(
            30L * ROWS,
            (Long) scalar(hs, "SELECT count(*) FROM metrics"),
            "the cache has every acknowledged row throughout");
        proxy.restore();
      } // close drains the backlog once the backend is back
    }
    long[] row =
        PostgresAvailable.firstRow(
            "SELECT count(*), count(DISTINCT \"timestamp\") FROM \"" + schema + "\".metrics");
    assertEquals(30L * ROWS, row[0], "every row reached PostgreSQL");
    assertEquals(row[0], row[1], "none twice");
  }

  private static Object scalar(Hyprstream hs, String sql) throws Exception {
    try (var r = hs.query(sql)) {
      r.loadNextBatch();
      return r.getVectorSchemaRoot().getVector(0).getObject(0);
    }
  }

  @Test
  void restart_overALogThePreviousProcessNeverSent_deliversItOnce() throws Exception {
    long base = System.currentTimeMillis() * 1000 - 600_000_000L;
    Path data = dir.resolve("data");
    try (TcpProxy proxy = new TcpProxy(5432);
        BufferAllocator crashedAllocator = new RootAllocator()) {
      Hyprstream crashed =
          PostgresAvailable.writingTo(
                  PostgresAvailable.viaPort(proxy.port()), schema, crashedAllocator, data)
              .drainTimeout(Duration.ofMillis(200))
              .build();
      proxy.cut(); // from here on nothing reaches PostgreSQL: every batch stays in the log
      for (long b = 0; b < 15; b++) {
        ingest(crashed, crashedAllocator, b, base);
      }
      // The process "dies" here: the next instance starts on the same directory while this one
      // is never heard from again (it is closed only after the checks, with its link still cut).
      try (BufferAllocator allocator = new RootAllocator();
          Hyprstream restarted =
              PostgresAvailable.writingTo(PostgresAvailable.URI, schema, allocator, data).build()) {
        // The start does not wait for PostgreSQL: the rows come from the log at once.
        try (var r =
            ((Engine) restarted).cache().query("SELECT count(*) FROM metrics", allocator)) {
          assertTrue(r.loadNextBatch());
          assertEquals(
              15L * ROWS,
              r.getVectorSchemaRoot().getVector(0).getObject(0),
              "every logged row is in the cache as the restart serves");
        }
      }
      long[] row =
          PostgresAvailable.firstRow(
              "SELECT count(*), count(DISTINCT \"timestamp\") FROM \"" + schema + "\".metrics");
      assertEquals(15L * ROWS, row[0]);
      assertEquals(row[0], row[1], "none twice");
      crashed.close();
    }
  }

  @Test
  void logAtItsBound_refusesIngestWithReason_andLosesNothingAcknowledged() throws Exception {
    long base = System.currentTimeMillis() * 1000 - 600_000_000L;
    try (TcpProxy proxy = new TcpProxy(5432);
        BufferAllocator allocator = new RootAllocator()) {
      long acked = 0;
      try (Hyprstream hs =
          PostgresAvailable.writingTo(
                  PostgresAvailable.viaPort(proxy.port()), schema, allocator, dir.resolve("data"))
              .walMaxBytes(1 << 20)
              .drainTimeout(Duration.ofSeconds(60))
              .build()) {
        proxy.cut();
        io.hyprstream.api.ResourceExhaustedException refused = null;
        for (long b = 0; b < 100 && refused == null; b++) {
          try {
            ingest(hs, allocator, b, base);
            acked += ROWS;
          } catch (io.hyprstream.api.ResourceExhaustedException e) {
            refused = e;
          }
        }
        assertTrue(refused != null, "a 1 MiB log fills up while PostgreSQL is away");
        assertTrue(refused.getMessage().contains("write-ahead log"), refused.getMessage());
        assertEquals(
            acked,
            (Long) scalar(hs, "SELECT count(*) FROM metrics"),
            "the refused batch left no row");
        proxy.restore();
      }
      long[] row = PostgresAvailable.firstRow("SELECT count(*) FROM \"" + schema + "\".metrics");
      assertEquals(acked, row[0], "every acknowledged row, and only those");
    }
  }
}
