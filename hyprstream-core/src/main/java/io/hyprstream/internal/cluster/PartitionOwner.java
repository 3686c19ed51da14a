package io.hyprstream.internal.cluster;

import io.hyprstream.cluster.ClusterConfig;
import io.hyprstream.internal.Engine;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This instance's member of the cluster's consumer group: a thread that polls the partitions Kafka
 * assigns it and applies their records to the local engine (windows, running columns, hot rows).
 *
 * <p>Without a backend the engine's state lives only in memory, so nothing is committed to Kafka: a
 * partition this instance has never held is read from the start of the log, and one it held before
 * (revoked, then assigned again) from where it stopped, so no record is applied twice here.
 */
final class PartitionOwner implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PartitionOwner.class);

  private final ClusterConfig config;
  private final Consumer<byte[], byte[]> consumer;
  private final Engine engine;
  private final Thread thread;
  private volatile boolean closing;

  /** The next offset to apply, per partition this instance has ever held. */
  private final Map<Integer, Long> nextOffset = new ConcurrentHashMap<>();

  /**
   * Per owned partition, the log's end offset when it was assigned: until the partition's next
   * offset reaches it, this instance is restoring the partition and answers no read of it.
   */
  private final Map<Integer, Long> restoreTarget = new ConcurrentHashMap<>();

  /** Where a partition's log starts, for a partition with no record applied yet. */
  private final Map<Integer, Long> logStart = new ConcurrentHashMap<>();

  private final java.util.function.Consumer<Set<Integer>> ownershipChanged;

  /** True once a partition this instance had applied records of was revoked. */
  private volatile boolean lostData;

  /** Ownership changes since {@link #lostData} became true; 0 while it is false. */
  private final AtomicLong rebalancesWithData = new AtomicLong();

  private volatile Set<Integer> owned = Set.of();
  private final AtomicLong recordsApplied = new AtomicLong();
  private final AtomicLong recordsRefused = new AtomicLong();

  /**
   * @param ownershipChanged told the new set of owned partitions on the consumer's thread, inside
   *     the rebalance callback (so before Kafka hands a revoked partition to another member)
   */
  PartitionOwner(
      ClusterConfig config,
      Consumer<byte[], byte[]> consumer,
      Engine engine,
      java.util.function.Consumer<Set<Integer>> ownershipChanged) {
    this.config = config;
    this.consumer = consumer;
    this.engine = engine;
    this.ownershipChanged = ownershipChanged;
    this.thread = new Thread(this::run, "hyprstream-cluster-owner-" + config.instanceId());
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  /** The partitions Kafka has assigned this instance now. */
  Set<Integer> owned() {
    return owned;
  }

  /**
   * True while this instance has not yet applied every record that was in partition {@code p} when
   * Kafka assigned it: its windows and rows of {@code p} are not complete yet.
   */
  boolean restoring(int p) {
    Long target = restoreTarget.get(p);
    if (target == null) {
      return false;
    }
    Long next = nextOffset.get(p);
    long applied = next != null ? next : logStart.getOrDefault(p, 0L);
    if (applied >= target) {
      restoreTarget.remove(p, target);
      return false;
    }
    return true;
  }

  /**
   * How many times ownership changed since this instance first lost a partition it had applied
   * records of (0 while it never did): while it is 0, every row here belongs to an owned partition;
   * each change means the rows of partitions no longer owned must be worked out anew.
   */
  long rebalancesWithData() {
    return rebalancesWithData.get();
  }

  /** The next offset to apply of each partition this instance has held. */
  Map<Integer, Long> nextOffsets() {
    return Map.copyOf(nextOffset);
  }

  /** Records applied to the engine since start. */
  long recordsApplied() {
    return recordsApplied.get();
  }

  /** Records the engine refused (logged and skipped, so the partition moves on). */
  long recordsRefused() {
    return recordsRefused.get();
  }

  private void run() {
    try {
      consumer.subscribe(List.of(config.ingestTopic()), new Rebalance());
      while (!closing) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
        for (ConsumerRecord<byte[], byte[]> r : records) {
          apply(r);
          nextOffset.put(r.partition(), r.offset() + 1);
        }
      }
    } catch (WakeupException e) {
      if (!closing) {
        LOG.error("cluster member {} woken up while running", config.instanceId(), e);
      }
    } catch (RuntimeException e) {
      LOG.error("cluster member {} stopped applying its partitions: {}", config.instanceId(), e, e);
    } finally {
      owned = Set.of();
      try {
        consumer.close(Duration.ofSeconds(5)); // leaves the group: its partitions move at once
      } catch (RuntimeException e) {
        LOG.warn("closing cluster member {}'s consumer: {}", config.instanceId(), e.toString());
      }
    }
  }

  private void apply(ConsumerRecord<byte[], byte[]> record) {
    try {
      Header table = record.headers().lastHeader(KafkaIngestLog.TABLE_HEADER);
      if (table == null) {
        throw new IllegalArgumentException("the record has no " + KafkaIngestLog.TABLE_HEADER);
      }
      VectorSchemaRoot batch = ArrowIpc.decode(record.value(), engine.allocator());
      List<VectorSchemaRoot> one = new java.util.ArrayList<>(1);
      one.add(batch);
      engine.applyLogged(new String(table.value(), StandardCharsets.UTF_8), one);
      recordsApplied.incrementAndGet();
    } catch (RuntimeException e) {
      // A record the engine refuses would refuse forever: skip it rather than stop the partition.
      recordsRefused.incrementAndGet();
      LOG.error(
          "cluster member {} skipped record {}-{}@{}: {}",
          config.instanceId(),
          record.topic(),
          record.partition(),
          record.offset(),
          e.toString());
    }
  }

  @Override
  public void close() {
    closing = true;
    consumer.wakeup();
    try {
      thread.join(Duration.ofSeconds(15).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Keeps {@link #owned} current and places each newly assigned partition's position. */
  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      Set<Integer> now = new TreeSet<>(owned);
      if (!partitions.isEmpty()) {
        try {
          consumer.beginningOffsets(partitions).forEach((tp, o) -> logStart.put(tp.partition(), o));
          consumer.endOffsets(partitions).forEach((tp, o) -> restoreTarget.put(tp.partition(), o));
        } catch (RuntimeException e) {
          // The poll that follows fails the same way and stops the member, which is logged.
          LOG.warn("cluster member {} cannot read its partitions' end offsets: {}", config, e);
        }
      }
      for (TopicPartition tp : partitions) {
        Long next = nextOffset.get(tp.partition());
        if (next == null) {
          consumer.seekToBeginning(List.of(tp));
        } else {
          consumer.seek(tp, next);
        }
        now.add(tp.partition());
      }
      owned = Set.copyOf(now);
      LOG.info("cluster member {} owns partitions {}", config.instanceId(), now);
      if (lostData) {
        rebalancesWithData.incrementAndGet();
      }
      announce();
    }

    /** Tells the membership; a failure is logged, so the partitions keep being applied. */
    private void announce() {
      try {
        ownershipChanged.accept(owned);
      } catch (RuntimeException e) {
        LOG.error("cluster member {} could not publish its partitions: {}", config.instanceId(), e);
      }
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      Set<Integer> now = new TreeSet<>(owned);
      partitions.forEach(tp -> now.remove(tp.partition()));
      for (TopicPartition tp : partitions) {
        if (nextOffset.containsKey(tp.partition())) {
          lostData = true;
        }
      }
      owned = Set.copyOf(now);
      if (lostData) {
        rebalancesWithData.incrementAndGet();
      }
      LOG.info("cluster member {} owns partitions {}", config.instanceId(), new TreeSet<>(now));
      if (!partitions.isEmpty()) {
        announce();
      }
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      onPartitionsRevoked(partitions);
    }
  }
}
