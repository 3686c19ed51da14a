package io.hyprstream.flight;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.Hyprstream;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.util.AutoCloseables;
import org.apache.arrow.vector.BigIntVector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * What a client sends ends in the status that names its cause, never INTERNAL or UNKNOWN: DuckDB's
 * errors by their type, the memory ceiling as RESOURCE_EXHAUSTED, over a real server and client.
 */
final class ErrorStatusTest {
  /** DuckDB's memory_limit here: small enough for one query to pass it quickly. */
  private static final long DUCKDB_MEMORY_LIMIT = 256L << 20;

  private final BufferAllocator allocator = new RootAllocator();
  private Hyprstream hyprstream;
  private HyprstreamServer server;
  private FlightSqlClient sql;

  @BeforeEach
  void start() {
    hyprstream =
        Hyprstream.builder()
            .allocator(allocator)
            .cacheMemory(16L << 20)
            .cacheMemoryLimit(DUCKDB_MEMORY_LIMIT)
            .build();
    server =
        HyprstreamServer.builder(hyprstream).host("127.0.0.1").port(0).allocator(allocator).start();
    sql =
        new FlightSqlClient(
            FlightClient.builder(allocator, Location.forGrpcInsecure("127.0.0.1", server.port()))
                .build());
  }

  @AfterEach
  void stop() throws Exception {
    AutoCloseables.close(sql, server, hyprstream, allocator);
  }

  @Test
  void queryErrors_answerWithTheirCause() throws Exception {
    assertStatus(
        FlightStatusCode.INVALID_ARGUMENT, "Binder Error", () -> query("SELECT nope FROM metrics"));
    assertStatus(
        FlightStatusCode.INVALID_ARGUMENT,
        "Conversion Error",
        () -> query("SELECT 'abc'::INTEGER FROM range(3)"));
    assertStatus(
        FlightStatusCode.NOT_FOUND, "no_such_table", () -> query("SELECT * FROM no_such_table"));
    assertStatus(
        FlightStatusCode.RESOURCE_EXHAUSTED,
        "limits.duckdb_memory_limit_bytes",
        () -> query("SELECT list(x) FROM range(100000000) t(x)"));
    assertStatus(
        FlightStatusCode.INVALID_ARGUMENT,
        "not issued by this server",
        () -> drain(sql.getStream(new Ticket(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff}))));
    assertEquals(1, query("SELECT 1::BIGINT"), "the server answers on");
  }

  @Test
  void updateErrors_answerWithTheirCause() throws Exception {
    sql.executeUpdate("CREATE TABLE kept (a INTEGER PRIMARY KEY)");
    assertStatus(
        FlightStatusCode.ALREADY_EXISTS,
        "already exists",
        () -> sql.executeUpdate("CREATE TABLE kept (a INTEGER)"));
    assertStatus(FlightStatusCode.NOT_FOUND, "gone", () -> sql.executeUpdate("DROP TABLE gone"));
    sql.executeUpdate("INSERT INTO kept VALUES (1)");
    assertStatus(
        FlightStatusCode.INVALID_ARGUMENT,
        "Constraint Error",
        () -> sql.executeUpdate("INSERT INTO kept VALUES (1)"));
    assertEquals(1, query("SELECT count(*)::BIGINT FROM kept"), "nothing of the refusals stored");
  }

  private static void assertStatus(FlightStatusCode code, String named, Executable request) {
    FlightRuntimeException e = assertThrows(FlightRuntimeException.class, request);
    assertEquals(code, e.status().code(), e.toString());
    assertTrue(e.getMessage().contains(named), e.getMessage());
  }

  /** The first value of {@code query}'s first row, reading the whole result. */
  private long query(String query) throws Exception {
    try (FlightStream s = sql.getStream(sql.execute(query).getEndpoints().get(0).getTicket())) {
      long first = -1;
      while (s.next()) {
        if (first < 0 && s.getRoot().getRowCount() > 0) {
          first = ((BigIntVector) s.getRoot().getVector(0)).get(0);
        }
      }
      return first;
    }
  }

  private static void drain(FlightStream s) throws Exception {
    try (s) {
      while (s.next()) {
        // read everything there is
      }
    }
  }
}
