package io.hyprstream.example;

import io.hyprstream.Hyprstream;
import io.hyprstream.api.IngestResult;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Ingests three hours of generated CPU and memory readings into an embedded instance and prints the
 * hourly windows and the latest rows with their running columns.
 */
public final class MetricsExample {
  private MetricsExample() {}

  public static void main(String[] args) throws Exception {
    Schema schema =
        new Schema(
            List.of(
                Field.notNullable("metric_id", new ArrowType.Utf8()),
                Field.notNullable("timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
                Field.nullable(
                    "value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));
    Instant end = Instant.now();
    Random random = new Random(1);
    try (BufferAllocator allocator = new RootAllocator();
        Hyprstream hs =
            Hyprstream.builder().allocator(allocator).cacheDuration(Duration.ofHours(4)).build();
        VectorSchemaRoot batch = VectorSchemaRoot.create(schema, allocator)) {
      long rows = 0;
      for (int minute = 180; minute > 0; minute--) {
        batch.allocateNew();
        int n = 0;
        for (String id : List.of("cpu", "mem")) {
          for (int s = 0; s < 60; s += 5, n++) {
            Instant t = end.minusSeconds(minute * 60L - s);
            ((VarCharVector) batch.getVector(0)).setSafe(n, id.getBytes(StandardCharsets.UTF_8));
            ((TimeStampMicroVector) batch.getVector(1))
                .setSafe(n, t.getEpochSecond() * 1_000_000L + t.getNano() / 1000);
            double base = id.equals("cpu") ? 40 + 20 * Math.sin(minute / 30.0) : 70;
            ((Float8Vector) batch.getVector(2)).setSafe(n, base + random.nextGaussian() * 3);
          }
        }
        batch.setRowCount(n);
        IngestResult r = hs.ingest("metrics", batch);
        rows += r.rowsAccepted();
      }
      System.out.println("Ingested " + rows + " rows into metrics.\n");
      print(
          hs,
          "SELECT metric_id, window_start, value_count, round(value_avg, 2) AS avg,"
              + " round(value_min, 2) AS min, round(value_max, 2) AS max,"
              + " round(value_slope * 3600, 3) AS trend_per_hour"
              + " FROM metrics_1h ORDER BY metric_id, window_start");
      print(
          hs,
          "SELECT * FROM metrics_5m WHERE metric_id = 'cpu' ORDER BY window_start DESC LIMIT 3");
      print(
          hs,
          "SELECT metric_id, timestamp, round(value, 2) AS value, value_running_window_count,"
              + " round(value_running_window_avg, 2) AS running_avg"
              + " FROM metrics ORDER BY timestamp DESC LIMIT 4");
    }
  }

  private static void print(Hyprstream hs, String sql) throws Exception {
    System.out.println("> " + sql);
    try (ArrowReader reader = hs.query(sql)) {
      while (reader.loadNextBatch()) {
        System.out.print(reader.getVectorSchemaRoot().contentToTSVString());
      }
    }
    System.out.println();
  }
}
