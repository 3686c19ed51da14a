package io.hyprstream.backend;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The connection pool of a JDBC backend: at most {@code maxSize} open connections, at least {@code
 * minIdle} kept idle, how long a caller waits for one (also the driver's connect timeout), and how
 * long a call may wait on a silent connection ({@code socketTimeout}) before it is cut and, for
 * write-through, retried.
 *
 * <p>Set through backend options {@code pool_max}, {@code pool_min}, {@code connect_timeout} and
 * {@code socket_timeout} (seconds), the names Hyprstream (Rust) used. Time-outs are on by default:
 * a backend that stalls (connection open, nothing answered) would otherwise hold write-through for
 * as long as the operating system keeps the connection, hours with default TCP keep-alive.
 */
public record PoolSettings(
    int maxSize, int minIdle, Duration connectTimeout, Duration socketTimeout) {
  /** The option keys this record reads. */
  public static final Set<String> OPTIONS =
      Set.of("pool_max", "pool_min", "connect_timeout", "socket_timeout");

  /** Ten connections at most, one kept idle, ten seconds to get one, 30 s of silence per call. */
  public static final PoolSettings DEFAULTS =
      new PoolSettings(10, 1, Duration.ofSeconds(10), Duration.ofSeconds(30));

  /**
   * Checks the bounds.
   *
   * @throws IllegalArgumentException naming the option: {@code pool_max} below 1, {@code pool_min}
   *     below 0 or above {@code pool_max}, {@code connect_timeout} or {@code socket_timeout} under
   *     one second
   */
  public PoolSettings {
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(socketTimeout, "socketTimeout");
    if (maxSize < 1) {
      throw new IllegalArgumentException("pool_max must be 1 or more, got " + maxSize);
    }
    if (minIdle < 0 || minIdle > maxSize) {
      throw new IllegalArgumentException(
          "pool_min must be between 0 and pool_max (" + maxSize + "), got " + minIdle);
    }
    if (connectTimeout.getSeconds() < 1) {
      throw new IllegalArgumentException(
          "connect_timeout must be 1 second or more, got " + connectTimeout.getSeconds());
    }
    if (socketTimeout.getSeconds() < 1) {
      throw new IllegalArgumentException(
          "socket_timeout must be 1 second or more, got " + socketTimeout.getSeconds());
    }
  }

  /**
   * The pool {@code options} describe ({@code pool_max}, {@code pool_min}, {@code connect_timeout}
   * and {@code socket_timeout} in seconds), defaults for the rest. {@code pool_min} alone above the
   * default maximum raises the maximum to match.
   *
   * @throws IllegalArgumentException naming the option when a value is not a whole number or out of
   *     bounds
   */
  public static PoolSettings fromOptions(Map<String, String> options) {
    int min = number(options, "pool_min", DEFAULTS.minIdle);
    int max = number(options, "pool_max", Math.max(DEFAULTS.maxSize, min));
    int timeout = number(options, "connect_timeout", (int) DEFAULTS.connectTimeout.getSeconds());
    int silence = number(options, "socket_timeout", (int) DEFAULTS.socketTimeout.getSeconds());
    return new PoolSettings(max, min, Duration.ofSeconds(timeout), Duration.ofSeconds(silence));
  }

  private static int number(Map<String, String> options, String key, int otherwise) {
    String v = options.get(key);
    if (v == null) {
      return otherwise;
    }
    try {
      return Integer.parseInt(v.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          key + " must be a whole number, got '" + v + "' (e.g. " + key + "=10)", e);
    }
  }
}
