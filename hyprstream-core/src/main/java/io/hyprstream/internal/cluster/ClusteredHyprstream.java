package io.hyprstream.internal.cluster;

import io.hyprstream.ClusterMember;
import io.hyprstream.Hyprstream;
import io.hyprstream.Operations;
import io.hyprstream.QueryResult;
import io.hyprstream.StatementInfo;
import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.CacheStatistics;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.api.IngestResult;
import io.hyprstream.cluster.ClusterConfig;
import io.hyprstream.internal.Engine;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.jspecify.annotations.Nullable;

/**
 * A Hyprstream instance in a cluster: the local {@link Engine} with its live ingest routed to the
 * cluster's Kafka log ({@link KafkaIngestLog}), a {@link PartitionOwner} applying the partitions
 * Kafka assigns it, the {@link Membership} that says who owns what and where each instance is
 * reached, and {@link ClusterReads}, which answers every query completely from the owners' parts.
 *
 * <p>An ingest is acknowledged once Kafka has it; its rows reach the windows of their owner a
 * moment later, when the owner has read them ({@link #awaitCaughtUp} waits for that here).
 */
public final class ClusteredHyprstream implements Hyprstream, ClusterMember {
  /** Records stay below Kafka's default 1 MiB message limit. */
  static final int MAX_RECORD_BYTES = 900 * 1024;

  private final Engine engine;
  private final ClusterConfig config;
  private final Admin admin;
  private final Producer<byte[], byte[]> producer;
  private final PartitionOwner owner;
  private final Membership membership;
  private final ColumnClaims columns;
  private final PeerClient peers;
  private volatile @Nullable PeerServer peerServer;
  private final ClusterReads reads;
  private final LogProbe logProbe;
  private final Operations operations;
  private volatile @Nullable Checkpointer checkpointer;
  private final java.util.concurrent.atomic.AtomicBoolean closed =
      new java.util.concurrent.atomic.AtomicBoolean();

  private ClusteredHyprstream(
      Engine engine,
      ClusterConfig config,
      Admin admin,
      Producer<byte[], byte[]> producer,
      PartitionOwner owner,
      Membership membership,
      PeerClient peers,
      ColumnClaims columns) {
    this.engine = engine;
    this.columns = columns;
    this.config = config;
    this.admin = admin;
    this.producer = producer;
    this.owner = owner;
    this.membership = membership;
    this.peers = peers;
    this.reads = new ClusterReads(engine, config, membership, owner, peers, columns);
    this.logProbe = new LogProbe(admin, config);
    this.operations = new ClusterOperations(engine.operations(), this);
  }

