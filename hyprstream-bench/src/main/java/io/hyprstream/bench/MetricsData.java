package io.hyprstream.bench;

import io.hyprstream.Hyprstream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * A seeded generator of {@code metrics} rows: {@code rows} rows of {@code metrics} series spread
 * evenly over the {@link #SPAN} before {@link #END}, in arrival order, a fraction of them arriving
 * late (their timestamp shifted back by up to {@link #MAX_LATENESS}).
 */
public final class MetricsData {
  /** The instant the generated data ends at (T). */
  public static final Instant END = Instant.parse("2025-06-02T00:00:00Z");

  /** The clock the engine runs at while benchmarked: one minute after {@link #END}. */
  public static final Instant NOW = END.plus(Duration.ofMinutes(1));

  /** The time span of the data. */
  public static final Duration SPAN = Duration.ofDays(7);

  /** The largest shift back of an out-of-order row. */
  public static final Duration MAX_LATENESS = Duration.ofMinutes(5);

  /** Rows per batch, 64 Ki. */
  public static final int BATCH_ROWS = 64 * 1024;

  /** The fraction of rows that arrive out of order. */
  public static final double OUT_OF_ORDER = 0.05;

  /** The Arrow schema of the batches: metric_id utf8, timestamp micros (naive UTC), value. */
  public static final Schema SCHEMA =
      new Schema(
          List.of(
              new Field("metric_id", FieldType.notNullable(new ArrowType.Utf8()), null),
              new Field(
                  "timestamp",
                  FieldType.notNullable(new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
                  null),
              new Field(
                  "value",
                  FieldType.nullable(new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
                  null)));

  private final long rows;
  private final int metrics;
  private final long seed;
  private final int batchRows;
  private final byte[][] ids;

  /** What the generator produced, counted while generating. */
  private long outOfOrderRows;

  private long minMicros = Long.MAX_VALUE;
  private long maxMicros = Long.MIN_VALUE;

  public MetricsData(long rows, int metrics, long seed) {
    this(rows, metrics, seed, BATCH_ROWS);
  }

  /** The same rows cut into batches of {@code batchRows} rows (the last one may be shorter). */
  public MetricsData(long rows, int metrics, long seed, int batchRows) {
    if (batchRows < 1) {
      throw new IllegalArgumentException("batch rows must be positive, got " + batchRows);
    }
    this.rows = rows;
    this.metrics = metrics;
    this.seed = seed;
    this.batchRows = batchRows;
    this.ids = new byte[metrics][];
    for (int m = 0; m < metrics; m++) {
      ids[m] = metricId(m).getBytes(StandardCharsets.UTF_8);
    }
  }

  /**
   * An instance as the core figures, the JMH benchmarks and the ingest guard measure this data: the
   * clock fixed just after the data's end, the cache holding all 7 days, no expiry.
   */
  public static Hyprstream newInstance(BufferAllocator root) {
    return Hyprstream.builder()
        .allocator(root)
        .clock(InstantSource.fixed(NOW))
        .cacheDuration(Duration.ofDays(8))
        .expiryInterval(Duration.ZERO)
        .build();
  }

  /** The id of series {@code m}. */
  public static String metricId(int m) {
    return String.format(java.util.Locale.ROOT, "host%04d.cpu.user", m);
  }

  public int metrics() {
    return metrics;
  }

  /** Rows per batch (the last batch may hold fewer). */
  public int batchRows() {
    return batchRows;
  }

  public long rows() {
    return rows;
  }

  public long outOfOrderRows() {
    return outOfOrderRows;
  }

  public long minMicros() {
    return minMicros;
  }

  public long maxMicros() {
    return maxMicros;
  }

  /** Builds every batch in {@code allocator}. The caller owns the batches and closes them. */
  public List<VectorSchemaRoot> batches(BufferAllocator allocator) {
    SplittableRandom rng = new SplittableRandom(seed);
    double[] level = new double[metrics];
    for (int m = 0; m < metrics; m++) {
      level[m] = 10 + rng.nextDouble() * 90;
    }
    long endMicros = micros(END);
    long spanMicros = SPAN.toNanos() / 1000;
    long maxLate = MAX_LATENESS.toNanos() / 1000;
    outOfOrderRows = 0;
    List<VectorSchemaRoot> out = new ArrayList<>();
    try {
      for (long first = 0; first < rows; first += batchRows) {
        int n = (int) Math.min(batchRows, rows - first);
        VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator);
        out.add(root);
        VarCharVector id = (VarCharVector) root.getVector(0);
        TimeStampMicroVector ts = (TimeStampMicroVector) root.getVector(1);
        Float8Vector value = (Float8Vector) root.getVector(2);
        id.allocateNew(20L * n, n);
        ts.allocateNew(n);
        value.allocateNew(n);
        for (int r = 0; r < n; r++) {
          long i = first + r;
          // Row i's nominal time: evenly spaced, the last row at END (exclusive of END itself).
          long t = endMicros - spanMicros + (long) ((double) (i + 1) / rows * spanMicros) - 1;
          if (rng.nextDouble() < OUT_OF_ORDER) {
            t -= 1 + rng.nextLong(maxLate);
            outOfOrderRows++;
          }
          int m = rng.nextInt(metrics);
          level[m] += rng.nextDouble() - 0.5;
          id.setSafe(r, ids[m]);
          ts.set(r, t);
          value.set(r, level[m]);
          minMicros = Math.min(minMicros, t);
          maxMicros = Math.max(maxMicros, t);
        }
        root.setRowCount(n);
      }
      return out;
    } catch (RuntimeException e) {
      out.forEach(VectorSchemaRoot::close);
      throw e;
    }
  }

  /** Counts rows of {@code batches} with a timestamp before {@code cutoff}. */
  public static long rowsBefore(List<VectorSchemaRoot> batches, Instant cutoff) {
    long c = micros(cutoff);
    long n = 0;
    for (VectorSchemaRoot b : batches) {
      TimeStampMicroVector ts = (TimeStampMicroVector) b.getVector(1);
      for (int r = 0; r < b.getRowCount(); r++) {
        if (ts.get(r) < c) {
          n++;
        }
      }
    }
    return n;
  }

  /**
   * A batch of {@code n} rows of one series, timestamps spread over {@code [start, start +
   * spanMicros)}. The caller owns it.
   */
  public static VectorSchemaRoot seriesBatch(
      BufferAllocator allocator, String metricId, long startMicros, long spanMicros, int n) {
    VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator);
    try {
      VarCharVector id = (VarCharVector) root.getVector(0);
      TimeStampMicroVector ts = (TimeStampMicroVector) root.getVector(1);
      Float8Vector value = (Float8Vector) root.getVector(2);
      byte[] bytes = metricId.getBytes(StandardCharsets.UTF_8);
      id.allocateNew((long) bytes.length * n, n);
      ts.allocateNew(n);
      value.allocateNew(n);
      for (int r = 0; r < n; r++) {
        id.set(r, bytes);
        ts.set(r, startMicros + spanMicros * r / n);
        value.set(r, r);
      }
      root.setRowCount(n);
      return root;
    } catch (RuntimeException e) {
      root.close();
      throw e;
    }
  }

  /** Epoch microseconds of an instant. */
  public static long micros(Instant i) {
    return Math.addExact(Math.multiplyExact(i.getEpochSecond(), 1_000_000L), i.getNano() / 1000);
  }
}
