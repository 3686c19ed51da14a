package io.hyprstream.testing;

import java.util.HashMap;
import java.util.Map;
import kafka.server.BrokerServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.metadata.bootstrap.BootstrapMetadata;
import org.apache.kafka.server.common.Feature;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * A real single-node KRaft Kafka (combined broker and controller) in the test JVM, on a loopback
 * port. The one place that knows {@code KafkaClusterTestKit}, an internal test API of Kafka whose
 * package moved between releases (SCALE-OUT.md §4.4).
 *
 * <p>Every production feature is pinned to its latest production level: pinning only {@code
 * metadata.version} leaves {@code group.version} unset, and then the KIP-848 consumer protocol
 * Hyprstream's group uses is silently off (no member ever gets a partition). Group timeouts are
 * short so assignment and failover take seconds, not the broker's 45 s defaults.
 */
public final class EmbeddedKafka implements AutoCloseable {
  private final KafkaClusterTestKit cluster;
  private boolean closed;

  private EmbeddedKafka(KafkaClusterTestKit cluster) {
    this.cluster = cluster;
  }

  /** Formats and starts a broker; returns once it serves clients. */
  public static EmbeddedKafka start() throws Exception {
    return start(Map.of());
  }

  /**
   * Formats and starts a broker with {@code brokerConfig} over this class's settings (for example
   * {@code group.consumer.max.size}); returns once it serves clients.
   */
  public static EmbeddedKafka start(Map<String, String> brokerConfig) throws Exception {
    Map<String, Short> features = new HashMap<>();
    for (Feature f : Feature.PRODUCTION_FEATURES) {
      if (!f.featureName().equals("kraft.version")) {
        features.put(f.featureName(), f.latestProduction());
      }
    }
    TestKitNodes nodes =
        new TestKitNodes.Builder(
                BootstrapMetadata.fromVersions(
                    MetadataVersion.latestProduction(), features, "hyprstream-test"))
            .setCombined(true)
            .setNumBrokerNodes(1)
            .setNumControllerNodes(1)
            .build();
    KafkaClusterTestKit.Builder builder =
        new KafkaClusterTestKit.Builder(nodes)
            .setConfigProp("offsets.topic.replication.factor", "1")
            .setConfigProp("offsets.topic.num.partitions", "4")
            .setConfigProp("transaction.state.log.replication.factor", "1")
            .setConfigProp("transaction.state.log.min.isr", "1")
            .setConfigProp("transaction.state.log.num.partitions", "4")
            .setConfigProp("share.coordinator.state.topic.replication.factor", "1")
            .setConfigProp("share.coordinator.state.topic.min.isr", "1")
            .setConfigProp("group.initial.rebalance.delay.ms", "0")
            .setConfigProp("group.consumer.min.heartbeat.interval.ms", "100")
            .setConfigProp("group.consumer.heartbeat.interval.ms", "500")
            .setConfigProp("group.consumer.min.session.timeout.ms", "2000")
            .setConfigProp("group.consumer.session.timeout.ms", "6000");
    brokerConfig.forEach(builder::setConfigProp);
    KafkaClusterTestKit cluster = builder.build();
    try {
      cluster.format();
      cluster.startup();
      cluster.waitForReadyBrokers();
    } catch (Exception | Error e) {
      try {
        cluster.close();
      } catch (Exception suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    return new EmbeddedKafka(cluster);
  }

  public String bootstrapServers() {
    return cluster.bootstrapServers();
  }

  /** An admin client; the caller closes it. */
  public Admin admin() {
    return cluster.admin();
  }

  /**
   * Stops the broker, keeping its log and the controller: clients can no longer reach Kafka at
   * {@link #bootstrapServers} until {@link #restartBroker}.
   */
  public synchronized void stopBroker() {
    for (BrokerServer b : cluster.brokers().values()) {
      b.shutdown();
      b.awaitShutdown();
    }
  }

  /**
   * Starts the broker stopped by {@link #stopBroker} again, on the same address and with the log it
   * had; returns once it serves clients.
   */
  public synchronized void restartBroker() throws Exception {
    for (BrokerServer b : cluster.brokers().values()) {
      b.startup();
    }
    cluster.waitForReadyBrokers();
  }

  /** Stops the broker and deletes its files; safe to call twice (the kit itself is not). */
  @Override
  public synchronized void close() throws Exception {
    if (!closed) {
      closed = true;
      cluster.close();
    }
  }
}
