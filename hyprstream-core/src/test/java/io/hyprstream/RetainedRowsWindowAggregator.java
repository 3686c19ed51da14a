package io.hyprstream;

import io.hyprstream.api.AggregateFunction;
import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.IngestResult;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.api.WindowAggregator;
import io.hyprstream.api.WindowAggregatorFactory;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.internal.arrow.Columns;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
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
import org.jspecify.annotations.Nullable;

/**
 * A deliberately simple second {@link WindowAggregator}, for the SPI contract tests: it keeps every
 * (x, value) pair of each window in a map and computes the aggregates from them when a view row is
 * asked for, with none of the heap aggregator's mergeable state, dictionaries or arrays. Keys are
 * one utf8 column. Values are read as doubles.
 */
final class RetainedRowsWindowAggregator implements WindowAggregator {
  /** DuckDB's {@code time_bucket} origin, 2000-01-03T00:00:00Z, in epoch micros. */
  private static final long ORIGIN_MICROS = 946_857_600_000_000L;

  static final WindowAggregatorFactory FACTORY = RetainedRowsWindowAggregator::new;

  private record WindowKey(String key, long startMicros) {}

  /**
   * The retained points of one window: x (seconds into the window), then each value (NaN: null).
   */
  private static final class Retained {
    final List<double[]> points = new ArrayList<>();
  }

  private final AggregationSpec spec;
  private final List<Field> keyFields;
  private final List<AggregateFunction> functions = new ArrayList<>();
  private final Map<WindowSpec, TreeMap<WindowKey, Retained>> windows = new HashMap<>();
  private final Map<WindowSpec, Set<WindowKey>> changed = new HashMap<>();

  RetainedRowsWindowAggregator(AggregationSpec spec, List<Field> keyFields) {
    if (keyFields.size() != 1 || !(keyFields.get(0).getType() instanceof ArrowType.Utf8)) {
      throw new SchemaMismatchException(
          spec.table(), spec.keyColumns().get(0), "this test aggregator keys on one utf8 column");
    }
    this.spec = spec;
    this.keyFields = keyFields;
    for (AggregateFunction f : AggregateFunction.values()) {
      if (spec.functions().contains(f)) {
        functions.add(f);
      }
    }
    Comparator<WindowKey> order =
        Comparator.comparing(WindowKey::key).thenComparingLong(WindowKey::startMicros);
    for (WindowSpec w : spec.windows()) {
      windows.put(w, new TreeMap<>(order));
      changed.put(w, new LinkedHashSet<>());
    }
  }

  @Override
  public AggregationSpec spec() {
    return spec;
  }

  @Override
  public void validate(Schema schema) {
    for (String c : List.of(spec.timeColumn(), spec.keyColumns().get(0))) {
      if (Columns.field(schema, c) == null) {
        throw new SchemaMismatchException(spec.table(), c, "missing");
      }
    }
  }

  private static long micros(java.time.Duration d) {
    return d.toNanos() / 1000;
  }

  @Override
  public IngestResult update(
      VectorSchemaRoot batch, @Nullable VectorSchemaRoot running, Instant now) {
    validate(batch.getSchema());
    int rows = batch.getRowCount();
    long nowMicros = now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
    long[] times =
        Columns.eventMicros(Columns.require(batch, spec.timeColumn()), rows, spec.epochUnit());
    FieldVector keys = Columns.require(batch, spec.keyColumns().get(0));
    List<FieldVector> values = new ArrayList<>();
    for (String v : spec.valueColumns()) {
      values.add(Columns.require(batch, v));
    }
    long tooLate = 0;
    for (int r = 0; r < rows; r++) {
      if (times[r] == Columns.NULL_TIME) {
        continue;
      }
      String key = String.valueOf(keys.getObject(r));
      int late = 0;
      for (WindowSpec w : spec.windows()) {
        long size = micros(w.size());
        long start = ORIGIN_MICROS + Math.floorDiv(times[r] - ORIGIN_MICROS, size) * size;
        if (start + size <= nowMicros - micros(w.retention())) {
          late++;
          continue;
        }
        WindowKey wk = new WindowKey(key, start);
        Retained retained = windows.get(w).computeIfAbsent(wk, k -> new Retained());
        double[] point = new double[1 + values.size()];
        point[0] = (times[r] - start) / 1e6;
        for (int v = 0; v < values.size(); v++) {
          Object o = values.get(v).getObject(r);
          point[1 + v] = o == null ? Double.NaN : ((Number) o).doubleValue();
        }
        retained.points.add(point);
        changed.get(w).add(wk);
      }
      if (late == spec.windows().size()) {
        tooLate++;
      }
    }
    Map<IngestResult.Reason, Long> reasons = new EnumMap<>(IngestResult.Reason.class);
    reasons.put(IngestResult.Reason.TOO_LATE, tooLate);
    return IngestResult.of(rows, reasons);
  }

