package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.testing.TestAllocator;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Many threads ingest and query at once; each sees its own writes the moment ingest returns. */
final class ConcurrencyTest {
  private static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");

  @RegisterExtension final TestAllocator allocator = new TestAllocator();

  @Test
  void ingestAndQuery_fromManyThreads_keepReadYourWrites() throws Exception {
    int writers = 4;
    int rounds = 40;
    int rowsPerBatch = 250;
    long t0 = TestData.micros(NOW) - 3_600_000_000L;
    try (Hyprstream hs =
            Hyprstream.builder()
                .allocator(allocator)
                .clock(InstantSource.fixed(NOW))
                .expiryInterval(Duration.ZERO)
                .build();
        var unused =
            new AutoCloseable() {
              @Override
              public void close() {}
            }) {
      ExecutorService pool = Executors.newFixedThreadPool(writers + 2);
      try {
        List<Future<?>> futures = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
          String id = "writer-" + w;
          futures.add(
              pool.submit(
                  () -> {
                    for (int round = 1; round <= rounds; round++) {
                      List<TestData.Row> rows = new ArrayList<>();
                      for (int i = 0; i < rowsPerBatch; i++) {
                        rows.add(new TestData.Row(id, t0 + (long) round * 1000 + i, 1.0, round));
                      }
                      try (VectorSchemaRoot b = TestData.metrics(allocator, rows)) {
                        hs.ingest("metrics", b);
                      }
                      long expected = (long) round * rowsPerBatch;
                      long raw =
                          (Long)
                              TestData.scalar(
                                  hs.query(
                                      "SELECT count(*) FROM metrics WHERE metric_id = '"
                                          + id
                                          + "'"));
                      assertEquals(expected, raw, id + " raw rows after round " + round);
                      Object window =
                          TestData.scalar(
                              hs.query(
                                  "SELECT sum(value_count) FROM metrics_1d WHERE metric_id = '"
                                      + id
                                      + "'"));
                      assertEquals(
                          java.math.BigDecimal.valueOf(expected), window, id + " window count");
                      long fast =
                          (Long)
                              TestData.rows(
                                      hs.query(
                                          "SELECT value_count FROM metrics_1w WHERE metric_id = ?"
                                              + " ORDER BY window_start",
                                          List.of(id),
                                          allocator))
                                  .get(0)
                                  .get(0);
                      assertEquals(expected, fast, id + " fast-path window count");
                    }
                    return null;
                  }));
        }
        for (int r = 0; r < 2; r++) {
          futures.add(
              pool.submit(
                  () -> {
                    for (int i = 0; i < 60; i++) {
                      TestData.rows(hs.query("SELECT metric_id, count(*) FROM metrics GROUP BY 1"));
                      TestData.rows(
                          hs.query("SELECT * FROM metrics_5m ORDER BY value_sum DESC LIMIT 3"));
                    }
                    return null;
                  }));
        }
        for (Future<?> f : futures) {
          f.get();
        }
      } finally {
        pool.shutdownNow();
      }
      long total = (Long) TestData.scalar(hs.query("SELECT count(*) FROM metrics"));
      assertEquals((long) writers * rounds * rowsPerBatch, total);
      assertTrue(
          (Long) TestData.scalar(hs.query("SELECT count(DISTINCT metric_id) FROM metrics_5m"))
              == writers);
    }
  }
}
