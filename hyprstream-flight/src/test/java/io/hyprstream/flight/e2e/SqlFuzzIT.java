package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A grammar-based SQL fuzzer through the jar: for a bounded time it sends random statements of
 * every kind (queries nested deep, long literals, deep expressions, writes, DDL, macros, settings,
 * transactions, garbage) as queries, updates and prepared statements. Every statement is answered
 * with a result or an error a client can act on (never INTERNAL, UNKNOWN or a dead connection); the
 * server stays up; afterwards {@code metrics} and its windows are unchanged.
 *
 * <p>{@code -Dfuzz.seed=N} replays a run (the seed is printed; CI runs seed 1, {@code random} draws
 * one); {@code -Dfuzz.seconds=S} bounds it (60 by default).
 */
final class SqlFuzzIT {
  private static final String[] TARGETS = {
    "metrics",
    "\"main\".metrics",
    "\"memory\".\"main\".\"METRICS\"",
    "metrics_5m",
    "main.metrics_1h",
    "hyprstream_cache_stats",
    "duckdb_tables",
    "information_schema.tables",
    "fuzz_t",
    "fuzz_s.fuzz_t",
    "no_such_table"
  };
  private static final String[] NOT_INGESTED = {
    "metrics_5m",
    "hyprstream_cache_stats",
    "duckdb_tables",
    "information_schema.tables",
    "fuzz_t",
    "fuzz_s.fuzz_t",
    "no_such_table"
  };
  private static final String[] FUNCTIONS = {
    "abs", "now", "lower", "length", "coalesce", "greatest", "hash", "list_value", "concat"
  };

  private final Random random;

  SqlFuzzIT() {
    this.random = new Random(seed());
  }

  private static long seed() {
    String given = System.getProperty("fuzz.seed");
    // CI runs a fixed seed, so a red build names a change, not a new draw; "random" explores.
    long seed =
        given == null || given.isBlank()
            ? 1L
            : given.equals("random") ? System.nanoTime() : Long.parseLong(given);
    System.out.println("SqlFuzzIT seed: " + seed + " (replay with -Dfuzz.seed=" + seed + ")");
    return seed;
  }

  @Test
  void randomStatements_areAnsweredHonestly_andChangeNothingGuarded() throws Exception {
    Duration budget = Duration.ofSeconds(Long.getLong("fuzz.seconds", 60));
    try (ServerProcess server = ServerProcess.start();
        Connection flight = FlightJdbc.connect(server.jdbcUrl());
        SqlClient client = new SqlClient(server)) {
      List<MetricRows.Row> rows = MetricRows.generate(1_000, 7, Instant.now());
      MetricRows.ingestJdbc(flight, rows);
      assertTrue(client.update("CREATE TABLE fuzz_t (a INTEGER, b VARCHAR)").ok());
      assertTrue(client.update("CREATE SCHEMA fuzz_s").ok());
      long deadline = System.nanoTime() + budget.toNanos();
      List<String> dishonest = new ArrayList<>();
      int sent = 0;
      while (System.nanoTime() < deadline) {
        String sql = statement();
        SqlClient.Outcome outcome =
            switch (random.nextInt(3)) {
              case 0 -> client.query(sql);
              case 1 -> client.update(sql);
              default -> client.prepared(sql);
            };
        sent++;
        try {
          SqlClient.assertHonest(outcome, sql);
        } catch (AssertionError e) {
          dishonest.add(e.getMessage());
        }
        if (sent % 25 == 0) {
          client.assertAnswersWithin(Duration.ofSeconds(5), sent + " statements");
        }
      }
      System.out.println("SqlFuzzIT sent " + sent + " statements in " + budget.toSeconds() + " s");
      assertEquals(List.of(), dishonest.subList(0, Math.min(10, dishonest.size())));
      client.assertAnswersWithin(Duration.ofSeconds(1), "the fuzzer");
      MetricRows.assertSameRows(MetricRows.sorted(rows), MetricRows.rawRows(flight), "metrics");
      MetricRows.assertWindowsMatchOracle(flight, rows);
    }
  }

  // ------------------------------------------------------------------------- the grammar

