package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.BackendStore;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.backend.BackendStores;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.UInt8Vector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Values that DuckDB, the log or a backend would refuse after the acknowledgement are refused at
 * ingest, naming the column, the row and the reason, and change nothing; values that only look
 * unusual (multi-byte text, the edges of the time range) are stored.
 */
final class PoisonValuesTest {
  private static final Instant NOW = Instant.parse("2026-05-04T12:00:00Z");
  private static final long T0 = TestData.micros(Instant.parse("2026-05-04T11:00:00Z"));

  @TempDir Path dir;
  private final BufferAllocator allocator = new RootAllocator();
  private @Nullable Hyprstream hs;
  private @Nullable BufferAllocator backendAllocator;

  private Hyprstream open(boolean withBackend) {
    HyprstreamBuilder b =
        Hyprstream.builder()
            .allocator(allocator)
            .clock(InstantSource.fixed(NOW))
            .expiryInterval(Duration.ZERO);
    if (withBackend) {
      backendAllocator = allocator.newChildAllocator("backend", 0, Long.MAX_VALUE);
      BackendStore store =
          BackendStores.open(
              "duckdb",
              dir.resolve("backend.duckdb").toString(),
              Map.of(),
              null,
              null,
              backendAllocator);
      b.backend(store).dataDirectory(dir.resolve("data"));
    }
    hs = b.build();
    return hs;
  }

  @AfterEach
  void tearDown() {
    if (hs != null) {
      hs.close();
    }
    if (backendAllocator != null) {
      backendAllocator.close();
    }
    allocator.close();
  }

