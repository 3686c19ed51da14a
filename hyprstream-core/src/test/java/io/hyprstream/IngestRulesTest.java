package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.IngestResult;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.testing.TestAllocator;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampNanoTZVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** What ingest accepts, what it refuses, and that a refused call changes nothing. */
final class IngestRulesTest {
  private static final Instant NOW = Instant.parse("2026-05-04T12:00:00Z");
  private static final long T0 = TestData.micros(Instant.parse("2026-05-04T11:00:00Z"));

  @RegisterExtension final TestAllocator allocator = new TestAllocator();
  private Hyprstream hs;

  @BeforeEach
  void setUp() {
    hs =
        Hyprstream.builder()
            .allocator(allocator)
            .clock(InstantSource.fixed(NOW))
            .expiryInterval(Duration.ZERO)
            .build();
  }

  @AfterEach
  void tearDown() {
    hs.close();
  }

  private IngestResult ingest(List<TestData.Row> rows) {
    try (VectorSchemaRoot b = TestData.metrics(allocator, rows)) {
      return hs.ingest("metrics", b);
    }
  }

  private List<List<@Nullable Object>> snapshot() throws Exception {
    List<List<@Nullable Object>> all = new ArrayList<>();
    all.addAll(TestData.rows(hs.query("SELECT * FROM metrics ORDER BY seq")));
    all.addAll(
        TestData.rows(hs.query("SELECT * FROM metrics_5m ORDER BY metric_id, window_start")));
    all.addAll(
        TestData.rows(hs.query("SELECT * FROM metrics_1h ORDER BY metric_id, window_start")));
    return all;
  }

  @Test
  void ingest_badBatchInReader_leavesEveryTableUnchanged() throws Exception {
    ingest(List.of(new TestData.Row("cpu", T0, 1.0, 1), new TestData.Row("cpu", T0 + 1, 2.0, 2)));
    List<List<@Nullable Object>> before = snapshot();

    VectorSchemaRoot good =
        TestData.metrics(allocator, List.of(new TestData.Row("cpu", T0, 5.0, 3)));
    VectorSchemaRoot bad = TestData.metrics(allocator, List.of(new TestData.Row(null, T0, 6.0, 4)));
    try (var reader =
        new io.hyprstream.internal.arrow.BatchListReader(
            allocator, good.getSchema(), List.of(good, bad))) {
      SchemaMismatchException e =
          assertThrows(SchemaMismatchException.class, () -> hs.ingest("metrics", reader));
      assertEquals("metric_id", e.column());
      assertTrue(e.getMessage().contains("must not be null"), e.getMessage());
    }
    assertEquals(before, snapshot(), "the good batch of a refused call is not stored either");
  }

  @Test
  void ingestTransferred_keepsTheBuffersOfItsRootAndCopiesAnotherRoots() throws Exception {
    VectorSchemaRoot sameRoot =
        TestData.metrics(
            allocator.newChildAllocator("caller", 0, Long.MAX_VALUE),
            List.of(new TestData.Row("cpu", T0, 1.0, 1), new TestData.Row("cpu", T0 + 1, 2.0, 2)));
    BufferAllocator callerAllocator = sameRoot.getVector(0).getAllocator();
    long heldByEngineBefore = allocator.getAllocatedMemory() - callerAllocator.getAllocatedMemory();
    assertEquals(2, hs.ingestTransferred("metrics", List.of(sameRoot)).rowsAccepted());
    assertEquals(
        0, sameRoot.getVector(0).getValueCount(), "the instance closed the batch it took over");
    assertEquals(0, callerAllocator.getAllocatedMemory(), "its buffers now count to the instance");
    assertTrue(allocator.getAllocatedMemory() > heldByEngineBefore);
    callerAllocator.close();

    try (RootAllocator otherRoot = new RootAllocator()) {
      VectorSchemaRoot foreign =
          TestData.metrics(otherRoot, List.of(new TestData.Row("cpu", T0 + 2, 4.0, 3)));
      assertEquals(1, hs.ingestTransferred("metrics", List.of(foreign)).rowsAccepted());
      assertEquals(0, otherRoot.getAllocatedMemory(), "copied, then closed");
    }
    assertEquals(
        List.of(List.of("cpu", 3L, 7.0)),
        TestData.rows(hs.query("SELECT metric_id, count(*), sum(value) FROM metrics GROUP BY 1")));
  }

