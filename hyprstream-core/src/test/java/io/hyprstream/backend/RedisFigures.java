package io.hyprstream.backend;

import io.hyprstream.Hyprstream;
import io.hyprstream.backend.redis.RedisConnection;
import io.hyprstream.backend.redis.RedisWindowPublisher;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * Issue 17's figures in one run against the Redis on 127.0.0.1:6379: write-through drain into Redis
 * next to raw pipelined {@code XADD} of the same rows; publish latency from the ingest
 * acknowledgement to the hash being readable by another client, p50/p99; ingest rows/s with
 * publication on next to off. Not a unit test: run with {@code java
 * --add-opens=java.base/java.nio=ALL-UNNAMED -cp target/classes:target/test-classes:DEPS
 * io.hyprstream.backend.RedisFigures [ROWS]}. Keys go under a prefix of their own, deleted at the
 * end.
 */
public final class RedisFigures {
  private static final int KEYS = 1000;
  private static final String URI = RedisAvailable.URI;

  private RedisFigures() {}

  public static void main(String[] args) throws Exception {
    int total = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    int batchRows = 64 * 1024;
    String prefix = "hsfig:" + UUID.randomUUID() + ":";
    Path tmp = Files.createTempDirectory("hs-redis-figures");
    Instant now = Instant.now();
    try (BufferAllocator allocator = new RootAllocator()) {
      List<VectorSchemaRoot> batches = new ArrayList<>();
      for (int off = 0; off < total; off += batchRows) {
        batches.add(metrics(allocator, Math.min(batchRows, total - off), off, now));
      }
      try {
        System.out.printf(
            "%,d metrics rows (%d keys) in %d-row batches, Redis %s%n",
            total, KEYS, batchRows, URI);
        double raw = rawXadd(prefix + "raw", batches);
        double drain = drain(prefix, batches, allocator, tmp.resolve("wt"));
        System.out.printf(
            "write-through drain into Redis: %,.0f rows/s | raw pipelined XADD of the same rows"
                + " (3 fields, auto ids): %,.0f rows/s (%.2fx)%n",
            drain, raw, drain / raw);

        double off = ingest(batches, allocator, null);
        RedisWindowPublisher publisher = publisher(prefix + "pub:", allocator);
        double on = ingest(batches, allocator, publisher);
        System.out.printf(
            "ingest rows/s: publication off %,.0f | on %,.0f (%.2fx)%n", off, on, on / off);

        latency(prefix + "lat:", allocator, now);
      } finally {
        batches.forEach(VectorSchemaRoot::close);
        RedisAvailable.deleteKeys(prefix);
      }
    }
  }