  /** A metrics batch of one good row and, after it, one row that {@code poison} spoils. */
  private VectorSchemaRoot batch(List<Field> extra, Consumer<VectorSchemaRoot> poison) {
    List<Field> fields = new ArrayList<>();
    fields.add(Field.notNullable("metric_id", ArrowType.Utf8.INSTANCE));
    fields.add(Field.notNullable("timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)));
    fields.add(Field.nullable("value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)));
    fields.addAll(extra);
    VectorSchemaRoot root = VectorSchemaRoot.create(new Schema(fields), allocator);
    root.allocateNew();
    for (int r = 0; r < 2; r++) {
      ((VarCharVector) root.getVector(0)).setSafe(r, ("m" + r).getBytes(StandardCharsets.UTF_8));
      ((TimeStampMicroVector) root.getVector(1)).setSafe(r, T0 + r);
      ((Float8Vector) root.getVector(2)).setSafe(r, r + 1.0);
    }
    root.setRowCount(2);
    poison.accept(root);
    return root;
  }

  private long rows(Hyprstream h) throws Exception {
    List<List<@Nullable Object>> r =
        TestData.rows(
            h.query("SELECT count(*) FROM metrics UNION ALL SELECT count(*) FROM metrics_5m"));
    return ((Number) r.get(0).get(0)).longValue() * 1000 + ((Number) r.get(1).get(0)).longValue();
  }

  private SchemaMismatchException refused(Hyprstream h, VectorSchemaRoot bad) throws Exception {
    long before = rows(h);
    try (bad) {
      SchemaMismatchException e =
          assertThrows(SchemaMismatchException.class, () -> h.ingest("metrics", bad));
      assertEquals(before, rows(h), "a refused batch changes nothing");
      return e;
    }
  }

  private static void text(VectorSchemaRoot root, String column, int row, byte[] bytes) {
    ((VarCharVector) root.getVector(column)).setSafe(row, bytes);
  }

  @Test
  void invalidUtf8_inTheKeyOrALabel_isRefusedNamingColumnRowAndBytes() throws Exception {
    Hyprstream h = open(false);
    byte[] bad = {0x65, 0x76, (byte) 0xff, (byte) 0xfe};
    SchemaMismatchException e = refused(h, batch(List.of(), b -> text(b, "metric_id", 1, bad)));
    assertTrue(e.getMessage().contains("metric_id"), e.getMessage());
    assertTrue(e.getMessage().contains("row 1"), e.getMessage());
    assertTrue(e.getMessage().contains("invalid UTF-8 at byte 2 (ff fe)"), e.getMessage());

    Field host = Field.nullable("host", ArrowType.Utf8.INSTANCE);
    for (byte[] b :
        List.of(
            new byte[] {(byte) 0xc3}, // cut short
            new byte[] {(byte) 0xc0, (byte) 0xaf}, // overlong '/'
            new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, // a UTF-16 surrogate
            new byte[] {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80})) { // past U+10FFFF
      SchemaMismatchException l =
          refused(
              h,
              batch(
                  List.of(host),
                  r -> {
                    text(r, "host", 0, "ok".getBytes(StandardCharsets.UTF_8));
                    text(r, "host", 1, b);
                  }));
      assertTrue(
          l.getMessage().contains("'host'") || l.getMessage().contains("host"), l.getMessage());
      assertTrue(l.getMessage().contains("invalid UTF-8"), l.getMessage());
    }
  }

  @Test
  void multiByteText_isStoredUnchanged() throws Exception {
    Hyprstream h = open(false);
    String[] ids = {"café", "日本語 \uD83D\uDE80"};
    try (VectorSchemaRoot b =
        batch(
            List.of(),
            r -> {
              text(r, "metric_id", 0, ids[0].getBytes(StandardCharsets.UTF_8));
              text(r, "metric_id", 1, ids[1].getBytes(StandardCharsets.UTF_8));
            })) {
      h.ingest("metrics", b);
    }
    assertEquals(
        List.of(List.of(ids[0]), List.of(ids[1])),
        TestData.rows(h.query("SELECT metric_id FROM metrics ORDER BY timestamp")));
  }

  @Test
  void nul_isRefusedWithABackend_andStoredWithout() throws Exception {
    byte[] nul = {0x61, 0x00, 0x62};
    SchemaMismatchException e =
        refused(open(true), batch(List.of(), r -> text(r, "metric_id", 1, nul)));
    assertTrue(e.getMessage().contains("NUL"), e.getMessage());
    hs.close();
    hs = null;
    Hyprstream cacheOnly = open(false);
    try (VectorSchemaRoot b = batch(List.of(), r -> text(r, "metric_id", 1, nul))) {
      cacheOnly.ingest("metrics", b);
    }
    assertEquals(2000 + 2, rows(cacheOnly));
  }

  /** The text check reads eight bytes at a time: a bad byte in a whole word or in the tail. */
  @Test
  void nulOrInvalidUtf8_atAnyByteOfALongKey_isRefused() throws Exception {
    Hyprstream h = open(true);
    byte[] good = "host0042.cpu.user.idle".getBytes(StandardCharsets.UTF_8); // 2 words + 6
    for (int at = 0; at < good.length; at++) {
      byte[] nul = good.clone();
      nul[at] = 0;
      SchemaMismatchException e = refused(h, batch(List.of(), r -> text(r, "metric_id", 1, nul)));
      assertTrue(e.getMessage().contains("byte " + at + " is a NUL"), e.getMessage());
      byte[] invalid = good.clone();
      invalid[at] = (byte) 0xff;
      e = refused(h, batch(List.of(), r -> text(r, "metric_id", 1, invalid)));
      assertTrue(e.getMessage().contains("invalid UTF-8 at byte " + at), e.getMessage());
    }
    try (VectorSchemaRoot b = batch(List.of(), r -> text(r, "metric_id", 1, good))) {
      h.ingest("metrics", b);
    }
    assertEquals(2000 + 2, rows(h));
  }

  @Test
  void eventTimesOutsideInt64Nanoseconds_areRefused_theEdgesAreStored() throws Exception {
    Hyprstream h = open(false);
    long year9999 = TestData.micros(Instant.parse("9999-12-31T00:00:00Z"));
    long year1 = TestData.micros(Instant.parse("0001-01-01T00:00:00Z"));
    for (long t : new long[] {year9999, year1}) {
      SchemaMismatchException e =
          refused(h, batch(List.of(), r -> ((TimeStampMicroVector) r.getVector(1)).set(1, t)));
      assertTrue(
          e.getMessage().contains("timestamp") && e.getMessage().contains("row 1"), e.getMessage());
      assertTrue(e.getMessage().contains("1677-09-21"), e.getMessage());
    }
    // int64 epoch milliseconds (the other form `timestamp` may take) are checked in their unit.
    List<Field> fields =
        List.of(
            Field.notNullable("metric_id", ArrowType.Utf8.INSTANCE),
            Field.notNullable("timestamp", new ArrowType.Int(64, true)),
            Field.nullable("value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)));
    try (VectorSchemaRoot b = VectorSchemaRoot.create(new Schema(fields), allocator)) {
      b.allocateNew();
      ((VarCharVector) b.getVector(0)).setSafe(0, "x".getBytes(StandardCharsets.UTF_8));
      ((BigIntVector) b.getVector(1)).set(0, Instant.parse("9999-12-31T00:00:00Z").toEpochMilli());
      ((Float8Vector) b.getVector(2)).set(0, 1);
      b.setRowCount(1);
      assertThrows(SchemaMismatchException.class, () -> h.ingest("metrics", b));
    }
    // The last microsecond int64 nanoseconds can hold is a valid event time (stored, not aggregated
    // when it is too far ahead).
    long latest = TestData.micros(Instant.parse("2262-04-11T23:47:16.854775Z"));
    try (VectorSchemaRoot b =
        batch(List.of(), r -> ((TimeStampMicroVector) r.getVector(1)).set(1, latest))) {
      h.ingest("metrics", b);
    }
    assertEquals(
        2,
        ((Number) TestData.rows(h.query("SELECT count(*) FROM metrics")).get(0).get(0))
            .longValue());
  }

  /**
   * Of the int64 nanoseconds, two are DuckDB's infinities, not instants: they are refused, since
   * the cache would answer infinity where a backend holds 1677 or 2262; the int64 minimum is an
   * instant and is stored.
   */
  @Test
  void nanosecondInfinities_areRefused_theMinimumIsStored() throws Exception {
    Hyprstream h = open(false);
    Schema schema =
        new Schema(
            List.of(
                Field.nullable(
                    "ts",
                    new ArrowType.Timestamp(
                        org.apache.arrow.vector.types.TimeUnit.NANOSECOND, null))));
    for (long ns : new long[] {Long.MIN_VALUE + 1, Long.MAX_VALUE}) {
      try (VectorSchemaRoot b = VectorSchemaRoot.create(schema, allocator)) {
        b.allocateNew();
        ((org.apache.arrow.vector.TimeStampNanoVector) b.getVector(0)).setSafe(0, ns);
        b.setRowCount(1);
        SchemaMismatchException e =
            assertThrows(SchemaMismatchException.class, () -> h.ingest("events", b));
        assertTrue(e.getMessage().contains("infinity"), e.getMessage());
      }
    }
    try (VectorSchemaRoot b = VectorSchemaRoot.create(schema, allocator)) {
      b.allocateNew();
      ((org.apache.arrow.vector.TimeStampNanoVector) b.getVector(0)).setSafe(0, Long.MIN_VALUE);
      b.setRowCount(1);
      h.ingest("events", b);
    }
    assertEquals(
        List.of(List.of("1677-09-21 00:12:43.145224192")),
        TestData.rows(h.query("SELECT CAST(ts AS VARCHAR) FROM events")));
  }

  @Test
  void aColumnSentTwice_inAnyCase_isRefused() throws Exception {
    Hyprstream h = open(false);
    SchemaMismatchException e =
        refused(
            h,
            batch(
                List.of(
                    Field.nullable("Host", ArrowType.Utf8.INSTANCE),
                    Field.nullable("host", ArrowType.Utf8.INSTANCE)),
                r -> {}));
    assertTrue(e.getMessage().contains("twice"), e.getMessage());
  }

  @Test
  void aLabelTypeTheBackendCannotStore_isRefusedBeforeTheAcknowledgement() throws Exception {
    Hyprstream h = open(true);
    Field big = Field.nullable("big", new ArrowType.Int(64, false));
    SchemaMismatchException e =
        refused(h, batch(List.of(big), r -> ((UInt8Vector) r.getVector("big")).setSafe(0, 7)));
    assertTrue(e.getMessage().contains("big"), e.getMessage());
    Field struct =
        new Field(
            "tags",
            FieldType.nullable(ArrowType.Struct.INSTANCE),
            List.of(Field.nullable("k", ArrowType.Utf8.INSTANCE)));
    refused(h, batch(List.of(struct), r -> {}));
    // A good batch afterwards is written and acknowledged as usual.
    try (VectorSchemaRoot good = batch(List.of(), r -> {})) {
      h.ingest("metrics", good);
    }
    assertEquals(2000 + 2, rows(h));
  }
}
