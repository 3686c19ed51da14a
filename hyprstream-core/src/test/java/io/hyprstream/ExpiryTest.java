package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.hyprstream.api.WindowSpec;
import io.hyprstream.testing.ManualClock;
import io.hyprstream.testing.TestAllocator;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Raw rows and windows expire by event time against an injected clock, each on its own terms. */
final class ExpiryTest {
  private static final Instant START = Instant.parse("2026-01-05T00:00:00Z");

  @RegisterExtension final TestAllocator allocator = new TestAllocator();
  private ManualClock clock;
  private Hyprstream hs;

  @BeforeEach
  void setUp() {
    clock = new ManualClock(START);
    hs =
        Hyprstream.builder()
            .allocator(allocator)
            .clock(clock)
            .cacheDuration(Duration.ofMinutes(30))
            .expiryInterval(Duration.ZERO)
            .timeColumn("events", "at")
            .metricsWindows(
                List.of(
                    WindowSpec.tumbling(Duration.ofMinutes(5)).withRetention(Duration.ofHours(2)),
                    WindowSpec.tumbling(Duration.ofHours(1)).withRetention(Duration.ofDays(1))))
            .build();
  }

  @AfterEach
  void tearDown() {
    hs.close();
  }

  private long count(String sql) throws Exception {
    return (Long) TestData.scalar(hs.query(sql));
  }

  @Test
  void expire_dropsRawRowsAfterCacheDurationAndWindowsAfterTheirRetention() throws Exception {
    long t = TestData.micros(START);
    try (VectorSchemaRoot b =
        TestData.metrics(
            allocator,
            List.of(
                new TestData.Row("cpu", t - 40 * 60_000_000L, 1.0, 1), // 40 min old
                new TestData.Row("cpu", t - 10 * 60_000_000L, 2.0, 2)))) { // 10 min old
      hs.ingest("metrics", b);
    }
    hs.expire();
    assertEquals(1, count("SELECT count(*) FROM metrics"), "the 40-minute-old row left the cache");
    assertEquals(2, count("SELECT count(*) FROM metrics_5m"), "windows outlive their raw rows");

    clock.advance(
        Duration.ofMinutes(100)); // oldest 5m window ended 35 min before START: 135 min ago
    hs.expire();
    assertEquals(0, count("SELECT count(*) FROM metrics"));
    assertEquals(
        1, count("SELECT count(*) FROM metrics_5m"), "a 5m window lives 2 hours past its end");
    assertEquals(1, count("SELECT count(*) FROM metrics_1h"), "both rows are in one 1h window");
    assertEquals(
        1,
        TestData.rows(
                hs.query("SELECT * FROM metrics_5m WHERE metric_id = 'cpu' ORDER BY window_start"))
            .size(),
        "the fast path agrees with DuckDB after expiry");

    clock.advance(Duration.ofDays(1));
    hs.expire();
    assertEquals(0, count("SELECT count(*) FROM metrics_5m"));
    assertEquals(0, count("SELECT count(*) FROM metrics_1h"));
    assertEquals(
        0,
        TestData.rows(
                hs.query("SELECT * FROM metrics_1h WHERE metric_id = 'cpu' ORDER BY window_start"))
            .size());
  }

  @Test
  void expire_thenNewRowsForAnExpiredKey_startFreshWindows() throws Exception {
    long t = TestData.micros(START);
    try (VectorSchemaRoot b =
        TestData.metrics(allocator, List.of(new TestData.Row("io", t - 1, 5.0, 1)))) {
      hs.ingest("metrics", b);
    }
    clock.advance(Duration.ofDays(3));
    hs.expire();
    long later = TestData.micros(clock.instant());
    try (VectorSchemaRoot b =
        TestData.metrics(allocator, List.of(new TestData.Row("io", later, 7.0, 2)))) {
      hs.ingest("metrics", b);
    }
    assertEquals(
        List.of(List.of(1L, 7.0)),
        TestData.rows(
            hs.query(
                "SELECT value_count, value_sum FROM metrics_1h WHERE metric_id = 'io' ORDER BY window_start")));
    assertEquals(
        List.of(List.of(1L, 7.0)),
        TestData.rows(hs.query("SELECT value_count, value_sum FROM metrics_1h")));
  }

  @Test
  void expire_tableWithDeclaredTimeColumn_losesOldRowsOthersKeepThem() throws Exception {
    org.apache.arrow.vector.types.pojo.Schema schema =
        new org.apache.arrow.vector.types.pojo.Schema(
            List.of(
                org.apache.arrow.vector.types.pojo.Field.nullable(
                    "at", new org.apache.arrow.vector.types.pojo.ArrowType.Int(64, true))));
    long nowMs = START.toEpochMilli();
    for (String table : List.of("events", "notes")) {
      try (VectorSchemaRoot b = VectorSchemaRoot.create(schema, allocator)) {
        b.allocateNew();
        ((org.apache.arrow.vector.BigIntVector) b.getVector(0))
            .setSafe(0, nowMs - 3_600_000); // 1 h old
        ((org.apache.arrow.vector.BigIntVector) b.getVector(0))
            .setSafe(1, nowMs - 60_000); // 1 min old
        b.setRowCount(2);
        hs.ingest(table, b);
      }
    }
    hs.expire();
    assertEquals(1, count("SELECT count(*) FROM events"), "epoch-millis rows past 30 min left");
    assertEquals(
        2, count("SELECT count(*) FROM notes"), "no time column declared: nothing expires");
  }

  @Test
  void metricsWindow_changesOneRetention_andQueriesWithBoundParametersNeedNoAllocator()
      throws Exception {
    try (BufferAllocator own = new RootAllocator();
        Hyprstream defaults =
            Hyprstream.builder()
                .allocator(own)
                .clock(clock)
                .expiryInterval(Duration.ZERO)
                .metricsWindow(
                    WindowSpec.tumbling(Duration.ofHours(1)).withRetention(Duration.ofDays(90)))
                .build()) {
      long t = TestData.micros(START);
      try (VectorSchemaRoot b =
          TestData.metrics(own, List.of(new TestData.Row("cpu", t - 60_000_000L, 1.0, 1)))) {
        defaults.ingest("metrics", b);
      }
      // 40 days on: past the 1 day of 5m, the 7 days of 30m and the default 31 days of 1h, inside
      // the 90 days set here for 1h (and the defaults of 1d and 1w).
      clock.advance(Duration.ofDays(40));
      defaults.expire();
      String sql = "SELECT count(*) FROM metrics_%s WHERE metric_id = ?";
      List<Object> cpu = List.of("cpu");
      assertEquals(0L, TestData.scalar(defaults.query(String.format(sql, "5m"), cpu)));
      assertEquals(0L, TestData.scalar(defaults.query(String.format(sql, "30m"), cpu)));
      assertEquals(1L, TestData.scalar(defaults.query(String.format(sql, "1h"), cpu)));
      assertEquals(1L, TestData.scalar(defaults.query(String.format(sql, "1d"), cpu)));
      assertEquals(1L, TestData.scalar(defaults.query(String.format(sql, "1w"), cpu)));
      assertEquals(0L, TestData.scalar(defaults.query(String.format(sql, "1h"), List.of("mem"))));
    }
    clock.set(START);
  }
}
