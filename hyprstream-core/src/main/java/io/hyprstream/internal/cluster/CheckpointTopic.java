package io.hyprstream.internal.cluster;

import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.cluster.ClusterConfig;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.zip.CRC32C;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.jspecify.annotations.Nullable;

/**
 * The cluster's checkpoint topic ({@link ClusterConfig#checkpointTopic()}): compacted, with as many
 * partitions as the ingest topic, partition {@code p} holding the newest checkpoint of ingest
 * partition {@code p}.
 *
 * <p>A checkpoint is larger than a Kafka record may be, so it goes as chunks keyed {@code
 * c/<offset>/<i>}, then a manifest keyed {@code m} that names the offset, the chunk count, the
 * length and a CRC32C of the whole. The manifest is written only once every chunk is in Kafka, so a
 * reader finds either the new checkpoint whole or the one before it. Chunks of older checkpoints
 * are deleted (tombstones) once the manifest has moved on, and compaction then drops them.
 *
 * <p>Only the thread that applies the partitions uses it.
 */
final class CheckpointTopic implements AutoCloseable {
  /** Below Kafka's default 1 MiB record limit, with room for the key and headers. */
  static final int CHUNK_BYTES = 512 * 1024;

  private static final String MANIFEST_KEY = "m";
  private static final Duration WAIT = Duration.ofSeconds(30);

  private final ClusterConfig config;
  private final Producer<byte[], byte[]> producer;
  private final Consumer<byte[], byte[]> reader;

  /** Per partition, the chunk keys of checkpoints no manifest names any more, to delete. */
  private final Map<Integer, Set<String>> stale = new HashMap<>();

  /** Per partition, the chunk keys the current manifest names. */
  private final Map<Integer, List<String>> current = new HashMap<>();

  /**
   * @param reader a consumer outside the group (no group id), used with {@code assign}; closed with
   *     this
   */
  CheckpointTopic(
      ClusterConfig config, Producer<byte[], byte[]> producer, Consumer<byte[], byte[]> reader) {
    this.config = config;
    this.producer = producer;
    this.reader = reader;
  }

  /** A checkpoint read back: its bytes and the log offset it covers. */
  record Stored(long nextOffset, byte[] bytes) {}

  /**
   * Writes {@code bytes}, the checkpoint of partition {@code p} covering its records before {@code
   * nextOffset}, and returns once Kafka holds it all (then deletes the chunks of the one before).
   *
   * @throws BackendUnavailableException when Kafka did not take it (the previous one stays)
   */
  void write(int p, long nextOffset, byte[] bytes) {
    String topic = config.checkpointTopic();
    List<String> keys = new ArrayList<>();
    List<Future<RecordMetadata>> sent = new ArrayList<>();
    for (int at = 0, i = 0; at < bytes.length || i == 0; at += CHUNK_BYTES, i++) {
      String key = "c/" + nextOffset + "/" + i;
      byte[] chunk =
          java.util.Arrays.copyOfRange(bytes, at, Math.min(bytes.length, at + CHUNK_BYTES));
      keys.add(key);
      sent.add(producer.send(new ProducerRecord<>(topic, p, utf8(key), chunk)));
    }
    await(sent, p);
    CRC32C crc = new CRC32C();
    crc.update(bytes);
    ByteBuffer manifest = ByteBuffer.allocate(8 + 4 + 4 + 8);
    manifest.putLong(nextOffset).putInt(keys.size()).putInt(bytes.length).putLong(crc.getValue());
    await(
        List.of(
            producer.send(new ProducerRecord<>(topic, p, utf8(MANIFEST_KEY), manifest.array()))),
        p);
    Set<String> old = stale.computeIfAbsent(p, x -> new HashSet<>());
    List<String> before = current.put(p, keys);
    if (before != null) {
      old.addAll(before);
    }
    old.removeAll(keys);
    List<Future<RecordMetadata>> deletes = new ArrayList<>();
    for (String key : old) {
      deletes.add(producer.send(new ProducerRecord<>(topic, p, utf8(key), null)));
    }
    await(deletes, p);
    old.clear();
  }

  /**
   * The newest whole checkpoint of partition {@code p}, or null when there is none (or none that
   * reads back whole: a torn or corrupt one is as good as none, and the partition is replayed from
   * the start of the log).
   *
   * @throws BackendUnavailableException when the topic cannot be read
   */
  @Nullable Stored read(int p) {
    TopicPartition tp = new TopicPartition(config.checkpointTopic(), p);
    reader.assign(List.of(tp));
    reader.seekToBeginning(List.of(tp));
    long end;
    try {
      end = reader.endOffsets(List.of(tp), WAIT).getOrDefault(tp, 0L);
    } catch (RuntimeException e) {
      throw unavailable(p, e);
    }
    Map<String, byte[]> live = new HashMap<>();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (reader.position(tp, WAIT) < end) {
      if (System.nanoTime() - deadline > 0) {
        throw unavailable(p, new TimeoutException("reading " + tp + " took over " + WAIT));
      }
      for (ConsumerRecord<byte[], byte[]> r : reader.poll(Duration.ofMillis(200))) {
        String key = r.key() == null ? "" : new String(r.key(), StandardCharsets.UTF_8);
        if (r.value() == null) {
          live.remove(key);
        } else {
          live.put(key, r.value());
        }
      }
    }
    reader.unsubscribe();
    byte[] m = live.remove(MANIFEST_KEY);
    Set<String> others = new HashSet<>(live.keySet());
    if (m == null || m.length != 24) {
      stale.put(p, others);
      return null;
    }
    ByteBuffer manifest = ByteBuffer.wrap(m);
    long nextOffset = manifest.getLong();
    int chunks = manifest.getInt();
    int length = manifest.getInt();
    long crc = manifest.getLong();
    ByteArrayOutputStream whole = new ByteArrayOutputStream(length);
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < chunks; i++) {
      String key = "c/" + nextOffset + "/" + i;
      byte[] chunk = live.get(key);
      if (chunk == null) {
        stale.put(p, others);
        return null;
      }
      keys.add(key);
      whole.writeBytes(chunk);
    }
    byte[] bytes = whole.toByteArray();
    CRC32C check = new CRC32C();
    check.update(bytes);
    if (bytes.length != length || check.getValue() != crc) {
      stale.put(p, others);
      return null;
    }
    keys.forEach(others::remove);
    stale.put(p, others); // deleted with the next checkpoint this instance writes
    current.put(p, keys);
    return new Stored(nextOffset, bytes);
  }

  private void await(List<Future<RecordMetadata>> sent, int p) {
    try {
      for (Future<RecordMetadata> f : sent) {
        f.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (ExecutionException | TimeoutException e) {
      throw unavailable(p, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HyprstreamException("interrupted while writing a checkpoint of partition " + p, e);
    }
  }

  private BackendUnavailableException unavailable(int p, Exception e) {
    Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
    return new BackendUnavailableException(
        "cannot reach checkpoint "
            + p
            + " of topic '"
            + config.checkpointTopic()
            + "' on Kafka at "
            + config.bootstrapServers()
            + ": "
            + cause,
        cause);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    reader.close(Duration.ofSeconds(5));
  }
}
