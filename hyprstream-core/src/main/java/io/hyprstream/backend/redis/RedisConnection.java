package io.hyprstream.backend.redis;

import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.HyprstreamException;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import java.io.IOException;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * One Lettuce connection to a Redis server, shared by every caller (Lettuce connections are
 * thread-safe and pipeline what is issued concurrently), with keys as text and values as bytes.
 * Failures to reach Redis become {@link BackendUnavailableException}s naming the server without its
 * password.
 */
public final class RedisConnection implements AutoCloseable {
  private final RedisClient client;
  private final StatefulRedisConnection<String, byte[]> connection;
  private final String describe;
  private final Duration timeout;
  private final AtomicBoolean closed = new AtomicBoolean();

  private RedisConnection(
      RedisClient client,
      StatefulRedisConnection<String, byte[]> connection,
      String describe,
      Duration timeout) {
    this.client = client;
    this.connection = connection;
    this.describe = describe;
    this.timeout = timeout;
  }

  /**
   * Connects to {@code uri} ({@code redis://[user[:password]@]host[:port][/db]}, or {@code
   * rediss://} for TLS); {@code username} and {@code password}, when not null, override those in
   * the URI. Commands not answered within {@code commandTimeout} fail; while the connection is
   * down, commands fail at once (and it reconnects in the background) rather than queue.
   *
   * @throws BackendUnavailableException when the URI is malformed, Redis cannot be reached in
   *     {@code connectTimeout}, or refuses the credentials; the message never holds the password
   */
  public static RedisConnection open(
      String uri,
      @Nullable String username,
      @Nullable String password,
      Duration connectTimeout,
      Duration commandTimeout) {
    String describe = "Redis at " + masked(uri);
    RedisURI parsed;
    try {
      String lower = uri.toLowerCase(Locale.ROOT);
      if (!lower.startsWith("redis://") && !lower.startsWith("rediss://")) {
        throw new IllegalArgumentException("expected redis://HOST[:PORT][/DB] or rediss://");
      }
      parsed = RedisURI.create(uri);
    } catch (IllegalArgumentException e) {
      throw new BackendUnavailableException(
          "bad Redis URI '" + masked(uri) + "': " + e.getMessage(), null);
    }
    if (username != null) {
      parsed.setUsername(username);
    }
    if (password != null) {
      parsed.setPassword(password.toCharArray());
    }
    parsed.setTimeout(commandTimeout);
    RedisClient client = RedisClient.create(parsed);
    client.setOptions(
        ClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .socketOptions(
                SocketOptions.builder().connectTimeout(connectTimeout).keepAlive(true).build())
            .timeoutOptions(TimeoutOptions.enabled(commandTimeout))
            .build());
    try {
      StatefulRedisConnection<String, byte[]> connection =
          client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
      return new RedisConnection(client, connection, describe, commandTimeout);
    } catch (RuntimeException e) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      throw new BackendUnavailableException(
          "cannot connect to " + describe + ": " + rootMessage(e), e);
    }
  }

  /** The commands; each returns at once with a future answered in the order issued. */
  public RedisAsyncCommands<String, byte[]> async() {
    return connection.async();
  }

  /** "Redis at redis://host:port/db", without the password. */
  public String describe() {
    return describe;
  }

  /**
   * Waits for {@code reply}.
   *
   * @throws BackendUnavailableException when Redis is away, times out, is loading or out of memory;
   *     the call may be retried
   * @throws HyprstreamException when Redis refused the command itself
   */
  public <T> T await(RedisFuture<T> reply, String what) {
    try {
      return reply.get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BackendUnavailableException("interrupted while waiting to " + what, e);
    } catch (TimeoutException e) {
      throw new BackendUnavailableException(
          describe + " did not answer within " + timeout.toMillis() + " ms to " + what, e);
    } catch (ExecutionException e) {
      throw translate(e.getCause() == null ? e : e.getCause(), what, describe);
    }
  }

  /**
   * What a failed reply means: {@link BackendUnavailableException} when Redis could not take the
   * command for now (away, cut off, loading, out of memory, failing over), so the caller may retry
   * it; {@link HyprstreamException} when Redis refused the command itself.
   */
  static RuntimeException translate(Throwable e, String what, String describe) {
    String message = rootMessage(e);
    if (e instanceof RedisCommandExecutionException) {
      // Errors Redis gives while it cannot take writes for now, not because of the data.
      String code = message.split(" ", 2)[0];
      if (!(code.equals("LOADING")
          || code.equals("BUSY")
          || code.equals("OOM")
          || code.equals("READONLY")
          || code.equals("MASTERDOWN")
          || code.equals("TRYAGAIN")
          || code.equals("CLUSTERDOWN")
          || code.equals("NOAUTH")
          || code.equals("WRONGPASS"))) {
        return new HyprstreamException(describe + " refused to " + what + ": " + message, e);
      }
    } else if (!(e instanceof RedisConnectionException
        || e instanceof RedisCommandTimeoutException
        || e instanceof RedisException
        || causedByIo(e))) {
      return new HyprstreamException("cannot " + what + " on " + describe + ": " + message, e);
    }
    return new BackendUnavailableException(
        "cannot " + what + ": " + describe + " is unavailable (" + message + ")", e);
  }

  /**
   * A connection reset or closed while a command is in flight reaches its future as the socket's
   * own {@link IOException}, not wrapped in a Lettuce exception: nothing was refused, and a write
   * that failed so must be retried, not set aside as a batch Redis cannot take.
   */
  private static boolean causedByIo(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof IOException) {
        return true;
      }
    }
    return false;
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    String m = t == e ? e.getMessage() : e.getMessage() + ": " + t.getMessage();
    return String.valueOf(m);
  }

  /**
   * The URI with any password in its user info replaced by {@code ***} (a lone name before
   * {@code @} is a password to Redis).
   */
  public static String masked(String uri) {
    return uri.replaceFirst("(//[^:/@]*:)[^@/]*@", "$1***@").replaceFirst("//([^:/@]+)@", "//***@");
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      connection.close();
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
