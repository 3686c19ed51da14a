package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hyprstream (Rust) configuration forms, through {@code java -jar hyprstream.jar}, each reaching
 * the real PostgreSQL at 127.0.0.1:5432 (a row ingested over the Flight SQL JDBC driver is read
 * back with pgjdbc), the start-up log naming where each value came from; {@code --metrics-windows}
 * in effect (checked against DuckDB); and bad input exiting 2 naming what is wrong.
 */
final class ConfigurationIT {
  @TempDir Path dir;

  /** Ingests one row through the server and waits for it in PostgreSQL. */
  private static void ingestReachesPostgres(ServerProcess server, PostgresDatabase db)
      throws Exception {
    String id = "cfg-" + UUID.randomUUID();
    try (Connection c = FlightJdbc.connect(server.jdbcUrl());
        PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO metrics (metric_id, timestamp, value) VALUES (?, ?, ?)")) {
      ps.setString(1, id);
      ps.setTimestamp(2, new Timestamp(System.currentTimeMillis()));
      ps.setDouble(3, 42.0);
      ps.executeUpdate();
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    try (Connection pg = db.connect();
        PreparedStatement ps =
            pg.prepareStatement("SELECT value FROM metrics WHERE metric_id = ?")) {
      ps.setString(1, id);
      while (true) {
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            assertEquals(42.0, rs.getDouble(1), 0.0);
            assertFalse(rs.next(), "one row, once");
            return;
          }
        } catch (java.sql.SQLException tableNotYetCreated) {
          // The write-through creates the table with the first batch.
        }
        assertTrue(
            System.nanoTime() < deadline, "the row never reached PostgreSQL:\n" + server.log());
        Thread.sleep(100);
      }
    }
  }

  private static void assertLogs(ServerProcess server, String... lines) {
    for (String line : lines) {
      assertTrue(server.log().contains(line), "missing '" + line + "' in:\n" + server.log());
    }
  }

  @Test
  void storageSection_seedUriWithUsernameVariable_reachesPostgres() throws Exception {
    try (PostgresDatabase db = PostgresDatabase.create()) {
      Path file =
          Files.writeString(
              dir.resolve("seed.toml"),
              "[storage]\nbackend = \"adbc\"\nconnection = \""
                  + db.uri()
                  + "\"\noptions = { pool_max = \"4\" }\n");
      try (ServerProcess server =
          ServerProcess.builder()
              .args(
                  "--config",
                  file.toString(),
                  "--port",
                  "0",
                  "--http-port",
                  "-1",
                  "--engine-options",
                  "driver_path=/usr/local/lib/libadbc_driver_postgresql.so")
              .env("HYPRSTREAM_ENGINE_USERNAME", "postgres")
              .start()) {
        ingestReachesPostgres(server, db);
        assertLogs(
            server,
            "engine.engine = adbc  (alias [storage] backend in " + file + " line 2)",
            "engine.connection = " + db.uri() + "  (alias [storage] connection in " + file,
            "engine.options.pool_max = 4  (alias [storage] options in " + file + " line 4)",
            "engine.options.driver_path = /usr/local/lib/libadbc_driver_postgresql.so  (flag"
                + " --engine-options)",
            "engine.username = postgres  (environment variable HYPRSTREAM_ENGINE_USERNAME)",
            "event=native_driver_mapped driver_path=/usr/local/lib/libadbc_driver_postgresql.so");
        assertEquals(0, server.terminate(), server.log());
      }
    }
  }

  @Test
  void adbcSectionsWithPool_reachPostgresThroughAPoolOfThatSize() throws Exception {
    try (PostgresDatabase db = PostgresDatabase.create()) {
      Path file =
          Files.writeString(
              dir.resolve("adbc.toml"),
              "[adbc]\nurl = \"postgresql://"
                  + PostgresDatabase.HOST_PORT
                  + "\"\nusername = \"postgres\"\npassword = \"unused-with-trust\"\ndatabase = \""
                  + db.name()
                  + "\"\n[adbc.options]\nApplicationName = \"hs-cfg-it\"\n"
                  + "[adbc.pool]\nmax_connections = 3\nmin_connections = 2\nconnect_timeout = 5\n"
                  + "[cache]\nduration_secs = 7200\n");
      try (ServerProcess server =
          ServerProcess.start("--config", file.toString(), "--port", "0", "--http-port", "-1")) {
        ingestReachesPostgres(server, db);
        assertLogs(
            server,
            "engine.engine = adbc  (implied by alias [adbc] url in " + file + " line 2)",
            "engine.database = " + db.name() + "  (alias [adbc] database in " + file + " line 5)",
            "engine.password = (hidden)  (alias [adbc] password in " + file + " line 4)",
            "engine.options.pool_max = 3  (alias [adbc.pool] max_connections in " + file,
            "engine.options.pool_min = 2  (alias [adbc.pool] min_connections in " + file,
            "engine.options.connect_timeout = 5  (alias [adbc.pool] connect_timeout in " + file,
            "cache.duration = 7200  (alias [cache] duration_secs in " + file + " line 13)");
        assertFalse(server.log().contains("unused-with-trust"), server.log());
        // The pool keeps min_connections open and never more than max_connections.
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        long open = backendConnections(db);
        while (open < 2 && System.nanoTime() < deadline) {
          Thread.sleep(100);
          open = backendConnections(db);
        }
        assertTrue(open >= 2 && open <= 3, open + " connections from the server");
        assertEquals(0, server.terminate(), server.log());
      }
    }
  }

  private static long backendConnections(PostgresDatabase db) throws Exception {
    try (Connection pg = db.connect();
        Statement st = pg.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = '"
                    + db.name()
                    + "' AND application_name = 'hs-cfg-it'")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void plainAdbcVariables_reachPostgres() throws Exception {
    try (PostgresDatabase db = PostgresDatabase.create()) {
      try (ServerProcess server =
          ServerProcess.builder()
              .env("ADBC_URL", "postgresql://" + PostgresDatabase.HOST_PORT)
              .env("ADBC_USERNAME", "postgres")
              .env("ADBC_DATABASE", db.name())
              .env("ADBC_DRIVER", "libadbc_driver_postgresql.so")
              .start()) {
        ingestReachesPostgres(server, db);
        assertLogs(
            server,
            "engine.engine = adbc  (implied by alias environment variable ADBC_URL)",
            "engine.database = " + db.name() + "  (alias environment variable ADBC_DATABASE)",
            "engine.options.driver_path = libadbc_driver_postgresql.so  (alias environment"
                + " variable ADBC_DRIVER)",
            "event=native_driver_mapped");
        assertEquals(0, server.terminate(), server.log());
      }
    }
  }

  @Test
  void hyprstreamAdbcVariables_beatThePlainOnesAndReachPostgres() throws Exception {
    try (PostgresDatabase db = PostgresDatabase.create()) {
      try (ServerProcess server =
          ServerProcess.builder()
              .env("ADBC_URL", "postgresql://127.0.0.1:1/nowhere")
              .env("HYPRSTREAM_ADBC_URL", "postgresql://" + PostgresDatabase.HOST_PORT)
              .env("HYPRSTREAM_ADBC_USERNAME", "postgres")
              .env("HYPRSTREAM_ADBC_PASSWORD", "unused-with-trust")
              .env("HYPRSTREAM_ADBC_DATABASE", db.name())
              .env("HYPRSTREAM_ADBC_DRIVER_PATH", "/opt/adbc/libadbc_driver_postgresql.dylib")
              .start()) {
        ingestReachesPostgres(server, db);
        assertLogs(
            server,
            "engine.connection = postgresql://"
                + PostgresDatabase.HOST_PORT
                + "  (alias environment variable HYPRSTREAM_ADBC_URL)",
            "engine.username = postgres  (alias environment variable HYPRSTREAM_ADBC_USERNAME)",
            "event=native_driver_mapped driver_path=/opt/adbc/libadbc_driver_postgresql.dylib");
        assertFalse(server.log().contains("unused-with-trust"), server.log());
        assertFalse(server.log().contains("warning"), server.log());
        assertEquals(0, server.terminate(), server.log());
      }
    }
  }

  @Test
  void dbFlagsWithDriverPath_reachPostgresAndLogTheJavaPathOnce() throws Exception {
    try (PostgresDatabase db = PostgresDatabase.create()) {
      try (ServerProcess server =
          ServerProcess.start(
              "--db-url",
              "postgresql://" + PostgresDatabase.HOST_PORT,
              "--db-user",
              "postgres",
              "--db-name",
              db.name(),
              "--driver-path",
              "/usr/local/lib/libadbc_driver_postgresql.so")) {
        ingestReachesPostgres(server, db);
        assertLogs(
            server,
            "engine.engine = adbc  (implied by alias flag --db-url)",
            "engine.username = postgres  (alias flag --db-user)",
            "engine.database = " + db.name() + "  (alias flag --db-name)",
            "engine.options.driver_path = /usr/local/lib/libadbc_driver_postgresql.so  (alias"
                + " flag --driver-path)");
        String log = server.log();
        int first = log.indexOf("event=native_driver_mapped");
        assertTrue(first >= 0, log);
        assertEquals(-1, log.indexOf("event=native_driver_mapped", first + 1), "one line:\n" + log);
        assertTrue(log.contains("PostgreSQL through pgjdbc"), log);
        assertEquals(0, server.terminate(), server.log());
      }
    }
  }

  @Test
  void metricsWindows_tenDayRetention_keepsTenDayOldWindowsAsDuckDbComputesThem() throws Exception {
    Instant now = Instant.now().truncatedTo(ChronoUnit.MINUTES);
    Instant first = now.minus(Duration.ofDays(9)).truncatedTo(ChronoUnit.HOURS);
    List<Object[]> rows = new ArrayList<>();
    int i = 0;
    for (Instant t = first;
        t.isBefore(now.minus(Duration.ofMinutes(10)));
        t = t.plusSeconds(1800)) {
      for (String id : List.of("cpu", "mem")) {
        rows.add(new Object[] {id, t.toEpochMilli(), (double) (i++ % 97)});
      }
    }
    try (ServerProcess server = ServerProcess.start("--metrics-windows", "5m:10d,1h")) {
      assertLogs(server, "metrics.windows = 5m:10d,1h:31d  (flag --metrics-windows)");
      try (Connection c = FlightJdbc.connect(server.jdbcUrl())) {
        try (PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO metrics (metric_id, timestamp, value) VALUES (?, ?, ?)")) {
          for (Object[] r : rows) {
            ps.setString(1, (String) r[0]);
            ps.setTimestamp(2, new Timestamp((Long) r[1]));
            ps.setDouble(3, (Double) r[2]);
            ps.addBatch();
          }
          ps.executeBatch();
        }
        List<List<Object>> served =
            rows(
                c,
                "SELECT metric_id, epoch_ms(window_start), value_count, value_sum, value_min,"
                    + " value_max FROM metrics_5m ORDER BY 1, 2");
        List<List<Object>> expected = oracle(rows);
        assertEquals(expected.size(), served.size(), "windows in metrics_5m");
        assertEquals(expected, served);
        long oldest = ((Number) served.get(0).get(1)).longValue();
        assertTrue(
            oldest < now.minus(Duration.ofDays(8)).toEpochMilli(),
            "metrics_5m keeps windows more than a day old: oldest " + Instant.ofEpochMilli(oldest));
        try (Statement st = c.createStatement()) {
          assertThrowsSql(st, "SELECT count(*) FROM metrics_30m");
        }
      }
      assertEquals(0, server.terminate(), server.log());
    }
  }

  private static void assertThrowsSql(Statement st, String sql) {
    try (ResultSet rs = st.executeQuery(sql)) {
      throw new AssertionError(sql + " should fail: only 5m and 1h windows are configured");
    } catch (java.sql.SQLException expected) {
      assertTrue(expected.getMessage().contains("metrics_30m"), expected.getMessage());
    }
  }

  private static List<List<Object>> rows(Connection c, String sql) throws Exception {
    List<List<Object>> out = new ArrayList<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        out.add(
            List.of(
                rs.getString(1),
                rs.getLong(2),
                rs.getLong(3),
                rs.getDouble(4),
                rs.getDouble(5),
                rs.getDouble(6)));
      }
    }
    return out;
  }

  /** DuckDB's own 5-minute buckets over the same rows. */
  private static List<List<Object>> oracle(List<Object[]> rows) throws Exception {
    try (Connection duck = DriverManager.getConnection("jdbc:duckdb:")) {
      try (Statement st = duck.createStatement()) {
        st.execute("CREATE TABLE m (metric_id VARCHAR, ts BIGINT, value DOUBLE)");
      }
      try (PreparedStatement ps = duck.prepareStatement("INSERT INTO m VALUES (?, ?, ?)")) {
        for (Object[] r : rows) {
          ps.setString(1, (String) r[0]);
          ps.setLong(2, (Long) r[1]);
          ps.setDouble(3, (Double) r[2]);
          ps.addBatch();
        }
        ps.executeBatch();
      }
      return rows(
          duck,
          "SELECT metric_id, epoch_ms(time_bucket(INTERVAL '5 minutes', epoch_ms(ts))),"
              + " count(*), sum(value), min(value), max(value) FROM m GROUP BY 1, 2 ORDER BY 1, 2");
    }
  }

  @Test
  void badInput_exitsTwoNamingIt() {
    ShippedJar.Result spec = ShippedJar.run(List.of("--metrics-windows", "5m:10d,1hr"));
    assertEquals(2, spec.exitCode(), spec.output());
    assertTrue(spec.stderr().contains("'1hr'"), spec.output());
    assertTrue(spec.stderr().contains("--metrics-windows"), spec.output());
    assertTrue(spec.stderr().contains("SIZE[:RETENTION]"), spec.output());

    ShippedJar.Result driver =
        ShippedJar.run(
            List.of(
                "--db-url",
                "postgresql://" + PostgresDatabase.HOST_PORT + "/test",
                "--driver-path",
                "/usr/lib/libadbc_driver_snowflake.so"));
    assertEquals(2, driver.exitCode(), driver.output());
    for (String named :
        List.of(
            "libadbc_driver_snowflake.so",
            "--driver-path",
            "libadbc_driver_postgresql.so",
            "libadbc_driver_sqlite.so",
            "libduckdb.so",
            "libadbc_driver_flightsql.so")) {
      assertTrue(driver.stderr().contains(named), named + ":\n" + driver.output());
    }

    ShippedJar.Result flag = ShippedJar.run(List.of("--db-urll", "postgresql://x/y"));
    assertEquals(2, flag.exitCode(), flag.output());
    assertTrue(flag.stderr().contains("--db-urll"), flag.output());

    ShippedJar.Result both =
        ShippedJar.run(
            List.of("--engine-connection", "postgresql://a/b", "--db-url", "postgresql://c/d"));
    assertEquals(2, both.exitCode(), both.output());
    assertTrue(both.stderr().contains("give one of them"), both.output());

    ShippedJar.Result pool =
        ShippedJar.run(
            List.of("--db-url", "postgresql://a/b", "--engine-options", "pool_max=many"));
    assertEquals(2, pool.exitCode(), pool.output());
    assertTrue(pool.stderr().contains("engine.options.pool_max = 'many'"), pool.output());
  }

  @Test
  void help_hasNoWarningAndNoStaleText() {
    ShippedJar.Result help = ShippedJar.run(List.of("--help"));
    assertEquals(0, help.exitCode(), help.output());
    assertEquals("", help.stderr(), help.output());
    assertFalse(help.stdout().contains("WARN"), help.output());
    assertFalse(help.stdout().contains("later release"), help.output());
    for (String flag :
        List.of("--metrics-windows", "--db-url", "--db-user", "--db-name", "--driver-path")) {
      assertTrue(help.stdout().contains(flag), flag + ":\n" + help.output());
    }
  }
}
