package io.hyprstream.bench;

import io.hyprstream.testing.EmbeddedKafka;

/**
 * A KRaft broker in a JVM of its own, for {@code benchmarks.jar cluster} on a machine without
 * Kafka: prints its bootstrap address and process id, then runs until killed. Started from the test
 * class path (docs/cluster.md, "Figures").
 */
final class KafkaForBench {
  private KafkaForBench() {}

  public static void main(String[] args) throws Exception {
    EmbeddedKafka kafka = EmbeddedKafka.start();
    System.out.println(
        "bootstrap " + kafka.bootstrapServers() + " pid " + ProcessHandle.current().pid());
    Thread.currentThread().join();
  }
}
