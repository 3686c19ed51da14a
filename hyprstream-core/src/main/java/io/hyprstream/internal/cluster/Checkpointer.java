package io.hyprstream.internal.cluster;

import io.hyprstream.internal.ClusterFacet.PartitionShare;
import io.hyprstream.internal.Engine;
import io.hyprstream.internal.cluster.ForeignRows.KeySet;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes and loads partition checkpoints ({@link PartitionCheckpoint}) through the {@link
 * CheckpointTopic}, so a new owner of a partition loads its state and replays the log only from the
 * checkpoint's offset instead of from the start. Only the thread that applies the partitions uses
 * it: no record of a partition arrives while it is exported or imported.
 *
 * <p>Only tables with one key column can be split by partition; a partition that received records
 * of a table without one is never checkpointed, and a new owner replays it from the start of the
 * log.
 */
final class Checkpointer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Checkpointer.class);

  private final Engine engine;
  private final int partitions;
  private final ForeignRows keys;
  private final CheckpointTopic topic;
  private final AtomicLong written = new AtomicLong();
  private final AtomicLong writtenBytes = new AtomicLong();
  private final AtomicLong writingNanos = new AtomicLong();
  private final AtomicLong loaded = new AtomicLong();

  Checkpointer(Engine engine, int partitions, ForeignRows keys, CheckpointTopic topic) {
    this.engine = engine;
    this.partitions = partitions;
    this.keys = keys;
    this.topic = topic;
  }

  /** A loaded checkpoint: the offset to replay from, and the ingest ids to remember. */
  record Restored(long nextOffset, Map<String, String> ingestIds) {}

  /**
   * Writes a checkpoint of each partition of {@code due} (partition to its next offset), with its
   * remembered ingest ids ({@code ingestIds}, by partition, attempts by id).
   *
   * @throws UnsupportedOperationException when a table's aggregator cannot export part of its state
   * @throws io.hyprstream.api.BackendUnavailableException when Kafka did not take a checkpoint
   */
  void write(Map<Integer, Long> due, Map<Integer, Map<String, String>> ingestIds) {
    List<TableKeys> rowKeys = new ArrayList<>();
    for (String table : engine.cluster().ingestedTables().keySet()) {
      String key = engine.cluster().keyColumnOf(table);
      if (key != null) {
        rowKeys.add(new TableKeys(table, key, keys.keysByPartition(key, List.of(table))));
      }
    }
    for (Map.Entry<Integer, Long> d : due.entrySet()) {
      long started = System.nanoTime();
      int p = d.getKey();
      List<PartitionShare> shares = exportShares(p, rowKeys);
      byte[] bytes;
      try (PartitionCheckpoint cp =
          new PartitionCheckpoint(p, d.getValue(), shares, ingestIds.getOrDefault(p, Map.of()))) {
        bytes = cp.encode(engine.allocator());
      }
      topic.write(p, d.getValue(), bytes);
      written.incrementAndGet();
      writtenBytes.addAndGet(bytes.length);
      writingNanos.addAndGet(System.nanoTime() - started);
    }
  }

  /** A table with one key column, and the keys of its rows this instance holds, by partition. */
  private record TableKeys(String table, String keyColumn, Map<Integer, KeySet> byPartition) {
    /** The DuckDB condition that selects the table's rows of partition {@code p}. */
    String rowsOf(int p) {
      return byPartition.getOrDefault(p, KeySet.NONE).rowsOf(keyColumn);
    }
  }

  private List<PartitionShare> exportShares(int p, List<TableKeys> rowKeys) {
    List<PartitionShare> shares = new ArrayList<>();
    try {
      for (TableKeys t : rowKeys) {
        PartitionShare share =
            engine
                .cluster()
                .exportShare(t.table(), t.rowsOf(p), inPartition(p), engine.allocator());
        if (share != null) {
          shares.add(share);
        }
      }
      return shares;
    } catch (RuntimeException e) {
      shares.forEach(PartitionShare::close);
      throw e;
    }
  }

  /** The keys (each as its one value) that live in partition {@code p}. */
  private Predicate<List<@Nullable Object>> inPartition(int p) {
    return key -> {
      Object v = key.isEmpty() ? null : key.get(0);
      byte[] bytes = v == null ? new byte[0] : ForeignRows.text(v).getBytes(StandardCharsets.UTF_8);
      return KeyPartitioner.partitionOfKey(bytes, partitions) == p;
    };
  }

  /**
   * Loads the newest checkpoint of partition {@code p}, which this instance holds nothing of, into
   * the engine; null when there is none or it cannot be used (the partition is then replayed from
   * the start of the log, and nothing of it stays loaded).
   */
  @Nullable Restored restore(int p) {
    CheckpointTopic.Stored stored;
    try {
      stored = topic.read(p);
    } catch (RuntimeException e) {
      LOG.warn(
          "cannot read the checkpoint of partition {}; replaying it whole: {}", p, e.toString());
      return null;
    }
    if (stored == null) {
      return null;
    }
    List<String> imported = new ArrayList<>();
    try (PartitionCheckpoint cp = PartitionCheckpoint.decode(stored.bytes(), engine.allocator())) {
      if (cp.partition() != p || cp.nextOffset() != stored.nextOffset()) {
        throw new IllegalStateException(
            "it is the checkpoint of partition "
                + cp.partition()
                + " at offset "
                + cp.nextOffset()
                + ", not of partition "
                + p
                + " at offset "
                + stored.nextOffset());
      }
      for (PartitionShare share : cp.shares()) {
        imported.add(share.table());
        engine.cluster().importShare(share, engine.allocator());
      }
      loaded.incrementAndGet();
      return new Restored(cp.nextOffset(), cp.ingestIds());
    } catch (RuntimeException e) {
      LOG.warn(
          "cannot load the checkpoint of partition {} (offset {}); replaying it whole: {}",
          p,
          stored.nextOffset(),
          e.toString());
      forget(p, imported);
      return null;
    }
  }

  /** Drops what a failed load added of partition {@code p}'s keys to {@code tables}. */
  private void forget(int p, List<String> tables) {
    for (String table : tables) {
      String key = engine.cluster().keyColumnOf(table);
      if (key == null) {
        continue;
      }
      TableKeys held = new TableKeys(table, key, keys.keysByPartition(key, List.of(table)));
      engine.cluster().forgetKeys(table, held.rowsOf(p), inPartition(p));
    }
  }

  /** Checkpoints written by this instance since start. */
  long written() {
    return written.get();
  }

  /** Bytes of the checkpoints written since start. */
  long writtenBytes() {
    return writtenBytes.get();
  }

  /**
   * Time spent writing checkpoints since start (exporting, encoding, waiting for Kafka), during
   * which the owner's thread applies no records.
   */
  long writingNanos() {
    return writingNanos.get();
  }

  /** Checkpoints this instance loaded when it was given a partition. */
  long loaded() {
    return loaded.get();
  }

  @Override
  public void close() {
    topic.close();
  }
}
