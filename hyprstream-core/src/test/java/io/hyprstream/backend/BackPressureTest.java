package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.Hyprstream;
import io.hyprstream.api.ResourceExhaustedException;
import io.hyprstream.testing.PostgresAvailable;
import io.hyprstream.testing.PostgresSchema;
import io.hyprstream.testing.TcpProxy;
import io.hyprstream.writethrough.WriteThrough;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
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
 * PostgreSQL stalled behind a {@link TcpProxy} (connections open, nothing answered): the backlog's
 * memory stays under its bound while ingest goes on (the rest spills to the log), ingest is refused
 * only at the log's bound, a stalled call is cut by the default time-out, and once PostgreSQL
 * answers again it holds every acknowledged row exactly once.
 */
@ExtendWith(PostgresAvailable.class)
final class BackPressureTest {
  private static final int ROWS = 1000;

  @TempDir Path dir;
  @RegisterExtension final PostgresSchema pg = new PostgresSchema("hs_bp_");
  private final String schema = pg.name();

  /** Ingests batch {@code batch}: ROWS rows with distinct timestamps. */
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

  private static WriteThrough.Status status(Hyprstream hs) {
    return java.util.Objects.requireNonNull(hs.operations().writeThrough());
  }

  private static void await(Supplier<String> what, BooleanSupplier condition, Duration within)
      throws InterruptedException {
    long end = System.nanoTime() + within.toNanos();
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < end, () -> "timed out waiting until " + what.get());
      Thread.sleep(20);
    }
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    await(() -> what, condition, Duration.ofSeconds(60));
  }

  private static long count(Hyprstream hs) throws Exception {
    try (var r = hs.query("SELECT count(*) FROM metrics")) {
      assertTrue(r.loadNextBatch());
      return (Long) r.getVectorSchemaRoot().getVector(0).getObject(0);
    }
  }

  /** PostgreSQL's row count and distinct timestamps (each acknowledged row has its own). */
  private long[] postgres() throws Exception {
    return PostgresAvailable.firstRow(
        "SELECT count(*), count(DISTINCT \"timestamp\") FROM \"" + schema + "\".metrics");
  }

  @Test
  void stalledBackend_spillsPastTheMemoryBound_ingestGoesOn_thenEveryRowOnce() throws Exception {
    long bound = 256 << 10;
    long base = System.currentTimeMillis() * 1000 - 600_000_000L;
    long acked = 0;
    try (TcpProxy proxy = new TcpProxy(5432);
        BufferAllocator allocator = new RootAllocator()) {
      try (Hyprstream hs =
          PostgresAvailable.writingTo(
                  PostgresAvailable.viaPort(proxy.port()), schema, allocator, dir.resolve("data"))
              .maxBacklogBytes(bound)
              .maxWriteThroughLag(Duration.ofSeconds(1))
              .drainTimeout(Duration.ofSeconds(60))
              .build()) {
        ingest(hs, allocator, 0, base);
        acked += ROWS;
        await("batch 0 is in PostgreSQL", () -> status(hs).committedBatches() == 1);

        proxy.stall(); // connections stay open; nothing comes back: no error, only silence
        long b = 1;
        for (; b <= 300; b++) {
          ingest(hs, allocator, b, base); // never refused: far under the log's bound
          acked += ROWS;
          WriteThrough.Status s = status(hs);
          assertTrue(
              s.heldBytes() <= bound,
              "the backlog holds " + s.heldBytes() + " bytes in memory, over its bound " + bound);
        }
        WriteThrough.Status stalled = status(hs);
        assertTrue(
            stalled.backlogBytes() > 20 * bound,
            "far more is acknowledged than the bound: " + stalled.backlogBytes());
        assertTrue(stalled.spilledBatches() > 0 && stalled.spilledBytes() > 0, "and it spilled");
        assertEquals(
            stalled.backlogBytes(),
            stalled.spilledBytes() + stalled.heldBytes(),
            "held or spilled");
        // Memory itself, not only the count: once the cache has flushed its pending rows, what
        // the allocator holds is far below what the backlog would take in memory.
        await(
            () -> "Arrow memory settles: " + allocator.getAllocatedMemory(),
            () -> allocator.getAllocatedMemory() < stalled.backlogBytes() / 4,
            Duration.ofSeconds(60));
        await("the stall shows as lag over its bound", () -> status(hs).overLag());
        assertEquals(acked, count(hs), "every acknowledged row is in the cache");

        proxy.resume();
        await("the backlog drains", () -> status(hs).backlogBatches() == 0);
        WriteThrough.Status drained = status(hs);
        assertEquals(0, drained.spilledBatches());
        assertEquals(0, drained.heldBytes());
        assertFalse(drained.overLag());
      }
    }
    long[] pg = postgres();
    assertEquals(acked, pg[0], "every acknowledged row reached PostgreSQL");
    assertEquals(pg[0], pg[1], "none twice");
  }

  @Test
  void logAtItsBound_refusesIngestNamingIt_storesNothing_thenEveryRowOnce() throws Exception {
    long base = System.currentTimeMillis() * 1000 - 600_000_000L;
    long acked = 0;
    try (TcpProxy proxy = new TcpProxy(5432);
        BufferAllocator allocator = new RootAllocator()) {
      try (Hyprstream hs =
          PostgresAvailable.writingTo(
                  PostgresAvailable.viaPort(proxy.port()), schema, allocator, dir.resolve("data"))
              .maxBacklogBytes(64 << 10)
              .walMaxBytes(1 << 20)
              .drainTimeout(Duration.ofSeconds(60))
              .build()) {
        ingest(hs, allocator, 0, base);
        acked += ROWS;
        await("batch 0 is in PostgreSQL", () -> status(hs).committedBatches() == 1);

        proxy.stall();
        ResourceExhaustedException refused = null;
        long b = 1;
        for (; b < 200 && refused == null; b++) {
          try {
            ingest(hs, allocator, b, base);
            acked += ROWS;
          } catch (ResourceExhaustedException e) {
            refused = e;
          }
        }
        assertNotNull(refused, "a 1 MiB log fills up while PostgreSQL stalls");
        assertTrue(refused.getMessage().contains("engine.max_log_bytes"), refused.getMessage());
        assertTrue(refused.getMessage().contains("walMaxBytes"), refused.getMessage());
        WriteThrough.Status full = status(hs);
        assertTrue(full.spilledBatches() > 0, "the backlog had spilled before the log filled");
        final long refusedBatch = b - 1;
        ResourceExhaustedException again = null;
        try {
          ingest(hs, allocator, refusedBatch, base);
        } catch (ResourceExhaustedException e) {
          again = e;
        }
        assertNotNull(again, "refused again while the log is full");
        assertEquals(acked, count(hs), "the refused batches left no row in the cache");
        WriteThrough.Status after = status(hs);
        assertEquals(full.backlogRows(), after.backlogRows(), "nor in the backlog");
        assertEquals(full.walBytes(), after.walBytes(), "nor in the log");

        proxy.resume();
        await("the backlog drains", () -> status(hs).backlogBatches() == 0);
        // The drained log takes batches again once its committed segments are free: when a
        // window snapshot covers them, which the snapshotter takes within seconds of the log
        // passing half its bound.
        await(
            "the drained log takes batches again",
            () -> {
              try {
                ingest(hs, allocator, refusedBatch, base);
                return true;
              } catch (ResourceExhaustedException e) {
                return false;
              }
            });
        acked += ROWS;
      }
    }
    long[] pg = postgres();
    assertEquals(acked, pg[0], "every acknowledged row reached PostgreSQL");
    assertEquals(pg[0], pg[1], "none twice");
  }

  @Test
  void stalledSocket_isCutByTheDefaultTimeout_andTheBatchRetried() throws Exception {
    long base = System.currentTimeMillis() * 1000 - 600_000_000L;
    try (TcpProxy proxy = new TcpProxy(5432);
        BufferAllocator allocator = new RootAllocator()) {
      try (Hyprstream hs =
          Hyprstream.builder()
              .allocator(allocator)
              .expiryInterval(Duration.ZERO)
              .backend(
                  BackendStores.open( // no time-out options: the defaults
                      "adbc",
                      PostgresAvailable.viaPort(proxy.port()),
                      Map.of("schema", schema),
                      null,
                      null,
                      allocator))
              .dataDirectory(dir.resolve("data"))
              .drainTimeout(Duration.ofSeconds(60))
              .build()) {
        ingest(hs, allocator, 0, base);
        await("batch 0 is in PostgreSQL", () -> status(hs).committedBatches() == 1);
        proxy.stall();
        ingest(hs, allocator, 1, base);
        long limit = PoolSettings.DEFAULTS.socketTimeout().toSeconds();
        await(
            () -> "the stalled append is cut: " + status(hs).lastError(),
            () -> status(hs).failures() > 0,
            PoolSettings.DEFAULTS.socketTimeout().multipliedBy(3));
        String error = String.valueOf(status(hs).lastError());
        assertTrue(error.contains("socket_timeout of " + limit + " s"), error);
        proxy.resume();
        await("batch 1 is retried into PostgreSQL", () -> status(hs).backlogBatches() == 0);
      }
    }
    long[] pg = postgres();
    assertEquals(2L * ROWS, pg[0], "both batches reached PostgreSQL");
    assertEquals(pg[0], pg[1], "none twice");
  }
}
