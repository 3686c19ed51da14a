package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import org.apache.arrow.vector.BigIntVector;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Queries the cache cannot answer run on the backend, and agree with asking it directly. */
final class ReadThroughTest {
  private static final Instant NOW = Instant.parse("2026-09-01T12:00:00Z");

  @TempDir Path dir;
  @RegisterExtension final TestAllocator allocator = new TestAllocator();

  private Hyprstream open(Path file) {
    return Hyprstream.builder()
        .allocator(allocator)
        .clock(InstantSource.fixed(NOW))
        .expiryInterval(Duration.ZERO)
        .cacheDuration(Duration.ofHours(1))
        .backend(DuckDbBackendStore.open(file, allocator))
        .dataDirectory(dir.resolve("data"))
        .build();
  }

  private static List<List<Object>> rows(ArrowReader reader) throws Exception {
    List<List<Object>> out = new ArrayList<>();
    try (reader) {
      while (reader.loadNextBatch()) {
        VectorSchemaRoot r = reader.getVectorSchemaRoot();
        for (int i = 0; i < r.getRowCount(); i++) {
          List<Object> row = new ArrayList<>();
          for (FieldVector v : r.getFieldVectors()) {
            Object o = v.getObject(i);
            row.add(o == null ? "NULL" : o.toString());
          }
          out.add(row);
        }
      }
    }
    return out;
  }

  private static Schema schemaOf(ArrowReader reader) throws Exception {
    try (reader) {
      return reader.getVectorSchemaRoot().getSchema();
    }
  }

  @Test
  void backendOnlyTable_isListedAndQueriedOnTheBackend() throws Exception {
    Path file = dir.resolve("backend.duckdb");
    Schema schema = new Schema(List.of(Field.nullable("id", new ArrowType.Int(64, true))));
    try (BackendStore seed = DuckDbBackendStore.open(file, allocator);
        VectorSchemaRoot b = VectorSchemaRoot.create(schema, allocator)) {
      b.allocateNew();
      for (int i = 0; i < 42; i++) {
        ((BigIntVector) b.getVector(0)).setSafe(i, i);
      }
      b.setRowCount(42);
      seed.append("archive", "seed-1", b);
    }
    try (Hyprstream hs = open(file)) {
      assertTrue(
          hs.tables().stream()
              .anyMatch(
                  t ->
                      t.name().equals("archive")
                          && t.kind() == Hyprstream.TableInfo.Kind.BACKEND_TABLE),
          "backend-only tables are listed");
      assertEquals(
          List.of(List.of("42", "861")), rows(hs.query("SELECT count(*), sum(id) FROM archive")));
      assertEquals(
          schema.getFields().get(0).getType(),
          hs.tableSchema("archive").getFields().get(0).getType());
    }
  }

  @Test
  void timeRangeOlderThanTheCache_runsOnTheBackendAndEqualsItsAnswer() throws Exception {
    Path file = dir.resolve("backend.duckdb");
    Schema metrics =
        new Schema(
            List.of(
                Field.notNullable("metric_id", new ArrowType.Utf8()),
                Field.notNullable("timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
                Field.nullable(
                    "value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));
    long start = (NOW.getEpochSecond() - 3 * 3600) * 1_000_000L;
    try (Hyprstream hs = open(file)) {
      try (VectorSchemaRoot b = VectorSchemaRoot.create(metrics, allocator)) {
        b.allocateNew();
        for (int i = 0; i < 360; i++) { // one row a minute for six hours... of which 3 h are past
          ((VarCharVector) b.getVector(0))
              .setSafe(i, ("m" + i % 3).getBytes(StandardCharsets.UTF_8));
          ((TimeStampMicroVector) b.getVector(1)).setSafe(i, start + i * 30_000_000L);
          ((Float8Vector) b.getVector(2)).setSafe(i, i);
        }
        b.setRowCount(360);
        hs.ingest("metrics", b);
      }
      hs.expire(); // the cache keeps the last hour only
      // Unbounded: the cache holds the last hour only, so the older rows come from the backend.
      String all = "SELECT count(*) FROM metrics";
      List<List<Object>> unbounded = rows(hs.query(all));

      String old =
          "SELECT metric_id, count(*), sum(value) FROM metrics WHERE timestamp >= '2026-09-01 09:30:00'"
              + " GROUP BY metric_id ORDER BY metric_id";
      List<List<Object>> routed = rows(hs.query(old));
      hs.close(); // DuckDB allows one process-wide writer per file: compare after closing
      try (BackendStore direct = DuckDbBackendStore.open(file, allocator)) {
        assertEquals(List.of(List.of("360")), unbounded, "every row, not the cache's hour");
        assertEquals(rows(direct.query(all, allocator)), unbounded);
        assertEquals(
            rows(direct.query(old, allocator)), routed, "same answer as the backend's own");
        assertEquals(3, routed.size());
        assertEquals("100", routed.get(0).get(1), "rows from before the cache's hour are counted");
      }
    }
  }

  @Test
  void sameQuery_fromCacheAndFromBackend_hasSameRowsAndTypes() throws Exception {
    Path file = dir.resolve("backend.duckdb");
    Schema metrics =
        new Schema(
            List.of(
                Field.notNullable("metric_id", new ArrowType.Utf8()),
                Field.notNullable("timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
                Field.nullable(
                    "value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));
    String sql = "SELECT * FROM metrics ORDER BY timestamp";
    List<List<Object>> cached;
    Schema cachedSchema;
    try (Hyprstream hs = open(file)) {
      try (VectorSchemaRoot b = VectorSchemaRoot.create(metrics, allocator)) {
        b.allocateNew();
        for (int i = 0; i < 50; i++) {
          ((VarCharVector) b.getVector(0)).setSafe(i, "cpu".getBytes(StandardCharsets.UTF_8));
          ((TimeStampMicroVector) b.getVector(1))
              .setSafe(i, (NOW.getEpochSecond() - 600) * 1_000_000L + i);
          ((Float8Vector) b.getVector(2)).setSafe(i, i / 4.0);
        }
        b.setRowCount(50);
        hs.ingest("metrics", b);
      }
      cached = rows(hs.query(sql));
      cachedSchema = schemaOf(hs.query(sql));
    }
    try (BackendStore direct = DuckDbBackendStore.open(file, allocator)) {
      assertEquals(cached, rows(direct.query(sql, allocator)));
      assertEquals(cachedSchema, schemaOf(direct.query(sql, allocator)));
    }
  }
}
