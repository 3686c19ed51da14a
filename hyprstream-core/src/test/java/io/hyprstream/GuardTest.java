package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.Freshness;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.TableNotFoundException;
import io.hyprstream.testing.TestAllocator;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The statement guard decides from DuckDB's own analysis of a statement, the same way for {@link
 * Hyprstream#execute} and {@link Hyprstream#query}: each attack of issue 13 is refused with a
 * reason, and afterwards metrics, its windows and the built-in functions answer as before.
 */
final class GuardTest {
  private static final Instant NOW = Instant.parse("2026-02-02T10:00:00Z");

  @RegisterExtension final TestAllocator allocator = new TestAllocator();
  private Hyprstream hs;
  private Map<String, List<List<@Nullable Object>>> before;

  @BeforeEach
  void setUp() throws Exception {
    hs =
        Hyprstream.builder()
            .allocator(allocator)
            .clock(InstantSource.fixed(NOW))
            .expiryInterval(Duration.ZERO)
            .build();
    List<TestData.Row> rows = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      rows.add(
          new TestData.Row(
              i % 2 == 0 ? "cpu" : "mem", TestData.micros(NOW.minusSeconds(60L * i)), 1.0 + i, i));
    }
    try (VectorSchemaRoot batch = TestData.metrics(allocator, rows)) {
      hs.ingest("metrics", batch);
    }
    before = state();
  }

  @AfterEach
  void tearDown() {
    hs.close();
  }

  /** Every row of metrics and of each window view, and what two built-ins answer. */
  private Map<String, List<List<@Nullable Object>>> state() throws Exception {
    Map<String, List<List<@Nullable Object>>> out = new LinkedHashMap<>();
    for (Hyprstream.TableInfo t : hs.tables()) {
      if (t.name().startsWith("metrics")) {
        out.put(t.name(), TestData.rows(hs.query("SELECT * FROM " + t.name() + " ORDER BY ALL")));
      }
    }
    out.put("builtins", TestData.rows(hs.query("SELECT abs(-3), now() > TIMESTAMP '2020-01-01'")));
    return out;
  }

  /** Refused by execute and by query alike, with nothing changed. */
  private String assertRefused(String sql) throws Exception {
    HyprstreamException viaExecute =
        assertThrows(HyprstreamException.class, () -> hs.execute(sql, List.of()), sql);
    assertThrows(HyprstreamException.class, () -> hs.query(sql).close(), sql);
    assertEquals(before, state(), "after " + sql);
    return viaExecute.getMessage();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "UPDATE \"main\".metrics SET value = 0",
        "UPDATE memory.main.metrics SET value = 0",
        "DROP TABLE \"memory\".\"main\".\"metrics\"",
        "/* comment */ DROP TABLE \"memory\".\"main\".\"metrics\"",
        "-- comment\n DELETE FROM \"METRICS\"",
        "/* c */ UPDATE \"main\".metrics SET value = 0",
        "TRUNCATE metrics",
        "DELETE FROM metrics_5m",
        "DROP VIEW metrics_5m",
        "CREATE OR REPLACE VIEW metrics_5m AS SELECT 1 AS x",
        "CREATE OR REPLACE TABLE metrics AS SELECT 1 AS x",
        "ALTER TABLE metrics RENAME TO m2",
        "ALTER TABLE metrics ADD COLUMN x INTEGER",
        "CREATE INDEX i ON metrics(value)",
        "DROP SCHEMA main CASCADE",
        "MERGE INTO metrics USING (SELECT 'cpu' AS id) s ON s.id = metrics.metric_id"
            + " WHEN MATCHED THEN DELETE",
        "SELECT 1; DROP TABLE metrics",
        "CREATE TEMP TABLE metrics (x INTEGER)"
      })
  void writesToMetricsAndItsWindows_areRefused(String sql) throws Exception {
    assertRefused(sql);
  }

  @Test
  void macrosAndFunctions_areRefused_andBuiltInsKeepTheirMeaning() throws Exception {
    for (String sql :
        List.of(
            "CREATE MACRO abs(x) AS 42",
            "CREATE OR REPLACE MACRO now() AS TIMESTAMP '2000-01-01'",
            "CREATE FUNCTION f(x) AS x + 1",
            "CREATE OR REPLACE FUNCTION abs(x) AS 42",
            "CREATE MACRO t() AS TABLE SELECT 1",
            "CREATE TEMP MACRO abs(x) AS 42",
            "CREATE TYPE mood AS ENUM ('happy')")) {
      String message = assertRefused(sql);
      assertTrue(message.contains("CREATE MACRO"), message);
    }
  }

  @Test
  void settingsAndTransactions_areRefused() throws Exception {
    for (String sql :
        List.of(
            "SET search_path = 'information_schema'",
            "SET VARIABLE x = 1",
            "RESET threads",
            "PRAGMA threads = 1",
            "USE memory",
            "SET GLOBAL threads = 1")) {
      String message = assertRefused(sql);
      assertTrue(message.contains("SET, RESET"), message);
    }
    assertTrue(assertRefused("BEGIN TRANSACTION").contains("BEGIN"));
    assertRefused("PRAGMA table_info('metrics')");
    assertRefused("ATTACH ':memory:' AS other");
  }

  @Test
  void systemTablesAndCatalogs_areReadOnly() throws Exception {
    for (String sql :
        List.of(
            "INSERT INTO hyprstream_cache_stats SELECT * FROM hyprstream_cache_stats",
            "DELETE FROM hyprstream_cache_stats",
            "CREATE TABLE hyprstream_backend_status (x INTEGER)",
            "CREATE VIEW duckdb_tables AS SELECT 1 AS x",
            "CREATE TABLE pg_class (x INTEGER)",
            "CREATE SCHEMA information_schema",
            "CREATE TABLE information_schema.x (a INTEGER)",
            "UPDATE duckdb_tables SET x = 1",
            "DROP VIEW information_schema.tables",
            "DROP TABLE system.main.duckdb_tables")) {
      assertRefused(sql);
    }
    assertEquals(
        List.of(List.of(0L)),
        TestData.rows(hs.query("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'x'")));
  }

  @Test
  void clientsOwnTables_takeEveryStatement() throws Exception {
    assertEquals(0, hs.execute("CREATE TABLE notes (id INTEGER, body VARCHAR)", List.of()));
    assertEquals(2, hs.execute("INSERT INTO \"main\".notes VALUES (?, 'a'), (2, 'b')", List.of(1)));
    assertEquals(1, hs.execute("/* c */ UPDATE notes SET body = ? WHERE id = 2", List.of("z")));
    hs.execute("ALTER TABLE notes ADD COLUMN extra INTEGER", List.of());
    hs.execute("CREATE VIEW notes_view AS SELECT id FROM notes", List.of());
    hs.execute("CREATE SCHEMA mine", List.of());
    hs.execute("CREATE TABLE mine.metrics AS SELECT 1 AS x", List.of());
    assertEquals(
        List.of(java.util.Arrays.asList(1, "a", null), java.util.Arrays.asList(2, "z", null)),
        TestData.rows(hs.query("SELECT * FROM notes ORDER BY id")));
    assertEquals(1, hs.execute("DELETE FROM notes WHERE id = 1", List.of()));
    hs.execute("DROP VIEW notes_view", List.of());
    hs.execute("DROP TABLE notes", List.of());
    hs.execute("DROP TABLE mine.metrics", List.of());
    hs.execute("DROP SCHEMA mine", List.of());
    assertEquals(before, state());
  }

  @Test
  void missingTable_isNamed() {
    TableNotFoundException e =
        assertThrows(
            TableNotFoundException.class,
            () -> hs.execute("UPDATE no_such_table SET x = 1", List.of()));
    assertTrue(e.getMessage().contains("no_such_table"), e.getMessage());
  }

  @Test
  void longLiteralsAndWhitespace_areAnsweredFromTheParseTree() throws Exception {
    // A regular expression over the text took seconds to minutes on each of these.
    String literal = "a".repeat(20_000);
    assertEquals(
        List.of(List.of(literal)), TestData.rows(hs.query("SELECT '" + literal + "' AS s")));
    String spaces = " ".repeat(20_000);
    assertEquals(
        List.of(),
        TestData.rows(
            hs.query("SELECT * FROM metrics_5m WHERE metric_id = '" + literal + "'" + spaces)));
    assertThrows(
        QueryRejectedException.class,
        () -> hs.query("SELECT * FROM metrics_5m WHERE metric_id = 1" + spaces + "x").close());
    assertThrows(
        HyprstreamException.class,
        () -> hs.execute("UPDATE " + literal + spaces + " SET x = 1", List.of()));
  }

  @Test
  void windowLookup_isStillAnsweredByTheAggregator() throws Exception {
    String sql =
        "SELECT window_start, value_count FROM metrics_5m WHERE metric_id = ?"
            + " AND window_start >= TIMESTAMP '2026-02-02 09:00:00'"
            + " ORDER BY window_start DESC LIMIT ?";
    try (QueryResult r = hs.query(sql, List.of("cpu", 2L), allocator)) {
      assertEquals(Freshness.Source.AGGREGATOR, r.freshness().source());
      List<List<@Nullable Object>> viaAggregator = TestData.rows(r);
      List<List<@Nullable Object>> viaDuckDb =
          TestData.rows(
              hs.query(
                  "SELECT window_start, value_count FROM metrics_5m WHERE metric_id = 'cpu'"
                      + " AND window_start >= TIMESTAMP '2026-02-02 09:00:00'"
                      + " ORDER BY window_start DESC, value_count LIMIT 2"));
      assertEquals(viaDuckDb, viaAggregator);
      assertEquals(2, viaAggregator.size());
    }
  }

  /**
   * The names of tables with window aggregates and of window views are Hyprstream's, whether their
   * DuckDB tables exist yet or not: a SQL view cannot take one, by CREATE VIEW or by renaming,
   * since the SQL analyser takes those names for tables no view hides.
   */
  @Test
  void sqlView_cannotTakeTheNameOfAWindowTableOrView() throws Exception {
    try (Hyprstream fresh = Hyprstream.builder().allocator(allocator).build()) {
      for (String sql :
          List.of(
              "CREATE VIEW metrics AS SELECT 1 AS x",
              "CREATE VIEW main.metrics_5m AS SELECT 1 AS x",
              "CREATE VIEW IF NOT EXISTS \"Metrics_1H\" AS SELECT 1 AS x")) {
        HyprstreamException e =
            assertThrows(HyprstreamException.class, () -> fresh.execute(sql, List.of()), sql);
        assertTrue(e.getMessage().contains("a SQL view cannot take its name"), e.getMessage());
      }
      fresh.execute("CREATE VIEW mine AS SELECT 1 AS x", List.of());
      HyprstreamException renamed =
          assertThrows(
              HyprstreamException.class,
              () -> fresh.execute("ALTER VIEW mine RENAME TO metrics", List.of()));
      assertTrue(
          renamed.getMessage().contains("a table with window aggregates"), renamed.getMessage());
      assertEquals(
          List.of(List.of("mine")),
          TestData.rows(
              fresh.query(
                  "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY view_name")));
    }
  }
}
