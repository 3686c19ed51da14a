package io.hyprstream.backend;

import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanIterator;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs a test class only when Redis answers on 127.0.0.1:6379. Skips otherwise, with the reason,
 * except when {@code CI=true}: there an unreachable Redis fails the tests.
 */
public final class RedisAvailable implements ExecutionCondition {
  public static final String URI = "redis://127.0.0.1:6379/0";

  @Override
  public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
    RedisClient client = RedisClient.create(URI);
    try (StatefulRedisConnection<String, String> c = client.connect()) {
      c.setTimeout(Duration.ofSeconds(5));
      c.sync().ping();
      return ConditionEvaluationResult.enabled("Redis answers at " + URI);
    } catch (RuntimeException e) {
      String why = "Redis is not reachable at " + URI + ": " + e.getMessage();
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        throw new IllegalStateException(why + " (CI=true: Redis tests must run)", e);
      }
      return ConditionEvaluationResult.disabled(why + " (set CI=true to make this a failure)");
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /** Deletes every key starting with {@code prefix}. */
  public static void deleteKeys(String prefix) {
    RedisClient client = RedisClient.create(URI);
    try (StatefulRedisConnection<String, String> c = client.connect()) {
      RedisCommands<String, String> sync = c.sync();
      List<String> keys = new ArrayList<>();
      ScanIterator.scan(sync, ScanArgs.Builder.matches(prefix + "*").limit(1000))
          .forEachRemaining(keys::add);
      if (!keys.isEmpty()) {
        sync.del(keys.toArray(new String[0]));
      }
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
