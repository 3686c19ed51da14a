package io.hyprstream.flight;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client cannot reach the file system, other databases or extensions through SQL: the core locks
 * DuckDB down, and these requests are refused over the wire with a status the client can read.
 */
final class SandboxTest {
  private TestServer server;
  private FlightSqlClient client;

  @BeforeEach
  void setUp() {
    server = new TestServer();
    client = new FlightSqlClient(FlightClient.builder(server.allocator, server.location()).build());
  }

  @AfterEach
  void tearDown() throws Exception {
    client.close();
    server.close();
  }

  /** Runs {@code sql} as a query and reads it all; it must be refused. */
  private void assertQueryRefused(String sql) {
    FlightRuntimeException e =
        assertThrows(
            FlightRuntimeException.class,
            () -> {
              try (FlightStream s =
                  client.getStream(client.execute(sql).getEndpoints().get(0).getTicket())) {
                while (s.next()) {
                  // drain
                }
              }
            },
            sql);
    assertRefusal(e, sql);
  }

  private void assertUpdateRefused(String sql) {
    assertRefusal(
        assertThrows(FlightRuntimeException.class, () -> client.executeUpdate(sql), sql), sql);
  }

  private static void assertRefusal(FlightRuntimeException e, String sql) {
    assertTrue(
        List.of(FlightStatusCode.INVALID_ARGUMENT, FlightStatusCode.NOT_FOUND)
            .contains(e.status().code()),
        sql + " -> " + e.status().code() + ": " + e.getMessage());
  }

  @Test
  void query_readingLocalFiles_isRefused() {
    assertQueryRefused("SELECT * FROM read_csv('/etc/passwd')");
    assertQueryRefused("SELECT * FROM read_text('/etc/passwd')");
    assertQueryRefused("SELECT * FROM '/etc/passwd'");
    assertQueryRefused("SELECT * FROM read_blob('/etc/hostname')");
    assertQueryRefused("SELECT * FROM glob('/etc/*')");
  }

  @Test
  void update_writingFiles_isRefusedAndWritesNothing(@TempDir Path dir) {
    Path target = dir.resolve("out.csv");
    assertUpdateRefused("COPY (SELECT 1) TO '" + target + "'");
    assertUpdateRefused("EXPORT DATABASE '" + dir.resolve("export") + "'");
    assertFalse(Files.exists(target));
    assertFalse(Files.exists(dir.resolve("export")));
  }

  @Test
  void update_attachingDatabases_isRefused(@TempDir Path dir) {
    Path db = dir.resolve("other.duckdb");
    assertUpdateRefused("ATTACH '" + db + "' AS other");
    assertFalse(Files.exists(db));
  }

  @Test
  void update_installingOrLoadingExtensions_isRefused() {
    assertUpdateRefused("INSTALL httpfs");
    assertUpdateRefused("LOAD httpfs");
    assertUpdateRefused("SET enable_external_access = true");
    assertUpdateRefused("SET allow_community_extensions = true");
  }

  @Test
  void jdbc_sandboxEscapes_areRefused(@TempDir Path dir) throws Exception {
    try (Connection c = FlightJdbc.connect(server.jdbcUrl());
        Statement st = c.createStatement()) {
      assertThrows(
          SQLException.class, () -> st.executeQuery("SELECT * FROM read_csv('/etc/passwd')"));
      assertThrows(
          SQLException.class,
          () -> st.executeUpdate("ATTACH '" + dir.resolve("x.duckdb") + "' AS other"));
      assertThrows(SQLException.class, () -> st.executeUpdate("INSTALL httpfs"));
    }
  }
}
