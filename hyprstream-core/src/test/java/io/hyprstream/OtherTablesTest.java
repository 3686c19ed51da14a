package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.TableNotFoundException;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.testing.TestAllocator;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.TimeStampMilliVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Tables other than metrics: created from Arrow, appended, aggregated when declared, sandboxed. */
final class OtherTablesTest {
  private static final Instant NOW = Instant.parse("2026-02-02T10:00:00Z");

  @RegisterExtension final TestAllocator allocator = new TestAllocator();
  private Hyprstream hs;

  @BeforeEach
  void setUp() {
    hs =
        Hyprstream.builder()
            .allocator(allocator)
            .clock(InstantSource.fixed(NOW))
            .expiryInterval(Duration.ZERO)
            .aggregate(
                AggregationSpec.builder("trades")
                    .timeColumn("ts")
                    .keyColumns("symbol", "venue")
                    .valueColumns("price", "qty")
                    .windows(List.of(WindowSpec.parse("1m"), WindowSpec.parse("1h")))
                    .build())
            .build();
  }

  @AfterEach
  void tearDown() {
    hs.close();
  }

  @Test
  void embeddings_areStoredAsArraysAndSearchableByCosineDistance() throws Exception {
    Field item =
        new Field(
            "item",
            FieldType.nullable(new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)),
            null);
    Schema schema =
        new Schema(
            List.of(
                Field.nullable("doc", new ArrowType.Utf8()),
                new Field(
                    "embedding",
                    FieldType.nullable(new ArrowType.FixedSizeList(3)),
                    List.of(item))));
    float[][] vectors = {{1, 0, 0}, {0, 1, 0}, {0.9f, 0.1f, 0}};
    try (VectorSchemaRoot b = VectorSchemaRoot.create(schema, allocator)) {
      b.allocateNew();
      VarCharVector doc = (VarCharVector) b.getVector(0);
      FixedSizeListVector emb = (FixedSizeListVector) b.getVector(1);
      Float4Vector data = (Float4Vector) emb.getDataVector();
      for (int i = 0; i < vectors.length; i++) {
        doc.setSafe(i, ("doc" + i).getBytes(StandardCharsets.UTF_8));
        emb.setNotNull(i);
        for (int j = 0; j < 3; j++) {
          data.setSafe(i * 3 + j, vectors[i][j]);
        }
      }
      data.setValueCount(9);
      b.setRowCount(3);
      assertEquals(3, hs.ingest("docs", b).rowsAccepted());
      hs.ingest("docs", b); // appends
    }
    List<List<@Nullable Object>> nearest =
        TestData.rows(
            hs.query(
                "SELECT DISTINCT doc, array_cosine_distance(embedding, [1, 0, 0]::FLOAT[3]) AS d"
                    + " FROM docs ORDER BY d LIMIT 2"));
    assertEquals("doc0", nearest.get(0).get(0));
    assertEquals("doc2", nearest.get(1).get(0));
    assertEquals(6L, TestData.scalar(hs.query("SELECT count(*) FROM docs")));
  }

  @Test
  void declaredAggregation_compositeKeysAndTwoValues_matchGroupBy() throws Exception {
    Schema schema =
        new Schema(
            List.of(
                Field.nullable("ts", new ArrowType.Timestamp(TimeUnit.MILLISECOND, null)),
                Field.nullable("symbol", new ArrowType.Utf8()),
                Field.nullable("venue", new ArrowType.Int(32, true)),
                Field.nullable("price", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
                Field.nullable("qty", new ArrowType.Int(64, true))));
    long base = NOW.toEpochMilli() - 3_600_000;
    java.util.Random random = new java.util.Random(5);
    try (VectorSchemaRoot b = VectorSchemaRoot.create(schema, allocator)) {
      b.allocateNew();
      for (int i = 0; i < 2000; i++) {
        ((TimeStampMilliVector) b.getVector(0)).setSafe(i, base + random.nextInt(3_600_000));
        ((VarCharVector) b.getVector(1))
            .setSafe(i, (random.nextBoolean() ? "AAPL" : "MSFT").getBytes(StandardCharsets.UTF_8));
        ((IntVector) b.getVector(2)).setSafe(i, random.nextInt(3));
        ((Float8Vector) b.getVector(3)).setSafe(i, 100 + random.nextInt(1000) / 10.0);
        ((BigIntVector) b.getVector(4)).setSafe(i, random.nextInt(100));
      }
      b.setRowCount(2000);
      hs.ingest("trades", b);
    }
    for (String w : List.of("1m", "1h")) {
      String size = w.equals("1m") ? "60" : "3600";
      List<List<@Nullable Object>> expected =
          TestData.rows(
              hs.query(
                  "SELECT symbol, venue, time_bucket(INTERVAL '"
                      + size
                      + " seconds', ts) AS ws,"
                      + " count(price), sum(price), max(qty), avg(qty) FROM trades"
                      + " GROUP BY symbol, venue, ws ORDER BY 1, 2, 3"));
      List<List<@Nullable Object>> actual =
          TestData.rows(
              hs.query(
                  "SELECT symbol, venue, window_start, price_count, price_sum, qty_max, qty_avg"
                      + " FROM trades_"
                      + w
                      + " ORDER BY 1, 2, 3"));
      assertEquals(expected.size(), actual.size(), "windows of trades_" + w);
      for (int i = 0; i < expected.size(); i++) {
        List<@Nullable Object> e = expected.get(i);
        List<@Nullable Object> a = actual.get(i);
        assertEquals(e.subList(0, 4), a.subList(0, 4), "trades_" + w + " row " + i);
        WindowOracle.assertDoubleClose(e.get(4), a.get(4), 1e-9, "price_sum");
        WindowOracle.assertDoubleClose(
            ((Number) e.get(5)).doubleValue(), a.get(5), 1e-9, "qty_max");
        WindowOracle.assertDoubleClose(e.get(6), a.get(6), 1e-9, "qty_avg");
      }
    }
    assertTrue(
        hs.tables().stream()
            .anyMatch(
                t ->
                    t.name().equals("trades_1h")
                        && t.kind() == Hyprstream.TableInfo.Kind.WINDOW_VIEW));
  }

  @Test
  void sql_cannotTouchFilesNetworkOrExtensions() {
    for (String sql :
        List.of(
            "SELECT * FROM read_csv('/etc/passwd')",
            "SELECT * FROM read_text('/etc/passwd')",
            "COPY (SELECT 1) TO '/tmp/hyprstream-escape.csv'",
            "ATTACH '/tmp/hyprstream-escape.duckdb' AS escape",
            "ATTACH ':memory:' AS other",
            "DETACH memory",
            "USE memory",
            "INSTALL httpfs",
            "LOAD httpfs",
            "SELECT * FROM read_parquet('https://example.com/x.parquet')",
            "SET enable_external_access = true",
            "SET lock_configuration = false")) {
      assertThrows(QueryRejectedException.class, () -> hs.execute(sql, List.of()), sql);
    }
    assertTrue(!java.nio.file.Files.exists(java.nio.file.Path.of("/tmp/hyprstream-escape.csv")));
  }

  @Test
  void sql_onViewsAndManagedTables_isRefusedWithAReason() {
    QueryRejectedException e =
        assertThrows(
            QueryRejectedException.class, () -> hs.execute("DELETE FROM metrics_5m", List.of()));
    assertTrue(e.getMessage().contains("window view"), e.getMessage());
    assertThrows(QueryRejectedException.class, () -> hs.execute("DROP TABLE metrics", List.of()));
    // INSERT runs as an ingest (SqlInsertTest); changing ingested rows stays refused.
    QueryRejectedException update =
        assertThrows(
            QueryRejectedException.class,
            () -> hs.execute("UPDATE metrics SET value = 1", List.of()));
    assertTrue(update.getMessage().contains("window aggregates"), update.getMessage());
    assertThrows(
        TableNotFoundException.class, () -> hs.query("SELECT * FROM no_such_table").close());
    assertThrows(QueryRejectedException.class, () -> hs.query("SELEC 1").close());
  }

  @Test
  void sql_writesOnPlainTables_returnRowCounts() throws Exception {
    assertEquals(0, hs.execute("CREATE TABLE notes (id INTEGER, body VARCHAR)", List.of()));
    assertEquals(2, hs.execute("INSERT INTO notes VALUES (?, ?), (2, 'b')", List.of(1, "a")));
    assertEquals(1, hs.execute("UPDATE notes SET body = 'z' WHERE id = 2", List.of()));
    assertEquals(
        List.of(List.of(1, "a"), List.of(2, "z")),
        TestData.rows(hs.query("SELECT * FROM notes ORDER BY id")));
  }
}
