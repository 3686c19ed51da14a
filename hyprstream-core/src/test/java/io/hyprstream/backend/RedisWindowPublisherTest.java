package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.Hyprstream;
import io.hyprstream.backend.redis.RedisConnection;
import io.hyprstream.backend.redis.RedisWindowPublisher;
import io.hyprstream.testing.TcpProxy;
import io.hyprstream.testing.TestAllocator;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Window publication to the machine's Redis: each (view, key) hash equals, window by window, what
 * DuckDB's {@code time_bucket ... GROUP BY} computes over the raw rows the instance holds; with
 * Redis cut, ingest goes on and publication catches up to the same oracle once it is back.
 */
@ExtendWith(RedisAvailable.class)
final class RedisWindowPublisherTest {
  private static final int CLOSED = 3;
  private static final List<String> VIEWS = List.of("metrics_5m", "metrics_30m", "metrics_1h");
  @RegisterExtension final TestAllocator allocator = new TestAllocator();
  private String prefix;
  private RedisClient client;
  private StatefulRedisConnection<String, String> direct;

  @BeforeEach
  void setUp() {
    prefix = "hstest:" + UUID.randomUUID() + ":";
    client = RedisClient.create(RedisAvailable.URI);
    direct = client.connect();
  }

  @AfterEach
  void tearDown() {
    direct.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    RedisAvailable.deleteKeys(prefix);
  }

  private RedisWindowPublisher publisher(int port) {
    return new RedisWindowPublisher(
        () ->
            RedisConnection.open(
                "redis://127.0.0.1:" + port + "/0",
                null,
                null,
                Duration.ofSeconds(2),
                Duration.ofSeconds(2)),
        prefix,
        CLOSED,
        allocator,
        Duration.ofSeconds(5));
  }

  @Test
  void publishedHashes_equalTimeBucketOverTheRawRows_andExpireWithTheirWindow() throws Exception {
    RedisWindowPublisher publisher = publisher(6379);
    try (Hyprstream hs =
        Hyprstream.builder().allocator(allocator).windowListener(publisher).build()) {
      Instant now = Instant.now();
      for (int b = 0; b < 6; b++) {
        try (VectorSchemaRoot batch = rows(500, b, now)) {
          hs.ingest("metrics", batch);
        }
      }
      assertTrue(publisher.awaitPublished(Duration.ofSeconds(20)));
      assertEqualsOracle(hs);
      String key = prefix + "window:metrics_5m:k3";
      long ttl = direct.sync().pttl(key);
      assertTrue(
          ttl > Duration.ofHours(23).toMillis()
              && ttl <= Duration.ofDays(1).plusMinutes(5).toMillis(),
          "expires a day (the 5m window's retention) after its newest window ends, at most 5 min"
              + " from now: "
              + ttl);
    }
  }

  @Test
  void redisCut_ingestGoesOn_publicationCatchesUpInOrderToTheOracle() throws Exception {
    try (TcpProxy proxy = new TcpProxy(6379)) {
      RedisWindowPublisher publisher = publisher(proxy.port());
      try (Hyprstream hs =
          Hyprstream.builder().allocator(allocator).windowListener(publisher).build()) {
        Instant now = Instant.now();
        try (VectorSchemaRoot batch = rows(500, 0, now)) {
          hs.ingest("metrics", batch);
        }
        assertTrue(publisher.awaitPublished(Duration.ofSeconds(20)));
        Map<String, String> before = direct.sync().hgetall(prefix + "window:metrics_1h:k1");
        proxy.cut();
        long start = System.nanoTime();
        for (int b = 1; b < 8; b++) {
          try (VectorSchemaRoot batch = rows(500, b, now)) {
            hs.ingest("metrics", batch);
          }
        }
        assertTrue(
            System.nanoTime() - start < Duration.ofSeconds(2).toNanos(),
            "ingest does not wait for Redis");
        assertFalse(publisher.awaitPublished(Duration.ofMillis(500)), "nothing reached Redis");
        assertEquals(before, direct.sync().hgetall(prefix + "window:metrics_1h:k1"));
        proxy.restore();
        // While it catches up and ingest goes on, a reader never sees a window go back: the
        // newest window's start and its count only grow (an older state written after a newer
        // one would shrink them).
        Thread more =
            new Thread(
                () -> {
                  for (int b = 8; b < 16; b++) {
                    try (VectorSchemaRoot batch = rows(500, b, now)) {
                      hs.ingest("metrics", batch);
                    }
                  }
                });
        more.start();
        long[] last = {Long.MIN_VALUE, Long.MIN_VALUE};
        int reads = 0;
        while (more.isAlive() || !publisher.awaitPublished(Duration.ofMillis(1))) {
          Map<String, String> seen = direct.sync().hgetall(prefix + "window:metrics_5m:k1");
          long windowStart = Long.parseLong(seen.get("window_start"));
          long count = Long.parseLong(seen.get("value_count"));
          assertTrue(
              windowStart > last[0] || (windowStart == last[0] && count >= last[1]),
              "published out of order: window "
                  + windowStart
                  + " count "
                  + count
                  + " after window "
                  + last[0]
                  + " count "
                  + last[1]);
          last[0] = windowStart;
          last[1] = count;
          reads++;
        }
        more.join();
        assertTrue(publisher.awaitPublished(Duration.ofSeconds(30)), "publication caught up");
        assertTrue(reads > 10, "the hash was read while publication caught up: " + reads);
        assertEqualsOracle(hs);
      }
    }
  }

