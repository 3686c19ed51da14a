package io.hyprstream.flight;

import io.hyprstream.flight.policy.Authentication;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import org.apache.arrow.flight.AsyncPutListener;
import org.apache.arrow.flight.CallOption;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.Location;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMilliVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * The closing-note figures for TLS + authentication: DoPut ingest rows/s and the JDBC window
 * query's p50/p99, plaintext without authentication next to TLS with a bearer token, in one run
 * (not run by {@code mvn verify}; see docs/server.md "Measuring").
 */
public final class SecureFigures {
  private static final int ROWS = Integer.getInteger("rows", 4_000_000);
  private static final int BATCH = 64 * 1024;
  private static final int QUERIES = Integer.getInteger("queries", 3000);
  private static final Instant BASE = Instant.now().minus(23, ChronoUnit.HOURS);

  private SecureFigures() {}

  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory("hyprstream-certs");
    TestCertificates certs = TestCertificates.create(dir);
    String hash = Authentication.hash("pw".toCharArray());
    for (int round = 0; round < 2; round++) {
      for (boolean secure : new boolean[] {false, true}) {
        run(secure, certs, hash, round == 1);
      }
    }
  }

  private static void run(boolean secure, TestCertificates certs, String hash, boolean print)
      throws Exception {
    try (TestServer server =
        new TestServer(
            b -> {
              if (secure) {
                b.tls(certs.serverCert, certs.serverKey)
                    .authentication(
                        Authentication.of(
                            List.of(
                                new Authentication.User(
                                    "bench", hash, Authentication.Role.READ_WRITE)),
                            Duration.ofHours(1)));
              }
            })) {
      int port = server.server.port();
      Location location =
          secure
              ? Location.forGrpcTls("127.0.0.1", port)
              : Location.forGrpcInsecure("127.0.0.1", port);
      FlightClient.Builder cb = FlightClient.builder(server.allocator, location);
      if (secure) {
        cb.trustedCertificates(Files.newInputStream(certs.caCert));
      }
      double rowsPerSecond;
      try (FlightClient client = cb.build();
          VectorSchemaRoot root =
              VectorSchemaRoot.create(TestServer.METRICS_BATCH, server.allocator)) {
        CallOption[] auth =
            secure
                ? new CallOption[] {client.authenticateBasicToken("bench", "pw").orElseThrow()}
                : new CallOption[0];
        long start = System.nanoTime();
        FlightClient.ClientStreamListener put =
            client.startPut(FlightDescriptor.path("metrics"), root, new AsyncPutListener(), auth);
        for (int b = 0; b * BATCH < ROWS; b++) {
          fill(root, b);
          put.putNext();
        }
        put.completed();
        put.getResult();
        rowsPerSecond = ROWS / ((System.nanoTime() - start) / 1e9);
      }
      Properties p = new Properties();
      if (secure) {
        p.setProperty("useEncryption", "true");
        p.setProperty("useSystemTrustStore", "false");
        p.setProperty("tlsRootCerts", certs.caCert.toString());
        p.setProperty("user", "bench");
        p.setProperty("password", "pw");
      } else {
        p.setProperty("useEncryption", "false");
      }
      long[] lat = new long[QUERIES];
      try (Connection c = FlightJdbc.connect("jdbc:arrow-flight-sql://127.0.0.1:" + port, p);
          PreparedStatement ps =
              c.prepareStatement(
                  "SELECT window_start, value_avg FROM metrics_1h WHERE metric_id = ?"
                      + " ORDER BY window_start DESC LIMIT 24")) {
        for (int i = -QUERIES; i < QUERIES; i++) {
          ps.setString(1, "m" + Math.floorMod(i, 1000));
          long t = System.nanoTime();
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              rs.getDouble(2);
            }
          }
          if (i >= 0) {
            lat[i] = System.nanoTime() - t;
          }
        }
      }
      Arrays.sort(lat);
      if (print) {
        System.out.printf(
            "%-22s DoPut %.2f M rows/s; JDBC 24-window query p50 %.3f ms, p99 %.3f ms%n",
            secure ? "TLS + auth (token):" : "plaintext, no auth:",
            rowsPerSecond / 1e6,
            lat[QUERIES / 2] / 1e6,
            lat[(int) (QUERIES * 0.99)] / 1e6);
      }
    }
  }

  private static void fill(VectorSchemaRoot root, int batch) {
    VarCharVector id = (VarCharVector) root.getVector(0);
    TimeStampMilliVector ts = (TimeStampMilliVector) root.getVector(1);
    Float8Vector value = (Float8Vector) root.getVector(2);
    root.allocateNew();
    long first = (long) batch * BATCH;
    for (int i = 0; i < BATCH; i++) {
      long row = first + i;
      id.setSafe(i, ("m" + row % 1000).getBytes(StandardCharsets.UTF_8));
      ts.setSafe(i, BASE.toEpochMilli() + row * 8);
      value.setSafe(i, row % 97);
    }
    root.setRowCount(BATCH);
  }
}