  /**
   * Joins {@code engine} to the cluster: creates the ingest topic when it does not exist (or checks
   * its partition count), routes live ingest to it and starts applying owned partitions. Takes
   * ownership of the engine and closes it when the start fails.
   *
   * @param specs the engine's aggregations, whose key columns place rows in partitions
   * @throws io.hyprstream.api.BackendUnavailableException when Kafka cannot be reached
   * @throws IllegalArgumentException when the topic exists with another partition count
   */
  public static ClusteredHyprstream start(
      Engine engine, ClusterConfig config, List<AggregationSpec> specs) {
    Admin admin = null;
    Producer<byte[], byte[]> producer = null;
    KafkaConsumer<byte[], byte[]> consumer = null;
    KafkaConsumer<byte[], byte[]> membersReader = null;
    KafkaConsumer<byte[], byte[]> checkpointReader = null;
    KafkaConsumer<byte[], byte[]> columnsReader = null;
    ColumnClaims columns = null;
    Membership membership = null;
    PeerClient peers = null;
    PeerServer peerServer = null;
    try {
      admin = Admin.create(clientProperties(config, "admin"));
      String topicId = ensureTopic(admin, config);
      ensureMembersTopic(admin, config);
      ensureCheckpointTopic(admin, config);
      // Unique keys: compaction keeps every claim, so the first of each column stays.
      ensureCompactedTopic(admin, config, config.columnsTopic(), 1, "column claims");
      producer = new KafkaProducer<>(producerProperties(config));
      consumer = new KafkaConsumer<>(consumerProperties(config));
      membersReader = new KafkaConsumer<>(membersReaderProperties(config));
      checkpointReader = new KafkaConsumer<>(checkpointReaderProperties(config));
      columnsReader = new KafkaConsumer<>(columnsReaderProperties(config));
      columns = new ColumnClaims(config, producer, columnsReader);
      columnsReader = null; // the claims close it from here on
      columns.start();
      membership = new Membership(config, producer, membersReader, config.advertisedLocation());
      membersReader = null; // the membership closes it from here on
      membership.start();
      peers = new PeerClient(engine.allocator(), config.peerCredentials());
      Membership m = membership;
      PartitionOwner owner = new PartitionOwner(config, topicId, consumer, engine, m::publishOwned);
      engine.routeLiveIngestTo(
          new KafkaIngestLog(
              config, producer, columns, engine.allocator(), specs, MAX_RECORD_BYTES));
      ClusteredHyprstream instance =
          new ClusteredHyprstream(engine, config, admin, producer, owner, m, peers, columns);
      InetSocketAddress bind = config.peerServer();
      if (bind != null) {
        peerServer = PeerServer.start(bind, instance, engine.allocator());
        instance.peerServer = peerServer;
        if (config.advertisedLocation() == null) {
          m.publishLocation("grpc://" + bind.getHostString() + ":" + peerServer.port());
        }
      }
      if (config.advertisedLocation() != null) {
        m.publishLocation(config.advertisedLocation());
      }
      owner.dropMovedWith(instance.reads::dropMoved);
      Checkpointer checkpoints =
          new Checkpointer(
              engine,
              config.partitions(),
              instance.reads.foreignRows(),
              new CheckpointTopic(config, producer, checkpointReader));
      checkpointReader = null; // the checkpointer closes it from here on
      instance.checkpointer = checkpoints;
      owner.checkpointWith(checkpoints);
      owner.start();
      return instance;
    } catch (RuntimeException | Error e) {
      closeQuietly(peerServer, e);
      closeQuietly(peers, e);
      closeQuietly(membership, e);
      closeQuietly(columns, e);
      closeQuietly(columnsReader, e);
      closeQuietly(membersReader, e);
      closeQuietly(checkpointReader, e);
      closeQuietly(consumer, e);
      closeQuietly(producer, e);
      closeQuietly(admin, e);
      engine.close();
      throw e;
    }
  }

  /** Creates the one-partition compacted membership topic unless it exists. */
  private static void ensureMembersTopic(Admin admin, ClusterConfig config) {
    ensureCompactedTopic(admin, config, config.membersTopic(), 1, "membership");
  }

  /**
   * Creates the compacted checkpoint topic, one partition per ingest partition, unless it exists.
   */
  private static void ensureCheckpointTopic(Admin admin, ClusterConfig config) {
    ensureCompactedTopic(
        admin, config, config.checkpointTopic(), config.partitions(), "checkpoint");
  }

  private static void ensureCompactedTopic(
      Admin admin, ClusterConfig config, String topic, int partitions, String role) {
    try {
      admin
          .createTopics(
              List.of(
                  new NewTopic(topic, Optional.of(partitions), Optional.empty())
                      .configs(Map.of("cleanup.policy", "compact"))))
          .all()
          .get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        throw new io.hyprstream.api.BackendUnavailableException(
            "cannot create the cluster's "
                + role
                + " topic '"
                + topic
                + "' on Kafka at "
                + config.bootstrapServers()
                + ": "
                + e.getCause(),
            e);
      }
    } catch (TimeoutException e) {
      throw new io.hyprstream.api.BackendUnavailableException(
          "cannot reach the cluster log (Kafka at "
              + config.bootstrapServers()
              + ") to create topic '"
              + topic
              + "': "
              + e,
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HyprstreamException("interrupted while joining " + config, e);
    }
  }

