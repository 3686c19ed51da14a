package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import io.hyprstream.flight.FlightJdbc;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.flight.sql.impl.FlightSql.TicketStatementQuery;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 13's attacks on the SQL guard (items 1 to 3), each as the issue gives it, through the jar
 * with real clients: one query that crashed the process, write guards bypassed by quoting, catalog
 * qualification and comments (as a statement, an update, a prepared statement and a hand-made
 * ticket), macros that changed every client's answers, settings and system tables. Each is refused
 * with a status a client can act on; after each the server answers {@code SELECT 1} within a
 * second, {@code metrics} holds its rows, its windows equal DuckDB's {@code time_bucket} over them
 * and another client's answers are unchanged.
 */
final class AttackIT {
  private static final String OTHER_CLIENTS_QUERY =
      "SELECT abs(-3) AS a, now() > TIMESTAMP '2020-01-01' AS recent, count(*) AS n,"
          + " round(sum(value), 3) AS s FROM metrics";

  private ServerProcess server;
  private Connection flight;
  private SqlClient attacker;
  private SqlClient other;
  private List<MetricRows.Row> rows;
  private List<List<@Nullable Object>> otherAnswer;

  @BeforeEach
  void start() throws Exception {
    server = ServerProcess.start();
    flight = FlightJdbc.connect(server.jdbcUrl());
    rows = MetricRows.generate(2_000, 13, Instant.now());
    MetricRows.ingestJdbc(flight, rows);
    attacker = new SqlClient(server);
    other = new SqlClient(server);
    otherAnswer = other.rows(OTHER_CLIENTS_QUERY);
    assertEquals("3", otherAnswer.get(0).get(0));
  }

  @AfterEach
  void stop() throws Exception {
    other.close();
    attacker.close();
    flight.close();
    server.close();
  }

  /** The server is up and quick, and nothing anyone sees has changed. */
  private void assertUnharmed(String after) throws Exception {
    attacker.assertAnswersWithin(Duration.ofSeconds(1), after);
    MetricRows.assertSameRows(
        MetricRows.sorted(rows), MetricRows.rawRows(flight), "metrics after " + after);
    MetricRows.assertWindowsMatchOracle(flight, rows);
    assertEquals(otherAnswer, other.rows(OTHER_CLIENTS_QUERY), "another client, after " + after);
  }

  /** Refused on every path, with a status naming a client error. */
  private void assertRefusedEverywhere(String sql) throws Exception {
    for (SqlClient.Outcome outcome :
        List.of(attacker.query(sql), attacker.update(sql), attacker.prepared(sql))) {
      assertFalse(outcome.ok(), "accepted: " + SqlClient.abbreviate(sql));
      assertTrue(
          List.of(FlightStatusCode.INVALID_ARGUMENT, FlightStatusCode.NOT_FOUND)
              .contains(outcome.code()),
          () -> outcome.code() + " for " + SqlClient.abbreviate(sql) + ": " + outcome.message());
    }
    assertUnharmed(SqlClient.abbreviate(sql));
  }

  @Test
  void deepNesting_isRefused_andTheServerStaysUp() throws Exception {
    // ~35 KB of SQL: 1,000 nested subqueries killed the process with SIGSEGV.
    assertRefusedEverywhere(
        "SELECT * FROM " + "(SELECT * FROM ".repeat(1_000) + "metrics" + ")".repeat(1_000));
    assertRefusedEverywhere("SELECT " + "1 + ".repeat(50_000) + "1");
    assertRefusedEverywhere("SELECT " + "abs(".repeat(5_000) + "1" + ")".repeat(5_000));
    assertRefusedEverywhere("SELECT " + "NOT ".repeat(20_000) + "true");
  }

  @Test
  void writeGuards_holdWhateverTheSpelling() throws Exception {
    for (String sql :
        List.of(
            "UPDATE \"main\".metrics SET value = 0",
            "DROP TABLE \"memory\".\"main\".\"metrics\"",
            "/* comment */ UPDATE \"main\".metrics SET value = 0",
            "/* comment */ DROP TABLE \"memory\".\"main\".\"metrics\"",
            "-- comment\nDELETE FROM \"METRICS\"",
            "UPDATE \"main\".metrics_5m SET value_count = 0",
            "DROP VIEW \"memory\".\"main\".\"metrics_1h\"",
            "CREATE OR REPLACE TABLE metrics AS SELECT 1 AS x",
            "CREATE TEMP TABLE metrics (x INTEGER)",
            "SELECT 1; DROP TABLE metrics")) {
      assertRefusedEverywhere(sql);
    }
  }

