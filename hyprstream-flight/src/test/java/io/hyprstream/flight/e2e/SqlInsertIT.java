package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SQL INSERT through the jar, over the Flight SQL JDBC driver, with PostgreSQL as the backend:
 * every form (VALUES with and without a column list, INSERT ... SELECT from another table, with a
 * CTE inside or before it, a prepared statement without parameters) adds exactly its rows, the
 * window views equal DuckDB's {@code time_bucket} over those rows, and PostgreSQL holds each row
 * once. Bad rows are refused naming the column, and nothing of them is stored anywhere.
 */
final class SqlInsertIT {
  private static final Duration WRITE_THROUGH_WAIT = Duration.ofSeconds(60);
  private static final String RAW_ROWS =
      "SELECT metric_id, epoch_ms(timestamp), value FROM metrics ORDER BY 1, 2, 3";

  @TempDir Path dir;

  private ServerProcess start(PostgresDatabase pg) {
    return ServerProcess.start(
        "--engine", "adbc", "--engine-connection", pg.jdbcUrl(), "--data-dir", dir + "/data");
  }

  /** {@code (id, epoch_ms(ms), value)} tuples, in the order of {@code columns}. */
  private static String values(List<MetricRows.Row> rows, String... columns) {
    StringBuilder sql = new StringBuilder("VALUES ");
    for (int i = 0; i < rows.size(); i++) {
      MetricRows.Row r = rows.get(i);
      sql.append(i == 0 ? "(" : ", (");
      for (int c = 0; c < columns.length; c++) {
        sql.append(c == 0 ? "" : ", ");
        switch (columns[c]) {
          case "metric_id" -> sql.append('\'').append(r.metricId()).append('\'');
          case "timestamp" -> sql.append("epoch_ms(").append(r.epochMillis()).append(')');
          default -> sql.append(r.value());
        }
      }
      sql.append(')');
    }
    return sql.toString();
  }

  /** A table made by SQL holding {@code rows} as (id, ms, v), for INSERT ... SELECT to read. */
  private static void stage(Statement st, String table, List<MetricRows.Row> rows)
      throws SQLException {
    st.executeUpdate("CREATE TABLE " + table + " (id VARCHAR, ms BIGINT, v DOUBLE)");
    StringBuilder sql = new StringBuilder("INSERT INTO " + table + " VALUES ");
    for (int i = 0; i < rows.size(); i++) {
      MetricRows.Row r = rows.get(i);
      sql.append(i == 0 ? "" : ", ")
          .append("('")
          .append(r.metricId())
          .append("', ")
          .append(r.epochMillis())
          .append(", ")
          .append(r.value())
          .append(')');
    }
    assertEquals(rows.size(), st.executeUpdate(sql.toString()), "rows staged in " + table);
  }

  @Test
  void insert_everyForm_windowsMatchTheOracleAndPostgresHoldsEachRowOnce() throws Exception {
    List<MetricRows.Row> rows = MetricRows.generate(1_500, 21, Instant.now());
    try (PostgresDatabase pg = PostgresDatabase.create();
        ServerProcess server = start(pg)) {
      try (Connection flight = FlightJdbc.connect(server.jdbcUrl());
          Statement st = flight.createStatement()) {
        // VALUES without a column list: metrics' first three columns, in order.
        for (int from = 0; from < 300; from += 100) {
          List<MetricRows.Row> part = rows.subList(from, from + 100);
          assertEquals(
              100,
              st.executeUpdate(
                  "INSERT INTO metrics " + values(part, "metric_id", "timestamp", "value")));
        }
        // A column list in another order, a quoted, schema-qualified name and a comment.
        assertEquals(
            300,
            st.executeUpdate(
                "/* from a SQL shell */ INSERT INTO \"main\".\"metrics\" (value, metric_id,"
                    + " \"timestamp\") "
                    + values(rows.subList(300, 600), "value", "metric_id", "timestamp")));
        // INSERT ... SELECT from another table, the table's column order.
        stage(st, "staging_a", rows.subList(600, 900));
        assertEquals(
            300,
            st.executeUpdate(
                "INSERT INTO metrics SELECT id, epoch_ms(ms), v FROM staging_a ORDER BY ms"));
        // A CTE inside the source, and one before the INSERT.
        stage(st, "staging_b", rows.subList(900, 1_200));
        assertEquals(
            150,
            st.executeUpdate(
                "INSERT INTO metrics (metric_id, timestamp, value) WITH s AS (SELECT * FROM"
                    + " staging_b ORDER BY ms LIMIT 150) SELECT id, epoch_ms(ms), v FROM s"));
        assertEquals(
            150,
            st.executeUpdate(
                "WITH s AS (SELECT * FROM staging_b ORDER BY ms OFFSET 150) INSERT INTO"
                    + " main.metrics (metric_id, timestamp, value) SELECT id, epoch_ms(ms), v"
                    + " FROM s"));
        // A prepared statement without parameters.
        stage(st, "staging_c", rows.subList(1_200, 1_500));
        try (PreparedStatement ps =
            flight.prepareStatement(
                "INSERT INTO metrics (metric_id, timestamp, value) SELECT id, epoch_ms(ms), v"
                    + " FROM staging_c")) {
          assertEquals(300, ps.executeUpdate());
        }
        assertWindowsMatchOracle(flight, rows);
        MetricRows.assertSameRows(
            sorted(rows), MetricRows.rows(st.executeQuery(RAW_ROWS)), "metrics in the cache");
      }
      assertPostgresHoldsExactly(pg, rows);
      assertEquals(0, server.terminate(), server.log());
    }
  }

