package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.hyprstream.flight.FlightJdbc;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
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
          MetricRows.assertWindowsMatchOracle(flight, rows);
        }
        pg.assertHoldsExactly(rows);
        assertEquals(0, server.terminate(), server.log());
      }
      // A new process over the same backend and log: the same answers.
      try (ServerProcess server = ServerProcess.start(args);
          Connection flight = FlightJdbc.connect(server.jdbcUrl())) {
        MetricRows.assertWindowsMatchOracle(flight, rows);
        MetricRows.assertSameRows(
            MetricRows.sorted(rows), MetricRows.rawRows(flight), "metrics after the restart");
        assertEquals(0, server.terminate(), server.log());
      }
      pg.assertHoldsExactly(rows);
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
        MetricRows.assertWindowsMatchOracle(flight, rows);
      }
      pg.assertHoldsExactly(rows);
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
        MetricRows.assertWindowsMatchOracle(flight, rows);
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
      MetricRows.assertSameRows(expected, stored, "SQLite");
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
        MetricRows.assertWindowsMatchOracle(flight, rows);
      }
      assertEquals(0, server.terminate(), server.log());
      log = server.log();
    }
    try (Connection duck = DriverManager.getConnection("jdbc:duckdb:" + file);
        Statement st = duck.createStatement()) {
      MetricRows.assertSameRows(
          MetricRows.sorted(rows),
          MetricRows.rows(st.executeQuery(MetricRows.RAW_ROWS)),
          "DuckDB file\n" + log);
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
        MetricRows.assertWindowsMatchOracle(flight, rows);
      }
      assertEquals(0, front.terminate(), front.log());
      // The second server ingested what the first wrote through: its own windows agree too.
      try (Connection flight = FlightJdbc.connect(store.jdbcUrl())) {
        MetricRows.assertSameRows(
            MetricRows.sorted(rows), MetricRows.rawRows(flight), "the second Hyprstream's metrics");
        MetricRows.assertWindowsMatchOracle(flight, rows);
      }
      assertEquals(0, store.terminate(), store.log());
    }
  }
}
