package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import io.hyprstream.flight.TestCertificates;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.arrow.adbc.core.AdbcDriver;
import org.apache.arrow.adbc.driver.flightsql.FlightSqlConnectionProperties;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS with authentication, as docs/server.md recommends it, through the jar: users made with {@code
 * hyprstream hash-password}, the JDBC driver and ADBC trusting the test CA, a read-only user
 * refused on writes, wrong credentials and untrusting clients refused.
 */
final class TlsAuthIT {
  @TempDir Path dir;
  private TestCertificates certs;
  private String writerHash;
  private String readerHash;

  @BeforeEach
  void setUp() throws Exception {
    certs = TestCertificates.create(dir);
    writerHash = ShippedJar.hashPassword("writer-pw");
    readerHash = ShippedJar.hashPassword("reader-pw");
  }

  private ServerProcess startServer() {
    return ServerProcess.start(
        "--tls-cert",
        certs.serverCert.toString(),
        "--tls-key",
        certs.serverKey.toString(),
        "--auth",
        "--auth-user",
        "writer:" + writerHash + ":read_write",
        "--auth-user",
        "reader:" + readerHash + ":read_only");
  }

  private Properties jdbcProperties(String user, String password) {
    Properties p = new Properties();
    p.setProperty("useEncryption", "true");
    p.setProperty("useSystemTrustStore", "false");
    p.setProperty("tlsRootCerts", certs.caCert.toString());
    p.setProperty("user", user);
    p.setProperty("password", password);
    return p;
  }

  private static String jdbcUrl(ServerProcess server) {
    return "jdbc:arrow-flight-sql://localhost:" + server.port();
  }

  @Test
  void writerIngestsAndReadsOverTls_readerIsRefusedWrites() throws Exception {
    List<MetricRows.Row> rows = MetricRows.generate(1_000, 11, Instant.now());
    try (ServerProcess server = startServer()) {
      assertTrue(server.tls(), server.log());
      assertFalse(server.log().contains(writerHash), "password hashes are never logged");
      try (Connection writer =
          FlightJdbc.connect(jdbcUrl(server), jdbcProperties("writer", "writer-pw"))) {
        MetricRows.ingestJdbc(writer, rows);
        MetricRows.assertSameRows(
            MetricRows.oracle(rows, Duration.ofMinutes(5)),
            MetricRows.windows(writer, "metrics_5m"),
            "metrics_5m over TLS");
      }
      try (Connection reader =
          FlightJdbc.connect(jdbcUrl(server), jdbcProperties("reader", "reader-pw"))) {
        MetricRows.assertSameRows(
            MetricRows.oracle(rows, Duration.ofMinutes(5)),
            MetricRows.windows(reader, "metrics_5m"),
            "metrics_5m read by the read-only user");
        SQLException refused =
            assertThrows(
                SQLException.class,
                () -> MetricRows.ingestJdbc(reader, MetricRows.generate(3, 12, Instant.now())));
        String messages = causes(refused);
        // Flight Java names gRPC's PERMISSION_DENIED "UNAUTHORIZED".
        assertTrue(
            messages.contains("UNAUTHORIZED") && messages.contains("read_only"),
            "the refusal is PERMISSION_DENIED and names the role: " + messages);
        try (Statement st = reader.createStatement();
            ResultSet rs = st.executeQuery("SELECT count(*) FROM metrics")) {
          assertTrue(rs.next());
          assertEquals(rows.size(), rs.getLong(1), "the refused rows were not stored");
        }
      }
      assertEquals(0, server.terminate(), server.log());
    }
  }

  private static String causes(Throwable t) {
    StringBuilder sb = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      sb.append(c).append(" <- ");
    }
    return sb.toString();
  }

  @Test
  void adbcOverTlsWithPassword_ingests() throws Exception {
    List<MetricRows.Row> rows = MetricRows.generate(500, 13, Instant.now());
    try (ServerProcess server = startServer();
        InputStream ca = Files.newInputStream(certs.caCert)) {
      MetricRows.ingestAdbc(
          "grpc+tls://localhost:" + server.port(),
          Map.of(
              AdbcDriver.PARAM_USERNAME.getKey(),
              "writer",
              AdbcDriver.PARAM_PASSWORD.getKey(),
              "writer-pw",
              FlightSqlConnectionProperties.TLS_ROOT_CERTS.getKey(),
              ca,
              // ADBC Java's bulk ingest carries credentials only through cookies.
              FlightSqlConnectionProperties.WITH_COOKIE_MIDDLEWARE.getKey(),
              true),
          rows);
      try (Connection writer =
          FlightJdbc.connect(jdbcUrl(server), jdbcProperties("writer", "writer-pw"))) {
        MetricRows.assertSameRows(
            MetricRows.oracle(rows, Duration.ofHours(1)),
            MetricRows.windows(writer, "metrics_1h"),
            "metrics_1h after ADBC bulk ingest over TLS");
      }
      assertEquals(0, server.terminate(), server.log());
    }
  }

  @Test
  void wrongPasswordAndUntrustingClientsAreRefused() throws Exception {
    try (ServerProcess server = startServer()) {
      assertThrows(
          SQLException.class,
          () -> FlightJdbc.connect(jdbcUrl(server), jdbcProperties("writer", "nope")).close());
      Properties untrusting = jdbcProperties("writer", "writer-pw");
      untrusting.remove("tlsRootCerts");
      assertThrows(
          SQLException.class, () -> FlightJdbc.connect(jdbcUrl(server), untrusting).close());
      Properties plaintext = jdbcProperties("writer", "writer-pw");
      plaintext.setProperty("useEncryption", "false");
      assertThrows(
          SQLException.class, () -> FlightJdbc.connect(jdbcUrl(server), plaintext).close());
      assertEquals(0, server.terminate(), server.log());
    }
  }
}
