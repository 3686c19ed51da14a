package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rediss://}: the Redis backend over TLS, against a {@code redis-server} of the machine's
 * started here with a self-signed certificate made by {@code openssl}. The certificate is checked:
 * untrusted, the connection is refused naming the cause; trusted (the JVM's trust store, as a user
 * configures it), rows go in and come back. Skips without {@code redis-server} or {@code openssl},
 * except under {@code CI=true}.
 */
final class RedisTlsTest {
  @TempDir Path dir;
  private BufferAllocator allocator;
  private Process server;
  private int port;

  @BeforeEach
  void setUp() throws Exception {
    boolean ci = "true".equalsIgnoreCase(System.getenv("CI"));
    for (String tool : List.of("/usr/bin/redis-server", "/usr/bin/openssl")) {
      if (!Files.isExecutable(Path.of(tool))) {
        if (ci) {
          throw new IllegalStateException(tool + " is missing (CI=true: the TLS test must run)");
        }
        Assumptions.abort(tool + " is missing: the rediss:// test needs it (CI=true fails)");
      }
    }
    run(
        "/usr/bin/openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-keyout",
        dir.resolve("key.pem").toString(),
        "-out",
        dir.resolve("cert.pem").toString(),
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1");
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    server =
        new ProcessBuilder(
                "/usr/bin/redis-server",
                "--port",
                "0",
                "--tls-port",
                Integer.toString(port),
                "--tls-cert-file",
                dir.resolve("cert.pem").toString(),
                "--tls-key-file",
                dir.resolve("key.pem").toString(),
                "--tls-ca-cert-file",
                dir.resolve("cert.pem").toString(),
                "--tls-auth-clients",
                "no",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                dir.toString())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("redis.log").toFile())
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!Files.readString(dir.resolve("redis.log")).contains("Ready to accept connections")) {
      if (System.nanoTime() > deadline || !server.isAlive()) {
        throw new IllegalStateException(
            "redis-server with TLS did not start: " + Files.readString(dir.resolve("redis.log")));
      }
      Thread.sleep(50);
    }
    allocator = new RootAllocator();
  }

  @AfterEach
  void tearDown() throws Exception {
    if (server != null) {
      server.destroy();
      server.waitFor(10, TimeUnit.SECONDS);
    }
    if (allocator != null) {
      allocator.close();
    }
  }

  @Test
  void rediss_checksTheCertificate_andWritesThroughOnceTrusted() throws Exception {
    String uri = "rediss://127.0.0.1:" + port + "/0";
    Map<String, String> options = Map.of("connect_timeout", "3", "socket_timeout", "3");
    BackendUnavailableException untrusted =
        assertThrows(
            BackendUnavailableException.class,
            () -> BackendStores.open("redis", uri, options, null, null, allocator).close());
    assertTrue(
        String.valueOf(untrusted.getMessage()).toLowerCase().contains("certif")
            || String.valueOf(untrusted.getMessage()).contains("PKIX"),
        untrusted.getMessage());

    Path trust = dir.resolve("trust.p12");
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    try (InputStream pem = Files.newInputStream(dir.resolve("cert.pem"))) {
      store.setCertificateEntry(
          "redis", CertificateFactory.getInstance("X.509").generateCertificate(pem));
    }
    try (OutputStream out = Files.newOutputStream(trust)) {
      store.store(out, "changeit".toCharArray());
    }
    Map<String, String> saved =
        Map.of(
            "javax.net.ssl.trustStore", System.getProperty("javax.net.ssl.trustStore", ""),
            "javax.net.ssl.trustStorePassword",
                System.getProperty("javax.net.ssl.trustStorePassword", ""),
            "javax.net.ssl.trustStoreType", System.getProperty("javax.net.ssl.trustStoreType", ""));
    System.setProperty("javax.net.ssl.trustStore", trust.toString());
    System.setProperty("javax.net.ssl.trustStorePassword", "changeit");
    System.setProperty("javax.net.ssl.trustStoreType", "PKCS12");
    try (BackendStore redis = BackendStores.open("redis", uri, options, null, null, allocator);
        VectorSchemaRoot batch = Batches.metrics(allocator, 500, 0)) {
      redis.append("metrics", "tls-1", batch);
      redis.append("metrics", "tls-1", batch);
      assertTrue(redis.contains("tls-1"));
      assertEquals(
          List.of(List.of(500L)),
          Batches.drain(redis.query("SELECT count(*) FROM metrics", allocator)));
    } finally {
      saved.forEach(
          (k, v) -> {
            if (v.isEmpty()) {
              System.clearProperty(k);
            } else {
              System.setProperty(k, v);
            }
          });
    }
  }

  private static void run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output =
        new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
    }
  }
}
