package io.hyprstream.flight.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.Hyprstream;
import io.hyprstream.QueryResult;
import io.hyprstream.flight.TestCertificates;
import io.hyprstream.flight.TestServer;
import io.hyprstream.flight.internal.ArrowValues;
import io.hyprstream.flight.internal.Metadata;
import io.hyprstream.flight.policy.Authentication;
import io.hyprstream.testing.ManualClock;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jline.terminal.Terminal;
import org.jline.terminal.impl.DumbTerminal;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code hyprstream sql} against a real in-process server: scripts from standard input, errors in
 * the middle of one, {@code \d}, TLS with a login, a token that expires mid-session, and the
 * interactive shell on a terminal.
 */
final class SqlShellTest {
  /** Cost 4, bcrypt's least: the login is under test, not the hash's strength. */
  private static final String ALICE_HASH = Authentication.hash("alice-pw".toCharArray(), 4);

  @TempDir static Path certDir;
  private static TestCertificates certs;

  @TempDir Path dir;

  private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
  private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
  private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);
  private final ExecutorService executor = Executors.newSingleThreadExecutor();
  private @Nullable TestServer server;

  @BeforeAll
  static void certificates() throws Exception {
    certs = TestCertificates.create(certDir);
  }

  @AfterEach
  void tearDown() {
    executor.shutdownNow();
    if (server != null) {
      server.close();
    }
  }

  private TestServer start() {
    TestServer s = new TestServer();
    server = s;
    return s;
  }

  private TestServer startSecure(InstantSource clock) {
    Authentication auth =
        Authentication.of(
                List.of(
                    new Authentication.User("alice", ALICE_HASH, Authentication.Role.READ_WRITE)),
                Duration.ofMinutes(5))
            .withClock(clock);
    TestServer s =
        new TestServer(b -> b.tls(certs.serverCert, certs.serverKey).authentication(auth));
    server = s;
    return s;
  }

  private String out() {
    return outBytes.toString(StandardCharsets.UTF_8).replace("\r", "");
  }

  private String err() {
    return errBytes.toString(StandardCharsets.UTF_8);
  }

  /** Standard output with every timing ({@code 3.1 ms}, {@code 12.35 s}) replaced by {@code T}. */
  private String untimedOut() {
    return out().replaceAll("\\d+\\.\\d+ m?s\\)", "T)");
  }

  private int sql(Map<String, String> env, InputStream stdin, String... args) {
    return new CommandLine(new SqlCommand(env, stdin, out, err, null)).execute(args);
  }

  private int sql(String stdin, String... args) {
    return sql(Map.of(), new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), args);
  }

  private static String port(TestServer s) {
    return String.valueOf(s.server.port());
  }

  /** Eight rows of {@code metrics} at the current minute: two series, four minutes. */
  private static void ingestMetrics(TestServer s) {
    Instant t = Instant.now().truncatedTo(ChronoUnit.MINUTES);
    String[] ids = new String[8];
    Instant[] times = new Instant[8];
    double[] values = new double[8];
    for (int i = 0; i < 8; i++) {
      ids[i] = i % 2 == 0 ? "cpu.a" : "cpu.b";
      times[i] = t.minusSeconds(60L * (i / 2));
      values[i] = i;
    }
    try (VectorSchemaRoot batch = TestServer.metrics(s.allocator, ids, times, values)) {
      s.hyprstream.ingest("metrics", batch);
    }
  }

  /** The rows of {@code sql} run on the server's instance directly, each value as text. */
  private static List<List<String>> serverRows(TestServer s, String sql) throws Exception {
    List<List<String>> rows = new ArrayList<>();
    try (QueryResult result = s.hyprstream.query(sql)) {
      while (result.loadNextBatch()) {
        for (List<@Nullable Object> row : ArrowValues.rows(result.getVectorSchemaRoot())) {
          List<String> text = new ArrayList<>();
          for (Object v : row) {
            text.add(String.valueOf(v));
          }
          rows.add(text);
        }
      }
    }
    return rows;
  }

  /** The CSV body (header dropped) of standard output, split into cells; no quoting expected. */
  private List<List<String>> csvRows() {
    List<List<String>> rows = new ArrayList<>();
    String[] lines = out().split("\n");
    for (int i = 1; i < lines.length; i++) {
      rows.add(List.of(lines[i].split(",", -1)));
    }
    return rows;
  }

  @Test
  void script_severalStatements_printsEachResultWithItsCountAndTime() throws Exception {
    TestServer s = start();
    String script =
        String.join(
            "\n",
            "-- notes; a table of the test's own",
            "CREATE TABLE notes (id INTEGER, body VARCHAR);",
            "INSERT INTO notes VALUES (1, 'semi;colon'), (2, 'it''s'),",
            "  (3, NULL);",
            "SELECT id, body FROM notes ORDER BY id;",
            "SELECT count(*) AS n FROM notes WHERE body IS NOT NULL");
    assertEquals(0, sql(script, "--port", port(s)), err());
    assertEquals(
        String.join(
            "\n",
            "(0 rows changed, T)",
            "(3 rows changed, T)",
            "id | body",
            "---+-----------",
            " 1 | semi;colon",
            " 2 | it's",
            " 3 | NULL",
            "(3 rows, T)",
            "n",
            "-",
            "2",
            "(1 row, T)",
            ""),
        untimedOut());
    assertEquals(List.of(List.of("3")), serverRows(s, "SELECT count(*) FROM notes"));
  }

  @Test
  void script_errorMidScript_namesItsLineRunsTheRestAndExits1() {
    TestServer s = start();
    String script = "SELECT 1 AS a;\nSELECT *\n  FROM no_such_table;\nSELECT 2 AS b;\n";
    assertEquals(1, sql(script, "--port", port(s), "--format", "csv"));
    assertEquals("a\n1\nb\n2\n", out());
    assertTrue(err().contains("hyprstream sql: line 2: "), err());
    assertTrue(err().contains("no_such_table"), err());
    // CSV keeps standard output for data: the counts went to standard error.
    assertTrue(err().contains("(1 row, "), err());
  }

  @Test
  void argument_failingStatement_exits1WithTheServersStatus() {
    TestServer s = start();
    assertEquals(1, sql("", "--port", port(s), "SELECT * FROM no_such_table"));
    assertTrue(err().startsWith("hyprstream sql: NOT_FOUND: "), err());
    assertTrue(err().contains("no_such_table"), err());
  }

  @Test
  void argument_twoStatements_runsBoth() {
    TestServer s = start();
    assertEquals(0, sql("", "--port", port(s), "--format", "csv", "SELECT 1 AS a; SELECT 2 AS b"));
    assertEquals("a\n1\nb\n2\n", out());
  }

  @Test
  void describe_noName_listsTablesViewsAndSystemTables() throws Exception {
    TestServer s = start();
    ingestMetrics(s);
    assertEquals(0, sql("\\d\n", "--port", port(s), "--format", "csv"), err());
    List<List<String>> expected = new ArrayList<>();
    for (Hyprstream.TableInfo t : s.hyprstream.tables()) {
      expected.add(List.of(t.name(), Metadata.tableType(t).toLowerCase(Locale.ROOT)));
    }
    expected.sort((a, b) -> a.get(0).compareTo(b.get(0)));
    assertEquals(expected, csvRows());
    assertTrue(expected.contains(List.of("metrics", "table")), expected.toString());
    assertTrue(expected.contains(List.of("metrics_5m", "view")), expected.toString());
    assertTrue(
        expected.contains(List.of("hyprstream_cache_stats", "system table")), expected.toString());
  }

  @Test
  void describe_metrics_columnsTypesAndNullabilityFromGetTables() throws Exception {
    TestServer s = start();
    ingestMetrics(s);
    assertEquals(0, sql("\\d metrics\n\\d METRICS_5M;\n", "--port", port(s), "--format", "csv"));
    // DuckDB's own DESCRIBE (SQL, where \\d goes through GetTables) is the oracle.
    List<List<String>> expected = new ArrayList<>();
    for (String table : List.of("metrics", "metrics_5m")) {
      expected.add(List.of("column", "type", "nullable"));
      for (List<String> row : serverRows(s, "DESCRIBE " + table)) {
        expected.add(List.of(row.get(0), row.get(1), row.get(2)));
      }
    }
    assertTrue(expected.contains(List.of("metric_id", "VARCHAR", "NO")), expected.toString());
    List<List<String>> actual = new ArrayList<>();
    for (String line : out().split("\n")) {
      actual.add(List.of(line.split(",", -1)));
    }
    assertEquals(expected, actual);
  }

  private static Schema tableSchema(TestServer s, String table) {
    for (Hyprstream.TableInfo t : s.hyprstream.tables()) {
      if (t.name().equals(table)) {
        return t.schema();
      }
    }
    throw new AssertionError("no table " + table);
  }

  @Test
  void describe_tableFormat_titlesTheTableAndCountsColumns() {
    TestServer s = start();
    ingestMetrics(s);
    assertEquals(0, sql("\\d metrics_1h\n", "--port", port(s)), err());
    String printed = untimedOut();
    int columns = tableSchema(s, "metrics_1h").getFields().size();
    assertTrue(printed.startsWith("View \"metrics_1h\"\ncolumn          | type "), printed);
    assertTrue(printed.contains("\nwindow_start    | TIMESTAMP | "), printed);
    assertTrue(printed.endsWith("(" + columns + " rows, T)\n"), printed);
  }

  @Test
  void describe_unknownTable_failsNamingIt() {
    TestServer s = start();
    assertEquals(1, sql("\\d nope\nSELECT 1 AS a;\n", "--port", port(s), "--format", "csv"));
    assertTrue(err().contains("line 1: no table, view or system table named 'nope'"), err());
    assertEquals("a\n1\n", out());
  }

  @Test
  void tls_caFileAndPasswordFromEnvironment_logsInAndQueries() {
    TestServer s = startSecure(InstantSource.system());
    int code =
        sql(
            Map.of(LoginPassword.ENV, "alice-pw"),
            new ByteArrayInputStream("SELECT 41 + 1 AS answer;\n\\d\n".getBytes()),
            "--port",
            port(s),
            "--tls-ca",
            certs.caCert.toString(),
            "--user",
            "alice",
            "--format",
            "csv");
    assertEquals(0, code, err());
    assertTrue(out().startsWith("answer\n42\nname,type\n"), out());
  }

  @Test
  void tls_wrongPassword_exits1Unauthenticated() {
    TestServer s = startSecure(InstantSource.system());
    int code =
        sql(
            Map.of(LoginPassword.ENV, "wrong"),
            new ByteArrayInputStream("SELECT 1;\n".getBytes()),
            "--port",
            port(s),
            "--tls-ca",
            certs.caCert.toString(),
            "--user",
            "alice");
    assertEquals(1, code);
    assertTrue(err().contains("cannot connect to grpc+tls://127.0.0.1:"), err());
    assertTrue(err().contains("UNAUTHENTICATED: invalid username or password"), err());
    assertEquals("", out());
  }

  @Test
  void tls_noUser_failsAtConnectSayingHowToLogIn() {
    TestServer s = startSecure(InstantSource.system());
    assertEquals(1, sql("SELECT 1;\n", "--port", port(s), "--tls-ca", certs.caCert.toString()));
    assertTrue(err().contains("UNAUTHENTICATED"), err());
    assertTrue(err().contains("pass --user NAME"), err());
    assertTrue(err().startsWith("hyprstream sql: cannot connect to grpc+tls://"), err());
  }

  @Test
  void script_noServer_failsOnceAtTheStart() {
    assertEquals(1, sql("SELECT 1;\nSELECT 2;\nSELECT 3;\n", "--port", "1"));
    assertEquals(1, err().strip().lines().count(), err());
    assertTrue(
        err().startsWith("hyprstream sql: cannot connect to grpc://127.0.0.1:1: UNAVAILABLE"),
        err());
    assertEquals("", out());
  }

  @Test
  void tls_plaintextClient_failsSayingTlsIsNeeded() {
    TestServer s = startSecure(InstantSource.system());
    assertEquals(1, sql("SELECT 1;\n", "--port", port(s)));
    assertTrue(err().contains("UNAVAILABLE"), err());
    assertTrue(err().contains("needs --tls"), err());
  }

  @Test
  void tls_caNotTrusted_fails() throws Exception {
    TestServer s = startSecure(InstantSource.system());
    // A CA that did not sign the server's certificate.
    Path other = Files.createDirectory(dir.resolve("other"));
    TestCertificates stranger = TestCertificates.create(other);
    int code =
        sql(
            Map.of(LoginPassword.ENV, "alice-pw"),
            new ByteArrayInputStream("SELECT 1;\n".getBytes()),
            "--port",
            port(s),
            "--tls-ca",
            stranger.caCert.toString(),
            "--user",
            "alice");
    assertEquals(1, code);
    assertTrue(err().contains("cannot connect"), err());
  }

  @Test
  void tls_missingCaFile_exits1NamingTheFlag() {
    TestServer s = start();
    assertEquals(
        1, sql("SELECT 1;\n", "--port", port(s), "--tls-ca", dir.resolve("absent.pem").toString()));
    assertTrue(err().contains("--tls-ca " + dir.resolve("absent.pem")), err());
  }

  @Test
  void user_noPasswordAndNoTerminal_exits1NamingTheVariable() {
    TestServer s = start();
    assertEquals(1, sql("SELECT 1;\n", "--port", port(s), "--user", "alice"));
    assertTrue(err().contains(LoginPassword.ENV), err());
  }

  @Test
  void session_tokenExpires_logsInAgainAndGoesOn() throws Exception {
    ManualClock clock = new ManualClock();
    TestServer s = startSecure(clock);
    PipedOutputStream script = new PipedOutputStream();
    PipedInputStream stdin = new PipedInputStream(script);
    Future<Integer> exit =
        executor.submit(
            () ->
                sql(
                    Map.of(LoginPassword.ENV, "alice-pw"),
                    stdin,
                    "--port",
                    port(s),
                    "--tls-ca",
                    certs.caCert.toString(),
                    "--user",
                    "alice",
                    "--format",
                    "csv"));
    write(script, "SELECT 1 AS a;\n");
    awaitOut("a\n1\n");
    clock.advance(Duration.ofMinutes(6)); // past the 5-minute token TTL
    write(script, "SELECT 2 AS b;\n");
    script.close();
    assertEquals(0, exit.get(60, TimeUnit.SECONDS), err());
    assertEquals("a\n1\nb\n2\n", out());
  }

  private static void write(OutputStream to, String text) throws Exception {
    to.write(text.getBytes(StandardCharsets.UTF_8));
    to.flush();
  }

  private void awaitOut(String text) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!out().contains(text)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("never printed " + text + "; out:\n" + out() + "\nerr:\n" + err());
      }
      Thread.sleep(10);
    }
  }

  @Test
  void interactive_multiLineStatementDescribeAndQuit_keepsHistory() throws Exception {
    TestServer s = start();
    ingestMetrics(s);
    Path history = dir.resolve("history");
    PipedOutputStream keyboard = new PipedOutputStream();
    PipedInputStream keys = new PipedInputStream(keyboard);
    ByteArrayOutputStream screen = new ByteArrayOutputStream();
    PrintStream screenOut = new PrintStream(screen, true, StandardCharsets.UTF_8);
    Map<String, String> env = new HashMap<>();
    env.put(SqlCommand.HISTORY_ENV, history.toString());
    // JLine's terminal without a pty (the end-to-end suite drives a real one).
    try (Terminal terminal =
        new DumbTerminal("test", "dumb", keys, screen, StandardCharsets.UTF_8)) {
      Future<Integer> exit =
          executor.submit(
              () ->
                  new CommandLine(
                          new SqlCommand(
                              env, InputStream.nullInputStream(), screenOut, err, terminal))
                      .execute("--port", port(s)));
      awaitScreen(screen, "hyprstream> ", 1);
      // A dumb terminal shows no continuation prompt (the end-to-end suite's pty does).
      write(keyboard, "SELECT 40\n");
      write(keyboard, "  + 2 AS answer;\n");
      awaitScreen(screen, "hyprstream> ", 2);
      write(keyboard, "\\d metrics\n");
      awaitScreen(screen, "hyprstream> ", 3);
      write(keyboard, "SELECT 'a != b' AS t;\n");
      awaitScreen(screen, "hyprstream> ", 4);
      write(keyboard, "\\q\n");
      assertEquals(0, exit.get(60, TimeUnit.SECONDS), err());
    }
    String shown = screen.toString(StandardCharsets.UTF_8).replace("\r", "");
    assertTrue(shown.startsWith("Connected to Hyprstream "), shown);
    assertTrue(shown.contains("answer\n------\n    42\n(1 row, "), shown);
    assertTrue(shown.contains("Table \"metrics\""), shown);
    assertTrue(shown.contains("a != b"), shown);
    assertEquals("", err());
    String kept = Files.readString(history);
    assertTrue(kept.contains("SELECT 40"), kept);
    assertTrue(kept.contains("\\d metrics"), kept);
  }

  @Test
  void interactive_passwordAtThePrompt_logsInAndStaysOutOfHistory() throws Exception {
    TestServer s = startSecure(InstantSource.system());
    Path history = dir.resolve("history");
    PipedOutputStream keyboard = new PipedOutputStream();
    PipedInputStream keys = new PipedInputStream(keyboard);
    ByteArrayOutputStream screen = new ByteArrayOutputStream();
    PrintStream screenOut = new PrintStream(screen, true, StandardCharsets.UTF_8);
    Map<String, String> env = new HashMap<>();
    env.put(SqlCommand.HISTORY_ENV, history.toString());
    try (Terminal terminal =
        new DumbTerminal("test", "dumb", keys, screen, StandardCharsets.UTF_8)) {
      Future<Integer> exit =
          executor.submit(
              () ->
                  new CommandLine(
                          new SqlCommand(
                              env, InputStream.nullInputStream(), screenOut, err, terminal))
                      .execute(
                          "--port",
                          port(s),
                          "--tls-ca",
                          certs.caCert.toString(),
                          "--user",
                          "alice"));
      awaitScreen(screen, "Password for alice: ", 1);
      write(keyboard, "alice-pw\n");
      awaitScreen(screen, "hyprstream> ", 1);
      write(keyboard, "SELECT 6 * 7 AS answer;\n");
      awaitScreen(screen, "hyprstream> ", 2);
      write(keyboard, "\\q\n");
      assertEquals(0, exit.get(60, TimeUnit.SECONDS), err());
    }
    String shown = screen.toString(StandardCharsets.UTF_8).replace("\r", "");
    assertTrue(shown.contains(" as alice. "), shown);
    assertTrue(shown.contains("    42\n(1 row, "), shown);
    assertFalse(shown.contains("alice-pw"), shown);
    String kept = Files.readString(history);
    assertTrue(kept.contains("SELECT 6 * 7"), kept);
    assertFalse(kept.contains("alice-pw"), kept);
  }

  @Test
  void interactive_noServer_exits1BeforeThePrompt() throws Exception {
    ByteArrayOutputStream screen = new ByteArrayOutputStream();
    PrintStream screenOut = new PrintStream(screen, true, StandardCharsets.UTF_8);
    try (Terminal terminal =
        new DumbTerminal(
            "test", "dumb", InputStream.nullInputStream(), screen, StandardCharsets.UTF_8)) {
      int code =
          new CommandLine(
                  new SqlCommand(
                      Map.of(SqlCommand.HISTORY_ENV, ""),
                      InputStream.nullInputStream(),
                      screenOut,
                      err,
                      terminal))
              .execute("--port", "1");
      assertEquals(1, code);
    }
    assertTrue(err().contains("cannot connect to grpc://127.0.0.1:1: UNAVAILABLE"), err());
    assertFalse(screen.toString(StandardCharsets.UTF_8).contains("hyprstream> "));
  }

  /** Waits until {@code text} shows {@code times} times on {@code screen}. */
  private void awaitScreen(ByteArrayOutputStream screen, String text, int times)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      String shown = screen.toString(StandardCharsets.UTF_8);
      int n = 0;
      for (int at = shown.indexOf(text); at >= 0; at = shown.indexOf(text, at + 1)) {
        n++;
      }
      if (n >= times) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "'" + text + "' not shown " + times + " times:\n" + shown + "\nerr:\n" + err());
      }
      Thread.sleep(10);
    }
  }
}