  @Test
  void insert_badRows_areRefusedNamingTheColumnAndNothingIsStored() throws Exception {
    List<MetricRows.Row> rows = MetricRows.generate(400, 22, Instant.now());
    try (PostgresDatabase pg = PostgresDatabase.create();
        ServerProcess server = start(pg)) {
      try (Connection flight = FlightJdbc.connect(server.jdbcUrl());
          Statement st = flight.createStatement()) {
        assertEquals(
            200,
            st.executeUpdate(
                "INSERT INTO metrics "
                    + values(rows.subList(0, 200), "metric_id", "timestamp", "value")));
        String good = values(rows.subList(200, 400), "metric_id", "timestamp", "value");
        Map<String, String> refused =
            Map.of(
                "value",
                "INSERT INTO metrics " + good + ", ('m1', now(), 'not a number')",
                "metric_id",
                "INSERT INTO metrics " + good + ", (NULL, now(), 1.5)",
                "timestamp",
                "INSERT INTO metrics " + good + ", ('m1', 'yesterday-ish', 1.5)",
                "valeu",
                "INSERT INTO metrics (metric_id, timestamp, valeu) VALUES ('m1', now(), 1)");
        for (Map.Entry<String, String> bad : refused.entrySet()) {
          SQLException e =
              assertThrows(
                  SQLException.class, () -> st.executeUpdate(bad.getValue()), bad.getKey());
          assertTrue(
              e.getMessage().contains("column '" + bad.getKey() + "'"),
              "the error names the column: " + e.getMessage());
        }
        SQLException update =
            assertThrows(SQLException.class, () -> st.executeUpdate("DELETE FROM metrics"));
        assertTrue(update.getMessage().contains("window aggregates"), update.getMessage());
        List<MetricRows.Row> stored = rows.subList(0, 200);
        assertWindowsMatchOracle(flight, stored);
        MetricRows.assertSameRows(
            sorted(stored), MetricRows.rows(st.executeQuery(RAW_ROWS)), "metrics in the cache");
      }
      assertPostgresHoldsExactly(pg, rows.subList(0, 200));
      assertEquals(0, server.terminate(), server.log());
    }
  }

  private static void assertWindowsMatchOracle(Connection flight, List<MetricRows.Row> rows)
      throws Exception {
    for (Map.Entry<String, Duration> view :
        Map.of(
                "metrics_5m", Duration.ofMinutes(5),
                "metrics_30m", Duration.ofMinutes(30),
                "metrics_1h", Duration.ofHours(1))
            .entrySet()) {
      MetricRows.assertSameRows(
          MetricRows.oracle(rows, view.getValue()),
          MetricRows.windows(flight, view.getKey()),
          view.getKey() + " against DuckDB's time_bucket over the inserted rows");
    }
  }

  private static List<List<Object>> sorted(List<MetricRows.Row> rows) {
    List<List<Object>> out = new ArrayList<>();
    for (MetricRows.Row r : rows) {
      out.add(List.of(r.metricId(), r.epochMillis(), r.value()));
    }
    out.sort(
        Comparator.comparing((List<Object> l) -> (String) l.get(0))
            .thenComparing(l -> (Long) l.get(1))
            .thenComparing(l -> (Double) l.get(2)));
    return out;
  }

  /** Waits for the write-through, then compares PostgreSQL's rows (pgjdbc) with the inserted. */
  private static void assertPostgresHoldsExactly(PostgresDatabase pg, List<MetricRows.Row> rows)
      throws Exception {
    long deadline = System.nanoTime() + WRITE_THROUGH_WAIT.toNanos();
    try (Connection c = pg.connect();
        Statement st = c.createStatement()) {
      long count = -1;
      while (System.nanoTime() < deadline) {
        try (ResultSet rs = st.executeQuery("SELECT count(*) FROM metrics")) {
          rs.next();
          count = rs.getLong(1);
        } catch (SQLException notYetCreated) {
          count = -1;
        }
        if (count >= rows.size()) {
          break;
        }
        Thread.sleep(200);
      }
      assertTrue(count >= 0, "PostgreSQL never got a metrics table");
      MetricRows.assertSameRows(
          sorted(rows),
          MetricRows.rows(
              st.executeQuery(
                  "SELECT metric_id, (extract(epoch FROM timestamp) * 1000)::bigint, value"
                      + " FROM metrics ORDER BY 1, 2, 3")),
          "PostgreSQL must hold every inserted row exactly once");
    }
  }
}