  @Test
  void handMadeTicket_runsNothing() throws Exception {
    Ticket forged =
        new Ticket(
            Any.pack(
                    TicketStatementQuery.newBuilder()
                        .setStatementHandle(
                            ByteString.copyFrom("DROP TABLE metrics", StandardCharsets.UTF_8))
                        .build())
                .toByteArray());
    assertEquals(FlightStatusCode.INVALID_ARGUMENT, attacker.read(forged).code());
    assertUnharmed("a hand-made ticket");
  }

  /**
   * Ingest into the status tables (whose fake rows a restart used to show), into DuckDB's catalog,
   * and under names of 10,000 characters or with quotes and semicolons: each refused
   * INVALID_ARGUMENT by DoPut and by Flight SQL bulk ingest, creating nothing. A ticket of random
   * bytes is INVALID_ARGUMENT too, not INTERNAL.
   */
  @Test
  void ingestIntoSystemTablesOrUnderBadNames_isRefused_andRandomTicketsAreInvalid()
      throws Exception {
    List<List<@Nullable Object>> tablesBefore = other.rows(TABLE_LISTING);
    for (String table :
        List.of(
            "hyprstream_backend_status",
            "hyprstream_cache_stats",
            "HYPRSTREAM_QUARANTINE",
            "duckdb_tables",
            "information_schema",
            "t".repeat(10_000),
            "x\"; DROP TABLE metrics; --",
            "a'b",
            "main.metrics2")) {
      for (boolean bulk : List.of(false, true)) {
        SqlClient.Outcome outcome = attacker.ingest(table, bulk);
        String what = (bulk ? "bulk ingest into " : "DoPut into ") + SqlClient.abbreviate(table);
        assertEquals(
            FlightStatusCode.INVALID_ARGUMENT,
            outcome.code(),
            () -> what + ": " + outcome.code() + " " + outcome.message());
        assertUnharmed(what);
      }
    }
    assertEquals(tablesBefore, other.rows(TABLE_LISTING), "no table was created");
    java.util.Random random = new java.util.Random(13);
    for (int i = 0; i < 20; i++) {
      byte[] junk = new byte[1 + random.nextInt(64)];
      random.nextBytes(junk);
      SqlClient.Outcome outcome = attacker.read(new Ticket(junk));
      assertEquals(FlightStatusCode.INVALID_ARGUMENT, outcome.code(), outcome.message());
    }
    assertUnharmed("random tickets");
  }

  private static final String TABLE_LISTING =
      "SELECT table_name FROM duckdb_tables() WHERE NOT internal ORDER BY table_name";

  @Test
  void macrosAndSettings_cannotChangeOtherClientsAnswers() throws Exception {
    for (String sql :
        List.of(
            "CREATE MACRO abs(x) AS 42",
            "CREATE OR REPLACE MACRO now() AS TIMESTAMP '2000-01-01'",
            "CREATE OR REPLACE FUNCTION abs(x) AS 42",
            "CREATE TEMP MACRO abs(x) AS 42",
            "SET search_path = 'information_schema'",
            "SET VARIABLE x = 1",
            "PRAGMA threads = 1",
            "BEGIN TRANSACTION")) {
      assertRefusedEverywhere(sql);
    }
  }

  @Test
  void systemTables_areReadOnly() throws Exception {
    for (String sql :
        List.of(
            "INSERT INTO hyprstream_cache_stats SELECT * FROM hyprstream_cache_stats",
            "DELETE FROM hyprstream_cache_stats",
            "DROP TABLE hyprstream_cache_stats",
            "CREATE TABLE hyprstream_backend_status (x INTEGER)",
            "CREATE VIEW duckdb_tables AS SELECT 1 AS x",
            "CREATE SCHEMA information_schema",
            "DROP VIEW information_schema.tables")) {
      assertRefusedEverywhere(sql);
    }
    assertEquals(
        List.of(List.of("0")),
        other.rows(
            "SELECT count(*) FROM duckdb_views() WHERE NOT internal AND view_name = 'duckdb_tables'"),
        "no view was created");
  }

  @Test
  void longLiteral_isAnsweredAtOnce() throws Exception {
    // 20,000 characters cost 15-30 s of regular expressions before the query time limit applied.
    String literal = "a".repeat(20_000);
    assertEquals(List.of(List.of(literal)), attacker.rows("SELECT '" + literal + "' AS s"));
    String spaces = " ".repeat(20_000);
    assertEquals(
        List.of(),
        attacker.rows("SELECT * FROM metrics_5m WHERE metric_id = '" + literal + "'" + spaces));
    assertUnharmed("a 20,000-character literal");
  }
}
