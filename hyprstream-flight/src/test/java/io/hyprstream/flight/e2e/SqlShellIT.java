package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import io.hyprstream.flight.TestCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hyprstream sql} through the jar: a script on standard input against a plaintext server (an
 * error in the middle, {@code \d}, {@code \d metrics}) checked against what the Flight SQL JDBC
 * driver reads from the same server; the same over TLS with a user made by {@code hyprstream
 * hash-password}; and the interactive shell in a real pseudo-terminal (prompt, a statement over two
 * lines, {@code \d metrics}, a password typed without echo, {@code \q}, the history file).
 */
final class SqlShellIT {
  private static final Duration RUN_TIMEOUT = Duration.ofMinutes(2);

  @TempDir Path dir;

  private static ShippedJar.Result sql(List<String> args, Map<String, String> env, String stdin) {
    List<String> all = new ArrayList<>();
    all.add("sql");
    all.addAll(args);
    return ShippedJar.run(all, env, stdin, RUN_TIMEOUT);
  }

  /** Each row of {@code sql} read through JDBC, as the shell's CSV prints it (NULL as ""). */
  private static List<String> csv(Connection c, String sql) throws Exception {
    List<String> lines = new ArrayList<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      int columns = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        List<String> cells = new ArrayList<>();
        for (int i = 1; i <= columns; i++) {
          String v = rs.getString(i);
          cells.add(v == null ? "" : v);
        }
        lines.add(String.join(",", cells));
      }
    }
    return lines;
  }

  /** {@code \d} as the JDBC driver's catalog reads it: name,type sorted by name. */
  private static List<String> tables(Connection c) throws Exception {
    List<String> lines = new ArrayList<>();
    try (ResultSet rs = c.getMetaData().getTables(null, null, "%", null)) {
      while (rs.next()) {
        lines.add(
            rs.getString("TABLE_NAME") + "," + rs.getString("TABLE_TYPE").toLowerCase(Locale.ROOT));
      }
    }
    lines.sort(null);
    return lines;
  }

  /** {@code \d table} as DuckDB's own DESCRIBE says it: column,type,nullable. */
  private static List<String> columns(Connection c, String table) throws Exception {
    List<String> lines = new ArrayList<>();
    for (String line : csv(c, "DESCRIBE " + table)) {
      String[] cells = line.split(",");
      lines.add(cells[0] + "," + cells[1] + "," + cells[2]);
    }
    return lines;
  }

  @Test
  void script_onStandardInput_runsEveryStatementPastAnErrorAndExits1() throws Exception {
    try (ServerProcess server = ServerProcess.start("--demo")) {
      String script =
          String.join(
              "\n",
              "-- a table of the test's own; this comment holds a ;",
              "CREATE TABLE shell_notes (id INTEGER, body VARCHAR);",
              "INSERT INTO shell_notes VALUES (1, 'semi;colon'), (2, 'it''s'),",
              "  (3, NULL);",
              "SELECT * FROM no_such_table;",
              "SELECT id, body FROM shell_notes ORDER BY id;",
              "\\d",
              "\\d metrics",
              "");
      ShippedJar.Result r =
          sql(
              List.of("--port", String.valueOf(server.port()), "--format", "csv"),
              Map.of(),
              script);
      assertEquals(1, r.exitCode(), r.output());
      try (Connection c = FlightJdbc.connect(server.jdbcUrl())) {
        List<String> expected = new ArrayList<>();
        expected.add("id,body");
        expected.addAll(csv(c, "SELECT id, body FROM shell_notes ORDER BY id"));
        expected.add("name,type");
        expected.addAll(tables(c));
        expected.add("column,type,nullable");
        expected.addAll(columns(c, "metrics"));
        assertEquals(String.join("\n", expected) + "\n", r.stdout(), r.output());
        assertEquals(List.of("1,semi;colon", "2,it's", "3,"), expected.subList(1, 4));
      }
      // CSV leaves standard output to the data: counts, timings and errors are on stderr.
      assertTrue(r.stderr().contains("(3 rows changed, "), r.output());
      assertTrue(r.stderr().contains("hyprstream sql: line 5: NOT_FOUND: "), r.output());
      assertTrue(r.stderr().contains("no_such_table"), r.output());
      assertTrue(r.stderr().contains("(3 rows, "), r.output());
      assertEquals(0, server.terminate(), server.log());
    }
  }

  @Test
  void tlsWithLogin_caFileAndPasswordFromEnvironment() throws Exception {
    TestCertificates certs = TestCertificates.create(dir);
    String hash = ShippedJar.hashPassword("writer-pw");
    try (ServerProcess server = startSecure(certs, hash)) {
      List<String> flags =
          List.of(
              "--port",
              String.valueOf(server.port()),
              "--tls-ca",
              certs.caCert.toString(),
              "--user",
              "writer",
              "--format",
              "csv");
      ShippedJar.Result r =
          sql(
              flags,
              Map.of("HYPRSTREAM_PASSWORD", "writer-pw"),
              "CREATE TABLE tls_notes AS SELECT range AS i FROM range(5);\n"
                  + "SELECT sum(i) AS total FROM tls_notes;\n");
      assertEquals(0, r.exitCode(), r.output());
      assertEquals("total\n10\n", r.stdout(), r.output());
      Properties p = new Properties();
      p.setProperty("useEncryption", "true");
      p.setProperty("useSystemTrustStore", "false");
      p.setProperty("tlsRootCerts", certs.caCert.toString());
      p.setProperty("user", "writer");
      p.setProperty("password", "writer-pw");
      try (Connection c =
          FlightJdbc.connect("jdbc:arrow-flight-sql://localhost:" + server.port(), p)) {
        assertEquals(
            List.of("0", "1", "2", "3", "4"), csv(c, "SELECT i FROM tls_notes ORDER BY i"));
      }

      ShippedJar.Result wrong = sql(flags, Map.of("HYPRSTREAM_PASSWORD", "not-it"), "SELECT 1;\n");
      assertEquals(1, wrong.exitCode(), wrong.output());
      assertTrue(
          wrong.stderr().contains("UNAUTHENTICATED: invalid username or password"), wrong.output());
      assertFalse(wrong.stderr().contains("\tat "), "one line, no stack trace:\n" + wrong.output());

      ShippedJar.Result plaintext =
          sql(List.of("--port", String.valueOf(server.port())), Map.of(), "SELECT 1;\n");
      assertEquals(1, plaintext.exitCode(), plaintext.output());
      assertTrue(plaintext.stderr().contains("needs --tls"), plaintext.output());

      ShippedJar.Result noUser =
          sql(
              List.of("--port", String.valueOf(server.port()), "--tls-ca", certs.caCert.toString()),
              Map.of(),
              "SELECT 1;\n");
      assertEquals(1, noUser.exitCode(), noUser.output());
      assertTrue(noUser.stderr().contains("UNAUTHENTICATED"), noUser.output());
      assertTrue(noUser.stderr().contains("--user NAME"), noUser.output());
      assertEquals(0, server.terminate(), server.log());
    }
  }

  private static ServerProcess startSecure(TestCertificates certs, String writerHash) {
    return ServerProcess.start(
        "--tls-cert",
        certs.serverCert.toString(),
        "--tls-key",
        certs.serverKey.toString(),
        "--auth",
        "--auth-user",
        "writer:" + writerHash + ":read_write");
  }

  @Test
  void interactive_promptMultiLineStatementDescribeAndQuit() throws Exception {
    Path history = dir.resolve("history");
    try (ServerProcess server = ServerProcess.start("--demo");
        TerminalSession shell =
            TerminalSession.start(
                List.of("sql", "--port", String.valueOf(server.port())),
                Map.of("HYPRSTREAM_HISTORY", history.toString()))) {
      shell.await("hyprstream> ", 1);
      assertTrue(shell.screen().startsWith("Connected to Hyprstream "), shell.screen());
      shell.type("SELECT 40\n");
      // Not run yet: the continuation prompt, aligned under the first.
      shell.await("\n         -> ", 1);
      shell.type("  + 2 AS answer;\n");
      shell.await("(1 row, ", 1);
      assertTrue(shell.screen().contains("answer\n------\n    42\n(1 row, "), shell.screen());
      shell.await("hyprstream> ", 2);
      shell.type("\\d metrics\n");
      shell.await("hyprstream> ", 3);
      String described = shell.screen();
      assertTrue(described.contains("Table \"metrics\"\ncolumn "), described);
      try (Connection c = FlightJdbc.connect(server.jdbcUrl())) {
        for (String column : columns(c, "metrics")) {
          String[] cells = column.split(",");
          assertTrue(
              described.matches("(?s).*\n" + cells[0] + " +\\| " + cells[1] + " +\\| .*"),
              column + " not described:\n" + described);
        }
      }
      shell.type("\\q\n");
      assertEquals(0, shell.awaitExit(Duration.ofMinutes(1)), shell.screen());
      assertEquals(0, server.terminate(), server.log());
    }
    String kept = Files.readString(history);
    assertTrue(kept.contains("SELECT 40\\n  + 2 AS answer;"), kept);
    assertTrue(kept.contains("\\\\d metrics"), kept);
  }

  @Test
  void interactive_overTls_asksForThePasswordWithoutEcho() throws Exception {
    TestCertificates certs = TestCertificates.create(dir);
    String hash = ShippedJar.hashPassword("writer-pw");
    try (ServerProcess server = startSecure(certs, hash);
        TerminalSession shell =
            TerminalSession.start(
                List.of(
                    "sql",
                    "--port",
                    String.valueOf(server.port()),
                    "--tls-ca",
                    certs.caCert.toString(),
                    "--user",
                    "writer"),
                Map.of("HYPRSTREAM_HISTORY", dir.resolve("history").toString()))) {
      shell.await("Password for writer: ", 1);
      shell.type("writer-pw\n");
      shell.await("hyprstream> ", 1);
      assertTrue(shell.screen().contains(" as writer. "), shell.screen());
      shell.type("SELECT 6 * 7 AS answer;\n");
      shell.await("(1 row, ", 1);
      assertTrue(shell.screen().contains("    42\n"), shell.screen());
      shell.type("\\q\n");
      assertEquals(0, shell.awaitExit(Duration.ofMinutes(1)), shell.screen());
      assertFalse(
          shell.screen().contains("writer-pw"), "the password was echoed:\n" + shell.screen());
      assertEquals(0, server.terminate(), server.log());
    }
    assertFalse(Files.readString(dir.resolve("history")).contains("writer-pw"));
  }
}
