package io.hyprstream.flight;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.apache.arrow.flight.sql.impl.FlightSql.TicketStatementQuery;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Tickets hold server-issued handles, never SQL: a hand-made ticket naming a statement, or bytes
 * that are no ticket at all, are INVALID_ARGUMENT and run nothing.
 */
final class TicketTest {
  private TestServer server;
  private FlightClient flight;
  private FlightSqlClient client;

  @BeforeEach
  void setUp() throws Exception {
    server = new TestServer();
    flight = FlightClient.builder(server.allocator, server.location()).build();
    client = new FlightSqlClient(flight);
    Instant t = Instant.now();
    try (VectorSchemaRoot rows =
        TestServer.metrics(
            server.allocator, new String[] {"a", "b"}, new Instant[] {t, t}, new double[] {1, 2})) {
      server.hyprstream.ingest("metrics", rows);
    }
  }

  @AfterEach
  void tearDown() throws Exception {
    client.close();
    server.close();
  }

  private long count() throws Exception {
    FlightInfo info = client.execute("SELECT count(*) FROM metrics");
    try (FlightStream s = client.getStream(info.getEndpoints().get(0).getTicket())) {
      assertTrue(s.next());
      return ((BigIntVector) s.getRoot().getVector(0)).get(0);
    }
  }

  private static FlightStatusCode statusOf(Ticket ticket, FlightSqlClient client) {
    FlightRuntimeException e =
        assertThrows(
            FlightRuntimeException.class,
            () -> {
              try (FlightStream s = client.getStream(ticket)) {
                while (s.next()) {
                  // drain
                }
              }
            });
    return e.status().code();
  }

  @Test
  void handMadeTicketNamingSql_isInvalidArgument_andRunsNothing() throws Exception {
    assertEquals(2, count());
    Ticket forged =
        new Ticket(
            Any.pack(
                    TicketStatementQuery.newBuilder()
                        .setStatementHandle(
                            ByteString.copyFrom("DROP TABLE metrics", StandardCharsets.UTF_8))
                        .build())
                .toByteArray());
    assertEquals(FlightStatusCode.INVALID_ARGUMENT, statusOf(forged, client));
    assertEquals(2, count(), "the forged statement did not run");
  }

  @Test
  void bytesThatAreNoTicket_areInvalidArgument() throws Exception {
    byte[] junk = new byte[64];
    new java.util.Random(7).nextBytes(junk);
    assertEquals(FlightStatusCode.INVALID_ARGUMENT, statusOf(new Ticket(junk), client));
    assertEquals(2, count(), "the server still answers");
  }

  @Test
  void anIssuedTicket_canBeReadAgainWhileItLives() throws Exception {
    FlightInfo info = client.execute("SELECT count(*) FROM metrics");
    for (int i = 0; i < 2; i++) {
      try (FlightStream s = client.getStream(info.getEndpoints().get(0).getTicket())) {
        assertTrue(s.next());
        assertEquals(2, ((BigIntVector) s.getRoot().getVector(0)).get(0));
      }
    }
  }
}