  @Test
  void ingestTransferred_columnWithoutBuffers_endsAsIngestDoes() throws Exception {
    Schema schema =
        new Schema(
            List.of(
                Field.nullable("nothing", ArrowType.Null.INSTANCE),
                Field.nullable("v", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));
    String copied;
    try (VectorSchemaRoot kept = nullColumnBatch(schema)) {
      copied = outcome(() -> hs.ingest("t_copied", kept));
    }
    String transferred =
        outcome(() -> hs.ingestTransferred("t_transferred", List.of(nullColumnBatch(schema))));
    assertEquals(copied.replace("t_copied", "T"), transferred.replace("t_transferred", "T"));
  }

  /** A two-row batch whose first column is a NullVector (no buffers, no allocator). */
  private VectorSchemaRoot nullColumnBatch(Schema schema) {
    VectorSchemaRoot b = VectorSchemaRoot.create(schema, allocator);
    b.allocateNew();
    ((Float8Vector) b.getVector(1)).setSafe(0, 1.0);
    ((Float8Vector) b.getVector(1)).setSafe(1, 2.0);
    b.setRowCount(2);
    return b;
  }

  private static String outcome(java.util.function.Supplier<IngestResult> call) {
    try {
      return "accepted " + call.get().rowsAccepted();
    } catch (RuntimeException e) {
      return e.getClass().getSimpleName() + ": " + e.getMessage();
    }
  }

  @Test
  void ingestTransferred_refusedBatch_isClosedAndChangesNothing() throws Exception {
    ingest(List.of(new TestData.Row("cpu", T0, 1.0, 1)));
    List<List<@Nullable Object>> before = snapshot();
    VectorSchemaRoot good =
        TestData.metrics(allocator, List.of(new TestData.Row("cpu", T0, 5.0, 3)));
    VectorSchemaRoot bad = TestData.metrics(allocator, List.of(new TestData.Row(null, T0, 6.0, 4)));
    assertThrows(
        SchemaMismatchException.class, () -> hs.ingestTransferred("metrics", List.of(good, bad)));
    assertEquals(0, good.getVector(0).getValueCount(), "closed");
    assertEquals(0, bad.getVector(0).getValueCount(), "closed");
    assertEquals(before, snapshot(), "the good batch of a refused call is not stored either");
  }

  @Test
  void ingest_emptyReader_storesAndCreatesNothing() throws Exception {
    try (var reader =
        new io.hyprstream.internal.arrow.BatchListReader(
            allocator, TestData.METRICS_WITH_SEQ, List.of())) {
      assertEquals(0, hs.ingest("metrics", reader).rowsAccepted());
    }
    try (var reader =
        new io.hyprstream.internal.arrow.BatchListReader(
            allocator, TestData.METRICS_WITH_SEQ, List.of())) {
      assertEquals(0, hs.ingest("fresh_table", reader).rowsAccepted());
    }
    assertNull(hs.tableSchema("fresh_table"));
  }

  @Test
  void ingest_mistypedValue_namesColumnAndExpectedType() throws Exception {
    Schema schema =
        new Schema(
            List.of(
                Field.nullable("metric_id", new ArrowType.Utf8()),
                Field.nullable("timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
                Field.nullable("value", new ArrowType.Utf8())));
    try (VectorSchemaRoot b = VectorSchemaRoot.create(schema, allocator)) {
      b.allocateNew();
      ((VarCharVector) b.getVector(0)).setSafe(0, "cpu".getBytes(StandardCharsets.UTF_8));
      ((org.apache.arrow.vector.TimeStampMicroVector) b.getVector(1)).setSafe(0, T0);
      ((VarCharVector) b.getVector(2)).setSafe(0, "high".getBytes(StandardCharsets.UTF_8));
      b.setRowCount(1);
      SchemaMismatchException e =
          assertThrows(SchemaMismatchException.class, () -> hs.ingest("metrics", b));
      assertEquals("value", e.column());
      assertTrue(e.getMessage().contains("float64"), e.getMessage());
    }
    assertEquals(0L, TestData.scalar(hs.query("SELECT count(*) FROM metrics")));
  }

  @Test
  void ingest_missingTimestamp_isRefused() {
    Schema schema = new Schema(List.of(Field.nullable("metric_id", new ArrowType.Utf8())));
    try (VectorSchemaRoot b = VectorSchemaRoot.create(schema, allocator)) {
      b.allocateNew();
      ((VarCharVector) b.getVector(0)).setSafe(0, "cpu".getBytes(StandardCharsets.UTF_8));
      b.setRowCount(1);
      SchemaMismatchException e =
          assertThrows(SchemaMismatchException.class, () -> hs.ingest("metrics", b));
      assertEquals("timestamp", e.column());
    }
  }

  @Test
  void ingest_labelColumns_growTheTableAndKeepTheirType() throws Exception {
    ingest(List.of(new TestData.Row("cpu", T0, 1.0, 1)));
    Schema schema =
        new Schema(
            List.of(
                Field.nullable("metric_id", new ArrowType.Utf8()),
                Field.nullable("timestamp", new ArrowType.Timestamp(TimeUnit.NANOSECOND, "UTC")),
                Field.nullable("value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
                Field.nullable("host", new ArrowType.Utf8()),
                Field.nullable("cores", new ArrowType.Int(64, true))));
    try (VectorSchemaRoot b = VectorSchemaRoot.create(schema, allocator)) {
      b.allocateNew();
      ((VarCharVector) b.getVector(0)).setSafe(0, "cpu".getBytes(StandardCharsets.UTF_8));
      ((TimeStampNanoTZVector) b.getVector(1)).setSafe(0, (T0 + 10) * 1000);
      ((Float8Vector) b.getVector(2)).setSafe(0, 3.0);
      ((VarCharVector) b.getVector(3)).setSafe(0, "web-1".getBytes(StandardCharsets.UTF_8));
      ((BigIntVector) b.getVector(4)).setSafe(0, 8);
      b.setRowCount(1);
      hs.ingest("metrics", b);
    }
    List<List<@Nullable Object>> rows =
        TestData.rows(
            hs.query(
                "SELECT host, cores, value_running_window_count FROM metrics ORDER BY timestamp"));
    assertEquals(2, rows.size());
    assertNull(rows.get(0).get(0), "older rows have no label");
    assertEquals("web-1", rows.get(1).get(0));
    assertEquals(8L, rows.get(1).get(1), "int64 label stays int64");
    assertEquals(2L, rows.get(1).get(2), "nanosecond UTC timestamp lands in the same 5m window");
    Schema stored = hs.tableSchema("metrics");
    assertEquals(new ArrowType.Int(64, true), stored.findField("cores").getType());
  }

  @Test
  void ingest_labelWithOtherType_isRefused() {
    ingest(List.of(new TestData.Row("cpu", T0, 1.0, 1)));
    Schema schema =
        new Schema(
            List.of(
                Field.nullable("metric_id", new ArrowType.Utf8()),
                Field.nullable("timestamp", new ArrowType.Int(64, true)),
                Field.nullable("value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
                Field.nullable("seq", new ArrowType.Utf8())));
    try (VectorSchemaRoot b = VectorSchemaRoot.create(schema, allocator)) {
      b.allocateNew();
      ((VarCharVector) b.getVector(0)).setSafe(0, "cpu".getBytes(StandardCharsets.UTF_8));
      ((BigIntVector) b.getVector(1)).setSafe(0, T0 / 1000);
      ((Float8Vector) b.getVector(2)).setSafe(0, 3.0);
      ((VarCharVector) b.getVector(3)).setSafe(0, "x".getBytes(StandardCharsets.UTF_8));
      b.setRowCount(1);
      SchemaMismatchException e =
          assertThrows(SchemaMismatchException.class, () -> hs.ingest("metrics", b));
      assertEquals("seq", e.column());
      assertTrue(e.getMessage().contains("Int(64, true)"), e.getMessage());
    }
  }

  @Test
  void ingest_epochMillisAndNullValues_followTheRules() throws Exception {
    Schema schema =
        new Schema(
            List.of(
                Field.nullable("metric_id", new ArrowType.Utf8()),
                Field.nullable("timestamp", new ArrowType.Int(64, true)),
                Field.nullable(
                    "value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));
    try (VectorSchemaRoot b = VectorSchemaRoot.create(schema, allocator)) {
      b.allocateNew();
      for (int i = 0; i < 3; i++) {
        ((VarCharVector) b.getVector(0)).setSafe(i, "mem".getBytes(StandardCharsets.UTF_8));
        ((BigIntVector) b.getVector(1)).setSafe(i, T0 / 1000 + i);
      }
      ((Float8Vector) b.getVector(2)).setSafe(0, 10.0);
      ((Float8Vector) b.getVector(2)).setNull(1);
      ((Float8Vector) b.getVector(2)).setSafe(2, 20.0);
      b.setRowCount(3);
      IngestResult r = hs.ingest("metrics", b);
      assertEquals(3, r.rowsAccepted());
      assertEquals(1, r.rowsNotAggregated(IngestResult.Reason.NULL_VALUE));
    }
    List<List<@Nullable Object>> w =
        TestData.rows(
            hs.query(
                "SELECT value_count, value_sum, value_stddev FROM metrics_5m WHERE metric_id = 'mem'"));
    assertEquals(List.of(List.of(2L, 30.0, Math.sqrt(50.0))), w);
    assertEquals(TestData.utc(T0), TestData.scalar(hs.query("SELECT min(timestamp) FROM metrics")));
  }

  @Test
  void ingest_tooLateRows_areStoredButNotAggregated() throws Exception {
    long tenDaysAgo = TestData.micros(NOW.minus(Duration.ofDays(10)));
    long sixYearsAgo = TestData.micros(NOW.minus(Duration.ofDays(6 * 366)));
    IngestResult r =
        ingest(
            List.of(
                new TestData.Row("disk", tenDaysAgo, 1.0, 1),
                new TestData.Row("disk", sixYearsAgo, 2.0, 2)));
    assertEquals(1, r.rowsTooLate(), "six years is older than the 1w window's 5-year retention");
    assertEquals(
        2L, TestData.scalar(hs.query("SELECT count(*) FROM metrics WHERE metric_id = 'disk'")));
    assertEquals(
        0L, TestData.scalar(hs.query("SELECT count(*) FROM metrics_5m WHERE metric_id = 'disk'")));
    assertEquals(
        1L, TestData.scalar(hs.query("SELECT count(*) FROM metrics_1d WHERE metric_id = 'disk'")));
  }

  @Test
  void ingest_preAggregatedRecord_mergesAsPartialState() throws Exception {
    ingest(List.of(new TestData.Row("net", T0, 4.0, 1)));
    Schema schema =
        new Schema(
            List.of(
                Field.nullable("metric_id", new ArrowType.Utf8()),
                Field.nullable("timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
                Field.nullable(
                    "value_running_window_sum",
                    new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
                Field.nullable(
                    "value_running_window_avg",
                    new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
                Field.nullable("value_running_window_count", new ArrowType.Int(64, true))));
    try (VectorSchemaRoot b = VectorSchemaRoot.create(schema, allocator)) {
      b.allocateNew();
      ((VarCharVector) b.getVector(0)).setSafe(0, "net".getBytes(StandardCharsets.UTF_8));
      ((org.apache.arrow.vector.TimeStampMicroVector) b.getVector(1)).setSafe(0, T0 + 5);
      ((Float8Vector) b.getVector(2)).setSafe(0, 36.0);
      ((Float8Vector) b.getVector(3)).setSafe(0, 12.0);
      ((BigIntVector) b.getVector(4)).setSafe(0, 3);
      b.setRowCount(1);
      hs.ingest("metrics", b);
    }
    assertEquals(
        List.of(List.of(4L, 40.0, 10.0, 4.0, 4.0)),
        TestData.rows(
            hs.query(
                "SELECT value_count, value_sum, value_avg, value_min, value_max FROM metrics_5m"
                    + " WHERE metric_id = 'net'")));
    assertEquals(
        List.of(List.of(40.0, 4L)),
        TestData.rows(
            hs.query(
                "SELECT value_running_window_sum, value_running_window_count FROM metrics"
                    + " WHERE metric_id = 'net' AND value IS NULL")));
  }

  @Test
  void ingest_invalidOrReservedTableName_isRefusedAndCreatesNothing() throws Exception {
    for (String name :
        List.of(
            "x".repeat(10_000),
            "x".repeat(64),
            "a\"; DROP TABLE metrics; --",
            "with space",
            "1starts_with_digit",
            "hyprstream_cache_stats",
            "HYPRSTREAM_backend_status",
            "duckdb_tables",
            "pg_class",
            "information_schema")) {
      Schema before = hs.tableSchema(name); // system tables exist; others must not appear
      try (VectorSchemaRoot b =
          TestData.metrics(allocator, List.of(new TestData.Row("cpu", T0, 1.0, 1)))) {
        io.hyprstream.api.QueryRejectedException e =
            assertThrows(io.hyprstream.api.QueryRejectedException.class, () -> hs.ingest(name, b));
        assertTrue(e.getMessage().length() < 400, "the message stays readable: " + e.getMessage());
      }
      assertEquals(before, hs.tableSchema(name), name);
    }
    // 63 characters is the longest name: PostgreSQL keeps it whole.
    try (VectorSchemaRoot b =
        TestData.metrics(allocator, List.of(new TestData.Row("cpu", T0, 1.0, 1)))) {
      hs.ingest("t" + "x".repeat(62), b);
    }
    assertEquals(
        1L,
        ((Number) TestData.rows(hs.query("SELECT count(*) FROM t" + "x".repeat(62))).get(0).get(0))
            .longValue());
  }
}
