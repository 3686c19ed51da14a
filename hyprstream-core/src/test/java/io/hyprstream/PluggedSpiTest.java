package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.BackendStore;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.duckdb.DuckDbCacheStore;
import io.hyprstream.testing.TestAllocator;
import io.hyprstream.window.HeapWindowAggregator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Second implementations of the SPIs plugged into a real instance through the builder: a decorating
 * {@code CacheStore}, a simple {@code WindowAggregator}, and {@link BackendStore#none()}.
 */
final class PluggedSpiTest {
  private static final Instant END = Instant.parse("2026-03-11T08:00:00Z");
  private static final InstantSource CLOCK = InstantSource.fixed(END.plusSeconds(60));
  private static final List<WindowSpec> WINDOWS =
      List.of(
          WindowSpec.tumbling(Duration.ofMinutes(1)).withRetention(Duration.ofDays(30)),
          WindowSpec.tumbling(Duration.ofHours(1)).withRetention(Duration.ofDays(30)));

  @RegisterExtension final TestAllocator allocator = new TestAllocator();

  /** 3 days of rows for 20 series, ~2% null values, in random order. */
  private static List<TestData.Row> rows(long seed, int count) {
    Random random = new Random(seed);
    long end = TestData.micros(END);
    List<TestData.Row> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      long t = end - (long) (random.nextDouble() * 3 * 86_400_000_000L);
      Double v = random.nextInt(50) == 0 ? null : Math.round(random.nextGaussian() * 1000) / 10.0;
      out.add(new TestData.Row("s" + random.nextInt(20), t, v, i));
    }
    return out;
  }

  private void ingest(Hyprstream hs, String table, List<TestData.Row> rows) {
    for (int from = 0; from < rows.size(); from += 1000) {
      try (VectorSchemaRoot b =
          TestData.metrics(allocator, rows.subList(from, Math.min(rows.size(), from + 1000)))) {
        hs.ingest(table, b);
      }
    }
  }

  private static AggregationSpec readings() {
    return AggregationSpec.builder("readings")
        .timeColumn("timestamp")
        .keyColumns("metric_id")
        .valueColumns("value")
        .windows(WINDOWS)
        .build();
  }

  private static HyprstreamBuilder builder(BufferAllocator allocator) {
    return Hyprstream.builder()
        .allocator(allocator)
        .clock(CLOCK)
        .cacheDuration(Duration.ofDays(30))
        .expiryInterval(Duration.ZERO)
        .aggregate(readings());
  }

  /** The answers an instance gives: each view, a raw query with a parameter, an INSERT's rows. */
  private List<List<List<@Nullable Object>>> answers(Hyprstream hs) throws Exception {
    List<List<List<@Nullable Object>>> out = new ArrayList<>();
    for (WindowSpec w : WINDOWS) {
      out.add(TestData.rows(hs.query(WindowOracle.viewRows("readings", w))));
    }
    hs.execute(
        "INSERT INTO readings (metric_id, timestamp, value) VALUES ('s1', TIMESTAMP '2026-03-11"
            + " 07:59:00', 5.5)",
        List.of());
    List<@Nullable Object> params = new ArrayList<>();
    params.add("s1");
    out.add(
        TestData.rows(
            hs.query(
                "SELECT count(*), sum(value) FROM readings WHERE metric_id = ?",
                params,
                allocator)));
    for (WindowSpec w : WINDOWS) {
      out.add(TestData.rows(hs.query(WindowOracle.viewRows("readings", w))));
    }
    return out;
  }

  @Test
  void decoratingCacheStore_answersEqualThePlainRun_andSeesTheEngineCalls() throws Exception {
    List<TestData.Row> rows = rows(7, 20_000);
    List<List<List<@Nullable Object>>> plain;
    try (Hyprstream hs = builder(allocator).build()) {
      ingest(hs, "readings", rows);
      plain = answers(hs);
    }
    CountingCacheStore[] counting = new CountingCacheStore[1];
    List<List<List<@Nullable Object>>> decorated;
    try (Hyprstream hs =
        builder(allocator)
            .cacheStore(
                alloc -> counting[0] = new CountingCacheStore(DuckDbCacheStore.open(null, alloc)))
            .build()) {
      ingest(hs, "readings", rows);
      decorated = answers(hs);
    }
    assertEquals(plain.size(), decorated.size());
    for (int i = 0; i < plain.size(); i++) {
      WindowOracle.assertRowsClose(plain.get(i), decorated.get(i), "answer " + i);
    }
    CountingCacheStore c = counting[0];
    assertTrue(c.calls("append") > 0, "raw rows were appended through the decorator");
    assertTrue(c.calls("upsert") > 0, "views were kept through the decorator");
    assertTrue(c.calls("query") > 0, "queries and the parser ran through the decorator");
    assertTrue(c.calls("queryInSession") > 0, "the INSERT's rows were evaluated through it");
    assertEquals(1, c.calls("close"), "the instance closed the store it opened");
  }

  @Test
  void simpleWindowAggregator_viewsEqualTimeBucketOracleAndTheHeapAggregator() throws Exception {
    List<TestData.Row> rows = rows(11, 20_000);
    List<List<List<@Nullable Object>>> heap = new ArrayList<>();
    try (Hyprstream hs =
        builder(allocator).windowAggregators(HeapWindowAggregator.factory()).build()) {
      ingest(hs, "readings", rows);
      for (WindowSpec w : WINDOWS) {
        heap.add(TestData.rows(hs.query(WindowOracle.viewRows("readings", w))));
      }
    }
    try (Hyprstream hs =
        builder(allocator).windowAggregators(RetainedRowsWindowAggregator.FACTORY).build()) {
      ingest(hs, "readings", rows);
      for (int i = 0; i < WINDOWS.size(); i++) {
        WindowSpec w = WINDOWS.get(i);
        List<List<@Nullable Object>> simple =
            TestData.rows(hs.query(WindowOracle.viewRows("readings", w)));
        List<List<@Nullable Object>> expected =
            TestData.rows(hs.query(WindowOracle.timeBucketGroupBy("readings", w, null)));
        assertTrue(expected.size() > 20, "the oracle found windows of " + w.name());
        WindowOracle.assertRowsClose(expected, simple, "readings_" + w.name() + " vs time_bucket");
        WindowOracle.assertRowsClose(
            heap.get(i), simple, "readings_" + w.name() + " vs heap aggregator");
      }
    }
  }

  @Test
  void backendNone_opensNoLogNoWriteThrough_andAnswersFromTheCache(@TempDir Path dir)
      throws Exception {
    Path data = dir.resolve("data");
    List<TestData.Row> rows = rows(3, 5_000);
    try (Hyprstream hs =
        builder(allocator).dataDirectory(data).backend(BackendStore.none()).build()) {
      ingest(hs, "readings", rows);
      assertFalse(Files.exists(data.resolve("wal")), "no write-ahead log without a backend");
      assertFalse(
          Thread.getAllStackTraces().keySet().stream()
              .anyMatch(t -> t.getName().startsWith("hyprstream-write-through")),
          "no write-through thread without a backend");
      assertEquals(null, hs.operations().writeThrough(), "no write-through status");
      assertEquals(
          (long) rows.size(),
          TestData.scalar(hs.query("SELECT count(*) FROM readings")),
          "every row answered from the cache");
      assertEquals(
          (long) rows.stream().filter(r -> r.value != null).count(),
          TestData.scalar(hs.query("SELECT sum(value_count)::BIGINT FROM readings_1h")));
    }
    assertFalse(Files.exists(data), "nothing durable was written for a store that keeps nothing");
  }

  @Test
  void cacheStore_refusesTheDefaultStoresOptions() {
    HyprstreamBuilder b =
        Hyprstream.builder()
            .cacheMemoryLimit(1L << 30)
            .cacheStore(alloc -> DuckDbCacheStore.open(null, alloc));
    assertThrows(IllegalStateException.class, b::build);
  }
}
