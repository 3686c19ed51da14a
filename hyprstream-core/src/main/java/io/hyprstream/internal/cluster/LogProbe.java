package io.hyprstream.internal.cluster;

import io.hyprstream.cluster.ClusterConfig;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.jspecify.annotations.Nullable;

/**
 * Whether this instance reaches the cluster's Kafka, for readiness: a {@code DescribeCluster} call
 * started by a reader at most once a second, one at a time, whose answer the next readers see. A
 * reader never waits on Kafka, so the answer is the last probe's: an outage shows once a probe has
 * timed out ({@link #TIMEOUT_MS}), and the first reading after it ends still shows it.
 */
final class LogProbe {
  /** How long a probe waits for Kafka before it counts the log as unreachable. */
  static final int TIMEOUT_MS = 3_000;

  private static final long INTERVAL_NANOS = 1_000_000_000L;

  private final Admin admin;
  private final ClusterConfig config;
  private final AtomicBoolean inFlight = new AtomicBoolean();
  private volatile long startedNanos = System.nanoTime() - INTERVAL_NANOS;
  private volatile @Nullable String unreachable;

  /**
   * @param admin the instance's admin client, which the instance closes
   */
  LogProbe(Admin admin, ClusterConfig config) {
    this.admin = admin;
    this.config = config;
  }

  /**
   * Why the last probe could not reach Kafka, or null when it could (or none has answered yet);
   * starts the next probe when one is due. Never blocks.
   */
  @Nullable String unreachable() {
    long now = System.nanoTime();
    if (now - startedNanos >= INTERVAL_NANOS && inFlight.compareAndSet(false, true)) {
      startedNanos = now;
      try {
        admin
            .describeCluster(new DescribeClusterOptions().timeoutMs(TIMEOUT_MS))
            .clusterId()
            .whenComplete(
                (id, e) -> {
                  unreachable = e == null ? null : describe(e);
                  inFlight.set(false);
                });
      } catch (RuntimeException e) {
        // The admin client is closed: the instance is closing.
        unreachable = describe(e);
        inFlight.set(false);
      }
    }
    return unreachable;
  }

  private String describe(Throwable e) {
    Throwable cause = e.getCause() != null && e.getCause() != e ? e.getCause() : e;
    return "cannot reach the cluster log (Kafka at "
        + config.bootstrapServers()
        + ", topic "
        + config.ingestTopic()
        + "): "
        + (cause instanceof java.util.concurrent.CompletionException && cause.getCause() != null
            ? cause.getCause()
            : cause);
  }
}
