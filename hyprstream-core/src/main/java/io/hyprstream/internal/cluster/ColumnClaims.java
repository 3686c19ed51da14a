package io.hyprstream.internal.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.cluster.ClusterConfig;
import io.hyprstream.internal.table.MetricsTable;
import io.hyprstream.internal.table.Tables;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The type of every column of every ingested table, agreed by the whole cluster before an ingest is
 * acknowledged.
 *
 * <p>Why: each instance checks a batch against the tables as it knows them, but a table's rows, and
 * so its columns, are spread over the owners. A column only other instances had seen, sent with
 * another type, would pass the receiving instance, be acknowledged, and then be refused by its
 * owner: acknowledged rows lost. So the first claim decides: an ingest that brings a column this
 * instance has no claim of appends a claim (the table and its new columns with their types) to the
 * one-partition topic {@link ClusterConfig#columnsTopic()}, waits until it has read the topic past
 * it, and goes on only if no earlier claim gave one of those columns another type. One partition
 * orders every claim, so two instances racing with two types agree on the winner. Every instance
 * reads the whole topic on a thread of its own.
 *
 * <p>Each claim has a key of its own, so compaction never drops the first one. The claims grow with
 * the columns tables have, not with the rows.
 */
final class ColumnClaims implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ColumnClaims.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** How long an ingest waits to read back its own claim. */
  private static final Duration READ_BACK = Duration.ofSeconds(30);

  private final ClusterConfig config;
  private final Producer<byte[], byte[]> producer;
  private final TopicFollower follower;
  // table key -> column key -> the first claim's field
  private final Map<String, Map<String, Field>> claimed = new ConcurrentHashMap<>();
  private final Object progress = new Object();
  private long nextOffset; // guarded by progress: the offset after the last claim applied
  private volatile @org.jspecify.annotations.Nullable RuntimeException failure;

  /**
   * @param producer the instance's producer (shared; not closed here)
   * @param reader a consumer without a group, reading the columns topic (closed here)
   */
  ColumnClaims(
      ClusterConfig config, Producer<byte[], byte[]> producer, Consumer<byte[], byte[]> reader) {
    this.config = config;
    this.producer = producer;
    this.follower =
        new TopicFollower(
            config.columnsTopic(),
            "hyprstream-cluster-columns-" + config.instanceId(),
            reader,
            this::apply,
            this::readUpTo,
            this::stop);
  }

  void start() {
    follower.start();
  }

  /**
   * Returns once the cluster agrees on the type of every column of {@code schema} in {@code table}:
   * each has been claimed with the type it has there, by this call or before.
   *
   * @throws SchemaMismatchException naming the column when the cluster gave it another type
   * @throws BackendUnavailableException when the claim cannot be written or read back
   */
  void require(String table, Schema schema) {
    List<Field> unclaimed = check(table, schema);
    if (unclaimed.isEmpty()) {
      return;
    }
    long offset = append(table, unclaimed);
    awaitRead(offset);
    List<Field> still = check(table, schema);
    if (!still.isEmpty()) {
      throw new IllegalStateException("claims of " + still + " read back but not applied");
    }
  }

  /**
   * Every column the cluster has claimed in {@code table}, in the order of their claims, or null
   * when no ingest into it was ever claimed: the table's schema as the whole cluster knows it.
   */
  @org.jspecify.annotations.Nullable
  Schema schemaOf(String table) {
    Map<String, Field> columns = claimed.get(Tables.key(table));
    if (columns == null) {
      return null;
    }
    synchronized (columns) {
      return columns.isEmpty() ? null : new Schema(new ArrayList<>(columns.values()));
    }
  }

  /**
   * The columns of {@code schema} not claimed yet; throws when one was claimed with another type.
   */
  private List<Field> check(String table, Schema schema) {
    Map<String, Field> columns = claimed.getOrDefault(Tables.key(table), Map.of());
    boolean metrics = Tables.key(table).equals(MetricsTable.NAME);
    List<Field> unclaimed = new ArrayList<>();
    for (Field f : schema.getFields()) {
      if (metrics && MetricsTable.isBaseColumn(f.getName())) {
        continue; // their types are checked, and made one, by every instance alike
      }
      Field first = columns.get(Tables.key(f.getName()));
      if (first == null) {
        unclaimed.add(f);
      } else if (!first.getType().equals(f.getType())) {
        throw new SchemaMismatchException(
            table,
            f.getName(),
            "expected "
                + first.getType()
                + " (the type the cluster's first ingest of the column gave it), got "
                + f.getType());
      }
    }
    return unclaimed;
  }

  /** Appends a claim of {@code fields} in {@code table}; returns its offset once Kafka has it. */
  private long append(String table, List<Field> fields) {
    ObjectNode value = JSON.createObjectNode();
    value.put("instance", config.instanceId());
    value.put("table", table);
    value.put("schema", new Schema(fields).toJson());
    byte[] key = UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8);
    try {
      return producer
          .send(
              new ProducerRecord<>(
                  config.columnsTopic(), 0, key, value.toString().getBytes(StandardCharsets.UTF_8)))
          .get(30, TimeUnit.SECONDS)
          .offset();
    } catch (ExecutionException | TimeoutException | org.apache.kafka.common.KafkaException e) {
      throw unavailable("cannot write the claim", e.getCause() == null ? e : e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw unavailable("interrupted while writing the claim", e);
    }
  }

  private void awaitRead(long offset) {
    long deadline = System.nanoTime() + READ_BACK.toNanos();
    synchronized (progress) {
      while (nextOffset <= offset) {
        RuntimeException stopped = failure;
        if (stopped != null) {
          throw unavailable("this instance stopped reading the claims", stopped);
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw unavailable(
              "the claim at offset " + offset + " was not read back within " + READ_BACK, null);
        }
        try {
          progress.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw unavailable("interrupted while reading back the claim", e);
        }
      }
    }
  }

  private BackendUnavailableException unavailable(
      String what, @org.jspecify.annotations.Nullable Throwable cause) {
    return new BackendUnavailableException(
        "the cluster cannot agree on the new columns' types, so the ingest is not stored: "
            + what
            + " (Kafka topic '"
            + config.columnsTopic()
            + "' at "
            + config.bootstrapServers()
            + ")"
            + (cause == null ? "" : ": " + cause),
        cause);
  }

  private void readUpTo(long position) {
    synchronized (progress) {
      if (position > nextOffset) {
        nextOffset = position;
        progress.notifyAll();
      }
    }
  }

  private void stop(RuntimeException e) {
    LOG.error("cluster member {} stopped reading column claims: {}", config.instanceId(), e, e);
    failure = e;
    synchronized (progress) {
      progress.notifyAll();
    }
  }

  /** Applies one claim: each of its columns not claimed before takes its type. */
  private void apply(ConsumerRecord<byte[], byte[]> r) {
    if (r.value() == null) {
      return;
    }
    try {
      JsonNode v = JSON.readTree(r.value());
      String table = v.path("table").asText();
      Schema schema = Schema.fromJSON(v.path("schema").asText());
      Map<String, Field> columns =
          claimed.computeIfAbsent(
              Tables.key(table), k -> java.util.Collections.synchronizedMap(new LinkedHashMap<>()));
      Map<String, Field> won = new LinkedHashMap<>();
      for (Field f : schema.getFields()) {
        if (columns.putIfAbsent(Tables.key(f.getName()), f) == null) {
          won.put(f.getName(), f);
        }
      }
      if (!won.isEmpty()) {
        LOG.debug(
            "columns of '{}' typed by {}: {}", table, v.path("instance").asText(), won.values());
      }
    } catch (IOException | RuntimeException e) {
      // A claim nobody can read decides nothing; the next claim of its columns does.
      LOG.warn("skipping an unreadable column claim at offset {}: {}", r.offset(), e.toString());
    }
  }

  @Override
  public void close() {
    follower.close();
  }
}
