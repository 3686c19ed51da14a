package io.hyprstream.flight;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.internal.Health;
import io.hyprstream.flight.internal.OpsHttpServer;
import io.hyprstream.flight.policy.ServerLimits;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.arrow.flight.Action;
import org.apache.arrow.flight.AsyncPutListener;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.Result;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Health, Prometheus metrics and request limits against a real server. */
final class OperationsTest {
  private static final Instant T0 = Instant.now().truncatedTo(ChronoUnit.HOURS).minusSeconds(3600);
  private static final String SLOW_QUERY =
      "SELECT count(*)::BIGINT FROM range(100000000000) a WHERE a.range % 7 = 3";

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final HttpClient http = HttpClient.newHttpClient();
  private TestServer server;
  private OpsHttpServer ops;

  @AfterEach
  void tearDown() {
    if (ops != null) {
      ops.close();
    }
    if (server != null) {
      server.close();
    }
  }

  private void start(ServerLimits limits) {
    server = new TestServer(b -> b.limits(limits).meterRegistry(registry));
    Health health = server.server.producer().health();
    ops = OpsHttpServer.start("127.0.0.1", 0, health::check, registry);
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ops.port() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Parses Prometheus text format strictly: every line is a comment ({@code # HELP}/{@code #
   * TYPE}), blank, or {@code name{labels} value}; returns samples by {@code name{labels}}.
   */
  static Map<String, Double> parsePrometheus(String text) {
    Pattern sample =
        Pattern.compile(
            "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\]|\\\\.)*\",?)*\\})?"
                + " (\\S+)( -?\\d+)?");
    Map<String, Double> out = new HashMap<>();
    for (String line : text.split("\n")) {
      if (line.isEmpty()) {
        continue;
      }
      if (line.startsWith("#")) {
        assertTrue(
            line.startsWith("# HELP ") || line.startsWith("# TYPE "), "bad comment: " + line);
        continue;
      }
      Matcher m = sample.matcher(line);
      assertTrue(m.matches(), "not a Prometheus sample line: " + line);
      String v = m.group(3);
      double value =
          v.equals("+Inf")
              ? Double.POSITIVE_INFINITY
              : v.equals("-Inf") ? Double.NEGATIVE_INFINITY : Double.parseDouble(v);
      out.put(m.group(1) + (m.group(2) == null ? "" : m.group(2)), value);
    }
    return out;
  }

  private Map<String, Double> scrape() throws Exception {
    HttpResponse<String> r = get("/metrics");
    assertEquals(200, r.statusCode());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
    return parsePrometheus(r.body());
  }

  private void put(FlightClient client, int rows) throws Exception {
    String[] ids = new String[rows];
    Instant[] times = new Instant[rows];
    double[] values = new double[rows];
    for (int i = 0; i < rows; i++) {
      ids[i] = "m" + i % 3;
      times[i] = T0.plusMillis(i);
      values[i] = i;
    }
    try (VectorSchemaRoot batch = TestServer.metrics(server.allocator, ids, times, values)) {
      FlightClient.ClientStreamListener l =
          client.startPut(FlightDescriptor.path("metrics"), batch, new AsyncPutListener());
      l.putNext();
      l.completed();
      l.getResult();
    }
  }

  private static long count(FlightSqlClient sql, String query) throws Exception {
    try (FlightStream s = sql.getStream(sql.execute(query).getEndpoints().get(0).getTicket())) {
      assertTrue(s.next());
      return ((BigIntVector) s.getRoot().getVector(0)).get(0);
    }
  }

  @Test
  void healthAndReady_overHttpAndFlight() throws Exception {
    start(ServerLimits.defaults());
    assertEquals(200, get("/health").statusCode());
    HttpResponse<String> ready = get("/ready");
    assertEquals(200, ready.statusCode(), ready.body());
    assertTrue(ready.body().contains("\"ready\":true"), ready.body());
    try (FlightClient client = FlightClient.builder(server.allocator, server.location()).build()) {
      Iterator<Result> results = client.doAction(new Action("health"));
      String body = new String(results.next().getBody(), StandardCharsets.UTF_8);
      assertTrue(body.contains("\"status\":\"ok\""), body);
    }
    server.server.producer().health().stopping();
    HttpResponse<String> draining = get("/ready");
    assertEquals(503, draining.statusCode());
    assertTrue(draining.body().contains("shutting down"), draining.body());
  }

  @Test
  void metrics_parseAsPrometheusText_andCountersMoveWithTraffic() throws Exception {
    start(ServerLimits.defaults());
    Map<String, Double> before = scrape();
    assertTrue(before.containsKey("hyprstream_arrow_allocated_bytes"), before.keySet().toString());
    assertTrue(before.containsKey("hyprstream_duckdb_memory_bytes"));
    assertTrue(before.containsKey("hyprstream_window_state_bytes"));
    try (FlightClient client = FlightClient.builder(server.allocator, server.location()).build();
        FlightSqlClient sql = new FlightSqlClient(client)) {
      put(client, 100);
      put(client, 250);
      assertEquals(350, count(sql, "SELECT count(*)::BIGINT FROM metrics"));
      assertEquals(350, count(sql, "SELECT count(*)::BIGINT FROM metrics"));
    }
    Map<String, Double> after = scrape();
    assertEquals(350.0, after.get("hyprstream_ingest_rows_total{table=\"metrics\"}"));
    assertEquals(2.0, after.get("hyprstream_ingest_batches_total{table=\"metrics\"}"));
    assertTrue(after.get("hyprstream_ingest_bytes_total{table=\"metrics\"}") > 350 * 16);
    assertEquals(2.0, after.get("hyprstream_ingest_latency_seconds_count{table=\"metrics\"}"));
    assertEquals(
        before.getOrDefault("hyprstream_query_latency_seconds_count", 0.0) + 2,
        after.get("hyprstream_query_latency_seconds_count"));
    assertTrue(
        after.keySet().stream()
            .anyMatch(k -> k.startsWith("hyprstream_query_latency_seconds_bucket")),
        "query latency is a histogram");
    // The second query was served from the result cache.
    String hits = "hyprstream_cache_requests_total{cache=\"results\",result=\"hit\"}";
    String misses = "hyprstream_cache_requests_total{cache=\"results\",result=\"miss\"}";
    assertEquals(before.get(hits) + 1, after.get(hits));
    assertEquals(before.get(misses) + 1, after.get(misses));
    assertTrue(after.get("hyprstream_cache_held_bytes{cache=\"results\"}") > 0);
  }

  @Test
  void batchBytesAndRequestRows_refusedWithTheLimitNamed_nothingStored() throws Exception {
    start(ServerLimits.builder().maxBatchBytes(4096).maxRequestRows(150).build());
    try (FlightClient client = FlightClient.builder(server.allocator, server.location()).build();
        FlightSqlClient sql = new FlightSqlClient(client)) {
      FlightRuntimeException big =
          assertThrows(FlightRuntimeException.class, () -> put(client, 1000));
      assertEquals(FlightStatusCode.RESOURCE_EXHAUSTED, big.status().code());
      assertTrue(big.getMessage().contains("limits.max_batch_bytes = 4096"), big.getMessage());
      FlightRuntimeException rows =
          assertThrows(FlightRuntimeException.class, () -> put(client, 151));
      assertEquals(FlightStatusCode.RESOURCE_EXHAUSTED, rows.status().code());
      assertTrue(rows.getMessage().contains("limits.max_request_rows = 150"), rows.getMessage());
      assertEquals(0, count(sql, "SELECT count(*)::BIGINT FROM metrics"), "nothing stored");
      put(client, 100); // the server still answers
      assertEquals(100, count(sql, "SELECT count(*)::BIGINT FROM metrics"));
    }
    Map<String, Double> m = scrape();
    assertEquals(
        1.0, m.get("hyprstream_requests_rejected_total{limit=\"limits.max_batch_bytes\"}"));
    assertEquals(
        1.0, m.get("hyprstream_requests_rejected_total{limit=\"limits.max_request_rows\"}"));
  }

  @Test
  void queryTimeLimit_cancelsTheStatement_deadlineExceeded_serverStillAnswers() throws Exception {
    start(ServerLimits.builder().queryTimeout(Duration.ofMillis(500)).build());
    try (FlightSqlClient sql =
        new FlightSqlClient(FlightClient.builder(server.allocator, server.location()).build())) {
      long started = System.nanoTime();
      FlightRuntimeException e =
          assertThrows(FlightRuntimeException.class, () -> count(sql, SLOW_QUERY));
      long millis = (System.nanoTime() - started) / 1_000_000;
      assertEquals(FlightStatusCode.TIMED_OUT, e.status().code()); // gRPC DEADLINE_EXCEEDED
      assertTrue(e.getMessage().contains("limits.query_timeout = 500 ms"), e.getMessage());
      assertTrue(millis < 10_000, "the statement was cancelled, not run to the end: " + millis);
      assertEquals(1, count(sql, "SELECT 1::BIGINT"));
    }
  }

  @Test
  void concurrentQueries_overSlotsAndQueue_refusedWithTheLimitNamed() throws Exception {
    start(
        ServerLimits.builder()
            .maxConcurrentQueries(1)
            .queryQueue(0)
            .queryTimeout(Duration.ofSeconds(3))
            .build());
    try (FlightSqlClient sql =
        new FlightSqlClient(FlightClient.builder(server.allocator, server.location()).build())) {
      CompletableFuture<FlightStatusCode> slow =
          CompletableFuture.supplyAsync(
              () ->
                  assertThrows(FlightRuntimeException.class, () -> count(sql, SLOW_QUERY))
                      .status()
                      .code());
      Thread.sleep(500); // the slow query takes the only slot
      FlightRuntimeException busy = null;
      try {
        count(sql, "SELECT 1::BIGINT");
      } catch (FlightRuntimeException e) {
        busy = e;
      }
      assertTrue(busy != null, "a second query found the only slot taken");
      assertEquals(FlightStatusCode.RESOURCE_EXHAUSTED, busy.status().code());
      assertTrue(
          busy.getMessage().contains("limits.max_concurrent_queries = 1"), busy.getMessage());
      assertEquals(FlightStatusCode.TIMED_OUT, slow.get(), "the slow query ran into its own limit");
      assertEquals(1, count(sql, "SELECT 1::BIGINT"));
    }
  }

  @Test
  void smallResult_isSentOnTheCallsThread_stalledOneWaitsOnAResultStreamThread() throws Exception {
    start(ServerLimits.defaults());
    Set<Thread> before = resultStreamThreads();
    try (FlightSqlClient sql =
        new FlightSqlClient(FlightClient.builder(server.allocator, server.location()).build())) {
      for (int i = 0; i < 50; i++) {
        assertEquals(1, count(sql, "SELECT 1::BIGINT"));
      }
      assertEquals(
          Set.of(), started(before), "a one-row answer was handed to a result-stream thread");

      // A reader that stops after the first batch: the server fills gRPC's buffers, then must
      // wait for it, which it does on a result-stream thread.
      try (FlightStream s =
          sql.getStream(
              sql.execute("SELECT x FROM range(5000000) t(x)").getEndpoints().get(0).getTicket())) {
        assertTrue(s.next());
        long rows = s.getRoot().getRowCount();
        long waitUntil = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (started(before).isEmpty()) {
          assertTrue(System.nanoTime() < waitUntil, "a stalled stream stayed on the call's thread");
          Thread.sleep(10);
        }
        while (s.next()) {
          rows += s.getRoot().getRowCount();
        }
        assertEquals(5_000_000, rows);
      }
    }
  }

  /** The result-stream threads alive now that were not in {@code before}. */
  private static Set<Thread> started(Set<Thread> before) {
    Set<Thread> started = resultStreamThreads();
    started.removeAll(before);
    return started;
  }

  /** The live threads of every server's result streams in this JVM. */
  private static Set<Thread> resultStreamThreads() {
    Set<Thread> threads = new HashSet<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().equals("hyprstream-result-stream")) {
        threads.add(t);
      }
    }
    return threads;
  }

  @Test
  void stalledReader_holdsNoQuerySlot_andIsCancelledAfterTheIdleLimit() throws Exception {
    start(
        ServerLimits.builder()
            .maxConcurrentQueries(1)
            .queryQueue(0)
            .streamIdleTimeout(Duration.ofMillis(500))
            .build());
    try (FlightSqlClient stalledClient =
            new FlightSqlClient(FlightClient.builder(server.allocator, server.location()).build());
        FlightSqlClient other =
            new FlightSqlClient(FlightClient.builder(server.allocator, server.location()).build());
        FlightStream stalled =
            stalledClient.getStream(
                stalledClient
                    .execute("SELECT x, x::VARCHAR AS s FROM range(5000000) t(x)")
                    .getEndpoints()
                    .get(0)
                    .getTicket())) {
      assertTrue(stalled.next());
      long read = stalled.getRoot().getRowCount();
      // The server fills what gRPC buffers, then waits for the reader with its slot let go.
      long waitUntil = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (server.server.producer().runningQueries() > 0) {
        assertTrue(System.nanoTime() < waitUntil, "the stalled stream kept its query slot");
        Thread.sleep(10);
      }
      // The only slot is free: with no queue, a query would be refused at once otherwise.
      assertEquals(1, count(other, "SELECT 1::BIGINT"));

      long[] rows = {read};
      FlightRuntimeException cut =
          assertThrows(
              FlightRuntimeException.class,
              () -> {
                Thread.sleep(1_500); // past the idle limit
                while (stalled.next()) {
                  rows[0] += stalled.getRoot().getRowCount();
                }
              });
      assertEquals(FlightStatusCode.CANCELLED, cut.status().code(), cut.toString());
      assertTrue(
          cut.getMessage().contains("limits.stream_idle_timeout = 500 ms"), cut.getMessage());
      assertTrue(rows[0] < 5_000_000, "cut before the end: " + rows[0]);
    }
    assertEquals(
        1.0,
        scrape().get("hyprstream_requests_rejected_total{limit=\"limits.stream_idle_timeout\"}"));
    // The stream's buffers went back; the allocator's close in tearDown checks the rest.
    assertEquals(0.0, scrape().get("hyprstream_arrow_allocated_bytes"));
  }
}