  private String statement() {
    String body =
        switch (random.nextInt(16)) {
          case 0, 1, 2 -> query(random.nextInt(4) == 0 ? random.nextInt(1_500) : random.nextInt(5));
          // INSERT into metrics is an ingest, which is allowed: every other target is guarded.
          case 3 ->
              "INSERT INTO "
                  + pick(NOT_INGESTED)
                  + " VALUES ("
                  + expression(3)
                  + ", "
                  + literal()
                  + ")";
          case 4 -> "UPDATE " + target() + " SET value = " + expression(2) + where();
          case 5 -> "DELETE FROM " + target() + where();
          case 6 ->
              pick("DROP TABLE ", "DROP VIEW ", "TRUNCATE ", "DROP TABLE IF EXISTS ") + target();
          case 7 ->
              pick(
                      "CREATE TABLE ",
                      "CREATE OR REPLACE TABLE ",
                      "CREATE TEMP TABLE ",
                      "CREATE OR REPLACE VIEW ",
                      "CREATE VIEW ")
                  + target()
                  + " AS "
                  + query(2);
          case 8 ->
              "ALTER TABLE "
                  + target()
                  + pick(
                      " ADD COLUMN z INTEGER",
                      " RENAME TO fuzz_r",
                      " RENAME TO hyprstream_x",
                      " DROP COLUMN value");
          case 9 ->
              pick(
                      "CREATE MACRO ",
                      "CREATE OR REPLACE MACRO ",
                      "CREATE TEMP MACRO ",
                      "CREATE FUNCTION ")
                  + pick(FUNCTIONS)
                  + "(x) AS "
                  + expression(2);
          case 10 ->
              pick(
                  "SET threads = 1",
                  "SET search_path = 'information_schema'",
                  "RESET search_path",
                  "SET VARIABLE v = 1",
                  "PRAGMA threads = 2",
                  "PRAGMA table_info('metrics')",
                  "USE memory",
                  "SET max_expression_depth = 100000");
          case 11 ->
              pick(
                  "BEGIN",
                  "COMMIT",
                  "ROLLBACK",
                  "CHECKPOINT",
                  "VACUUM",
                  "ANALYZE",
                  "EXPLAIN " + query(2),
                  "DESCRIBE " + target(),
                  "SHOW TABLES",
                  "SUMMARIZE metrics",
                  "ATTACH ':memory:' AS x",
                  "DETACH memory",
                  "LOAD httpfs",
                  "INSTALL httpfs",
                  "COPY metrics TO '/tmp/fuzz.csv'",
                  "PREPARE p AS SELECT 1",
                  "EXECUTE p",
                  "CALL pragma_version()",
                  "CREATE TYPE t AS INTEGER",
                  "CREATE SEQUENCE fuzz_seq",
                  "CREATE INDEX fuzz_i ON " + target() + " (value)",
                  "DROP SCHEMA main CASCADE");
          case 12 ->
              "SELECT '"
                  + "x".repeat(random.nextInt(200_000))
                  + "'"
                  + " ".repeat(random.nextInt(20_000));
          case 13 -> "SELECT " + expression(random.nextInt(2) == 0 ? random.nextInt(3_000) : 8);
          case 14 -> garbage();
          default -> query(3) + "; " + statement();
        };
    return decorate(body);
  }

  /** Comments, white space and a trailing semicolon around a statement. */
  private String decorate(String sql) {
    String out = sql;
    if (random.nextInt(4) == 0) {
      out = "/* " + pick("c", "*/ DROP TABLE metrics; /*", "max_staleness=5s") + " */ " + out;
    }
    if (random.nextInt(5) == 0) {
      out = "-- x\n" + out;
    }
    if (random.nextInt(3) == 0) {
      out = out + pick(";", " ;", "\n", "");
    }
    return out;
  }

  /** A query nested {@code depth} levels deep, built without recursion. */
  private String query(int depth) {
    StringBuilder open = new StringBuilder();
    List<String> close = new ArrayList<>();
    for (int level = depth; level > 0; level--) {
      switch (random.nextInt(4)) {
        case 0 -> {
          open.append("SELECT * FROM (");
          close.add(") q" + level);
        }
        case 1 -> {
          open.append("SELECT ").append(expression(1)).append(" WHERE EXISTS (");
          close.add(")");
        }
        case 2 -> {
          open.append("WITH w").append(level).append(" AS (");
          close.add(") SELECT * FROM w" + level);
        }
        default -> {
          open.append("SELECT * FROM (");
          close.add(" UNION ALL " + leafQuery() + ") u" + level);
        }
      }
    }
    StringBuilder out = open.append(leafQuery());
    for (int i = close.size() - 1; i >= 0; i--) {
      out.append(close.get(i));
    }
    return out.toString();
  }

  private String leafQuery() {
    return "SELECT " + expression(2) + " AS c FROM " + pick(TARGETS) + where();
  }

  /** An expression nested {@code depth} levels deep, built without recursion. */
  private String expression(int depth) {
    StringBuilder open = new StringBuilder();
    List<String> close = new ArrayList<>();
    for (int level = 0; level < depth; level++) {
      switch (random.nextInt(6)) {
        case 0 -> {
          open.append('(');
          close.add(")");
        }
        case 1 -> close.add(pick(" + ", " * ", " || ", " AND ", " = ") + "1");
        case 2 -> {
          open.append(pick(FUNCTIONS)).append('(');
          close.add(")");
        }
        case 3 -> {
          open.append("CASE WHEN ");
          close.add(" THEN 1 ELSE 0 END");
        }
        case 4 -> {
          open.append("NOT ");
          close.add("");
        }
        default -> {
          open.append("CAST(");
          close.add(" AS " + pick("VARCHAR", "INTEGER", "TIMESTAMP") + ")");
        }
      }
    }
    StringBuilder out =
        open.append(
            pick(
                "1",
                "value",
                "metric_id",
                "NULL",
                "now()",
                "?",
                literal(),
                "-9223372036854775808"));
    for (int i = close.size() - 1; i >= 0; i--) {
      out.append(close.get(i));
    }
    return out.toString();
  }

  private String where() {
    return random.nextBoolean() ? "" : " WHERE " + expression(2) + " = " + literal();
  }

  private String literal() {
    return switch (random.nextInt(4)) {
      case 0 -> "'" + "q'".repeat(random.nextInt(5)).replace("'", "''") + "'";
      case 1 -> Integer.toString(random.nextInt());
      case 2 -> "TIMESTAMP '2026-01-01 00:00:00'";
      default -> "'" + "z".repeat(random.nextInt(5_000)) + "'";
    };
  }

  private String target() {
    return pick(TARGETS);
  }

  private String garbage() {
    String alphabet = "()'\";,.*/-+ \n\tselectfromwhereDROP\\$?0123456789";
    StringBuilder b = new StringBuilder();
    int n = random.nextInt(2_000);
    for (int i = 0; i < n; i++) {
      b.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return b.toString();
  }

  private String pick(String... options) {
    return options[random.nextInt(options.length)];
  }
}
