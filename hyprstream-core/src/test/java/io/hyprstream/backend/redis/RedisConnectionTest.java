package io.hyprstream.backend.redis;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.HyprstreamException;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionException;
import java.net.SocketException;
import java.nio.channels.ClosedChannelException;
import org.junit.jupiter.api.Test;

/**
 * How a failed Redis reply is classified: what may be retried against what Redis refused. A cut
 * connection reaches the reply in more than one form (RedisBackendStoreTest cuts one through a TCP
 * proxy, and which form arrives depends on timing), so each form is checked here.
 */
final class RedisConnectionTest {
  private static final String REDIS = "Redis at redis://127.0.0.1:6379/0";

  @Test
  void translate_connectionResetMidCommand_isUnavailable() {
    RuntimeException e =
        RedisConnection.translate(new SocketException("Connection reset"), "append b", REDIS);

    assertInstanceOf(BackendUnavailableException.class, e);
  }

  @Test
  void translate_closedChannelOrWrappedIoError_isUnavailable() {
    assertInstanceOf(
        BackendUnavailableException.class,
        RedisConnection.translate(new ClosedChannelException(), "append b", REDIS));
    assertInstanceOf(
        BackendUnavailableException.class,
        RedisConnection.translate(
            new IllegalStateException("write failed", new SocketException("Broken pipe")),
            "append b",
            REDIS));
    assertInstanceOf(
        BackendUnavailableException.class,
        RedisConnection.translate(new RedisConnectionException("refused"), "append b", REDIS));
  }

  @Test
  void translate_redisLoadingOrOutOfMemory_isUnavailable() {
    assertInstanceOf(
        BackendUnavailableException.class,
        RedisConnection.translate(
            new RedisCommandExecutionException("LOADING Redis is loading the dataset"),
            "append b",
            REDIS));
    assertInstanceOf(
        BackendUnavailableException.class,
        RedisConnection.translate(
            new RedisCommandExecutionException("OOM command not allowed"), "append b", REDIS));
  }

  @Test
  void translate_commandRefusedOrOurOwnFault_isNotRetried() {
    RuntimeException refused =
        RedisConnection.translate(
            new RedisCommandExecutionException("WRONGTYPE Operation against a key"),
            "append b",
            REDIS);
    RuntimeException ours =
        RedisConnection.translate(new IllegalArgumentException("bad value"), "append b", REDIS);

    assertInstanceOf(HyprstreamException.class, refused);
    assertFalse(refused instanceof BackendUnavailableException, refused.toString());
    assertInstanceOf(HyprstreamException.class, ours);
    assertFalse(ours instanceof BackendUnavailableException, ours.toString());
  }
}
