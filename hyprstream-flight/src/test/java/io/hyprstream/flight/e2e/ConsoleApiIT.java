package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyprstream.flight.FlightJdbc;
import io.hyprstream.flight.TestCertificates;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Base64;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The console's JSON API (docs/console.md) through the jar, without a browser: nothing but {@code
 * /api/info} and {@code /api/login} answers without a token when authentication is on; its tokens
 * are the Flight SQL port's (one from {@code /api/login} opens a JDBC connection); roles, the SQL
 * sandbox, the query slots and the query time limit apply as they do to Flight SQL; the page
 * carries a CSP and no inline script; {@code --no-console} leaves only the probes; with a
 * certificate the port speaks HTTPS.
 */
final class ConsoleApiIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SLOW_QUERY =
      "SELECT count(*)::BIGINT FROM range(100000000000) a WHERE a.range % 7 = 3";

  @TempDir Path dir;

  private final HttpClient http = HttpClient.newHttpClient();

  /** One answer: its status and JSON body. */
  record Answer(int status, JsonNode body) {
    String errorCode() {
      return body.path("error").path("code").asText();
    }

    String errorMessage() {
      return body.path("error").path("message").asText();
    }
  }

  private Answer call(
      HttpClient client,
      ServerProcess server,
      String method,
      String path,
      @Nullable String auth,
      @Nullable String body)
      throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.httpUrl(path)));
    if (auth != null) {
      b.header("Authorization", auth);
    }
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    boolean json = r.headers().firstValue("Content-Type").orElse("").startsWith("application/json");
    return new Answer(r.statusCode(), JSON.readTree(json ? r.body() : "{}"));
  }

  private Answer query(ServerProcess server, @Nullable String token, String sql)
      throws IOException, InterruptedException {
    return query(server, token, sql, 1000, 0);
  }

  private Answer query(
      ServerProcess server, @Nullable String token, String sql, int limit, long offset)
      throws IOException, InterruptedException {
    ObjectNode body =
        JSON.createObjectNode().put("sql", sql).put("limit", limit).put("offset", offset);
    return call(
        http,
        server,
        "POST",
        "/api/query",
        token == null ? null : "Bearer " + token,
        body.toString());
  }

  private String login(ServerProcess server, String user, String password) throws Exception {
    Answer a = call(http, server, "POST", "/api/login", basic(user, password), null);
    assertEquals(200, a.status(), a.body().toString());
    assertEquals(user, a.body().path("user").asText());
    return a.body().path("token").asText();
  }

  private static String basic(String user, String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void withAuth_tokensRolesSandboxAndLimitsApply() throws Exception {
    String readerHash = ShippedJar.hashPassword("reader-pw");
    String writerHash = ShippedJar.hashPassword("writer-pw");
    try (ServerProcess server =
        ServerProcess.start(
            "--auth",
            "--auth-user",
            "reader:" + readerHash + ":read_only",
            "--auth-user",
            "writer:" + writerHash + ":read_write",
            "--max-concurrent-queries",
            "1",
            "--query-queue",
            "0",
            "--query-timeout",
            "3")) {
      HttpResponse<String> page =
          http.send(
              HttpRequest.newBuilder(URI.create(server.httpUrl("/"))).build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, page.statusCode());
      String csp = page.headers().firstValue("Content-Security-Policy").orElse("");
      assertTrue(csp.contains("script-src 'self'") && csp.contains("default-src 'none'"), csp);
      assertFalse(page.body().matches("(?s).*<script(?![^>]*\\bsrc=)[^>]*>.*"), "no inline script");
      assertFalse(page.body().contains("style="), "no inline style");

      Answer info = call(http, server, "GET", "/api/info", null, null);
      assertEquals(200, info.status());
      assertTrue(info.body().path("auth").asBoolean(), info.body().toString());

      // Nothing that reads data answers without a valid token.
      Answer anonymous = query(server, null, "SELECT 1");
      assertEquals(401, anonymous.status(), anonymous.body().toString());
      assertEquals("UNAUTHENTICATED", anonymous.errorCode());
      assertEquals(401, query(server, "not-a-token", "SELECT 1").status());
      assertEquals(401, call(http, server, "GET", "/api/tables", null, null).status());
      assertEquals(401, call(http, server, "GET", "/api/server", null, null).status());
      Answer wrong = call(http, server, "POST", "/api/login", basic("reader", "wrong"), null);
      assertEquals(401, wrong.status());
      assertEquals("invalid username or password", wrong.errorMessage());

      String reader = login(server, "reader", "reader-pw");
      String writer = login(server, "writer", "writer-pw");
      String insert =
          "INSERT INTO metrics (metric_id, timestamp, value)"
              + " VALUES ('api.row', TIMESTAMP '2026-01-01 00:00:00', 2.5)";
      Answer refused = query(server, reader, insert);
      assertEquals(403, refused.status(), refused.body().toString());
      assertEquals("PERMISSION_DENIED", refused.errorCode());
      assertTrue(refused.errorMessage().contains("role read_only"), refused.errorMessage());
      Answer inserted = query(server, writer, insert);
      assertEquals(200, inserted.status(), inserted.body().toString());
      assertEquals(1, inserted.body().path("updated").asLong());
      Answer read = query(server, reader, "SELECT metric_id, value FROM metrics");
      assertEquals(200, read.status(), read.body().toString());
      assertEquals("[[\"api.row\",2.5]]", read.body().path("rows").toString());
      assertEquals("cache", read.body().path("freshness").path("source").asText());

      // The console's token is a Flight SQL bearer token.
      Properties byToken = new Properties();
      byToken.setProperty("token", reader);
      try (Connection c = FlightJdbc.connect(server.jdbcUrl(), byToken);
          Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT count(*) FROM metrics")) {
        assertTrue(rs.next());
        assertEquals(1, rs.getLong(1));
      }

      // The SQL sandbox.
      Answer file = query(server, reader, "SELECT * FROM read_csv('/etc/passwd')");
      assertEquals(400, file.status());
      assertTrue(
          file.errorMessage().contains("file system operations are disabled"), file.errorMessage());

      // Pages: a row limit and "more".
      Answer first = query(server, reader, "SELECT range AS n FROM range(2500)", 1000, 0);
      assertEquals(1000, first.body().path("rows").size());
      assertTrue(first.body().path("more").asBoolean());
      Answer last = query(server, reader, "SELECT range AS n FROM range(2500)", 1000, 2000);
      assertEquals(500, last.body().path("rows").size());
      assertFalse(last.body().path("more").asBoolean());
      assertEquals(2000, last.body().path("rows").get(0).get(0).asLong());
      assertEquals(400, query(server, reader, "SELECT 1", 10_001, 0).status());
      String huge = "SELECT '" + "x".repeat(1 << 20) + "'";
      assertEquals(413, query(server, reader, huge).status());

      // The query slots (shared with Flight SQL) and the time limit.
      CompletableFuture<Answer> slow =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return query(server, reader, SLOW_QUERY);
                } catch (IOException | InterruptedException e) {
                  throw new IllegalStateException(e);
                }
              });
      Thread.sleep(1_000);
      Answer busy = query(server, reader, "SELECT 1");
      assertEquals(429, busy.status(), busy.body().toString());
      assertTrue(
          busy.errorMessage().contains("limits.max_concurrent_queries = 1"), busy.errorMessage());
      Answer timedOut = slow.get();
      assertEquals(504, timedOut.status(), timedOut.body().toString());
      assertEquals("DEADLINE_EXCEEDED", timedOut.errorCode());
      assertTrue(
          timedOut.errorMessage().contains("limits.query_timeout = 3000 ms"),
          timedOut.errorMessage());
      assertEquals(200, query(server, reader, "SELECT 1").status(), "the slot was freed");
      assertEquals(0, server.terminate(), server.log());
    }
  }

  @Test
  void noConsole_leavesOnlyTheProbes() throws Exception {
    try (ServerProcess server = ServerProcess.start("--no-console")) {
      assertEquals(404, call(http, server, "GET", "/", null, null).status());
      assertEquals(404, call(http, server, "GET", "/api/info", null, null).status());
      assertEquals(200, call(http, server, "GET", "/health", null, null).status());
    }
  }

  @Test
  void withCertificate_servesHttps() throws Exception {
    TestCertificates certs = TestCertificates.create(dir);
    try (ServerProcess server =
        ServerProcess.start(
            "--tls-cert", certs.serverCert.toString(), "--tls-key", certs.serverKey.toString())) {
      assertTrue(server.httpUrl("/").startsWith("https://"), server.log());
      HttpClient trusting = HttpClient.newBuilder().sslContext(trusting(certs.caCert)).build();
      Answer info = call(trusting, server, "GET", "/api/info", null, null);
      assertEquals(200, info.status());
      assertTrue(info.body().path("tls").asBoolean(), info.body().toString());
      assertEquals(200, call(trusting, server, "GET", "/health", null, null).status());
      Answer rows = call(trusting, server, "POST", "/api/query", null, "{\"sql\": \"SELECT 42\"}");
      assertEquals("[[42]]", rows.body().path("rows").toString());
      HttpRequest plain =
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort() + "/health"))
              .build();
      assertThrows(IOException.class, () -> http.send(plain, HttpResponse.BodyHandlers.ofString()));
    }
  }

  private static SSLContext trusting(Path caCert) throws Exception {
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    try (InputStream in = Files.newInputStream(caCert)) {
      store.setCertificateEntry(
          "ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(store);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, tmf.getTrustManagers(), null);
    assertNotNull(context);
    return context;
  }
}
