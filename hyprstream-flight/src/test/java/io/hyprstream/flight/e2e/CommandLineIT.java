package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import at.favre.lib.crypto.bcrypt.BCrypt;
import io.hyprstream.flight.FlightJdbc;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The command line as a user meets it: help, version, a bad flag, {@code hash-password}, {@code
 * sql}, {@code --demo}, and SIGTERM, all through {@code java -jar hyprstream.jar}.
 */
final class CommandLineIT {

  @Test
  void help_exitsZeroAndListsTheFlags() {
    ShippedJar.Result r = ShippedJar.run(List.of("--help"));
    assertEquals(0, r.exitCode(), r.output());
    assertTrue(r.stdout().contains("--engine-connection"), r.output());
    assertFalse(r.stderr().contains("WARN"), "help must print no warning:\n" + r.output());
  }

  @Test
  void version_namesTheVersion() {
    ShippedJar.Result r = ShippedJar.run(List.of("--version"));
    assertEquals(0, r.exitCode(), r.output());
    assertTrue(r.stdout().startsWith("hyprstream "), r.output());
  }

  @Test
  void badFlag_exitsTwoNamingTheFlag() {
    ShippedJar.Result r = ShippedJar.run(List.of("--no-such-flag"));
    assertEquals(2, r.exitCode(), r.output());
    assertTrue(r.stderr().contains("--no-such-flag"), r.output());
  }

  @Test
  void badValue_exitsTwoNamingTheKeyAndTheFlag() {
    ShippedJar.Result r = ShippedJar.run(List.of("--port", "70000", "--http-port", "-1"));
    assertEquals(2, r.exitCode(), r.output());
    assertTrue(r.stderr().contains("server.port"), r.output());
    assertTrue(r.stderr().contains("--port"), r.output());
  }

  @Test
  void hashPassword_printsABcryptHashOfTheLineOnStandardInput() {
    ShippedJar.Result r =
        ShippedJar.run(
            List.of("hash-password", "--cost", "4"), Map.of(), "s3cret\n", Duration.ofMinutes(1));
    assertEquals(0, r.exitCode(), r.output());
    String hash = r.stdout().trim();
    assertTrue(hash.startsWith("$2"), r.output());
    assertTrue(BCrypt.verifyer().verify("s3cret".toCharArray(), hash).verified, hash);
    assertFalse(BCrypt.verifyer().verify("other".toCharArray(), hash).verified, hash);
  }

  @Test
  void sql_runsOneStatementAgainstARunningServer() throws Exception {
    try (ServerProcess server = ServerProcess.start()) {
      ShippedJar.Result ok =
          ShippedJar.run(
              List.of(
                  "sql",
                  "--port",
                  String.valueOf(server.port()),
                  "--format",
                  "csv",
                  "SELECT 6 * 7 AS answer"),
              Map.of(),
              null,
              Duration.ofMinutes(1));
      assertEquals(0, ok.exitCode(), ok.output());
      assertTrue(ok.stdout().contains("answer"), ok.output());
      assertTrue(ok.stdout().contains("42"), ok.output());

      ShippedJar.Result bad =
          ShippedJar.run(
              List.of("sql", "--port", String.valueOf(server.port()), "SELECT * FROM no_such"),
              Map.of(),
              null,
              Duration.ofMinutes(1));
      assertEquals(1, bad.exitCode(), bad.output());
      assertTrue(bad.output().contains("no_such"), bad.output());
      assertEquals(0, server.terminate(), server.log());
    }
  }

  @Test
  void demo_fillsEveryWindowViewAndSigtermExitsZero() throws Exception {
    try (ServerProcess server = ServerProcess.start("--demo")) {
      try (Connection c = FlightJdbc.connect(server.jdbcUrl());
          Statement st = c.createStatement()) {
        for (String view : List.of("metrics_5m", "metrics_30m", "metrics_1h", "metrics_1d")) {
          try (ResultSet rs =
              st.executeQuery("SELECT count(DISTINCT metric_id), count(*) FROM " + view)) {
            assertTrue(rs.next());
            assertEquals(8, rs.getLong(1), view + ": the demo feeds eight series");
            assertTrue(rs.getLong(2) >= 8, view);
          }
        }
        // Live: one point a second per series, so the newest event time moves.
        long before = newestMillis(st);
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (newestMillis(st) <= before) {
          assertTrue(System.nanoTime() < deadline, "the demo feed stopped:\n" + server.log());
          Thread.sleep(200);
        }
      }
      HttpResponse<String> ready =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create(server.httpUrl("/ready"))).build(),
                  HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      assertEquals(200, ready.statusCode(), ready.body());
      assertEquals(0, server.terminate(), "SIGTERM must exit 0:\n" + server.log());
      assertTrue(server.log().contains("event=shutdown_complete"), server.log());
    }
  }

  private static long newestMillis(Statement st) throws Exception {
    try (ResultSet rs = st.executeQuery("SELECT epoch_ms(max(timestamp)) FROM metrics")) {
      assertTrue(rs.next());
      return rs.getLong(1);
    }
  }
}
