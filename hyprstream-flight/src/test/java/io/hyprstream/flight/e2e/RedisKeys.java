package io.hyprstream.flight.e2e;

import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanIterator;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;

/**
 * A key prefix of its own for one test on the machine's Redis at 127.0.0.1:6379, its keys deleted
 * at close, so runs never see each other's rows. When Redis does not answer the test is skipped
 * with the reason, except under {@code CI=true}, where that is a failure.
 */
public final class RedisKeys implements AutoCloseable {
  public static final int PORT = 6379;
  private final String prefix;
  private final RedisClient client;
  private final StatefulRedisConnection<String, String> connection;

  private RedisKeys(String prefix, RedisClient client, StatefulRedisConnection<String, String> c) {
    this.prefix = prefix;
    this.client = client;
    this.connection = c;
  }

  /** A fresh prefix {@code e2e:<random>:}; skips (or fails under CI) when Redis is not there. */
  public static RedisKeys create() {
    RedisClient client = RedisClient.create("redis://127.0.0.1:" + PORT + "/0");
    try {
      StatefulRedisConnection<String, String> c = client.connect();
      c.setTimeout(Duration.ofSeconds(10));
      c.sync().ping();
      return new RedisKeys("e2e:" + UUID.randomUUID() + ":", client, c);
    } catch (RuntimeException e) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      String why = "Redis is not reachable at 127.0.0.1:" + PORT + ": " + e.getMessage();
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        throw new IllegalStateException(why + " (CI=true: Redis tests must run)", e);
      }
      Assumptions.abort(why + " (set CI=true to make this a failure)");
      throw new AssertionError(e);
    }
  }

  /** Put before every key the server writes ({@code --engine-options key_prefix=...}). */
  public String prefix() {
    return prefix;
  }

  public RedisCommands<String, String> sync() {
    return connection.sync();
  }

  /**
   * The rows of {@code table}'s stream as {@code [metric_id, epoch ms, value]}, in stream order.
   */
  public List<MetricRows.Row> metricRows(String table) {
    List<MetricRows.Row> out = new ArrayList<>();
    for (StreamMessage<String, String> m :
        sync().xrange(prefix + "stream:" + table, io.lettuce.core.Range.create("-", "+"))) {
      out.add(
          new MetricRows.Row(
              m.getBody().get("metric_id"),
              Math.floorDiv(Long.parseLong(m.getBody().get("timestamp")), 1000L),
              Double.parseDouble(m.getBody().get("value"))));
    }
    return out;
  }

  @Override
  public void close() {
    try {
      List<String> keys = new ArrayList<>();
      ScanIterator.scan(sync(), ScanArgs.Builder.matches(prefix + "*").limit(1000))
          .forEachRemaining(keys::add);
      if (!keys.isEmpty()) {
        sync().del(keys.toArray(new String[0]));
      }
      connection.close();
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
