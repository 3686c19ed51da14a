package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
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
 * Every backend form docs/server.md names, through the jar: rows sent by a real client are answered
 * by the cache, their windows equal DuckDB's {@code time_bucket} over the same rows, and the
 * backend holds exactly the acknowledged rows. The PostgreSQL case also restarts the server and
 * checks the answers again.
 */
final class BackendFormsIT {
  private static final Duration WRITE_THROUGH_WAIT = Duration.ofSeconds(60);
  private static final String RAW_ROWS =
      "SELECT metric_id, epoch_ms(timestamp), value FROM metrics ORDER BY 1, 2, 3";

  @TempDir Path dir;

  @Test
  void jdbcPostgresql_writesThroughAndSurvivesARestart() throws Exception {
    List<MetricRows.Row> rows = MetricRows.generate(3_000, 1, Instant.now());
    try (PostgresDatabase pg = PostgresDatabase.create()) {
      String[] args = {
        "--engine", "adbc", "--engine-connection", pg.jdbcUrl(), "--data-dir", dir + "/data"
      };
      try (ServerProcess server = ServerProcess.start(args)) {
        try (Connection flight = FlightJdbc.connect(server.jdbcUrl())) {
          MetricRows.ingestJdbc(flight, rows);
          assertWindowsMatchOracle(flight, rows);
        }
        assertPostgresHoldsExactly(pg, rows);
        assertEquals(0, server.terminate(), server.log());
      }
      // A new process over the same backend and log: the same answers.
      try (ServerProcess server = ServerProcess.start(args);
          Connection flight = FlightJdbc.connect(server.jdbcUrl())) {
        assertWindowsMatchOracle(flight, rows);
        assertSameRows(sorted(rows), rawRows(flight), "metrics after the restart");
        assertEquals(0, server.terminate(), server.log());
      }
      assertPostgresHoldsExactly(pg, rows);
    }
  }

  @Test
  void seedPostgresqlUri_takesTheUserFromTheEnvironment() throws Exception {
    List<MetricRows.Row> rows = MetricRows.generate(2_000, 2, Instant.now());
    try (PostgresDatabase pg = PostgresDatabase.create();
        ServerProcess server =
            ServerProcess.builder()
                .args("--engine", "adbc", "--engine-connection", pg.uri())
                .args("--data-dir", dir + "/data")
                .env("HYPRSTREAM_ENGINE_USERNAME", "postgres")
                .start()) {
      MetricRows.ingestAdbc(server.grpcUri(), Map.of(), rows);
      try (Connection flight = FlightJdbc.connect(server.jdbcUrl())) {
        assertWindowsMatchOracle(flight, rows);
      }
      assertPostgresHoldsExactly(pg, rows);
      assertEquals(0, server.terminate(), server.log());
    }
  }

  @Test
  void jdbcSqlite_writesThrough() throws Exception {
    List<MetricRows.Row> rows = MetricRows.generate(1_500, 3, Instant.now());
    Path file = dir.resolve("backend.sqlite");
    try (ServerProcess server =
        ServerProcess.start(
            "--engine",
            "adbc",
            "--engine-connection",
            "jdbc:sqlite:" + file,
            "--data-dir",
            dir + "/data")) {
      try (Connection flight = FlightJdbc.connect(server.jdbcUrl())) {
        MetricRows.ingestJdbc(flight, rows);
        assertWindowsMatchOracle(flight, rows);
      }
      // Stopping drains the write-through queue; SQLite then holds every row, once.
      assertEquals(0, server.terminate(), server.log());
    }
    try (Connection sqlite = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement st = sqlite.createStatement()) {
      List<List<Object>> stored =
          MetricRows.rows(st.executeQuery("SELECT metric_id, value FROM metrics ORDER BY 1, 2"));
      List<List<Object>> expected = new ArrayList<>();
      for (MetricRows.Row r : rows) {
        expected.add(List.of(r.metricId(), r.value()));
      }
      expected.sort(
          Comparator.comparing((List<Object> l) -> (String) l.get(0))
              .thenComparing(l -> (Double) l.get(1)));
      assertSameRows(expected, stored, "SQLite");
    }
  }

