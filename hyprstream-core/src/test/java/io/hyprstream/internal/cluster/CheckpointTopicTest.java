package io.hyprstream.internal.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.hyprstream.cluster.ClusterConfig;
import io.hyprstream.testing.EmbeddedKafka;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The checkpoint topic on a real broker: a checkpoint of several chunks reads back byte for byte,
 * the newest whole one wins, and chunks without their manifest or a manifest whose CRC does not
 * match are never taken for a checkpoint.
 */
final class CheckpointTopicTest {
  private static EmbeddedKafka kafka;

  @BeforeAll
  static void startKafka() throws Exception {
    kafka = EmbeddedKafka.start();
  }

  @AfterAll
  static void stopKafka() throws Exception {
    kafka.close();
  }

  private static ClusterConfig config() throws Exception {
    ClusterConfig c =
        ClusterConfig.kafka(kafka.bootstrapServers(), "ckpt-" + System.nanoTime())
            .withPartitions(2);
    kafka
        .admin()
        .createTopics(
            List.of(
                new NewTopic(c.checkpointTopic(), 2, (short) 1)
                    .configs(Map.of("cleanup.policy", "compact"))))
        .all()
        .get(30, TimeUnit.SECONDS);
    return c;
  }

  private static KafkaProducer<byte[], byte[]> producer() {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(1000 * 1024));
    return new KafkaProducer<>(p);
  }

  private static KafkaConsumer<byte[], byte[]> reader() {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(8 * 1024 * 1024));
    return new KafkaConsumer<>(p);
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void severalChunks_readBackWhole_theNewestWins_tornOrCorruptOnesAreNotTaken() throws Exception {
    ClusterConfig config = config();
    try (KafkaProducer<byte[], byte[]> producer = producer();
        CheckpointTopic topic = new CheckpointTopic(config, producer, reader())) {
      assertNull(topic.read(0), "no checkpoint yet");

      byte[] first = random(CheckpointTopic.CHUNK_BYTES * 2 + 1234, 1); // three chunks
      topic.write(0, 100, first);
      CheckpointTopic.Stored read = topic.read(0);
      assertEquals(100, read.nextOffset());
      assertArrayEquals(first, read.bytes(), "three chunks read back byte for byte");
      assertNull(topic.read(1), "partition 1 has none");

      byte[] second = random(CheckpointTopic.CHUNK_BYTES + 7, 2);
      topic.write(0, 250, second);
      read = topic.read(0);
      assertEquals(250, read.nextOffset());
      assertArrayEquals(second, read.bytes(), "the newest checkpoint");

      // A writer that died after its chunks, before its manifest: the one before stays.
      producer
          .send(
              new ProducerRecord<>(
                  config.checkpointTopic(),
                  0,
                  "c/400/0".getBytes(StandardCharsets.UTF_8),
                  random(100, 3)))
          .get();
      read = topic.read(0);
      assertEquals(250, read.nextOffset(), "chunks without a manifest are not a checkpoint");
      assertArrayEquals(second, read.bytes());

      // A manifest whose CRC does not match its chunks: no checkpoint rather than a wrong one.
      java.nio.ByteBuffer bad = java.nio.ByteBuffer.allocate(24);
      bad.putLong(400).putInt(1).putInt(100).putLong(12345);
      producer
          .send(
              new ProducerRecord<>(
                  config.checkpointTopic(), 0, "m".getBytes(StandardCharsets.UTF_8), bad.array()))
          .get();
      assertNull(topic.read(0), "a manifest that does not match its chunks");

      // The next checkpoint written is whole again.
      byte[] third = random(10, 4);
      topic.write(0, 500, third);
      read = topic.read(0);
      assertEquals(500, read.nextOffset());
      assertArrayEquals(third, read.bytes());
    }
  }
}