  static VectorSchemaRoot metrics(BufferAllocator a, int rows, int offset, Instant end) {
    Schema schema =
        new Schema(
            List.of(
                Field.notNullable("metric_id", ArrowType.Utf8.INSTANCE),
                Field.notNullable("timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
                Field.nullable(
                    "value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));
    VectorSchemaRoot root = VectorSchemaRoot.create(schema, a);
    root.allocateNew();
    long endMicros = end.toEpochMilli() * 1000;
    for (int r = 0; r < rows; r++) {
      long n = offset + r;
      ((VarCharVector) root.getVector(0))
          .setSafe(r, ("cpu.host" + (n % KEYS)).getBytes(StandardCharsets.UTF_8));
      // Spread over the 50 minutes before end, in time order.
      ((TimeStampVector) root.getVector(1)).setSafe(r, endMicros - 3_000_000_000L + n * 1000);
      ((Float8Vector) root.getVector(2)).setSafe(r, n * 0.25);
    }
    root.setRowCount(rows);
    return root;
  }

  /** Rows/s of plain pipelined XADD (one command per row, a flush per batch). */
  private static double rawXadd(String key, List<VectorSchemaRoot> batches) throws Exception {
    RedisClient client = RedisClient.create(URI);
    try (StatefulRedisConnection<String, String> c = client.connect()) {
      RedisAsyncCommands<String, String> async = c.async();
      c.setAutoFlushCommands(false);
      long rows = 0;
      long t0 = System.nanoTime();
      for (VectorSchemaRoot b : batches) {
        List<RedisFuture<String>> replies = new ArrayList<>(b.getRowCount());
        VarCharVector id = (VarCharVector) b.getVector(0);
        TimeStampVector ts = (TimeStampVector) b.getVector(1);
        Float8Vector v = (Float8Vector) b.getVector(2);
        for (int r = 0; r < b.getRowCount(); r++) {
          replies.add(
              async.xadd(
                  key,
                  Map.of(
                      "metric_id",
                      new String(id.get(r), StandardCharsets.UTF_8),
                      "timestamp",
                      Long.toString(ts.get(r)),
                      "value",
                      Double.toString(v.get(r)))));
        }
        c.flushCommands();
        for (RedisFuture<String> f : replies) {
          f.get();
        }
        rows += b.getRowCount();
      }
      return rows / ((System.nanoTime() - t0) / 1e9);
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /** Rows/s from the first ingest to every row committed in Redis. */
  private static double drain(
      String prefix, List<VectorSchemaRoot> batches, BufferAllocator allocator, Path data)
      throws Exception {
    try (Hyprstream hs =
        Hyprstream.builder()
            .allocator(allocator)
            .cacheDuration(Duration.ofDays(30))
            .expiryInterval(Duration.ZERO)
            .backend(
                BackendStores.open(
                    "redis", URI, Map.of("key_prefix", prefix + "wt:"), null, null, allocator))
            .dataDirectory(data)
            .drainTimeout(Duration.ofMinutes(10))
            .build()) {
      long rows = 0;
      long t0 = System.nanoTime();
      for (VectorSchemaRoot b : batches) {
        rows += hs.ingest("metrics", b).rowsAccepted();
      }
      while (hs.operations().writeThrough().committedRows() < rows) {
        Thread.sleep(1);
      }
      return rows / ((System.nanoTime() - t0) / 1e9);
    }
  }

  private static RedisWindowPublisher publisher(String prefix, BufferAllocator allocator) {
    return new RedisWindowPublisher(
        () -> RedisConnection.open(URI, null, null, Duration.ofSeconds(5), Duration.ofSeconds(5)),
        prefix,
        3,
        allocator,
        Duration.ofMinutes(5));
  }

  /** Ingest rows/s (until every row is in DuckDB), with {@code publisher} or without. */
  private static double ingest(
      List<VectorSchemaRoot> batches,
      BufferAllocator allocator,
      @Nullable RedisWindowPublisher publisher)
      throws Exception {
    var builder =
        Hyprstream.builder()
            .allocator(allocator)
            .cacheDuration(Duration.ofDays(30))
            .expiryInterval(Duration.ZERO);
    if (publisher != null) {
      builder.windowListener(publisher);
    }
    try (Hyprstream hs = builder.build()) {
      long rows = 0;
      long t0 = System.nanoTime();
      for (VectorSchemaRoot b : batches) {
        rows += hs.ingest("metrics", b).rowsAccepted();
      }
      try (var r = hs.query("SELECT count(*) FROM metrics")) {
        r.loadNextBatch();
      }
      double rate = rows / ((System.nanoTime() - t0) / 1e9);
      if (publisher != null) {
        long t1 = System.nanoTime();
        publisher.awaitPublished(Duration.ofMinutes(5));
        System.out.printf(
            "publication of the last changes finished %.0f ms after the last acknowledgement;"
                + " %,d hashes written%n",
            (System.nanoTime() - t1) / 1e6, publisher.counts()[0]);
      }
      return rate;
    }
  }

  /**
   * Acknowledgement to readable: one-row ingests into one key, each polled for by another client
   * until the hash's count shows it.
   */
  private static void latency(String prefix, BufferAllocator allocator, Instant now)
      throws Exception {
    RedisWindowPublisher publisher = publisher(prefix, allocator);
    RedisClient client = RedisClient.create(URI);
    try (Hyprstream hs =
            Hyprstream.builder().allocator(allocator).windowListener(publisher).build();
        StatefulRedisConnection<String, String> reader = client.connect()) {
      String key = prefix + "window:metrics_1h:cpu.host7";
      int n = 3000;
      double[] ms = new double[n];
      for (int i = 0; i < n; i++) {
        try (VectorSchemaRoot one = metrics(allocator, 1, 7, now)) {
          hs.ingest("metrics", one);
        }
        long acked = System.nanoTime();
        String want = Integer.toString(i + 1);
        while (!want.equals(reader.sync().hget(key, "value_count"))) {
          Thread.onSpinWait();
        }
        ms[i] = (System.nanoTime() - acked) / 1e6;
      }
      double[] warm = Arrays.copyOfRange(ms, 500, n);
      Arrays.sort(warm);
      System.out.printf(
          "publish latency, acknowledgement to readable by another client (%d one-row ingests"
              + " after 500 warm-up): p50 %.3f ms, p99 %.3f ms, max %.3f ms%n",
          warm.length,
          warm[warm.length / 2],
          warm[(int) (warm.length * 0.99)],
          warm[warm.length - 1]);
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