  @Override
  public Schema viewSchema(WindowSpec window) {
    List<Field> fields = new ArrayList<>();
    fields.add(
        new Field(keyFields.get(0).getName(), FieldType.nullable(new ArrowType.Utf8()), null));
    ArrowType timestamp = new ArrowType.Timestamp(TimeUnit.MICROSECOND, null);
    fields.add(new Field("window_start", FieldType.nullable(timestamp), null));
    fields.add(new Field("window_end", FieldType.nullable(timestamp), null));
    for (String v : spec.valueColumns()) {
      for (AggregateFunction f : functions) {
        ArrowType type =
            f == AggregateFunction.COUNT
                ? new ArrowType.Int(64, true)
                : new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);
        fields.add(new Field(v + "_" + f.columnSuffix(), FieldType.nullable(type), null));
      }
    }
    return new Schema(fields);
  }

  @Override
  public VectorSchemaRoot drainChanges(WindowSpec window, BufferAllocator allocator) {
    List<WindowKey> keys = new ArrayList<>();
    for (WindowKey k : changed.get(window)) {
      if (windows.get(window).containsKey(k)) {
        keys.add(k);
      }
    }
    changed.get(window).clear();
    return rows(window, keys, allocator);
  }

  @Override
  public void markAllChanged(WindowSpec window) {
    changed.get(window).addAll(windows.get(window).keySet());
  }

  @Override
  public VectorSchemaRoot lookup(
      WindowSpec window,
      List<@Nullable Object> key,
      long fromMicros,
      long toMicros,
      boolean descending,
      int limit,
      BufferAllocator allocator) {
    String k = String.valueOf(key.get(0));
    List<WindowKey> keys = new ArrayList<>();
    for (WindowKey wk : windows.get(window).keySet()) {
      if (wk.key().equals(k) && wk.startMicros() >= fromMicros && wk.startMicros() < toMicros) {
        keys.add(wk);
      }
    }
    if (descending) {
      java.util.Collections.reverse(keys);
    }
    return rows(window, keys.subList(0, Math.min(limit, keys.size())), allocator);
  }

  private VectorSchemaRoot rows(WindowSpec window, List<WindowKey> keys, BufferAllocator alloc) {
    VectorSchemaRoot out = VectorSchemaRoot.create(viewSchema(window), alloc);
    out.allocateNew();
    long size = micros(window.size());
    for (int r = 0; r < keys.size(); r++) {
      WindowKey wk = keys.get(r);
      ((VarCharVector) out.getVector(0)).setSafe(r, wk.key().getBytes(StandardCharsets.UTF_8));
      ((TimeStampMicroVector) out.getVector(1)).setSafe(r, wk.startMicros());
      ((TimeStampMicroVector) out.getVector(2)).setSafe(r, wk.startMicros() + size);
      List<double[]> points = windows.get(window).get(wk).points;
      int column = 3;
      for (int v = 0; v < spec.valueColumns().size(); v++) {
        Stats s = new Stats(points, 1 + v);
        for (AggregateFunction f : functions) {
          FieldVector vector = out.getVector(column++);
          if (f == AggregateFunction.COUNT) {
            ((BigIntVector) vector).setSafe(r, s.n);
            continue;
          }
          Double value = s.value(f);
          if (value == null) {
            ((Float8Vector) vector).setNull(r);
          } else {
            ((Float8Vector) vector).setSafe(r, value);
          }
        }
      }
    }
    out.setRowCount(keys.size());
    return out;
  }

  /** The aggregates of one value column of a window, computed from its retained points. */
  private static final class Stats {
    long n;
    double sum;
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    final List<double[]> xy = new ArrayList<>();

    Stats(List<double[]> points, int column) {
      for (double[] p : points) {
        double y = p[column];
        if (Double.isNaN(y)) {
          continue; // a null value
        }
        n++;
        sum += y;
        min = Math.min(min, y);
        max = Math.max(max, y);
        xy.add(new double[] {p[0], y});
      }
    }

    @Nullable Double value(AggregateFunction f) {
      if (n == 0) {
        return null;
      }
      double mean = sum / n;
      double meanX = xy.stream().mapToDouble(p -> p[0]).sum() / n;
      double sxx = 0;
      double sxy = 0;
      double syy = 0;
      for (double[] p : xy) {
        sxx += (p[0] - meanX) * (p[0] - meanX);
        sxy += (p[0] - meanX) * (p[1] - mean);
        syy += (p[1] - mean) * (p[1] - mean);
      }
      return switch (f) {
        case SUM -> sum;
        case AVG -> mean;
        case MIN -> min;
        case MAX -> max;
        case STDDEV -> n < 2 ? null : Math.sqrt(syy / (n - 1));
        case SLOPE -> sxx == 0 ? null : sxy / sxx;
        case INTERCEPT -> sxx == 0 ? null : mean - (sxy / sxx) * meanX;
        case COUNT -> (double) n;
      };
    }
  }

  @Override
  public long expire(Instant now) {
    long nowMicros = now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
    long dropped = 0;
    for (WindowSpec w : spec.windows()) {
      long size = micros(w.size());
      long cutoff = nowMicros - micros(w.retention());
      var it = windows.get(w).keySet().iterator();
      while (it.hasNext()) {
        if (it.next().startMicros() + size <= cutoff) {
          it.remove();
          dropped++;
        }
      }
    }
    return dropped;
  }

  @Override
  public long windowCount() {
    return windows.values().stream().mapToLong(Map::size).sum();
  }

  @Override
  public long stateBytes() {
    long bytes = 0;
    for (TreeMap<WindowKey, Retained> m : windows.values()) {
      for (Retained r : m.values()) {
        bytes += 64 + r.points.size() * (16L + 8L * (1 + spec.valueColumns().size()));
      }
    }
    return bytes;
  }
}
