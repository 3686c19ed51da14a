package io.hyprstream.flight.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code hyprstream} command: exit codes, help, the ready line, the SQL client, the demo. */
final class MainTest {
  private static final Pattern READY =
      Pattern.compile("^Hyprstream listening on grpc://127\\.0\\.0\\.1:(\\d+)$", Pattern.MULTILINE);

  private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
  private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
  private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);
  private final ExecutorService executor = Executors.newSingleThreadExecutor();

  @AfterEach
  void tearDown() {
    executor.shutdownNow();
  }

  private String out() {
    return outBytes.toString(StandardCharsets.UTF_8);
  }

  private String err() {
    return errBytes.toString(StandardCharsets.UTF_8);
  }

  private int run(Map<String, String> env, Path dir, String... args) {
    return Main.commandLine(new Main(env, dir.resolve("no-system-file.toml"), out, err))
        .execute(args);
  }

  @Test
  void main_badEnvironmentValue_exitsWith2NamingIt(@TempDir Path dir) {
    assertEquals(2, run(Map.of("HYPRSTREAM_SERVER_PORT", "x"), dir));
    assertTrue(err().contains("HYPRSTREAM_SERVER_PORT"), err());
  }

  @Test
  void main_unknownFlag_exitsWith2(@TempDir Path dir) {
    assertEquals(2, run(Map.of(), dir, "--prot", "1"));
    assertTrue(err().contains("--prot"), err());
  }

  @Test
  void main_backendEngineWithoutConnection_exitsWith2NamingTheKey(@TempDir Path dir) {
    assertEquals(2, run(Map.of(), dir, "--engine", "adbc"));
    assertTrue(err().contains("engine.connection"), err());
  }

  @Test
  void main_unreachableBackend_failsStartUpWithoutShowingThePassword(@TempDir Path dir) {
    int code =
        run(
            Map.of(),
            dir,
            "--port",
            "0",
            "--data-dir",
            dir.resolve("data").toString(),
            "--engine",
            "adbc",
            "--engine-connection",
            "postgresql://postgres:s3cret-value@127.0.0.1:1/test");
    assertEquals(1, code);
    assertTrue(err().contains("cannot start"), err());
    assertTrue(err().contains("127.0.0.1:1"), "the message names where it tried: " + err());
    assertTrue(!err().contains("s3cret-value"), err());
  }

  @Test
  void main_help_documentsEveryFlagAndNoPassword(@TempDir Path dir) {
    assertEquals(0, run(Map.of("HYPRSTREAM_ENGINE_PASSWORD", "s3cret-value"), dir, "--help"));
    for (String flag :
        new String[] {
          "--host",
          "--port",
          "--config",
          "--cache-duration",
          "--engine=",
          "--engine-connection",
          "--engine-options",
          "--engine-username",
          "--engine-password",
          "--[no-]enable-cache",
          "--cache-engine",
          "--cache-connection",
          "--log-level",
          "--demo"
        }) {
      assertTrue(out().contains(flag), flag + " missing from\n" + out());
    }
    assertFalse(out().contains("s3cret-value"));
  }

  @Test
  void main_help_printsNoWarningAndNoStaleText(@TempDir Path dir) {
    // picocli reports a description it cannot format on System.err, not on the command's stream.
    PrintStream systemErr = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      assertEquals(0, run(Map.of(), dir, "--help"));
      assertEquals(0, run(Map.of(), dir, "sql", "--help"));
      assertEquals(0, run(Map.of(), dir, "hash-password", "--help"));
    } finally {
      System.setErr(systemErr);
    }
    String all = out() + err() + captured.toString(StandardCharsets.UTF_8);
    assertFalse(all.contains("WARN"), all);
    assertFalse(all.contains("later release"), all);
    assertTrue(out().contains("--stream-idle-timeout"), out());
    assertTrue(out().contains("--metrics-windows"), out());
    assertTrue(out().contains("--db-url"), out());
  }

  @Test
  void main_badMetricsWindow_exitsWith2NamingTheSpecAndTheFlag(@TempDir Path dir) {
    assertEquals(2, run(Map.of(), dir, "--metrics-windows", "5m:10d,1hour"));
    assertTrue(err().contains("'1hour'"), err());
    assertTrue(err().contains("--metrics-windows"), err());
  }

  @Test
  void main_unknownNativeDriver_exitsWith2NamingTheDriversToUse(@TempDir Path dir) {
    assertEquals(
        2,
        run(
            Map.of(),
            dir,
            "--db-url",
            "postgresql://127.0.0.1/test",
            "--driver-path",
            "/usr/lib/libadbc_driver_snowflake.so"));
    assertTrue(err().contains("libadbc_driver_snowflake.so"), err());
    assertTrue(err().contains("alias flag --driver-path"), err());
    assertTrue(err().contains("libadbc_driver_postgresql.so"), err());
  }

  @Test
  void main_badFlagValue_exitsWith2NamingTheFlag(@TempDir Path dir) {
    assertEquals(2, run(Map.of(), dir, "--cache-duration", "soon"));
    assertTrue(err().contains("--cache-duration"), err());
  }

  @Test
  void main_portZero_printsReadyLineServesSqlAndStops(@TempDir Path dir) throws Exception {
    Main main = new Main(Map.of(), dir.resolve("absent.toml"), out, err);
    Future<Integer> exit =
        executor.submit(() -> Main.commandLine(main).execute("--port", "0", "--demo"));
    int port = awaitPort();

    ByteArrayOutputStream sqlOut = new ByteArrayOutputStream();
    PrintStream sqlPrint = new PrintStream(sqlOut, true, StandardCharsets.UTF_8);
    Main client = new Main(Map.of(), dir.resolve("absent.toml"), sqlPrint, err);
    int code =
        Main.commandLine(client)
            .execute(
                "sql",
                "--port",
                String.valueOf(port),
                "SELECT 7 AS n, 'seven' AS word UNION ALL SELECT 10, 'ten' ORDER BY n");
    assertEquals(0, code, err());
    assertEquals(
        String.join("\n", " n | word", "---+------", " 7 | seven", "10 | ten", "(2 rows, T)", ""),
        sqlOut
            .toString(StandardCharsets.UTF_8)
            .replace("\r", "")
            .replaceAll("\\d+\\.\\d+ m?s\\)", "T)"));

    sqlOut.reset();
    Main.commandLine(client)
        .execute(
            "sql", "--port", String.valueOf(port), "--format", "csv", "SELECT 1 AS a, 'x,y' AS b");
    assertEquals("a,b\n1,\"x,y\"\n", sqlOut.toString(StandardCharsets.UTF_8));

    sqlOut.reset();
    Main.commandLine(client)
        .execute(
            "sql", "--port", String.valueOf(port), "--format", "json", "SELECT 1 AS a, NULL AS b");
    assertEquals("[\n  {\"a\": 1, \"b\": null}\n]\n", sqlOut.toString(StandardCharsets.UTF_8));

    // The demo feed filled the window views before the ready line.
    sqlOut.reset();
    Main.commandLine(client)
        .execute(
            "sql",
            "--port",
            String.valueOf(port),
            "--format",
            "csv",
            "SELECT count(*) > 0 AS filled FROM metrics_1h");
    assertEquals("filled\ntrue\n", sqlOut.toString(StandardCharsets.UTF_8));

    main.stop();
    assertEquals(0, exit.get(30, TimeUnit.SECONDS));
  }

  @Test
  void sql_serverDown_exitsWith1(@TempDir Path dir) {
    assertEquals(1, run(Map.of(), dir, "sql", "--port", "1", "SELECT 1"));
    assertTrue(err().contains("hyprstream sql:"), err());
  }

  /** Waits (bounded) for the ready line and returns its port. */
  private int awaitPort() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      Matcher m = READY.matcher(out());
      if (m.find()) {
        return Integer.parseInt(m.group(1));
      }
      Thread.sleep(20);
    }
    throw new AssertionError("no ready line; out:\n" + out() + "\nerr:\n" + err());
  }
}
