package io.hyprstream.internal.cluster;

import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.cluster.ClusterConfig;
import io.hyprstream.internal.Engine;
import io.hyprstream.internal.table.RecentIngestIds;
import io.hyprstream.internal.table.Tables;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
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
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This instance's member of the cluster's consumer group: a thread that polls the partitions Kafka
 * assigns it and applies their records to the local engine (windows, running columns, hot rows).
 *
 * <p>The engine's state lives only in memory: a partition this instance has never held is loaded
 * from its newest checkpoint ({@link Checkpointer}) and read from the checkpoint's offset (from the
 * start of the log without one), and one it held before (revoked, then assigned again) from where
 * it stopped, so no record is applied twice here. Every checkpoint interval it checkpoints the
 * partitions it owns.
 *
 * <p><b>With a backend</b> the owner writes each record's rows to it, exactly once however often
 * the record is applied (by this owner, a new owner after a crash, or a paused ex-owner): every
 * record's rows carry a batch id made of the topic's id, the record's partition and its offset
 * ({@link #batchId}), and the backend skips an id it holds ({@link BackendStore#appendAll}). After
 * a poll's rows are in the backend the owner commits the partitions' offsets to Kafka; a new owner
 * rebuilds its windows from the partition's checkpoint (which covers only written records) and the
 * log after it, but writes only the records from the committed offset on. So the committed offset
 * is only a shortcut: a commit lost to a crash or refused to a fenced ex-owner costs writes the
 * backend skips, never a lost or doubled row. While the backend is unreachable the owner pauses its
 * partitions (acknowledged rows wait in Kafka) and retries, polling on so it stays in the group.
 *
 * <p><b>Repeats.</b> A record with a client's ingest id ({@link KafkaIngestLog#INGEST_ID_HEADER})
 * whose (table, id) an earlier attempt (another {@code hs-batch}) brought to the same partition is
 * skipped: not applied and not written to the backend. Each partition remembers the newest ids it
 * applied, bounded by count; since an owner rebuilds a partition from its checkpoint (which holds
 * the ids) and the log after it, in log order, every owner remembers the same ids at the same
 * offset and makes the same decisions.
 */
final class PartitionOwner implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PartitionOwner.class);

  private final ClusterConfig config;
  private final String topicId;
  private final Consumer<byte[], byte[]> consumer;
  private final Engine engine;
  private final @Nullable BackendStore backend;
  private final Thread thread;
  private volatile boolean closing;

  /** The next offset to apply, per partition this instance has ever held. */
  private final Map<Integer, Long> nextOffset = new ConcurrentHashMap<>();

  /**
   * Per owned partition, the log's end offset when it was assigned: until the partition's next
   * offset reaches it, this instance is restoring the partition and answers no read of it.
   */
  private final Map<Integer, Long> restoreTarget = new ConcurrentHashMap<>();

  /**
   * Per partition, the offset below which the backend holds every record's rows: Kafka's committed
   * offset when the partition was assigned, then what this owner committed.
   */
  private final Map<Integer, Long> writtenBelow = new ConcurrentHashMap<>();

  /** Per partition, the offset below which this owner has written every record it applied. */
  private final Map<Integer, Long> writtenNext = new ConcurrentHashMap<>();

  /** Rows applied here and not yet in the backend, oldest first; the owner's thread only. */
  private final List<PendingWrite> pending = new ArrayList<>();

  /**
   * The next offset of each partition once {@link #pending} is written; the owner's thread only.
   */
  private final Map<TopicPartition, Long> pendingCommit = new HashMap<>();

  private final AtomicLong batchesWritten = new AtomicLong();
  private final AtomicLong batchesRefusedByBackend = new AtomicLong();
  private volatile @Nullable String backendError;

  /** Per owned partition, records in its log not yet applied, as the last poll saw. */
  private final Map<Integer, Long> lag = new ConcurrentHashMap<>();

  /** Where a partition's log starts, for a partition with no record applied yet. */
  private final Map<Integer, Long> logStart = new ConcurrentHashMap<>();

  private final java.util.function.Consumer<Set<Integer>> ownershipChanged;

  /** True once a partition this instance had applied records of was revoked. */
  private volatile boolean lostData;

  /** Ownership changes since {@link #lostData} became true; 0 while it is false. */
  private final AtomicLong rebalancesWithData = new AtomicLong();

  private volatile Set<Integer> owned = Set.of();

  /**
   * Drops what this instance holds of partitions it no longer owns, returning the windows dropped
   * or -1 when some stays ({@link ForeignRows#dropMoved}); run on this owner's thread after a
   * rebalance took partitions it had applied.
   */
  private java.util.function.LongSupplier dropMoved = () -> -1;

  /** Takes and loads partition checkpoints; null when this instance uses none. */
  private @Nullable Checkpointer checkpointer;

  /** Per partition, the next offset of the checkpoint last written or loaded here. */
  private final Map<Integer, Long> checkpointed = new ConcurrentHashMap<>();

  /**
   * Partitions that received records of a table without one key column: they cannot be split by
   * key, so they are never checkpointed. The owner's thread only.
   */
  private final Set<Integer> keyless = new java.util.HashSet<>();

  /**
   * Per table without one key column (by {@link io.hyprstream.internal.table.Tables#key}), the
   * partitions whose records of it were applied here: its rows cannot be told apart by partition,
   * so this says which partitions they may belong to. Kept while the rows are (they are never
   * dropped); written by the owner's thread, read by queries.
   */
  private final Map<String, Set<Integer>> keylessRows = new ConcurrentHashMap<>();

  private long lastCheckpointNanos = System.nanoTime();

  /** Set by a revocation of partitions with applied records; the owner's thread only. */
  private boolean movedAway;

  /** Why the consumer thread stopped for good, or null while it runs (or closed on request). */
  private volatile @Nullable String stopped;

  private final AtomicLong recordsApplied = new AtomicLong();
  private final AtomicLong recordsRefused = new AtomicLong();
  private final AtomicLong recordsRepeated = new AtomicLong();

  /**
   * Per partition, the (table, ingest id) pairs its records brought, with the attempt that first
   * did; restored with the partition's state (its checkpoint, then the log). The owner's thread
   * only.
   */
  private final Map<Integer, RecentIngestIds> appliedIngestIds = new HashMap<>();

  /**
   * @param ownershipChanged told the new set of owned partitions on the consumer's thread, inside
   *     the rebalance callback (so before Kafka hands a revoked partition to another member)
   */
  PartitionOwner(
      ClusterConfig config,
      String topicId,
      Consumer<byte[], byte[]> consumer,
      Engine engine,
      java.util.function.Consumer<Set<Integer>> ownershipChanged) {
    this.config = config;
    this.topicId = topicId;
    this.consumer = consumer;
    this.engine = engine;
    this.backend = engine.backend();
    this.ownershipChanged = ownershipChanged;
    this.thread = new Thread(this::run, "hyprstream-cluster-owner-" + config.instanceId());
    this.thread.setDaemon(true);
  }

  /** Sets how the state of partitions that moved away is dropped; before {@link #start}. */
  void dropMovedWith(java.util.function.LongSupplier drop) {
    this.dropMoved = drop;
  }

  /** Sets the checkpointer; before {@link #start}. */
  void checkpointWith(Checkpointer checkpointer) {
    this.checkpointer = checkpointer;
  }

  void start() {
    thread.start();
  }

  /**
   * Drops the rows and window state of the partitions a rebalance took away. When all of it went,
   * those partitions are forgotten too: given back later, one is loaded from its checkpoint like
   * any new partition. When some stays, it is kept where it stopped (and left out of reads
   * meanwhile), since replaying onto kept state would count its rows twice.
   */
  private void dropMovedAway() {
    movedAway = false;
    Set<Integer> gone = new TreeSet<>(nextOffset.keySet());
    gone.removeAll(owned);
    if (gone.isEmpty()) {
      return;
    }
    long windows;
    try {
      windows = dropMoved.getAsLong();
    } catch (RuntimeException e) {
      LOG.warn(
          "cluster member {} could not drop the state of partitions {} it no longer owns; reads"
              + " leave it out: {}",
          config.instanceId(),
          gone,
          e.toString());
      return;
    }
    if (windows >= 0) {
      gone.forEach(nextOffset::remove);
      gone.forEach(appliedIngestIds::remove); // rebuilt by the restore, if they come back
      gone.forEach(checkpointed::remove);
      keyless.removeAll(gone);
      LOG.info(
          "cluster member {} dropped the state of partitions {} it no longer owns ({} windows)",
          config.instanceId(),
          gone,
          windows);
    }
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
  /**
   * The partitions whose records of {@code table} (a table without one key column) were applied
   * here: its rows here belong to those. Empty for a table this instance holds no rows of.
   */
  Set<Integer> keylessPartitionsOf(String table) {
    Set<Integer> p = keylessRows.get(io.hyprstream.internal.table.Tables.key(table));
    return p == null ? Set.of() : Set.copyOf(p);
  }

  long rebalancesWithData() {
    return rebalancesWithData.get();
  }

  /** The next offset of the checkpoint last written or loaded here of owned partition {@code p}. */
  @Nullable Long checkpointedOffset(int p) {
    return owned.contains(p) ? checkpointed.get(p) : null;
  }

  /** The next offset of the checkpoint last written or loaded here, per owned partition. */
  Map<Integer, Long> checkpointedOffsets() {
    Map<Integer, Long> out = new java.util.TreeMap<>();
    for (int p : owned) {
      Long o = checkpointed.get(p);
      if (o != null) {
        out.put(p, o);
      }
    }
    return out;
  }

  /** The next offset to apply of each partition this instance has held. */
  Map<Integer, Long> nextOffsets() {
    return Map.copyOf(nextOffset);
  }

  /** Records applied to the engine since start. */
  long recordsApplied() {
    return recordsApplied.get();
  }

  /** Records skipped as repeats of an ingest id their partition had applied. */
  long recordsRepeated() {
    return recordsRepeated.get();
  }

  /** Records the engine refused (logged and skipped, so the partition moves on). */
  long recordsRefused() {
    return recordsRefused.get();
  }

  /**
   * The offset of partition {@code p} below which the backend holds every record (0 when unknown):
   * what its owners committed when this instance was assigned it, or what this one wrote since.
   */
  long writtenThrough(int p) {
    return Math.max(writtenBelow.getOrDefault(p, 0L), writtenNext.getOrDefault(p, 0L));
  }

  /**
   * Waits up to {@code timeout} until the backend holds every record of {@code partitions} this
   * owner had applied when it was asked, so a read of the backend misses none of the rows this
   * instance shows. Null once it does; otherwise why not (the backend's last error, or the records
   * still to write), for the caller's refusal.
   */
  @Nullable String awaitWritten(Set<Integer> partitions, Duration timeout) {
    Map<Integer, Long> applied = new HashMap<>();
    for (int p : partitions) {
      Long next = nextOffset.get(p);
      if (next != null) {
        applied.put(p, next);
      }
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Map<Integer, Long> behind = new java.util.TreeMap<>();
      applied.forEach(
          (p, next) -> {
            long written = writtenThrough(p);
            if (written < next) {
              behind.put(p, next - written);
            }
          });
      if (behind.isEmpty()) {
        return null;
      }
      if (System.nanoTime() - deadline >= 0) {
        String error = backendError;
        return "records of partitions "
            + behind.keySet()
            + " applied here are not yet in the backend ("
            + behind.values().stream().mapToLong(Long::longValue).sum()
            + " records"
            + (error == null ? "" : "; its last error: " + error)
            + ")";
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return "interrupted while waiting for the backend writes of partitions " + partitions;
      }
    }
  }

  /** True when rows are written to a backend (there is one). */
  boolean writesBackend() {
    return backend != null;
  }

  /** Records of partition {@code p} not yet applied here, as the last poll saw; null if unknown. */
  @Nullable Long lag(int p) {
    return owned.contains(p) ? lag.get(p) : null;
  }

  /** Why the consumer thread stopped for good, or null while it runs. */
  @Nullable String stoppedBecause() {
    return stopped;
  }

  /** Batches this owner wrote to the backend (each once per owner; the backend skips repeats). */
  long batchesWritten() {
    return batchesWritten.get();
  }

  /** Batches the backend refused for good: logged and left in the Kafka log, never retried. */
  long batchesRefusedByBackend() {
    return batchesRefusedByBackend.get();
  }

  /** Why the last write to the backend failed while it still waits to be retried, or null. */
  @Nullable String backendError() {
    return backendError;
  }

  /**
   * The backend batch id of the {@code index}-th stored batch of the record at {@code offset} in
   * partition {@code partition} of the topic with id {@code topicId} (Kafka's, unique to this
   * topic's life): the same on every instance that applies the record, and never an id of a topic
   * that had the name before.
   */
  static String batchId(String topicId, int partition, long offset, int index) {
    return topicId + ":" + partition + ":" + offset + ":" + index;
  }

  private void run() {
    try {
      consumer.subscribe(List.of(config.ingestTopic()), new Rebalance());
      long retryMillis = 0;
      while (!closing) {
        ConsumerRecords<byte[], byte[]> records =
            consumer.poll(Duration.ofMillis(retryMillis > 0 ? retryMillis : 200));
        if (movedAway) {
          dropMovedAway();
        }
        for (ConsumerRecord<byte[], byte[]> r : records) {
          apply(r);
          nextOffset.put(r.partition(), r.offset() + 1);
          if (backend != null) {
            pendingCommit.put(new TopicPartition(r.topic(), r.partition()), r.offset() + 1);
          }
        }
        for (TopicPartition tp : consumer.assignment()) {
          consumer.currentLag(tp).ifPresent(l -> lag.put(tp.partition(), l));
        }
        if (backend != null && !pendingCommit.isEmpty()) {
          if (writePending()) {
            pendingCommit.forEach((tp, next) -> writtenNext.put(tp.partition(), next));
            commitPending();
            consumer.resume(consumer.paused());
            retryMillis = 0;
          } else {
            // Acknowledged rows wait in Kafka; polling on keeps this member in the group.
            consumer.pause(consumer.assignment());
            retryMillis = Math.min(Math.max(retryMillis * 2, 100), 5_000);
          }
        }
        checkpointWhenDue();
      }
    } catch (WakeupException e) {
      if (!closing) {
        stopped = "woken up while running";
        LOG.error("cluster member {} woken up while running", config.instanceId(), e);
      }
    } catch (RuntimeException e) {
      stopped = e.toString();
      LOG.error("cluster member {} stopped applying its partitions: {}", config.instanceId(), e, e);
    } finally {
      owned = Set.of();
      // Rows not yet written stay in Kafka above the committed offset: the next owner writes them.
      pending.forEach(w -> w.batch().close());
      pending.clear();
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
      String name = new String(table.value(), StandardCharsets.UTF_8);
      if (engine.cluster().keyColumnOf(name) == null) {
        keyless.add(record.partition());
        keylessRows
            .computeIfAbsent(
                io.hyprstream.internal.table.Tables.key(name), k -> ConcurrentHashMap.newKeySet())
            .add(record.partition());
      }
      if (isRepeat(record, name)) {
        recordsRepeated.incrementAndGet();
        return;
      }
      VectorSchemaRoot batch = ArrowIpc.decode(record.value(), engine.allocator());
      List<VectorSchemaRoot> one = new ArrayList<>(1);
      one.add(batch);
      boolean write =
          backend != null && record.offset() >= writtenBelow.getOrDefault(record.partition(), 0L);
      List<VectorSchemaRoot> stored = write ? new ArrayList<>(1) : null;
      engine.applyLogged(name, one, stored);
      recordsApplied.incrementAndGet();
      if (stored != null) {
        for (int i = 0; i < stored.size(); i++) {
          pending.add(
              new PendingWrite(
                  name, batchId(topicId, record.partition(), record.offset(), i), stored.get(i)));
        }
      }
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

  /**
   * Once every checkpoint interval, writes a checkpoint of each owned partition that applied
   * records since its last one, is restored, and (with a backend) has every applied record written:
   * a checkpoint must never cover a record whose rows are not in the backend, since the next owner
   * replays only the records after it.
   */
  private void checkpointWhenDue() {
    Checkpointer c = checkpointer;
    java.time.Duration interval = config.checkpointInterval();
    if (c == null
        || interval.isZero()
        || System.nanoTime() - lastCheckpointNanos < interval.toNanos()) {
      return;
    }
    lastCheckpointNanos = System.nanoTime();
    Map<Integer, Long> due = new java.util.TreeMap<>();
    Map<Integer, Map<String, String>> ids = new HashMap<>();
    for (int p : owned) {
      Long next = nextOffset.get(p);
      if (next == null
          || next <= checkpointed.getOrDefault(p, -1L)
          || keyless.contains(p)
          || restoring(p)
          || (backend != null && writtenThrough(p) < next)) {
        continue;
      }
      due.put(p, next);
      RecentIngestIds remembered = appliedIngestIds.get(p);
      if (remembered != null) {
        ids.put(p, remembered.attempts());
      }
    }
    if (due.isEmpty()) {
      return;
    }
    try {
      c.write(due, ids);
      checkpointed.putAll(due);
    } catch (UnsupportedOperationException e) {
      checkpointer = null;
      LOG.warn(
          "cluster member {} takes no partition checkpoints: {}; a new owner replays a partition"
              + " from the start of the log",
          config.instanceId(),
          e.getMessage());
    } catch (RuntimeException e) {
      LOG.warn(
          "cluster member {} could not checkpoint partitions {}; retried at the next interval: {}",
          config.instanceId(),
          due.keySet(),
          e.toString());
    }
  }

  /**
   * Where a newly assigned partition {@code p} that this instance holds nothing of starts: its
   * newest checkpoint's offset, once loaded, or the start of the log.
   */
  private void restoreOrReplay(TopicPartition tp) {
    int p = tp.partition();
    Checkpointer c = checkpointer;
    Checkpointer.Restored restored = c == null ? null : c.restore(p);
    long start = logStart.getOrDefault(p, 0L);
    if (restored == null) {
      // Replayed from the start, so the ids it remembers are rebuilt from the start too.
      appliedIngestIds.remove(p);
      if (start > 0) {
        LOG.error(
            "cluster member {} replays partition {} from offset {}, where its log starts now, and"
                + " has no checkpoint of it: the records before were deleted by the topic's"
                + " retention, and its windows miss them",
            config.instanceId(),
            p,
            start);
      }
      consumer.seekToBeginning(List.of(tp));
      return;
    }
    if (restored.nextOffset() < start) {
      LOG.error(
          "cluster member {} loaded the checkpoint of partition {} at offset {}, but the log now"
              + " starts at {}: the records in between were deleted by the topic's retention, and"
              + " its windows miss them",
          config.instanceId(),
          p,
          restored.nextOffset(),
          start);
    }
    RecentIngestIds ids = new RecentIngestIds(engine.ingestIdsRemembered());
    restored.ingestIds().forEach(ids::remember);
    appliedIngestIds.put(p, ids);
    checkpointed.put(p, restored.nextOffset());
    nextOffset.put(p, restored.nextOffset());
    consumer.seek(tp, Math.max(restored.nextOffset(), start));
    LOG.info(
        "cluster member {} loaded the checkpoint of partition {}: replaying from offset {}",
        config.instanceId(),
        p,
        restored.nextOffset());
  }

  /**
   * Writes {@link #pending} to the backend, a table's consecutive batches in one call (one
   * transaction where the backend has them). True when every batch is written or refused for good;
   * false when the backend is unreachable, with the unwritten batches kept for the retry.
   */
  private boolean writePending() {
    BackendStore b = java.util.Objects.requireNonNull(backend);
    while (!pending.isEmpty()) {
      String table = pending.get(0).table();
      int end = 1;
      while (end < pending.size() && pending.get(end).table().equals(table)) {
        end++;
      }
      List<PendingWrite> group = pending.subList(0, end);
      try {
        b.appendAll(
            table,
            group.stream().map(PendingWrite::batchId).toList(),
            group.stream().map(PendingWrite::batch).toList());
        batchesWritten.addAndGet(group.size());
      } catch (BackendUnavailableException e) {
        noteUnavailable(b, e);
        return false;
      } catch (RuntimeException refused) {
        // One batch the backend refuses must not hold back the others: write them one by one.
        for (PendingWrite w : List.copyOf(group)) {
          try {
            b.append(w.table(), w.batchId(), w.batch());
            batchesWritten.incrementAndGet();
          } catch (BackendUnavailableException e) {
            noteUnavailable(b, e);
            return false;
          } catch (RuntimeException e) {
            batchesRefusedByBackend.incrementAndGet();
            LOG.error(
                "cluster member {}: {} refused batch {} of '{}' for good; its rows stay in the"
                    + " Kafka log at that offset and are not retried: {}",
                config.instanceId(),
                b.name(),
                w.batchId(),
                w.table(),
                e.toString());
          }
          w.batch().close();
          pending.remove(0);
        }
        continue;
      }
      group.forEach(w -> w.batch().close());
      group.clear();
    }
    if (backendError != null) {
      LOG.info("cluster member {} writes to {} again", config.instanceId(), b.name());
      backendError = null;
    }
    return true;
  }

  private void noteUnavailable(BackendStore b, BackendUnavailableException e) {
    if (backendError == null) {
      LOG.warn(
          "cluster member {} cannot write to {} ({}); its partitions wait in Kafka and are retried",
          config.instanceId(),
          b.name(),
          e.getMessage());
    }
    backendError = e.getMessage();
  }

  /**
   * True when {@code record} carries an ingest id that an earlier attempt brought to its partition;
   * otherwise remembers the id as brought by the record's attempt (its other records, the rest of
   * the same call, are applied).
   */
  private boolean isRepeat(ConsumerRecord<byte[], byte[]> record, String table) {
    Header id = record.headers().lastHeader(KafkaIngestLog.INGEST_ID_HEADER);
    if (id == null) {
      return false;
    }
    Header batch = record.headers().lastHeader(KafkaIngestLog.BATCH_HEADER);
    String attempt = batch == null ? "" : new String(batch.value(), StandardCharsets.UTF_8);
    // Table names compare without case; the line break cannot be part of a table name.
    String key = Tables.key(table) + "\n" + new String(id.value(), StandardCharsets.UTF_8);
    String first =
        appliedIngestIds
            .computeIfAbsent(
                record.partition(), p -> new RecentIngestIds(engine.ingestIdsRemembered()))
            .remember(key, attempt);
    return first != null && !first.equals(attempt);
  }

  /**
   * Tells Kafka how far the backend holds every record of the partitions still owned. A refused
   * commit (this member was fenced by a rebalance) only means the next owner writes those records
   * again, which the backend skips.
   */
  private void commitPending() {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    Set<TopicPartition> assigned = consumer.assignment();
    pendingCommit.forEach(
        (tp, next) -> {
          if (assigned.contains(tp)) {
            offsets.put(tp, new OffsetAndMetadata(next));
          }
        });
    pendingCommit.clear();
    if (offsets.isEmpty()) {
      return;
    }
    try {
      consumer.commitSync(offsets, Duration.ofSeconds(10));
      offsets.forEach((tp, o) -> writtenBelow.merge(tp.partition(), o.offset(), Math::max));
    } catch (WakeupException e) {
      throw e;
    } catch (RuntimeException e) {
      LOG.warn(
          "cluster member {} could not commit offsets {} ({}); the next owner writes those records"
              + " again and the backend skips them",
          config.instanceId(),
          offsets,
          e.toString());
    }
  }

  /** A stored batch bound for the backend under its deterministic id. */
  private record PendingWrite(String table, String batchId, VectorSchemaRoot batch) {}

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
      if (backend != null && !partitions.isEmpty()) {
        readCommitted(partitions);
      }
      partitions.forEach(tp -> now.add(tp.partition()));
      owned = Set.copyOf(now);
      LOG.info("cluster member {} owns partitions {}", config.instanceId(), now);
      if (lostData) {
        rebalancesWithData.incrementAndGet();
      }
      // Announced before loading checkpoints: meanwhile reads find the partitions restoring.
      announce();
      for (TopicPartition tp : partitions) {
        Long next = nextOffset.get(tp.partition());
        if (next == null) {
          restoreOrReplay(tp);
        } else {
          consumer.seek(tp, next);
        }
      }
    }

    /**
     * Reads how far the backend already holds each newly assigned partition (the offsets its owners
     * committed). Without it every record is written again, which is correct (the backend skips the
     * batch ids it holds) but slower.
     */
    private void readCommitted(Collection<TopicPartition> partitions) {
      try {
        Map<TopicPartition, OffsetAndMetadata> committed =
            consumer.committed(Set.copyOf(partitions), Duration.ofSeconds(10));
        for (TopicPartition tp : partitions) {
          OffsetAndMetadata o = committed.get(tp);
          writtenBelow.put(tp.partition(), o == null ? 0L : o.offset());
        }
      } catch (RuntimeException e) {
        partitions.forEach(tp -> writtenBelow.put(tp.partition(), 0L));
        LOG.warn(
            "cluster member {} cannot read the committed offsets of {} ({}); it writes their"
                + " records again and the backend skips those it holds",
            config.instanceId(),
            partitions,
            e.toString());
      }
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
      partitions.forEach(tp -> lag.remove(tp.partition()));
      for (TopicPartition tp : partitions) {
        if (nextOffset.containsKey(tp.partition())) {
          lostData = true;
          movedAway = true;
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
