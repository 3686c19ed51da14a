package io.hyprstream.flight;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.policy.Authentication;
import io.hyprstream.testing.ManualClock;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Properties;
import org.apache.arrow.flight.AsyncPutListener;
import org.apache.arrow.flight.CallOption;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest.TableDefinitionOptions;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS (with the real JDBC driver and with Flight's client, mutual TLS too), authentication
 * (passwords, bearer tokens and their expiry) and the read-only role, against a real server.
 */
final class SecurityTest {
  private static final Instant T0 = Instant.now().truncatedTo(ChronoUnit.HOURS).minusSeconds(3600);

  /** Cost 4, bcrypt's least: these tests check the protocol, not the hash's strength. */
  private static final String ALICE_HASH = Authentication.hash("alice-pw".toCharArray(), 4);

  private static final String READER_HASH = Authentication.hash("reader-pw".toCharArray(), 4);

  @TempDir static Path certDir;
  private static TestCertificates certs;

  private final ManualClock clock = new ManualClock();
  private TestServer server;

  @BeforeAll
  static void certificates() throws Exception {
    certs = TestCertificates.create(certDir);
  }

  @AfterEach
  void tearDown() {
    if (server != null) {
      server.close();
    }
  }

  private Authentication auth() {
    return Authentication.of(
            List.of(
                new Authentication.User("alice", ALICE_HASH, Authentication.Role.READ_WRITE),
                new Authentication.User("reader", READER_HASH, Authentication.Role.READ_ONLY)),
            Duration.ofMinutes(5))
        .withClock(clock);
  }

  private void startWithAuth() {
    server = new TestServer(b -> b.authentication(auth()));
  }

  private FlightClient plainClient() {
    return FlightClient.builder(server.allocator, server.location()).build();
  }

  private static CallOption token(FlightClient client, String user, String password) {
    return client.authenticateBasicToken(user, password).orElseThrow();
  }

  private static FlightStatusCode code(Executable call) {
    return assertThrows(FlightRuntimeException.class, call).status().code();
  }

  private static long firstLong(FlightSqlClient sql, String query, CallOption... options)
      throws Exception {
    try (FlightStream s =
        sql.getStream(sql.execute(query, options).getEndpoints().get(0).getTicket(), options)) {
      assertTrue(s.next());
      return ((BigIntVector) s.getRoot().getVector(0)).get(0);
    }
  }

  private long storedMetrics() throws Exception {
    try (ArrowReader r = server.hyprstream.query("SELECT count(*)::BIGINT FROM metrics")) {
      assertTrue(r.loadNextBatch());
      return ((BigIntVector) r.getVectorSchemaRoot().getVector(0)).get(0);
    }
  }

  @Test
  void jdbc_overTlsWithTestCaAndPassword_queries() throws Exception {
    server = new TestServer(b -> b.tls(certs.serverCert, certs.serverKey).authentication(auth()));
    Properties p = new Properties();
    p.setProperty("useEncryption", "true");
    p.setProperty("useSystemTrustStore", "false");
    p.setProperty("tlsRootCerts", certs.caCert.toString());
    p.setProperty("user", "alice");
    p.setProperty("password", "alice-pw");
    String url = "jdbc:arrow-flight-sql://127.0.0.1:" + server.server.port();
    try (Connection c = FlightJdbc.connect(url, p);
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT 41 + 1 AS answer")) {
      assertTrue(rs.next());
      assertEquals(42, rs.getInt(1));
    }
    // The same port refuses a client that does not trust the test CA.
    Properties untrusting = new Properties();
    untrusting.putAll(p);
    untrusting.remove("tlsRootCerts");
    assertThrows(SQLException.class, () -> FlightJdbc.connect(url, untrusting).close());
  }

  @Test
  void mutualTls_clientCertificateRequired() throws Exception {
    server =
        new TestServer(
            b -> b.tls(certs.serverCert, certs.serverKey).clientCertificateAuthority(certs.caCert));
    Location tls = Location.forGrpcTls("127.0.0.1", server.server.port());
    try (InputStream ca = Files.newInputStream(certs.caCert);
        InputStream cert = Files.newInputStream(certs.clientCert);
        InputStream key = Files.newInputStream(certs.clientKey);
        FlightSqlClient sql =
            new FlightSqlClient(
                FlightClient.builder(server.allocator, tls)
                    .trustedCertificates(ca)
                    .clientCertificate(cert, key)
                    .build())) {
      assertEquals(7, firstLong(sql, "SELECT 7::BIGINT"));
    }
    try (InputStream ca = Files.newInputStream(certs.caCert);
        FlightSqlClient anonymous =
            new FlightSqlClient(
                FlightClient.builder(server.allocator, tls).trustedCertificates(ca).build())) {
      assertThrows(FlightRuntimeException.class, () -> firstLong(anonymous, "SELECT 7::BIGINT"));
    }
  }

  @Test
  void wrongPasswordOrUnknownUser_unauthenticated() throws Exception {
    startWithAuth();
    try (FlightClient client = plainClient()) {
      assertEquals(
          FlightStatusCode.UNAUTHENTICATED,
          code(() -> client.authenticateBasicToken("alice", "wrong")));
      assertEquals(
          FlightStatusCode.UNAUTHENTICATED,
          code(() -> client.authenticateBasicToken("mallory", "alice-pw")));
    }
  }

  @Test
  void missingOrForgedToken_unauthenticated() throws Exception {
    startWithAuth();
    try (FlightSqlClient sql = new FlightSqlClient(plainClient())) {
      FlightRuntimeException e =
          assertThrows(FlightRuntimeException.class, () -> sql.execute("SELECT 1"));
      assertEquals(FlightStatusCode.UNAUTHENTICATED, e.status().code());
      assertTrue(e.getMessage().contains("authentication required"), e.getMessage());
      CallOption forged =
          new org.apache.arrow.flight.grpc.CredentialCallOption(
              new org.apache.arrow.flight.auth2.BearerCredentialWriter("not-a-token"));
      assertEquals(FlightStatusCode.UNAUTHENTICATED, code(() -> sql.execute("SELECT 1", forged)));
    }
  }

  @Test
  void expiredToken_unauthenticated_thenANewOneWorks() throws Exception {
    startWithAuth();
    try (FlightClient client = plainClient();
        FlightSqlClient sql = new FlightSqlClient(client)) {
      CallOption token = token(client, "alice", "alice-pw");
      assertEquals(1, firstLong(sql, "SELECT 1::BIGINT", token));
      clock.advance(Duration.ofMinutes(5).plusSeconds(1));
      FlightRuntimeException e =
          assertThrows(FlightRuntimeException.class, () -> sql.execute("SELECT 1", token));
      assertEquals(FlightStatusCode.UNAUTHENTICATED, e.status().code());
      assertTrue(e.getMessage().contains("expired"), e.getMessage());
      CallOption fresh = token(client, "alice", "alice-pw");
      assertEquals(1, firstLong(sql, "SELECT 1::BIGINT", fresh));
    }
  }

  @Test
  void readOnlyRole_cannotIngestOrChange_butQueries() throws Exception {
    startWithAuth();
    try (FlightClient client = plainClient();
        FlightSqlClient sql = new FlightSqlClient(client);
        VectorSchemaRoot batch =
            TestServer.metrics(
                server.allocator, new String[] {"cpu"}, new Instant[] {T0}, new double[] {1})) {
      CallOption reader = token(client, "reader", "reader-pw");
      FlightClient.ClientStreamListener put =
          client.startPut(FlightDescriptor.path("metrics"), batch, new AsyncPutListener(), reader);
      put.putNext();
      put.completed();
      FlightRuntimeException denied = assertThrows(FlightRuntimeException.class, put::getResult);
      assertEquals(FlightStatusCode.UNAUTHORIZED, denied.status().code()); // gRPC PERMISSION_DENIED
      assertTrue(denied.getMessage().contains("'reader' has role read_only"), denied.getMessage());

      FlightSqlClient.ExecuteIngestOptions append =
          new FlightSqlClient.ExecuteIngestOptions(
              "metrics",
              TableDefinitionOptions.newBuilder()
                  .setIfExists(TableDefinitionOptions.TableExistsOption.TABLE_EXISTS_OPTION_APPEND)
                  .setIfNotExist(
                      TableDefinitionOptions.TableNotExistOption.TABLE_NOT_EXIST_OPTION_CREATE)
                  .build(),
              null,
              null,
              null);
      assertEquals(
          FlightStatusCode.UNAUTHORIZED, code(() -> sql.executeIngest(batch, append, reader)));
      String insert = "INSERT INTO metrics (metric_id, timestamp, value) VALUES ('x', now(), 1)";
      assertEquals(FlightStatusCode.UNAUTHORIZED, code(() -> sql.executeUpdate(insert, reader)));
      assertEquals(
          FlightStatusCode.UNAUTHORIZED,
          code(() -> sql.execute(insert + " RETURNING value", reader)));
      assertEquals(
          FlightStatusCode.UNAUTHORIZED,
          code(() -> sql.prepare("INSERT INTO metrics VALUES (?, ?, ?)", reader)));
      assertEquals(FlightStatusCode.UNAUTHORIZED, code(() -> sql.prepare(insert, reader)));
      assertEquals(
          FlightStatusCode.UNAUTHORIZED,
          code(() -> sql.executeUpdate("WITH x AS (SELECT 1) " + insert, reader)));
      assertEquals(
          FlightStatusCode.UNAUTHORIZED,
          code(() -> sql.executeUpdate("DROP TABLE metrics", reader)));
      assertEquals(0, storedMetrics(), "nothing of the refused requests was stored");

      // The reader may query; the writer may ingest.
      CallOption alice = token(client, "alice", "alice-pw");
      assertEquals(1, sql.executeIngest(batch, append, alice));
      assertEquals(1, firstLong(sql, "SELECT count(*)::BIGINT FROM metrics", reader));
    }
  }

  @Test
  void sandbox_holdsForAnAuthenticatedWriter() throws Exception {
    startWithAuth();
    try (FlightClient client = plainClient();
        FlightSqlClient sql = new FlightSqlClient(client)) {
      CallOption alice = token(client, "alice", "alice-pw");
      assertEquals(
          FlightStatusCode.INVALID_ARGUMENT,
          code(() -> sql.executeUpdate("INSTALL httpfs", alice)));
      assertEquals(
          FlightStatusCode.INVALID_ARGUMENT,
          code(() -> firstLong(sql, "SELECT count(*) FROM read_text('/etc/passwd')", alice)));
    }
  }
}