  private static Properties membersReaderProperties(ClusterConfig config) {
    Properties p = clientProperties(config, "members");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    return p;
  }

  private static Properties columnsReaderProperties(ClusterConfig config) {
    Properties p = membersReaderProperties(config);
    p.putAll(clientProperties(config, "columns"));
    return p;
  }

  private static Properties checkpointReaderProperties(ClusterConfig config) {
    Properties p = membersReaderProperties(config);
    p.putAll(clientProperties(config, "checkpoints"));
    // A checkpoint is read in chunks of up to CheckpointTopic.CHUNK_BYTES each.
    p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(8 * 1024 * 1024));
    return p;
  }

  private static void closeQuietly(@Nullable AutoCloseable c, Throwable failure) {
    if (c != null) {
      try {
        c.close();
      } catch (Exception suppressed) {
        failure.addSuppressed(suppressed);
      }
    }
  }

  /**
   * The topic's id, which Kafka assigns when it creates the topic: a topic deleted and created
   * again under its name has another, so backend batch ids made with it never collide with those of
   * the old topic's offsets.
   */
  private static String topicId(Admin admin, String topic)
      throws ExecutionException, TimeoutException, InterruptedException {
    return describe(admin, topic).topicId().toString();
  }

  private static String ensureTopic(Admin admin, ClusterConfig config) {
    String topic = config.ingestTopic();
    try {
      try {
        admin
            .createTopics(
                List.of(new NewTopic(topic, Optional.of(config.partitions()), Optional.empty())))
            .all()
            .get(30, TimeUnit.SECONDS);
        return topicId(admin, topic); // created with the configured count
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) {
          throw e;
        }
      }
      int existing = partitionCount(admin, topic);
      if (existing != config.partitions()) {
        throw new IllegalArgumentException(
            "cluster '"
                + config.name()
                + "' has "
                + existing
                + " partitions (topic '"
                + topic
                + "'), not the configured "
                + config.partitions()
                + ": every instance must use the same partition count");
      }
      return topicId(admin, topic);
    } catch (ExecutionException | TimeoutException e) {
      throw new io.hyprstream.api.BackendUnavailableException(
          "cannot reach the cluster log (Kafka at "
              + config.bootstrapServers()
              + ") to create or check topic '"
              + topic
              + "': "
              + (e.getCause() == null ? e : e.getCause()),
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HyprstreamException("interrupted while joining " + config, e);
    }
  }

  /** The partition count of an existing topic. */
  private static int partitionCount(Admin admin, String topic)
      throws ExecutionException, TimeoutException, InterruptedException {
    return describe(admin, topic).partitions().size();
  }

  /**
   * Kafka's description of {@code topic}. A topic just created (here or by another instance) may
   * not be known to every broker yet: asked again until it is, for at most 30 s.
   */
  private static TopicDescription describe(Admin admin, String topic)
      throws ExecutionException, TimeoutException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try {
        Map<String, TopicDescription> described =
            admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS);
        TopicDescription d = described.get(topic);
        if (d == null) {
          throw new ExecutionException(
              new IllegalStateException("Kafka did not describe topic '" + topic + "'"));
        }
        return d;
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof UnknownTopicOrPartitionException)
            || System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(100);
      }
    }
  }

  private static Properties clientProperties(ClusterConfig config, String role) {
    Properties p = new Properties();
    p.putAll(config.kafkaProperties());
    p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    p.put(CommonClientConfigs.CLIENT_ID_CONFIG, config.instanceId() + "-" + role);
    return p;
  }

  private static Properties producerProperties(ClusterConfig config) {
    Properties p = new Properties();
    // Timeouts an operator may tune; the acknowledgement waits at most delivery.timeout.ms.
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "1");
    p.putAll(clientProperties(config, "ingest"));
    // An acknowledgement means every in-sync replica has the record, written once.
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(MAX_RECORD_BYTES + 64 * 1024));
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    return p;
  }

  private static Properties consumerProperties(ClusterConfig config) {
    Properties p = clientProperties(config, "owner");
    // The member's client.id is the instance id: describeConsumerGroups names owners by it.
    p.put(CommonClientConfigs.CLIENT_ID_CONFIG, config.instanceId());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, config.groupId());
    p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer"); // KIP-848: incremental, broker-side
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    return p;
  }

  /** This instance's cluster configuration. */
  public ClusterConfig clusterConfig() {
    return config;
  }

  /** The partitions Kafka has assigned this instance now. */
  public Set<Integer> ownedPartitions() {
    return owner.owned();
  }

  /** Log records this instance has applied, and refused, since it started. */
  public long recordsApplied() {
    return owner.recordsApplied();
  }

  public long recordsRefused() {
    return owner.recordsRefused();
  }

  @Override
  public @Nullable List<Endpoint> directEndpoints(String sql, List<@Nullable Object> parameters) {
    return reads.directEndpoints(sql, parameters);
  }

  @Override
  public Route readRoute(byte[] ticket) {
    return RouteTicket.decode(ticket);
  }

  @Override
  public QueryResult answerRoute(Route route, BufferAllocator allocator) {
    Set<Integer> partitions = route.partitions();
    return partitions == null
        ? reads.query(route.sql(), route.parameters(), allocator)
        : reads.queryPartitions(route.sql(), route.parameters(), partitions, allocator);
  }

  /** Partition checkpoints this instance wrote since start. */
  public long checkpointsWritten() {
    Checkpointer c = checkpointer;
    return c == null ? 0 : c.written();
  }

  /**
   * The next offset of the checkpoint this instance last wrote or loaded, per partition it owns.
   */
  public Map<Integer, Long> checkpointedOffsets() {
    return owner.checkpointedOffsets();
  }

  /** Bytes of the partition checkpoints this instance wrote since start. */
  public long checkpointBytesWritten() {
    Checkpointer c = checkpointer;
    return c == null ? 0 : c.writtenBytes();
  }

  /** Time this instance's partition thread spent writing checkpoints since start, in ns. */
  public long checkpointWritingNanos() {
    Checkpointer c = checkpointer;
    return c == null ? 0 : c.writingNanos();
  }

  /** Partition checkpoints this instance loaded when Kafka gave it a partition. */
  public long checkpointsLoaded() {
    Checkpointer c = checkpointer;
    return c == null ? 0 : c.loaded();
  }

  /** Log records this instance skipped as repeats of an ingest id its partition had applied. */
  public long recordsRepeated() {
    return owner.recordsRepeated();
  }

  /**
   * Queries this instance fanned out since it started, by what the other owners sent: their rows of
   * each relation, or partial aggregates (a plain aggregate of one relation).
   */
  public record FanOuts(long rows, long partialAggregates) {}

  /** See {@link FanOuts}. */
  public FanOuts fanOuts() {
    long[] f = reads.fanOuts();
    return new FanOuts(f[0], f[1]);
  }

  /** Stored batches this instance wrote to the backend, and those the backend refused for good. */
  public long backendBatchesWritten() {
    return owner.batchesWritten();
  }

  public long backendBatchesRefused() {
    return owner.batchesRefusedByBackend();
  }

  /**
   * Waits until this instance has applied every record that was in its owned partitions when the
   * call began, and with a backend written them there; false when {@code timeout} passed first.
   */
  public boolean awaitCaughtUp(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Map<Integer, Long> end = endOffsets();
    while (System.nanoTime() < deadline) {
      Set<Integer> owned = owner.owned();
      Map<Integer, Long> next = owner.nextOffsets();
      boolean caughtUp = true;
      for (int p : owned) {
        long target = end.getOrDefault(p, 0L);
        if (next.getOrDefault(p, 0L) < target
            || (owner.writesBackend() && owner.writtenThrough(p) < target)) {
          caughtUp = false;
          break;
        }
      }
      if (caughtUp) {
        return true;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return false;
  }

  /** The log end offset of every partition of the ingest topic. */
  private Map<Integer, Long> endOffsets() {
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    for (int p = 0; p < config.partitions(); p++) {
      request.put(new TopicPartition(config.ingestTopic(), p), OffsetSpec.latest());
    }
    try {
      Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> info =
          admin.listOffsets(request).all().get(30, TimeUnit.SECONDS);
      Map<Integer, Long> end = new HashMap<>();
      info.forEach((tp, i) -> end.put(tp.partition(), i.offset()));
      return end;
    } catch (ExecutionException | TimeoutException e) {
      throw new io.hyprstream.api.BackendUnavailableException(
          "cannot read the cluster log's end offsets: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HyprstreamException("interrupted", e);
    }
  }

  // ------------------------------------------------------------- the local engine, as it answers

  @Override
  public IngestResult ingest(String table, ArrowReader batches) {
    return engine.ingest(table, batches);
  }

  @Override
  public IngestResult ingest(String table, VectorSchemaRoot batch) {
    return engine.ingest(table, batch);
  }

  @Override
  public IngestResult ingest(String table, ArrowReader batches, String ingestId) {
    return engine.ingest(table, batches, ingestId);
  }

  @Override
  public IngestResult ingest(String table, VectorSchemaRoot batch, String ingestId) {
    return engine.ingest(table, batch, ingestId);
  }

  @Override
  public IngestResult ingestTransferred(String table, List<VectorSchemaRoot> batches) {
    return engine.ingestTransferred(table, batches);
  }

  @Override
  public IngestResult ingestTransferred(
      String table, List<VectorSchemaRoot> batches, String ingestId) {
    return engine.ingestTransferred(table, batches, ingestId);
  }

  /** Answers from every owner's part of the data (see {@link ClusterReads}). */
  @Override
  public QueryResult query(String sql) {
    return reads.query(sql, List.of(), engine.allocator());
  }

  @Override
  public QueryResult query(String sql, List<@Nullable Object> parameters) {
    return reads.query(sql, parameters, engine.allocator());
  }

  @Override
  public StatementInfo describe(String sql) {
    return engine.describe(sql);
  }

  @Override
  public QueryResult query(
      String sql, List<@Nullable Object> parameters, BufferAllocator allocator) {
    return reads.query(sql, parameters, allocator);
  }

  /** Answers from this instance's own partitions only, as a peer's read is answered. */
  public QueryResult queryLocal(String sql) {
    return engine.query(sql);
  }

  // ------------------------------------------------------------------ the cluster's member

  @Override
  public void advertise(String location) {
    if (config.advertisedLocation() == null && peerServer == null) {
      membership.publishLocation(location);
    }
  }

  @Override
  public @Nullable String advertisedLocation() {
    return membership.location();
  }

  @Override
  public List<String> problems() {
    List<String> problems = new java.util.ArrayList<>();
    String unreachable = logProbe.unreachable();
    if (unreachable != null) {
      problems.add("cluster: " + unreachable + "; ingest is refused meanwhile");
    }
    String stopped = owner.stoppedBecause();
    if (stopped != null) {
      problems.add(
          "cluster: this instance stopped applying its partitions of "
              + config.ingestTopic()
              + ": "
              + stopped);
    }
    Set<Integer> restoring = new java.util.TreeSet<>();
    for (int p : owner.owned()) {
      if (owner.restoring(p)) {
        restoring.add(p);
      }
    }
    if (!restoring.isEmpty()) {
      problems.add("cluster: restoring partitions " + restoring + " of " + config.ingestTopic());
    }
    String backendError = owner.backendError();
    io.hyprstream.api.BackendStore backend = engine.backend();
    if (backendError != null && backend != null) {
      problems.add(
          "cluster: cannot write to backend "
              + backend.name()
              + " ("
              + backendError
              + "); acknowledged rows wait in "
              + config.ingestTopic());
    }
    return problems;
  }

  @Override
  public QueryResult answerPeer(byte[] ticket, BufferAllocator allocator) {
    PeerTicket t = PeerTicket.decode(ticket);
    if (!t.cluster().equals(config.name())) {
      throw new io.hyprstream.api.QueryRejectedException(
          "a read for cluster '" + t.cluster() + "' reached an instance of '" + config.name() + "'",
          null);
    }
    reads.check(t.partitions());
    if (t.awaitBackendWrites()) {
      reads.checkWritten(t.partitions());
    }
    String relation = t.relation();
    if (relation != null && !engine.cluster().holds(relation)) {
      // This instance never received a row of it (or of a view's table): its share is empty.
      return QueryResult.of(
          allocator,
          new io.hyprstream.internal.arrow.BatchListReader(
              allocator, new Schema(List.of()), List.of()),
          io.hyprstream.api.Freshness.computed(
              io.hyprstream.api.Freshness.Source.CACHE, null, java.time.Instant.now(), null));
    }
    String sql;
    if (t.partialAggregates()) {
      reads.checkWholeShare(java.util.Objects.requireNonNull(relation), t.partitions());
      sql = t.sql(); // an aggregate's rows carry no key to leave out: refused above if needed
    } else {
      sql = relation == null ? t.sql() : reads.ownRows(relation, t.sql(), t.partitions());
    }
    QueryResult result = engine.query(sql, t.parameters(), allocator);
    try {
      reads.check(t.partitions()); // still the owner once the rows are read
    } catch (RuntimeException e) {
      io.hyprstream.internal.arrow.Closeables.closeQuietly(result);
      throw e;
    }
    return result;
  }

  /** Who owns each partition and where each member is reached, as the membership says now. */
  public Map<Integer, String> partitionOwners() {
    Map<Integer, String> out = new java.util.TreeMap<>();
    membership.directory().owners().forEach((p, m) -> out.put(p, m.instanceId()));
    return out;
  }

  @Override
  public Schema querySchema(String sql) {
    Schema cluster = reads.clusterTableSchema(sql);
    return cluster != null ? cluster : engine.querySchema(sql);
  }

  /**
   * Runs a statement on this instance, as {@link Engine#execute} does. A statement that reads a
   * partitioned relation (other than as the target of an INSERT) is refused: it would see only this
   * instance's rows of it, and a query reads them all.
   */
  @Override
  public long execute(String sql, List<@Nullable Object> parameters) {
    reads.checkStatement(sql);
    return engine.execute(sql, parameters);
  }

  @Override
  public List<TableInfo> tables() {
    return engine.tables();
  }

  @Override
  public @Nullable Schema tableSchema(String table) {
    return engine.tableSchema(table);
  }

  @Override
  public List<CacheStatistics> cacheStatistics() {
    return engine.cacheStatistics();
  }

  @Override
  public void expire() {
    engine.expire();
  }

  @Override
  public Operations operations() {
    return operations;
  }

  /**
   * Leaves the group (its partitions move to the others at once) and the membership, stops serving
   * and reading other instances, then closes the engine.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      owner.close();
    } finally {
      try {
        Checkpointer c = checkpointer;
        if (c != null) {
          c.close();
        }
        membership.close();
        columns.close();
        PeerServer server = peerServer;
        if (server != null) {
          server.close();
        }
        peers.close();
        producer.close(Duration.ofSeconds(5));
      } finally {
        try {
          admin.close(Duration.ofSeconds(5));
        } finally {
          engine.close();
        }
      }
    }
  }
}