  @Test
  void duckdbFile_writesThrough() throws Exception {
    List<MetricRows.Row> rows = MetricRows.generate(1_500, 4, Instant.now());
    Path file = dir.resolve("backend.duckdb");
    String log;
    try (ServerProcess server =
        ServerProcess.start(
            "--engine",
            "duckdb",
            "--engine-connection",
            file.toString(),
            "--data-dir",
            dir + "/data")) {
      try (Connection flight = FlightJdbc.connect(server.jdbcUrl())) {
        MetricRows.ingestJdbc(flight, rows);
        assertWindowsMatchOracle(flight, rows);
      }
      assertEquals(0, server.terminate(), server.log());
      log = server.log();
    }
    try (Connection duck = DriverManager.getConnection("jdbc:duckdb:" + file);
        Statement st = duck.createStatement()) {
      assertSameRows(
          sorted(rows), MetricRows.rows(st.executeQuery(RAW_ROWS)), "DuckDB file\n" + log);
    }
  }

  @Test
  void grpc_writesThroughToAnotherHyprstream() throws Exception {
    List<MetricRows.Row> rows = MetricRows.generate(2_000, 5, Instant.now());
    try (ServerProcess store = ServerProcess.start();
        ServerProcess front =
            ServerProcess.start(
                "--engine",
                "adbc",
                "--engine-connection",
                store.grpcUri(),
                "--data-dir",
                dir + "/data")) {
      try (Connection flight = FlightJdbc.connect(front.jdbcUrl())) {
        MetricRows.ingestJdbc(flight, rows);
        assertWindowsMatchOracle(flight, rows);
      }
      assertEquals(0, front.terminate(), front.log());
      // The second server ingested what the first wrote through: its own windows agree too.
      try (Connection flight = FlightJdbc.connect(store.jdbcUrl())) {
        assertSameRows(sorted(rows), rawRows(flight), "the second Hyprstream's metrics");
        assertWindowsMatchOracle(flight, rows);
      }
      assertEquals(0, store.terminate(), store.log());
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
      assertSameRows(
          MetricRows.oracle(rows, view.getValue()),
          MetricRows.windows(flight, view.getKey()),
          view.getKey() + " against DuckDB's time_bucket over the same rows");
    }
  }

  private static void assertSameRows(
      List<List<Object>> expected, List<List<Object>> actual, String what) {
    MetricRows.assertSameRows(expected, actual, what);
  }

  private static List<List<Object>> rawRows(Connection flight) throws Exception {
    try (Statement st = flight.createStatement()) {
      return MetricRows.rows(st.executeQuery(RAW_ROWS));
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

  /** Waits for the write-through, then compares PostgreSQL's rows with the acknowledged ones. */
  static void assertPostgresHoldsExactly(PostgresDatabase pg, List<MetricRows.Row> rows)
      throws Exception {
    long deadline = System.nanoTime() + WRITE_THROUGH_WAIT.toNanos();
    try (Connection c = pg.connect();
        Statement st = c.createStatement()) {
      long count = -1;
      while (System.nanoTime() < deadline) {
        try (ResultSet rs = st.executeQuery("SELECT count(*) FROM metrics")) {
          rs.next();
          count = rs.getLong(1);
        } catch (java.sql.SQLException notYetCreated) {
          count = -1;
        }
        if (count >= rows.size()) {
          break;
        }
        Thread.sleep(200);
      }
      assertTrue(count >= 0, "PostgreSQL never got a metrics table");
      assertSameRows(
          sorted(rows),
          MetricRows.rows(
              st.executeQuery(
                  "SELECT metric_id, (extract(epoch FROM timestamp) * 1000)::bigint, value"
                      + " FROM metrics ORDER BY 1, 2, 3")),
          "PostgreSQL must hold every acknowledged row exactly once");
    }
  }
}
