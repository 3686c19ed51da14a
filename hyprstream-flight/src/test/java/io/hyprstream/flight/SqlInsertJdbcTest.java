package io.hyprstream.flight;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * SQL INSERT over the real Arrow Flight SQL JDBC driver: {@code Statement.executeUpdate} and a
 * {@code PreparedStatement} without parameters add rows as an ingest (windows equal DuckDB's {@code
 * time_bucket ... GROUP BY} over the raw rows), bad rows are refused naming the column with nothing
 * stored, and UPDATE of ingested rows is refused saying why.
 */
final class SqlInsertJdbcTest {
  /** Recent enough for every window's retention, and at the start of an hour. */
  private static final Instant T0 =
      Instant.now().truncatedTo(ChronoUnit.HOURS).minus(2, ChronoUnit.HOURS);

  private TestServer server;
  private Connection connection;

  @BeforeEach
  void setUp() throws Exception {
    server = new TestServer();
    connection = FlightJdbc.connect(server.jdbcUrl());
  }

  @AfterEach
  void tearDown() throws Exception {
    connection.close();
    server.close();
  }

  private static String at(long seconds) {
    return "TIMESTAMP '" + LocalDateTime.ofInstant(T0.plusSeconds(seconds), ZoneOffset.UTC) + "'";
  }

  private List<List<Object>> rows(String sql) throws SQLException {
    List<List<Object>> out = new ArrayList<>();
    try (Statement st = connection.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      int n = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        List<Object> row = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
          row.add(rs.getString(i));
        }
        out.add(row);
      }
    }
    return out;
  }

  private long count(String sql) throws SQLException {
    try (Statement st = connection.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      assertTrue(rs.next());
      return rs.getLong(1);
    }
  }

  @Test
  void executeUpdate_andUnparameterisedPreparedInsert_ingestRowsWithTheirWindows()
      throws Exception {
    try (Statement st = connection.createStatement()) {
      assertEquals(
          1,
          st.executeUpdate(
              "INSERT INTO metrics(metric_id, timestamp, value) VALUES ('cpu', now(), 1.5)"));
      assertEquals(
          3,
          st.executeUpdate(
              "INSERT INTO metrics VALUES ('cpu', "
                  + at(10)
                  + ", 2), ('cpu', "
                  + at(400)
                  + ", 4), ('mem', "
                  + at(20)
                  + ", 8)"));
      st.executeUpdate("CREATE TABLE readings (host VARCHAR, seen TIMESTAMP, v DOUBLE)");
      st.executeUpdate(
          "INSERT INTO readings SELECT 'h' || (i % 3), "
              + at(0)
              + " + i * INTERVAL 7 SECOND, i * 0.5 FROM range(300) t(i)");
      assertEquals(
          300,
          st.executeUpdate(
              "WITH r AS (SELECT * FROM readings) INSERT INTO \"metrics\" (metric_id, timestamp,"
                  + " value) SELECT host, seen, v FROM r"));
    }
    try (PreparedStatement ps =
        connection.prepareStatement(
            "INSERT INTO main.metrics (value, metric_id, timestamp) SELECT 16, 'mem', " + at(30))) {
      assertEquals(1, ps.executeUpdate());
    }
    assertEquals(1 + 3 + 300 + 1, count("SELECT count(*) FROM metrics"));
    for (String window : List.of("5m", "1h")) {
      String size = window.equals("5m") ? "5 minutes" : "1 hour";
      List<List<Object>> oracle =
          rows(
              "SELECT metric_id, time_bucket(INTERVAL '"
                  + size
                  + "', timestamp) AS ws, count(value), sum(value) FROM metrics GROUP BY"
                  + " metric_id, ws ORDER BY metric_id, ws");
      assertTrue(oracle.size() > 3, "oracle windows for " + window);
      assertEquals(
          oracle,
          rows(
              "SELECT metric_id, window_start, value_count, value_sum FROM metrics_"
                  + window
                  + " ORDER BY metric_id, window_start"),
          "metrics_" + window + " against time_bucket over the raw rows");
    }
  }

  @Test
  void executeUpdate_badRowsOrUpdate_areRefusedWithTheReasonAndStoreNothing() throws Exception {
    try (Statement st = connection.createStatement()) {
      st.executeUpdate("INSERT INTO metrics VALUES ('cpu', " + at(0) + ", 1)");
      SQLException notDouble =
          assertThrows(
              SQLException.class,
              () ->
                  st.executeUpdate(
                      "INSERT INTO metrics VALUES ('cpu', "
                          + at(1)
                          + ", 2), ('cpu', "
                          + at(2)
                          + ", 'abc')"));
      assertTrue(notDouble.getMessage().contains("column 'value'"), notDouble.getMessage());
      SQLException nullId =
          assertThrows(
              SQLException.class,
              () -> st.executeUpdate("INSERT INTO metrics VALUES (NULL, " + at(1) + ", 2)"));
      assertTrue(nullId.getMessage().contains("column 'metric_id'"), nullId.getMessage());
      SQLException unknown =
          assertThrows(
              SQLException.class,
              () ->
                  st.executeUpdate(
                      "INSERT INTO metrics (metric_id, timestamp, vlaue) VALUES ('a', now(), 1)"));
      assertTrue(unknown.getMessage().contains("column 'vlaue'"), unknown.getMessage());
      SQLException update =
          assertThrows(SQLException.class, () -> st.executeUpdate("UPDATE metrics SET value = 0"));
      assertTrue(update.getMessage().contains("window aggregates"), update.getMessage());
    }
    try (PreparedStatement ps =
        connection.prepareStatement("INSERT INTO metrics VALUES ('cpu', now(), 1) RETURNING *")) {
      SQLException returning = assertThrows(SQLException.class, ps::executeUpdate);
      assertTrue(returning.getMessage().contains("RETURNING"), returning.getMessage());
    }
    assertEquals(1, count("SELECT count(*) FROM metrics"));
    assertEquals(1, count("SELECT sum(value_count) FROM metrics_5m"));
    assertFalse(rows("SELECT * FROM metrics WHERE value <> 1").iterator().hasNext());
  }
}
