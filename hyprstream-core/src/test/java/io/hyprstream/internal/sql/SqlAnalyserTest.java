package io.hyprstream.internal.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.QueryRejectedException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each SQL form against the route it must get, as the router decides it: a table whose cache holds
 * the last hour stays on the cache only when the statement provably reads nothing older. The parse
 * trees are DuckDB's own (a real in-memory DuckDB).
 */
final class SqlAnalyserTest {
  private static Connection duckdb;
  private static SqlAnalyser analyser;

  /** The cache holds rows from an hour ago on. */
  private static final Duration HOT = Duration.ofHours(1);

  private static final Instant NOW = Instant.now();
  private static final String RECENT = text(NOW.minus(Duration.ofMinutes(10)));
  private static final String OLD = text(NOW.minus(Duration.ofHours(3)));

  @BeforeAll
  static void open() throws SQLException {
    duckdb = DriverManager.getConnection("jdbc:duckdb:");
    duckdb.createStatement().execute("SET TimeZone = 'UTC'");
    analyser =
        new SqlAnalyser(
            sql -> serialize("SELECT json_serialize_sql(?)", sql),
            sql ->
                serialize(
                    "SELECT json_serialize_plan(?, skip_null := true, skip_empty := true)", sql));
  }

  /** What DuckDB's {@code call} (one of its serialisers) returns for {@code sql}. */
  static String serialize(String call, String sql) {
    try (PreparedStatement ps = duckdb.prepareStatement(call)) {
      ps.setString(1, sql);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getString(1);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  @AfterAll
  static void close() throws SQLException {
    duckdb.close();
  }

  private static String text(Instant t) {
    return LocalDateTime.ofInstant(t.truncatedTo(ChronoUnit.SECONDS), ZoneOffset.UTC)
        .toString()
        .replace('T', ' ');
  }

  /** "cache" when every reading of {@code table}'s timestamp is proven within the hot hour. */
  private static String route(String sql, String table, List<@Nullable Object> params) {
    StatementAnalysis a = analyser.analyse(sql);
    assertTrue(a.isQuery(), () -> sql + ": " + a.error());
    TimeSpan span = a.bounds(table, "timestamp", params, Instant.now());
    if (span == null) {
      return "not read";
    }
    long coverage = TimeValues.micros(Instant.now().minus(HOT));
    return span.fromMicros() >= coverage ? "cache" : "backend";
  }

  static Stream<Arguments> forms() {
    return Stream.of(
        // The defect's forms: none of them may stay on the cache alone.
        form("unbounded count", "SELECT count(*) FROM t", "backend"),
        form(
            "now() lower bound 4 h",
            "SELECT count(*) FROM t WHERE timestamp >= now() - INTERVAL '4 hours'",
            "backend"),
        form(
            "now() upper bound 1 h",
            "SELECT count(*) FROM t WHERE timestamp < now() - INTERVAL '1 hour'",
            "backend"),
        form("? bound, old", "SELECT count(*) FROM t WHERE timestamp >= ?", "backend", ldt(OLD)),
        form(
            "epoch_ms of the column",
            "SELECT count(*) FROM t WHERE epoch_ms(timestamp) >= 0",
            "backend"),
        form(
            "date_trunc of the column",
            "SELECT count(*) FROM t WHERE date_trunc('hour', timestamp) >= '" + RECENT + "'",
            "backend"),
        form(
            "reversed comparison, old",
            "SELECT count(*) FROM t WHERE '" + OLD + "' <= timestamp",
            "backend"),
        form(
            "Z literal, old",
            "SELECT count(*) FROM t WHERE timestamp >= '" + OLD.replace(' ', 'T') + "Z'",
            "backend"),
        form(
            "CAST literal, old",
            "SELECT count(*) FROM t WHERE timestamp >= CAST('" + OLD + "' AS TIMESTAMP)",
            "backend"),
        form(
            "CTE unbounded",
            "WITH r AS (SELECT * FROM t) SELECT count(*) FROM r WHERE timestamp >= '"
                + RECENT
                + "'",
            "backend"),
        form(
            "subquery unbounded",
            "SELECT count(*) FROM (SELECT * FROM t) s WHERE s.timestamp >= '" + RECENT + "'",
            "backend"),
        form("GROUP BY unbounded", "SELECT host, count(*) FROM t GROUP BY host", "backend"),
        form(
            "self-join, one side bounded",
            "SELECT count(*) FROM t a JOIN t b ON a.timestamp = b.timestamp WHERE a.timestamp >= '"
                + RECENT
                + "'",
            "backend"),
        form(
            "OR",
            "SELECT count(*) FROM t WHERE timestamp >= '" + RECENT + "' OR host = 'a'",
            "backend"),
        form("NOT", "SELECT count(*) FROM t WHERE NOT (timestamp < '" + RECENT + "')", "backend"),
        form(
            "column cast",
            "SELECT count(*) FROM t WHERE timestamp::TIMESTAMP >= '" + RECENT + "'",
            "backend"),
        form("IN subquery of t, unbounded", "SELECT 1 WHERE 5 IN (SELECT value FROM t)", "backend"),
        form(
            "month interval (variable length)",
            "SELECT count(*) FROM t WHERE timestamp >= now() - INTERVAL '1 month'",
            "backend"),
        form("unknown ? value", "SELECT count(*) FROM t WHERE timestamp >= ?", "backend", 42L),
        // Bounded inside the hot hour: they stay on DuckDB.
        form(
            "literal lower bound",
            "SELECT count(*) FROM t WHERE timestamp >= '" + RECENT + "'",
            "cache"),
        form(
            "TIMESTAMP literal",
            "SELECT count(*) FROM t WHERE timestamp > TIMESTAMP '" + RECENT + "'",
            "cache"),
        form(
            "::TIMESTAMP literal",
            "SELECT count(*) FROM t WHERE timestamp > '" + RECENT + "'::TIMESTAMP",
            "cache"),
        form(
            "Z literal",
            "SELECT count(*) FROM t WHERE timestamp >= '" + RECENT.replace(' ', 'T') + "Z'",
            "cache"),
        form("reversed", "SELECT count(*) FROM t WHERE '" + RECENT + "' < timestamp", "cache"),
        form(
            "BETWEEN",
            "SELECT count(*) FROM t WHERE timestamp BETWEEN '" + RECENT + "' AND now()",
            "cache"),
        form(
            "now() - 10 minutes",
            "SELECT count(*) FROM t WHERE timestamp >= now() - INTERVAL '10 minutes'",
            "cache"),
        form(
            "now() - INTERVAL 10 MINUTE",
            "SELECT count(*) FROM t WHERE timestamp >= now() - INTERVAL 10 MINUTE",
            "cache"),
        form(
            "current_timestamp",
            "SELECT count(*) FROM t WHERE timestamp >= current_timestamp - INTERVAL '10 minutes'",
            "cache"),
        form(
            "? bound, recent", "SELECT count(*) FROM t WHERE timestamp >= ?", "cache", ldt(RECENT)),
        form(
            "? bound as Instant",
            "SELECT count(*) FROM t WHERE timestamp >= ? AND host = ?",
            "cache",
            NOW.minusSeconds(60),
            "a"),
        form("$1 bound", "SELECT count(*) FROM t WHERE timestamp >= $1", "cache", ldt(RECENT)),
        form(
            "AND with other filters",
            "SELECT count(*) FROM t WHERE host = 'a' AND timestamp >= '"
                + RECENT
                + "' AND value > 1",
            "cache"),
        form(
            "CTE bounded",
            "WITH r AS (SELECT * FROM t WHERE timestamp >= '"
                + RECENT
                + "') SELECT count(*) FROM r",
            "cache"),
        form(
            "subquery bounded",
            "SELECT count(*) FROM (SELECT * FROM t WHERE timestamp >= '" + RECENT + "') s",
            "cache"),
        form(
            "GROUP BY bounded",
            "SELECT host, count(*) FROM t WHERE timestamp >= '" + RECENT + "' GROUP BY host",
            "cache"),
        form(
            "self-join, both bounded",
            "SELECT count(*) FROM t a JOIN t b ON a.timestamp = b.timestamp WHERE a.timestamp >= '"
                + RECENT
                + "' AND b.timestamp >= '"
                + RECENT
                + "'",
            "cache"),
        form(
            "quoted names",
            "SELECT count(*) FROM \"t\" WHERE \"timestamp\" >= '" + RECENT + "'",
            "cache"),
        form(
            "schema-qualified",
            "SELECT count(*) FROM main.t WHERE main.t.timestamp >= '" + RECENT + "'",
            "cache"),
        form(
            "time_bucket over a bounded range",
            "SELECT time_bucket(INTERVAL 1 HOUR, timestamp) b, count(*) FROM t WHERE timestamp >= '"
                + RECENT
                + "' GROUP BY b",
            "cache"),
        // A CTE named like the table hides it.
        form("CTE shadows the table", "WITH t AS (SELECT 1 AS x) SELECT * FROM t", "not read"),
        form(
            "CTE shadowing, table read inside",
            "WITH t AS (SELECT * FROM t) SELECT count(*) FROM t",
            "backend"));
  }

  private static LocalDateTime ldt(String text) {
    return LocalDateTime.parse(text.replace(' ', 'T'));
  }

  private static Arguments form(
      String name, String sql, String expected, @Nullable Object... params) {
    return Arguments.of(name, sql, expected, new ArrayList<>(Arrays.asList(params)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("forms")
  void route_eachForm(String name, String sql, String expected, List<@Nullable Object> params) {
    assertEquals(expected, route(sql, "t", params), sql);
  }

  @Test
  void tables_resolveCtesSubqueriesJoinsAndQualifiers() {
    StatementAnalysis a =
        analyser.analyse(
            "WITH c AS (SELECT * FROM main.\"My T\") SELECT * FROM c JOIN (SELECT * FROM"
                + " memory.main.u) s ON true, v WHERE 1 IN (SELECT 1 FROM w)");
    assertEquals(
        List.of(
            new TableRef("", "main", "My T"),
            new TableRef("memory", "main", "u"),
            new TableRef("", "", "v"),
            new TableRef("", "", "w")),
        a.tables());
    assertTrue(a.referencesTo("u").get(0).catalogQualified());
    assertFalse(a.referencesTo("v").get(0).catalogQualified());
  }

  /**
   * A row filter's answer over a split of the rows is the union of its answers over the parts: only
   * plain columns of one relation, filtered row by row, are one.
   */
  @Test
  void rowFilter_onlyColumnsOfOneRelationFilteredRowByRow() {
    for (String yes :
        List.of(
            "SELECT * FROM metrics_1h",
            "SELECT * EXCLUDE (value_sum) FROM metrics_1h AS h WHERE window_start >= ?",
            "SELECT metric_id AS id, value_sum FROM metrics_1h WHERE metric_id IN ('a', 'b')"
                + " AND value_sum * 2 > 1 AND lower(metric_id) LIKE 'c%'")) {
      assertTrue(analyser.analyse(yes).isRowFilter(), yes);
    }
    for (String no :
        List.of(
            "SELECT count(*) FROM metrics_1h",
            "SELECT metric_id FROM metrics_1h GROUP BY metric_id",
            "SELECT DISTINCT metric_id FROM metrics_1h",
            "SELECT * FROM metrics_1h ORDER BY window_start",
            "SELECT * FROM metrics_1h LIMIT 5",
            "SELECT value_sum * 2 FROM metrics_1h",
            "SELECT sum(value_sum) OVER () FROM metrics_1h",
            "SELECT * FROM metrics_1h WHERE value_sum > (SELECT avg(value_sum) FROM metrics_1h)",
            "SELECT * FROM metrics_1h WHERE metric_id IN (SELECT metric_id FROM metrics_5m)",
            "SELECT * FROM metrics_1h a, metrics_5m b",
            "SELECT * REPLACE (value_sum * 2 AS value_sum) FROM metrics_1h",
            "WITH c AS (SELECT * FROM metrics_1h) SELECT * FROM c",
            "SELECT * FROM metrics_1h UNION ALL SELECT * FROM metrics_1h",
            "SELECT * FROM metrics_1h USING SAMPLE 10")) {
      assertFalse(analyser.analyse(no).isRowFilter(), no);
    }
  }

  @Test
  void nonSelect_isNotAQuery_withDuckDbsBindingError() {
    StatementAnalysis insert = analyser.analyse("INSERT INTO no_such_table VALUES (1)");
    assertEquals(StatementAnalysis.Kind.NOT_A_QUERY, insert.kind());
    assertEquals("no_such_table", insert.missingTable());
    assertTrue(String.valueOf(insert.error()).contains("no_such_table"), insert.error());
    StatementAnalysis typo = analyser.analyse("SELEC 1");
    assertEquals(StatementAnalysis.Kind.INVALID, typo.kind());
    assertTrue(String.valueOf(typo.error()).contains("syntax error"), typo.error());
  }

  /**
   * DuckDB binds a query only to find tables it reads through SQL views; a query naming only tables
   * that cannot be views (unqualified or in {@code main}) skips that, and anything else is still
   * bound: a view over such a table is found.
   */
  @Test
  void planTree_isAskedOnlyWhenANamedTableMayBeAView() throws SQLException {
    try (var st = duckdb.createStatement()) {
      st.execute("CREATE TABLE nv_metrics (metric_id VARCHAR, timestamp TIMESTAMP)");
      st.execute("CREATE VIEW nv_view AS SELECT * FROM nv_metrics");
    }
    java.util.concurrent.atomic.AtomicInteger plans =
        new java.util.concurrent.atomic.AtomicInteger();
    SqlAnalyser counting =
        new SqlAnalyser(
            sql -> serialize("SELECT json_serialize_sql(?)", sql),
            sql -> {
              plans.incrementAndGet();
              return serialize(
                  "SELECT json_serialize_plan(?, skip_null := true, skip_empty := true)", sql);
            },
            name -> name.equalsIgnoreCase("nv_metrics"));

    counting.analyse("SELECT * FROM nv_metrics WHERE metric_id = 'a'");
    counting.analyse("SELECT * FROM main.NV_METRICS m JOIN nv_metrics n USING (metric_id)");
    assertEquals(0, plans.get());

    StatementAnalysis throughView = counting.analyse("SELECT * FROM nv_view");
    assertEquals(1, plans.get());
    assertTrue(
        throughView.tables().stream().anyMatch(t -> t.names("nv_metrics")),
        throughView.tables().toString());
    counting.analyse("SELECT * FROM nv_metrics JOIN nv_view USING (metric_id)");
    counting.analyse("SELECT * FROM memory.main.nv_metrics");
    counting.analyse("SELECT * FROM other.nv_metrics");
    assertEquals(4, plans.get());
  }

  @Test
  void analysis_isKeptPerText() {
    String sql = "SELECT count(*) FROM t WHERE timestamp >= ?";
    StatementAnalysis first = analyser.analyse(sql);
    assertTrue(first == analyser.analyse(sql));
  }

  @Test
  void deepNesting_isRefusedBeforeDuckDbCrashes() {
    String nested = "SELECT * FROM " + "(SELECT * FROM ".repeat(1000) + "t" + ")".repeat(1000);
    QueryRejectedException e =
        assertThrows(QueryRejectedException.class, () -> analyser.analyse(nested));
    assertTrue(e.getMessage().contains("at most " + SqlAnalyser.MAX_NESTING), e.getMessage());
    // Parentheses hidden from the text scan by a backslash-escaped quote are caught in the tree.
    String hidden =
        "SELECT E'\\'' AS a FROM "
            + "(SELECT * FROM ".repeat(300)
            + "t"
            + ")".repeat(300)
            + " WHERE 'x' = 'x'";
    assertTrue(SqlTokens.nesting(hidden) < SqlAnalyser.MAX_NESTING);
    QueryRejectedException h =
        assertThrows(QueryRejectedException.class, () -> analyser.analyse(hidden));
    assertTrue(h.getMessage().contains("subqueries"), h.getMessage());
    String many = "SELECT " + "(1)+".repeat(SqlAnalyser.MAX_PARENTHESES + 1) + "1";
    assertThrows(QueryRejectedException.class, () -> analyser.analyse(many));
    // Within the limit, DuckDB parses it.
    String fine = "SELECT * FROM " + "(SELECT * FROM ".repeat(150) + "t" + ")".repeat(150);
    assertEquals(List.of(new TableRef("", "", "t")), analyser.analyse(fine).tables());
  }
}
