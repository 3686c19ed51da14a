package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.testing.TestAllocator;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link Hyprstream#describe}: what front ends learn of a statement from the engine's one SQL
 * analyser (kind, read-only, tables, parameters, plain parameterised INSERT), on a real engine.
 */
final class DescribeTest {
  private static final Instant NOW = Instant.parse("2026-09-01T12:00:00Z");
  @RegisterExtension final TestAllocator allocator = new TestAllocator();
  private Hyprstream hs;

  @BeforeEach
  void open() {
    hs =
        Hyprstream.builder()
            .allocator(allocator)
            .clock(InstantSource.fixed(NOW))
            .expiryInterval(Duration.ZERO)
            .build();
    try (VectorSchemaRoot b =
        TestData.metrics(allocator, List.of(new TestData.Row("a", TestData.micros(NOW), 1.0, 1)))) {
      hs.ingest("metrics", b);
    }
  }

  @AfterEach
  void close() {
    hs.close();
  }

  private static List<String> columns(StatementInfo s) {
    return s.parameters().stream().map(p -> String.valueOf(p.column())).toList();
  }

  /**
   * A window lookup's schema comes from the aggregator that answers it (no DuckDB probe): the same
   * as its rows' schema, and as what DuckDB gives for the view's table, for every column and for a
   * projection.
   */
  @Test
  void windowLookupSchema_isTheSchemaItsRowsAndDuckDbHave() throws Exception {
    for (String columns : List.of("*", "window_start, value_count, metric_id")) {
      String lookup =
          "SELECT "
              + columns
              + " FROM metrics_1h WHERE metric_id = ? AND window_start >= TIMESTAMP '2026-09-01'"
              + " ORDER BY window_start DESC LIMIT 24";
      org.apache.arrow.vector.types.pojo.Schema declared = hs.querySchema(lookup);
      try (org.apache.arrow.vector.ipc.ArrowReader rows = hs.query(lookup, List.of("a"))) {
        assertTrue(rows.loadNextBatch());
        assertEquals(1, rows.getVectorSchemaRoot().getRowCount());
        assertEquals(declared, rows.getVectorSchemaRoot().getSchema(), columns);
      }
      // Not a lookup shape (OR), so DuckDB binds it against the view's table.
      String viaDuckDb = "SELECT " + columns + " FROM metrics_1h WHERE metric_id = ? OR false";
      assertEquals(hs.querySchema(viaDuckDb), declared, columns);
    }
  }

  @Test
  void queries_areReadOnly_withTheColumnEachParameterMeets() {
    StatementInfo s =
        hs.describe(
            "/* c */ WITH r AS (SELECT * FROM \"metrics\") SELECT * FROM r WHERE timestamp"
                + " BETWEEN ? AND ? AND metric_id IN (?, ?) AND ? < value AND metric_id LIKE ?"
                + " LIMIT ?");
    assertTrue(s.query());
    assertTrue(s.readOnly());
    assertEquals(List.of("metrics"), s.tables());
    assertEquals(
        List.of("timestamp", "timestamp", "metric_id", "metric_id", "value", "metric_id", "null"),
        columns(s));
    assertTrue(s.parameters().get(6).integer());
    assertNull(s.insert());
    assertTrue(hs.describe("SHOW TABLES").query());
    assertTrue(hs.describe("VALUES (1), (2)").readOnly());
  }

  @Test
  void statementsThatChange_areNotQueries_andTakeTheirBoundParameterTypes() {
    StatementInfo update = hs.describe("UPDATE metrics SET value = ? WHERE timestamp < ?");
    assertFalse(update.query());
    assertFalse(update.readOnly());
    assertEquals("DOUBLE", update.parameters().get(0).boundType());
    assertEquals("TIMESTAMP", update.parameters().get(1).boundType());
    assertFalse(hs.describe("SELECT 1; DROP TABLE metrics").readOnly());
    assertFalse(hs.describe("CREATE TABLE x (a INT)").query());
    assertFalse(hs.describe("EXPLAIN ANALYZE DELETE FROM metrics").readOnly());
    assertFalse(hs.describe("EXPLAIN SELECT * FROM metrics").query()); // refused: not checkable
    StatementInfo invalid = hs.describe("SELEC 1");
    assertFalse(invalid.query());
    assertNotNull(invalid.error());
  }

  @Test
  void onlyAOneRowValuesListOfParameters_isAPlainInsert() {
    StatementInfo.PlainInsert plain =
        hs.describe("insert into \"metrics\" (\"value\", metric_id) values (?, ?);").insert();
    assertEquals(new StatementInfo.PlainInsert("metrics", List.of("value", "metric_id"), 2), plain);
    assertEquals(
        new StatementInfo.PlainInsert("metrics", null, 3),
        hs.describe("INSERT INTO main.metrics VALUES (?, ?, ?)").insert());
    for (String other :
        List.of(
            "INSERT INTO metrics VALUES (?, 'x', ?)",
            "INSERT INTO metrics VALUES (?), (?)",
            "INSERT INTO metrics SELECT ?",
            "INSERT INTO metrics (value) VALUES (?, ?)",
            "INSERT INTO metrics VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            "INSERT INTO metrics VALUES (?, ?, ?) RETURNING *",
            "INSERT INTO metrics VALUES ($1, $1, $2)")) {
      assertNull(hs.describe(other).insert(), other);
    }
  }
}
