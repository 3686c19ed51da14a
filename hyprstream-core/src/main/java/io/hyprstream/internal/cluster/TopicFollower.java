package io.hyprstream.internal.cluster;

import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the one partition of a small cluster topic from its start, on a daemon thread of its own,
 * until closed: every instance keeps the whole of such a topic (the membership, the column claims)
 * in memory. Each record goes to {@code apply} in log order; after each poll, {@code readUpTo}
 * learns the offset after the last record read.
 */
final class TopicFollower implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(TopicFollower.class);

  private final TopicPartition partition;
  private final org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> reader;
  private final Consumer<ConsumerRecord<byte[], byte[]>> apply;
  private final LongConsumer readUpTo;
  private final Consumer<RuntimeException> stopped;
  private final Thread thread;
  private volatile boolean closing;

  /**
   * @param reader a consumer without a group (closed here)
   * @param stopped told when reading stops for another reason than {@link #close}
   */
  TopicFollower(
      String topic,
      String threadName,
      org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> reader,
      Consumer<ConsumerRecord<byte[], byte[]>> apply,
      LongConsumer readUpTo,
      Consumer<RuntimeException> stopped) {
    this.partition = new TopicPartition(topic, 0);
    this.reader = reader;
    this.apply = apply;
    this.readUpTo = readUpTo;
    this.stopped = stopped;
    this.thread = new Thread(this::run, threadName);
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  private void run() {
    try {
      reader.assign(List.of(partition));
      reader.seekToBeginning(List.of(partition));
      while (!closing) {
        for (ConsumerRecord<byte[], byte[]> r : reader.poll(Duration.ofMillis(100))) {
          apply.accept(r);
        }
        readUpTo.accept(reader.position(partition));
      }
    } catch (WakeupException e) {
      if (!closing) {
        stopped.accept(e);
      }
    } catch (RuntimeException e) {
      stopped.accept(e);
    } finally {
      try {
        reader.close(Duration.ofSeconds(5));
      } catch (RuntimeException e) {
        LOG.warn("closing the reader of {}: {}", partition.topic(), e.toString());
      }
    }
  }

  /** Stops reading and waits up to 10 s for the thread to end. */
  @Override
  public void close() {
    closing = true;
    reader.wakeup();
    try {
      thread.join(Duration.ofSeconds(10).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (thread.isAlive()) {
      LOG.warn("the reader of {} did not stop within 10 s", partition.topic());
    }
  }
}
