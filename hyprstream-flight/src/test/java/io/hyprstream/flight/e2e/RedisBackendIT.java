package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.BackendStore;
import io.hyprstream.backend.BackendStores;
import io.hyprstream.flight.FlightJdbc;
import io.hyprstream.testing.TcpProxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Redis as the backend store, through the jar ({@code --engine redis}), against the machine's Redis
 * behind a proxy that can stall it: rows acknowledged while Redis is stalled, then {@code kill -9}
 * with them only in the write-ahead log; after the restart Redis holds every acknowledged row
 * exactly once (the stream read back with a Redis client equals the rows sent), and the windows
 * equal DuckDB's {@code time_bucket} over them. A third start on a fresh data directory (no
 * snapshot, no log) rebuilds the windows and the hot rows from Redis alone, and lists and answers a
 * table only Redis holds.
 */
final class RedisBackendIT {
  private static final Duration WAIT = Duration.ofSeconds(90);

  @TempDir Path dir;

  @Test
  void stallThenKillNine_redisHoldsEveryAcknowledgedRowOnce_restartsRestoreWindows()
      throws Exception {
    Instant end = Instant.now().minus(Duration.ofMinutes(2));
    // Random times over 50 minutes: rows arrive out of time order, as late rows do.
    List<MetricRows.Row> before = MetricRows.generate(3000, 31, end);
    List<MetricRows.Row> during = MetricRows.generate(1000, 32, end);
    List<MetricRows.Row> all = new ArrayList<>(before);
    all.addAll(during);
    try (RedisKeys redis = RedisKeys.create();
        TcpProxy proxy = new TcpProxy(RedisKeys.PORT)) {
      List<String> args =
          List.of(
              "--engine",
              "redis",
              "--engine-connection",
              "redis://127.0.0.1:" + proxy.port() + "/0",
              "--engine-options",
              "key_prefix=" + redis.prefix(),
              "--engine-options",
              "socket_timeout=2",
              "--data-dir",
              "data",
              "--snapshot-interval",
              "2");
      Path work = dir.resolve("first");
      Files.createDirectories(work);
      try (ServerProcess first = ServerProcess.builder().workDir(work).args(args).start();
          Connection flight = FlightJdbc.connect(first.jdbcUrl())) {
        MetricRows.ingestJdbc(flight, before);
        awaitBacklog(flight, 0);
        proxy.stall();
        MetricRows.ingestJdbc(flight, during); // acknowledged: in the log, Redis stalled
        Thread.sleep(3000); // the write-through has sent them into the stall and timed out
        assertFalse(awaitBacklogQuietly(flight), "the stalled batches are still owed to Redis");
        first.kill();
      }
      proxy.resume();

      try (ServerProcess second = ServerProcess.builder().workDir(work).args(args).start();
          Connection flight = FlightJdbc.connect(second.jdbcUrl())) {
        awaitBacklog(flight, 0);
        MetricRows.assertSameRows(
            MetricRows.sorted(all),
            MetricRows.sorted(redis.metricRows("metrics")),
            "the Redis stream holds every acknowledged row once");
        MetricRows.assertWindowsMatchOracle(flight, all);
        assertEquals(0, second.terminate(), second.log());
      }

      // A table only Redis holds, written by another writer with the same layout.
      try (BufferAllocator allocator = new RootAllocator();
          BackendStore other =
              BackendStores.open(
                  "redis",
                  "redis://127.0.0.1:" + RedisKeys.PORT + "/0",
                  Map.of("key_prefix", redis.prefix()),
                  null,
                  null,
                  allocator);
          VectorSchemaRoot rows = redisOnlyRows(allocator)) {
        other.append("redis_only", "other-writer-1", rows);
      }

      // A fresh data directory: nothing but Redis to restore from.
      Path fresh = dir.resolve("fresh");
      Files.createDirectories(fresh);
      try (ServerProcess third = ServerProcess.builder().workDir(fresh).args(args).start();
          Connection flight = FlightJdbc.connect(third.jdbcUrl())) {
        MetricRows.assertSameRows(
            MetricRows.sorted(all), MetricRows.rawRows(flight), "hot rows read back from Redis");
        MetricRows.assertWindowsMatchOracle(flight, all);
        List<String> listed = new ArrayList<>();
        try (ResultSet rs = flight.getMetaData().getTables(null, null, "%", null)) {
          while (rs.next()) {
            listed.add(rs.getString("TABLE_NAME"));
          }
        }
        assertTrue(listed.contains("redis_only"), "the Flight SQL metadata lists " + listed);
        try (Statement st = flight.createStatement();
            ResultSet rs = st.executeQuery("SELECT count(*), sum(n) FROM redis_only")) {
          rs.next();
          assertEquals(3, rs.getLong(1));
          assertEquals(6, rs.getLong(2));
        }
        assertEquals(0, third.terminate(), third.log());
      }
      assertEquals(
          (long) all.size(),
          redis.sync().xlen(redis.prefix() + "stream:metrics"),
          "no restart wrote a row twice");
    }
  }

  private static VectorSchemaRoot redisOnlyRows(BufferAllocator allocator) {
    VectorSchemaRoot root =
        VectorSchemaRoot.create(
            new Schema(
                List.of(
                    Field.nullable(
                        "ts",
                        new ArrowType.Timestamp(
                            org.apache.arrow.vector.types.TimeUnit.MICROSECOND, null)),
                    Field.nullable("n", new ArrowType.Int(64, true)))),
            allocator);
    root.allocateNew();
    long now = Instant.now().toEpochMilli() * 1000;
    for (int i = 0; i < 3; i++) {
      ((TimeStampVector) root.getVector("ts")).setSafe(i, now - i * 1_000_000L);
      ((BigIntVector) root.getVector("n")).setSafe(i, i + 1);
    }
    root.setRowCount(3);
    return root;
  }

  /** Waits until the write-through backlog is {@code batches}. */
  private static void awaitBacklog(Connection flight, long batches) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (backlog(flight) != batches) {
      assertTrue(System.nanoTime() < deadline, "the write-through backlog never reached 0");
      Thread.sleep(100);
    }
  }

  /** True when the backlog is empty within a second. */
  private static boolean awaitBacklogQuietly(Connection flight) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(1).toNanos();
    while (System.nanoTime() < deadline) {
      if (backlog(flight) == 0) {
        return true;
      }
      Thread.sleep(100);
    }
    return false;
  }

  private static long backlog(Connection flight) throws Exception {
    try (Statement st = flight.createStatement();
        ResultSet rs = st.executeQuery("SELECT backlog_batches FROM hyprstream_backend_status")) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