  /** Every key's hash of each view against DuckDB over the instance's raw rows. */
  private void assertEqualsOracle(Hyprstream hs) throws Exception {
    RedisCommands<String, String> redis = direct.sync();
    int momentsCompared = 0;
    Map<String, Long> widths =
        Map.of("metrics_5m", 300L, "metrics_30m", 1800L, "metrics_1h", 3600L);
    for (String view : VIEWS) {
      for (int k = 0; k < 10; k++) {
        String bucket = "time_bucket(INTERVAL '" + widths.get(view) + " seconds', timestamp)";
        // The trend's x: seconds since the window's start, as WindowOracleTest defines it.
        String x = "(epoch_us(timestamp) - epoch_us(" + bucket + ")) / 1e6";
        String sql =
            "SELECT epoch_us("
                + bucket
                + ") AS ws, count(value), sum(value), min(value),"
                + " max(value), avg(value), stddev_samp(value), regr_slope(value, "
                + x
                + "), regr_intercept(value, "
                + x
                + ") FROM metrics WHERE metric_id = 'k"
                + k
                + "' GROUP BY ws ORDER BY ws DESC LIMIT "
                + (CLOSED + 1);
        List<List<Object>> expected = Batches.drain(hs.query(sql));
        Map<String, String> hash = redis.hgetall(prefix + "window:" + view + ":k" + k);
        assertFalse(expected.isEmpty(), sql);
        assertEquals(String.valueOf(expected.size()), hash.get("windows"), view + " k" + k);
        for (int i = 0; i < expected.size(); i++) {
          String s = i == 0 ? "" : "@" + i;
          List<Object> e = expected.get(i);
          String what = view + " k" + k + " window " + i;
          assertEquals("k" + k, hash.get("metric_id" + s), what);
          assertEquals(e.get(0).toString(), hash.get("window_start" + s), what);
          assertEquals(
              Long.toString((Long) e.get(0) + widths.get(view) * 1_000_000),
              hash.get("window_end" + s),
              what);
          assertEquals(e.get(1).toString(), hash.get("value_count" + s), what);
          assertClose((Double) e.get(2), hash.get("value_sum" + s), what + " sum");
          assertEquals((Double) e.get(3), Double.parseDouble(hash.get("value_min" + s)), what);
          assertEquals((Double) e.get(4), Double.parseDouble(hash.get("value_max" + s)), what);
          assertClose((Double) e.get(5), hash.get("value_avg" + s), what + " avg");
          String[] moments = {"value_stddev", "value_slope", "value_intercept"};
          for (int m = 0; m < moments.length; m++) {
            Object expectedMoment = e.get(6 + m);
            String field = moments[m] + s;
            boolean undefined =
                expectedMoment == null
                    || "NULL".equals(expectedMoment)
                    // DuckDB's regr_slope gives NaN when x does not vary; the windows follow the
                    // SQL standard with NULL, as WindowOracle.assertRowClose compares them.
                    || (expectedMoment instanceof Double && ((Double) expectedMoment).isNaN());
            if (undefined) {
              // One value has no spread and one x no trend: the field is left out.
              assertFalse(hash.containsKey(field), what + " " + field + " " + hash.get(field));
            } else {
              assertNotNull(hash.get(field), what + " " + field);
              double expectedValue = ((Number) expectedMoment).doubleValue();
              // Co-moments summed in another order than DuckDB's: agree to about 1e-6.
              assertEquals(
                  expectedValue,
                  Double.parseDouble(hash.get(field)),
                  Math.abs(expectedValue) * 1e-6 + 1e-6,
                  what + " " + field);
              momentsCompared++;
            }
          }
        }
      }
    }
    assertTrue(momentsCompared > 0, "some windows hold two values or more");
  }

  private static void assertClose(double expected, String actual, String what) {
    assertNotNull(actual, what);
    double a = Double.parseDouble(actual);
    assertEquals(expected, a, Math.abs(expected) * 1e-12 + 1e-9, what);
  }

  /** {@code n} rows of keys k0..k9 over the 50 minutes before {@code now}, seeded by {@code b}. */
  private VectorSchemaRoot rows(int n, int b, Instant now) {
    Schema schema =
        new Schema(
            List.of(
                Field.notNullable("metric_id", ArrowType.Utf8.INSTANCE),
                Field.notNullable("timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
                Field.nullable(
                    "value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));
    VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
    root.allocateNew();
    Random random = new Random(b);
    long end = now.truncatedTo(ChronoUnit.MILLIS).toEpochMilli() * 1000;
    List<FieldVector> v = new ArrayList<>(root.getFieldVectors());
    for (int r = 0; r < n; r++) {
      ((VarCharVector) v.get(0))
          .setSafe(r, ("k" + random.nextInt(10)).getBytes(StandardCharsets.UTF_8));
      ((TimeStampVector) v.get(1))
          .setSafe(r, end - (long) (random.nextDouble() * 50 * 60 * 1_000_000L));
      ((Float8Vector) v.get(2)).setSafe(r, Math.round(random.nextGaussian() * 1000) / 10.0);
    }
    root.setRowCount(n);
    return root;
  }
}
