package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import io.hyprstream.testing.TcpProxy;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code --publish-windows} through the jar, against the machine's Redis behind a proxy that can
 * stall it: the hash of each (view, key), read with a Redis client, holds the key's newest windows
 * as DuckDB's {@code time_bucket} computes them over the rows sent; while Redis is stalled ingest
 * is acknowledged as before, and once it resumes publication catches up to the oracle over every
 * row.
 */
final class WindowPublicationIT {
  private static final int CLOSED = 2;
  private static final Map<String, Duration> VIEWS =
      Map.of(
          "metrics_5m", Duration.ofMinutes(5),
          "metrics_30m", Duration.ofMinutes(30),
          "metrics_1h", Duration.ofHours(1));

  @Test
  void hashesEqualTheOracle_andCatchUpAfterRedisWasStalled() throws Exception {
    Instant end = Instant.now();
    List<MetricRows.Row> first = MetricRows.generate(2000, 41, end);
    List<MetricRows.Row> during = MetricRows.generate(2000, 42, end);
    List<MetricRows.Row> all = new ArrayList<>(first);
    all.addAll(during);
    try (RedisKeys redis = RedisKeys.create();
        TcpProxy proxy = new TcpProxy(RedisKeys.PORT);
        ServerProcess server =
            ServerProcess.start(
                "--publish-windows",
                "redis://127.0.0.1:" + proxy.port() + "/0",
                "--publish-key-prefix",
                redis.prefix(),
                "--publish-closed-windows",
                String.valueOf(CLOSED));
        Connection flight = FlightJdbc.connect(server.jdbcUrl())) {
      MetricRows.ingestJdbc(flight, first);
      awaitHashesEqualOracle(redis, first, "after the first rows");

      proxy.stall();
      long start = System.nanoTime();
      MetricRows.ingestJdbc(flight, during);
      assertTrue(
          System.nanoTime() - start < Duration.ofSeconds(10).toNanos(),
          "ingest is acknowledged while Redis is stalled");
      Thread.sleep(6500); // past the publisher's 5 s command time-out: the stall is a failure
      proxy.resume();
      awaitHashesEqualOracle(redis, all, "after Redis resumed");
      assertTrue(
          server.log().contains("event=publish_failed"),
          "the stall was noticed and logged:\n" + server.log());
      assertEquals(0, server.terminate(), server.log());
    }
  }

  /** Polls until every key's hash of each view equals the oracle (at most 60 s). */
  private static void awaitHashesEqualOracle(
      RedisKeys redis, List<MetricRows.Row> rows, String when) throws Exception {
    Map<String, List<List<Object>>> expected = new java.util.HashMap<>();
    for (Map.Entry<String, Duration> v : VIEWS.entrySet()) {
      expected.put(v.getKey(), MetricRows.oracle(rows, v.getValue()));
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    String difference;
    while ((difference = difference(redis, expected)) != null) {
      assertTrue(System.nanoTime() < deadline, when + ": " + difference);
      Thread.sleep(200);
    }
  }

  /** The first difference between Redis and the oracle, or null when there is none. */
  private static String difference(RedisKeys redis, Map<String, List<List<Object>>> expected) {
    for (Map.Entry<String, List<List<Object>>> e : expected.entrySet()) {
      String view = e.getKey();
      // The oracle's rows [metric_id, start_ms, count, sum, min, max], by metric then start.
      Map<String, List<List<Object>>> byMetric = new java.util.TreeMap<>();
      for (List<Object> row : e.getValue()) {
        byMetric.computeIfAbsent((String) row.get(0), k -> new ArrayList<>()).add(row);
      }
      for (Map.Entry<String, List<List<Object>>> m : byMetric.entrySet()) {
        List<List<Object>> windows = m.getValue();
        Map<String, String> hash =
            redis.sync().hgetall(redis.prefix() + "window:" + view + ":" + m.getKey());
        int n = Math.min(CLOSED + 1, windows.size());
        String where = view + " " + m.getKey();
        if (!String.valueOf(n).equals(hash.get("windows"))) {
          return where + ": windows " + hash.get("windows") + ", expected " + n;
        }
        for (int i = 0; i < n; i++) {
          List<Object> w = windows.get(windows.size() - 1 - i);
          String s = i == 0 ? "" : "@" + i;
          long startMicros = ((Number) w.get(1)).longValue() * 1000;
          if (!String.valueOf(startMicros).equals(hash.get("window_start" + s))
              || !String.valueOf(w.get(2)).equals(hash.get("value_count" + s))
              || Math.abs(((Number) w.get(3)).doubleValue() - parse(hash.get("value_sum" + s)))
                  > 1e-6
              || ((Number) w.get(4)).doubleValue() != parse(hash.get("value_min" + s))
              || ((Number) w.get(5)).doubleValue() != parse(hash.get("value_max" + s))) {
            return where + " window " + i + ": expected " + w + ", Redis holds " + hash;
          }
        }
      }
    }
    return null;
  }

  private static double parse(String s) {
    return s == null ? Double.NaN : Double.parseDouble(s);
  }
}
