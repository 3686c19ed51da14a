package io.hyprstream.internal.cluster;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.IngestResult;
import io.hyprstream.cluster.ClusterConfig;
import io.hyprstream.internal.ingest.IngestLog;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.jspecify.annotations.Nullable;

/**
 * The cluster's ingest log: each batch is split by key partition and each partition's sub-batch is
 * written as one Kafka record (Arrow IPC bytes, with the table and the ingest's batch id in
 * headers) to that partition of the ingest topic. The producer is idempotent with {@code acks=all};
 * {@link #append} returns once Kafka has acknowledged every record of the call.
 *
 * <p>A table with window aggregates is split by its key columns; a table without them has no key,
 * so each of its batches goes whole to one partition chosen by the ingest id when the client gave
 * one (so a retry reaches the same partition), else by the batch id. Before any record is sent, the
 * cluster agrees on the type of each of the batches' columns ({@link ColumnClaims}).
 */
final class KafkaIngestLog implements IngestLog {
  /** Record header naming the table the batch belongs to. */
  static final String TABLE_HEADER = "hs-table";

  /** Record header with the id of the ingest call the batch came from. */
  static final String BATCH_HEADER = "hs-batch";

  /**
   * Record header with the client's ingest id, when the ingest had one: the partition's owner skips
   * a record whose (table, id) an earlier attempt brought ({@link PartitionOwner}).
   */
  static final String INGEST_ID_HEADER = "hs-ingest-id";

  private final ClusterConfig config;
  private final Producer<byte[], byte[]> producer;
  private final ColumnClaims columns;
  private final BufferAllocator allocator;
  private final KeyPartitioner partitioner;
  private final Map<String, List<String>> keyColumnsByTable;
  private final int maxRecordBytes;

  /**
   * @param specs the instance's aggregations: their key columns place rows
   * @param maxRecordBytes records are kept below this (Kafka refuses larger ones): a larger
   *     sub-batch is cut into row ranges
   */
  KafkaIngestLog(
      ClusterConfig config,
      Producer<byte[], byte[]> producer,
      ColumnClaims columns,
      BufferAllocator allocator,
      List<AggregationSpec> specs,
      int maxRecordBytes) {
    this.config = config;
    this.producer = producer;
    this.columns = columns;
    this.allocator = allocator;
    this.partitioner = new KeyPartitioner(config.partitions());
    this.keyColumnsByTable = new java.util.HashMap<>();
    for (AggregationSpec spec : specs) {
      keyColumnsByTable.put(spec.table().toLowerCase(Locale.ROOT), spec.keyColumns());
    }
    this.maxRecordBytes = maxRecordBytes;
  }

  @Override
  public IngestResult append(
      String table, List<VectorSchemaRoot> batches, @Nullable String ingestId) {
    String batchId = UUID.randomUUID().toString();
    // A retry of a keyless batch must reach the partition that remembers its id.
    String spreadBy = ingestId != null ? ingestId : batchId;
    List<String> keys = keyColumnsByTable.getOrDefault(table.toLowerCase(Locale.ROOT), List.of());
    List<Future<RecordMetadata>> sent = new ArrayList<>();
    long rows = 0;
    try {
      // The cluster agrees on every column's type before any row is in the log: an owner would
      // refuse a column another instance gave another type, after the acknowledgement.
      for (VectorSchemaRoot batch : batches) {
        columns.require(table, batch.getSchema());
      }
      for (int i = 0; i < batches.size(); i++) {
        VectorSchemaRoot batch = batches.get(i);
        if (batch.getRowCount() == 0) {
          continue;
        }
        rows += batch.getRowCount();
        if (keys.isEmpty()) {
          byte[] spread = (spreadBy + "/" + i).getBytes(StandardCharsets.UTF_8);
          send(
              table,
              batchId,
              ingestId,
              KeyPartitioner.partitionOfKey(spread, config.partitions()),
              batch,
              sent);
          continue;
        }
        int[] partitionOf = partitioner.partitionOfRows(table, batch, keys);
        Map<Integer, VectorSchemaRoot> parts = KeyPartitioner.split(batch, partitionOf, allocator);
        try {
          for (Map.Entry<Integer, VectorSchemaRoot> part : parts.entrySet()) {
            send(table, batchId, ingestId, part.getKey(), part.getValue(), sent);
          }
        } finally {
          parts.values().forEach(VectorSchemaRoot::close);
        }
      }
      for (Future<RecordMetadata> f : sent) {
        f.get(); // bounded by the producer's delivery.timeout.ms
      }
    } catch (ExecutionException e) {
      throw unavailable(e.getCause() == null ? e : e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw unavailable(e);
    } catch (org.apache.kafka.common.KafkaException e) {
      throw unavailable(e);
    } finally {
      batches.forEach(VectorSchemaRoot::close);
    }
    return IngestResult.of(rows);
  }

  /** Sends {@code part} as one record, or as row ranges when it would exceed the record limit. */
  private void send(
      String table,
      String batchId,
      @Nullable String ingestId,
      int partition,
      VectorSchemaRoot part,
      List<Future<RecordMetadata>> sent) {
    byte[] bytes = ArrowIpc.encode(part);
    if (bytes.length > maxRecordBytes && part.getRowCount() > 1) {
      int half = part.getRowCount() / 2;
      try (VectorSchemaRoot first = part.slice(0, half);
          VectorSchemaRoot second = part.slice(half, part.getRowCount() - half)) {
        send(table, batchId, ingestId, partition, first, sent);
        send(table, batchId, ingestId, partition, second, sent);
      }
      return;
    }
    RecordHeaders headers = new RecordHeaders();
    headers.add(new RecordHeader(TABLE_HEADER, table.getBytes(StandardCharsets.UTF_8)));
    headers.add(new RecordHeader(BATCH_HEADER, batchId.getBytes(StandardCharsets.UTF_8)));
    if (ingestId != null) {
      headers.add(new RecordHeader(INGEST_ID_HEADER, ingestId.getBytes(StandardCharsets.UTF_8)));
    }
    sent.add(
        producer.send(
            new ProducerRecord<>(config.ingestTopic(), partition, null, null, bytes, headers)));
  }

  private BackendUnavailableException unavailable(Throwable cause) {
    return new BackendUnavailableException(
        "the cluster log (Kafka topic '"
            + config.ingestTopic()
            + "' at "
            + config.bootstrapServers()
            + ") did not acknowledge the ingest, so it is not stored: "
            + cause,
        cause);
  }
}
