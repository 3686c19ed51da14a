package io.hyprstream.flight.internal;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import org.jspecify.annotations.Nullable;

/**
 * The operations port: {@code GET /health} (liveness: 200 while the process answers), {@code GET
 * /ready} (200 once the {@link Health} report says ready, else 503 with what is not) and {@code GET
 * /metrics} (Prometheus text format), on the JDK's own server, bound to the Flight port's host.
 * Plain HTTP unless given the server's TLS context (then HTTPS, since the web console mounted here
 * carries credentials and data).
 */
public final class OpsHttpServer implements AutoCloseable {
  private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  private final HttpServer server;
  private final ExecutorService executor;

  private OpsHttpServer(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /**
   * Listens on {@code host:port} (0 picks a free port).
   *
   * @throws UncheckedIOException when the port cannot be bound
   */
  public static OpsHttpServer start(
      String host, int port, Supplier<Health.Report> health, PrometheusMeterRegistry registry) {
    return start(host, port, null, health, registry);
  }

  /**
   * Listens on {@code host:port}, speaking HTTPS with {@code tls} when it is given (the server's
   * certificate: the web console carries credentials and data).
   *
   * @throws UncheckedIOException when the port cannot be bound
   */
  public static OpsHttpServer start(
      String host,
      int port,
      @Nullable SSLContext tls,
      Supplier<Health.Report> health,
      PrometheusMeterRegistry registry) {
    HttpServer server;
    try {
      InetSocketAddress address = new InetSocketAddress(host, port);
      if (tls == null) {
        server = HttpServer.create(address, 16);
      } else {
        HttpsServer https = HttpsServer.create(address, 16);
        https.setHttpsConfigurator(new HttpsConfigurator(tls));
        server = https;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot listen for HTTP on " + host + ":" + port + ": " + e.getMessage(), e);
    }
    // Two threads: probes and a scrape never wait behind each other for long, and never take
    // more from the query path.
    ExecutorService executor =
        Executors.newFixedThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "hyprstream-http");
              t.setDaemon(true);
              return t;
            });
    server.setExecutor(executor);
    server.createContext(
        "/health", ex -> respond(ex, 200, "application/json", "{\"status\":\"ok\"}\n"));
    server.createContext(
        "/ready",
        ex -> {
          Health.Report r = health.get();
          respond(ex, r.ready() ? 200 : 503, "application/json", r.json() + "\n");
        });
    server.createContext("/metrics", ex -> respond(ex, 200, PROMETHEUS_TEXT, registry.scrape()));
    server.start();
    return new OpsHttpServer(server, executor);
  }

  /**
   * Serves {@code handler} under {@code path} too (the web console mounts itself at {@code /} and
   * {@code /api/}); the endpoints above keep their exact paths.
   */
  public void mount(String path, HttpHandler handler) {
    server.createContext(path, handler);
  }

  /** The bound port. */
  public int port() {
    return server.getAddress().getPort();
  }

  private static void respond(HttpExchange ex, int status, String type, String body)
      throws IOException {
    try (ex) {
      if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
        ex.sendResponseHeaders(405, -1);
        return;
      }
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", type);
      boolean head = ex.getRequestMethod().equals("HEAD");
      ex.sendResponseHeaders(status, head ? -1 : bytes.length);
      if (!head) {
        try (OutputStream out = ex.getResponseBody()) {
          out.write(bytes);
        }
      }
    }
  }

  /** Stops at once: probes have nothing to drain. */
  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
    try {
      executor.awaitTermination(1, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
