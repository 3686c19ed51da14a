package io.hyprstream.flight.internal.cli;

import io.hyprstream.Hyprstream;
import io.hyprstream.flight.internal.ServerMetrics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMilliVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A synthetic live metrics stream for newcomers ({@code --demo}): a day of history at one point a
 * minute per series, then one point a second per series, ingested in process into {@code metrics}
 * so every window view has rows at once. Its rows count in the server's ingest meters, as a
 * client's would, so the console's server panel shows them arriving.
 */
final class DemoFeed implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DemoFeed.class);

  /** The series the demo writes. */
  static final List<String> SERIES =
      List.of(
          "cpu.host-a",
          "cpu.host-b",
          "cpu.host-c",
          "mem.host-a",
          "mem.host-b",
          "mem.host-c",
          "latency_ms.api",
          "requests.api");

  private static final Schema SCHEMA =
      new Schema(
          List.of(
              new Field("metric_id", FieldType.notNullable(ArrowType.Utf8.INSTANCE), null),
              new Field(
                  "timestamp",
                  FieldType.notNullable(
                      new ArrowType.Timestamp(
                          org.apache.arrow.vector.types.TimeUnit.MILLISECOND, null)),
                  null),
              new Field(
                  "value",
                  FieldType.nullable(new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
                  null)));

  private final Hyprstream hyprstream;
  private final ServerMetrics metrics;
  private final BufferAllocator allocator = new RootAllocator();
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "hyprstream-demo");
            t.setDaemon(true);
            return t;
          });
  private final Random random = new Random(42);
  private final double[] level = new double[SERIES.size()];

  private DemoFeed(Hyprstream hyprstream, ServerMetrics metrics) {
    this.hyprstream = hyprstream;
    this.metrics = metrics;
    for (int i = 0; i < level.length; i++) {
      level[i] = 50 + 10 * i;
    }
  }

  /** Writes the history, then starts the live feed. */
  static DemoFeed start(Hyprstream hyprstream, ServerMetrics metrics) {
    DemoFeed feed = new DemoFeed(hyprstream, metrics);
    Instant now = Instant.now();
    feed.backfill(now.minus(Duration.ofDays(1)), now, Duration.ofMinutes(1));
    feed.timer.scheduleAtFixedRate(feed::tick, 1, 1, TimeUnit.SECONDS);
    LOG.info("demo feed: {} series into 'metrics', one point per second each", SERIES.size());
    return feed;
  }

  private void backfill(Instant from, Instant to, Duration step) {
    int points = (int) (Duration.between(from, to).toMillis() / step.toMillis());
    int chunk = 256;
    for (int start = 0; start < points; start += chunk) {
      int n = Math.min(chunk, points - start);
      long first = from.toEpochMilli() + start * step.toMillis();
      write(first, step.toMillis(), n);
    }
  }

  private void tick() {
    try {
      write(System.currentTimeMillis(), 0, 1);
    } catch (RuntimeException e) {
      LOG.warn("demo feed: ingest failed", e);
    }
  }

  /** Ingests {@code points} points per series, {@code stepMillis} apart from {@code first}. */
  private void write(long first, long stepMillis, int points) {
    int rows = points * SERIES.size();
    try (VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator)) {
      VarCharVector id = (VarCharVector) root.getVector(0);
      TimeStampMilliVector ts = (TimeStampMilliVector) root.getVector(1);
      Float8Vector value = (Float8Vector) root.getVector(2);
      root.allocateNew();
      int r = 0;
      for (int p = 0; p < points; p++) {
        long t = first + p * stepMillis;
        for (int s = 0; s < SERIES.size(); s++) {
          level[s] = Math.max(0, level[s] + random.nextGaussian());
          id.setSafe(r, SERIES.get(s).getBytes(StandardCharsets.UTF_8));
          ts.setSafe(r, t);
          value.setSafe(r, Math.round(level[s] * 100) / 100.0);
          r++;
        }
      }
      root.setRowCount(rows);
      long start = System.nanoTime();
      hyprstream.ingest(Hyprstream.METRICS_TABLE, root);
      long bytes = 0;
      for (org.apache.arrow.vector.FieldVector v : root.getFieldVectors()) {
        bytes += v.getBufferSize();
      }
      metrics.ingested(Hyprstream.METRICS_TABLE, rows, bytes, 1, System.nanoTime() - start);
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
    try {
      timer.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    allocator.close();
  }
}
