package io.hyprstream.backend;

import io.hyprstream.Hyprstream;
import io.hyprstream.testing.PostgresAvailable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * The process {@link CrashRecoveryTest} kills: ingests numbered batches into metrics with a
 * PostgreSQL backend and prints {@code ACK <batch>} after each ingest returns, until killed.
 * Arguments: PostgreSQL schema, data directory, rows per batch.
 */
public final class CrashChild {
  static final Schema SCHEMA =
      new Schema(
          List.of(
              Field.notNullable("metric_id", new ArrowType.Utf8()),
              Field.notNullable("timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
              Field.nullable("value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
              Field.nullable("batch", new ArrowType.Int(64, true))));

  private CrashChild() {}

  public static void main(String[] args) {
    String schema = args[0];
    Path data = Path.of(args[1]);
    int rows = Integer.parseInt(args[2]);
    long base = System.currentTimeMillis() * 1000 - 600_000_000L;
    BufferAllocator allocator = new RootAllocator();
    Hyprstream hs =
        Hyprstream.builder()
            .allocator(allocator)
            .expiryInterval(Duration.ZERO)
            .backend(
                BackendStores.open(
                    "adbc", PostgresAvailable.URI, Map.of("schema", schema), null, null, allocator))
            .dataDirectory(data)
            .build();
    System.out.println("READY");
    for (long b = 0; ; b++) {
      try (VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator)) {
        root.allocateNew();
        for (int i = 0; i < rows; i++) {
          ((VarCharVector) root.getVector(0))
              .setSafe(i, ("m" + i % 7).getBytes(StandardCharsets.UTF_8));
          ((TimeStampMicroVector) root.getVector(1)).setSafe(i, base + b * rows + i);
          ((Float8Vector) root.getVector(2)).setSafe(i, i);
          ((BigIntVector) root.getVector(3)).setSafe(i, b);
        }
        root.setRowCount(rows);
        hs.ingest("metrics", root);
      }
      System.out.println("ACK " + b);
      System.out.flush();
    }
  }
}
