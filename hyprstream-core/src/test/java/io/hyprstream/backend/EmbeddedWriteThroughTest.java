package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.hyprstream.Hyprstream;
import io.hyprstream.api.BackendStore;
import io.hyprstream.testing.TestAllocator;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
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
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Write-through into a DuckDB file and into SQLite: the backend holds what was acknowledged. */
final class EmbeddedWriteThroughTest {
  private static final Instant NOW = Instant.parse("2026-09-01T12:00:00Z");
  private static final Schema METRICS =
      new Schema(
          List.of(
              Field.notNullable("metric_id", new ArrowType.Utf8()),
              Field.notNullable("timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
              Field.nullable("value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
              Field.nullable("host", new ArrowType.Utf8())));

  @TempDir Path dir;
  @RegisterExtension final TestAllocator allocator = new TestAllocator();

  private Function<BufferAllocator, BackendStore> backend(String kind) {
    if (kind.equals("duckdb")) {
      Path file = dir.resolve("backend.duckdb");
      return a -> BackendStores.open("duckdb", file.toString(), Map.of(), null, null, a);
    }
    String url = "jdbc:sqlite:" + dir.resolve("backend.sqlite");
    return a -> BackendStores.open("adbc", url, Map.of(), null, null, a);
  }

  /** (metric_id, value, host) of every row, sorted: what must match whatever the timestamp type. */
  private static List<String> rows(ArrowReader reader) throws Exception {
    List<String> out = new ArrayList<>();
    try (reader) {
      while (reader.loadNextBatch()) {
        VectorSchemaRoot r = reader.getVectorSchemaRoot();
        FieldVector id = r.getVector("metric_id");
        FieldVector v = r.getVector("value");
        FieldVector host = r.getVector("host");
        for (int i = 0; i < r.getRowCount(); i++) {
          out.add(id.getObject(i) + "|" + v.getObject(i) + "|" + host.getObject(i));
        }
      }
    }
    out.sort(null);
    return out;
  }

  @ParameterizedTest
  @ValueSource(strings = {"duckdb", "sqlite"})
  void ingest_withEmbeddedBackend_backendHoldsTheAcknowledgedRows(String kind) throws Exception {
    Function<BufferAllocator, BackendStore> open = backend(kind);
    long t0 = (NOW.getEpochSecond() - 1800) * 1_000_000L;
    List<String> acked;
    try (Hyprstream hs =
        Hyprstream.builder()
            .allocator(allocator)
            .clock(InstantSource.fixed(NOW))
            .expiryInterval(Duration.ZERO)
            .backend(open.apply(allocator))
            .dataDirectory(dir.resolve("data"))
            .build()) {
      for (int b = 0; b < 5; b++) {
        try (VectorSchemaRoot root = VectorSchemaRoot.create(METRICS, allocator)) {
          root.allocateNew();
          for (int i = 0; i < 300; i++) {
            ((VarCharVector) root.getVector(0))
                .setSafe(i, ("m" + (i % 4)).getBytes(StandardCharsets.UTF_8));
            ((TimeStampMicroVector) root.getVector(1)).setSafe(i, t0 + b * 1_000_000L + i);
            ((Float8Vector) root.getVector(2)).setSafe(i, b * 1000 + i + 0.5);
            if (i % 3 == 0) {
              ((VarCharVector) root.getVector(3)).setNull(i);
            } else {
              ((VarCharVector) root.getVector(3))
                  .setSafe(i, ("host-" + b).getBytes(StandardCharsets.UTF_8));
            }
          }
          root.setRowCount(300);
          hs.ingest("metrics", root);
        }
      }
      acked = rows(hs.query("SELECT metric_id, value, host FROM metrics"));
    }
    assertEquals(1500, acked.size());
    try (BackendStore store = open.apply(allocator)) {
      assertEquals(
          acked,
          rows(store.query("SELECT metric_id, value, host FROM metrics", allocator)),
          kind + " holds every acknowledged row once");
    }
  }
}
