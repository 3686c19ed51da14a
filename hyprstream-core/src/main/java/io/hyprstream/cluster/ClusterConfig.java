package io.hyprstream.cluster;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * How an instance joins a Hyprstream cluster: the Kafka cluster that carries the shared ingest log
 * and the membership, the cluster's name, its partition count, and this instance's identity.
 * Immutable; the {@code with...} methods return changed copies.
 *
 * <pre>{@code
 * Hyprstream hs = Hyprstream.builder()
 *     .cluster(ClusterConfig.kafka("broker1:9092,broker2:9092", "prod").withPartitions(48))
 *     .build();
 * }</pre>
 *
 * Every instance of one cluster must use the same name and partition count: the partition count
 * fixes which instance owns which keys, and a topic created with one count is refused with another.
 */
public final class ClusterConfig {
  /** Partitions when none are given: a few per instance for clusters of up to a dozen. */
  public static final int DEFAULT_PARTITIONS = 48;

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,200}");
  private static final Pattern LOCATION =
      Pattern.compile("grpc(\\+tcp|\\+tls)?://(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+):[0-9]{1,5}");

  /**
   * Checkpoints when none are asked for: often enough that a takeover replays minutes, not days.
   */
  public static final Duration DEFAULT_CHECKPOINT_INTERVAL = Duration.ofMinutes(5);

  private final String bootstrapServers;
  private final String name;
  private final int partitions;
  private final String instanceId;
  private final @Nullable String advertisedLocation;
  private final @Nullable InetSocketAddress peerServer;
  private final Map<String, String> kafkaProperties;
  private final @Nullable PeerCredentials peerCredentials;
  private final Duration checkpointInterval;
  private final boolean directReads;

  /**
   * The user and password this instance signs in with when it reads other instances that require
   * authentication (a Hyprstream server with {@code --auth}). The password never appears in {@link
   * #toString}.
   */
  public record PeerCredentials(String user, String password) {
    public PeerCredentials {
      Objects.requireNonNull(user, "user");
      Objects.requireNonNull(password, "password");
      if (user.isBlank()) {
        throw new IllegalArgumentException("the cluster peer user must not be blank");
      }
    }

    @Override
    public String toString() {
      return "PeerCredentials[user=" + user + ", password=***]";
    }
  }

  private ClusterConfig(Fields f) {
    this.bootstrapServers = f.bootstrapServers;
    this.name = f.name;
    this.partitions = f.partitions;
    this.instanceId = f.instanceId;
    this.advertisedLocation = f.advertisedLocation;
    this.peerServer = f.peerServer;
    this.kafkaProperties = Map.copyOf(f.kafkaProperties);
    this.peerCredentials = f.peerCredentials;
    this.checkpointInterval = f.checkpointInterval;
    this.directReads = f.directReads;
  }

  /** The settings of a configuration being made, so each {@code with...} changes one of them. */
  private static final class Fields {
    String bootstrapServers;
    String name;
    int partitions;
    String instanceId;
    @Nullable String advertisedLocation;
    @Nullable InetSocketAddress peerServer;
    Map<String, String> kafkaProperties;
    @Nullable PeerCredentials peerCredentials;
    Duration checkpointInterval;
    boolean directReads;

    Fields(String bootstrapServers, String name, String instanceId) {
      this.bootstrapServers = bootstrapServers;
      this.name = name;
      this.partitions = DEFAULT_PARTITIONS;
      this.instanceId = instanceId;
      this.kafkaProperties = Map.of();
      this.checkpointInterval = DEFAULT_CHECKPOINT_INTERVAL;
      this.directReads = false;
    }

    Fields(ClusterConfig c) {
      this.bootstrapServers = c.bootstrapServers;
      this.name = c.name;
      this.partitions = c.partitions;
      this.instanceId = c.instanceId;
      this.advertisedLocation = c.advertisedLocation;
      this.peerServer = c.peerServer;
      this.kafkaProperties = c.kafkaProperties;
      this.peerCredentials = c.peerCredentials;
      this.checkpointInterval = c.checkpointInterval;
      this.directReads = c.directReads;
    }
  }

  /** A copy of this configuration with {@code change} applied to its settings. */
  private ClusterConfig with(java.util.function.Consumer<Fields> change) {
    Fields f = new Fields(this);
    change.accept(f);
    return new ClusterConfig(f);
  }

  /**
   * A cluster on the Kafka cluster at {@code bootstrapServers} ({@code host:port[,host:port...]})
   * named {@code name} (letters, digits, '.', '_', '-'), with {@link #DEFAULT_PARTITIONS}
   * partitions and a random instance id.
   *
   * @throws IllegalArgumentException naming the option when a value is blank or not allowed
   */
  public static ClusterConfig kafka(String bootstrapServers, String name) {
    Objects.requireNonNull(bootstrapServers, "bootstrapServers");
    Objects.requireNonNull(name, "name");
    if (bootstrapServers.isBlank()) {
      throw new IllegalArgumentException("cluster Kafka bootstrap servers must not be blank");
    }
    checkName(name, "cluster name");
    return new ClusterConfig(
        new Fields(
            bootstrapServers.strip(), name, "hs-" + UUID.randomUUID().toString().substring(0, 8)));
  }

  /**
   * The number of key partitions (and of the ingest topic's Kafka partitions); at least 1. More
   * partitions than instances lets the cluster grow without moving keys between partitions.
   */
  public ClusterConfig withPartitions(int count) {
    if (count < 1 || count > 10_000) {
      throw new IllegalArgumentException(
          "cluster partitions must be between 1 and 10000, not " + count);
    }
    return with(f -> f.partitions = count);
  }

  /** This instance's id in the group (Kafka's {@code client.id}); unique within the cluster. */
  public ClusterConfig withInstanceId(String id) {
    checkName(Objects.requireNonNull(id, "instanceId"), "cluster instance id");
    return with(f -> f.instanceId = id);
  }

  /**
   * The Flight location other instances reach this one at to read the partitions it owns, e.g.
   * {@code grpc://10.0.0.5:50051} ({@code grpc+tls://} with TLS): published in the cluster's
   * membership. Without it, an instance advertises its peer server's bound address ({@link
   * #withPeerServer}), or what the Hyprstream server that fronts it sets once its port is open; an
   * instance that advertises nothing makes queries needing its partitions fail, naming them.
   *
   * @throws IllegalArgumentException when the location is not {@code grpc://HOST:PORT}, {@code
   *     grpc+tcp://HOST:PORT} or {@code grpc+tls://HOST:PORT}
   */
  public ClusterConfig withAdvertisedLocation(String location) {
    Objects.requireNonNull(location, "advertisedLocation");
    String l = location.strip();
    if (!LOCATION.matcher(l).matches()) {
      throw new IllegalArgumentException(
          "cluster advertised location '"
              + location
              + "' must be grpc://HOST:PORT, grpc+tcp://HOST:PORT or grpc+tls://HOST:PORT");
    }
    return with(f -> f.advertisedLocation = l);
  }

  /**
   * Serves the other instances' reads of this instance's partitions on a Flight endpoint of its
   * own, bound to {@code address} (port 0 picks a free one): for an embedded instance, which no
   * Hyprstream server fronts. A Hyprstream server serves them on its own Flight port instead.
   */
  public ClusterConfig withPeerServer(InetSocketAddress address) {
    Objects.requireNonNull(address, "peerServer");
    return with(f -> f.peerServer = address);
  }

  /**
   * An extra Kafka client property for this instance's producer, consumer and admin clients
   * (security settings such as {@code security.protocol} or {@code sasl.jaas.config}). Properties
   * Hyprstream sets itself for correctness (acks, idempotence, the group protocol, offsets) cannot
   * be overridden.
   */
  public ClusterConfig withKafkaProperty(String key, String value) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value");
    Map<String, String> props = new LinkedHashMap<>(kafkaProperties);
    props.put(key, value);
    return with(f -> f.kafkaProperties = props);
  }

  /**
   * Signs in to the other instances as {@code user} with {@code password} (Flight basic
   * authentication, then the bearer token it returns) when they require it: a cluster of Hyprstream
   * servers with {@code --auth} needs a user every instance accepts, or every read of another
   * instance is refused ({@code UNAUTHENTICATED}) and so is each query that needs one.
   */
  public ClusterConfig withPeerCredentials(String user, String password) {
    return with(f -> f.peerCredentials = new PeerCredentials(user, password));
  }

  /**
   * How often the owner of each partition writes a checkpoint of it (its keys' windows, hot rows
   * and remembered ingest ids, at a log offset) to the cluster's checkpoint topic; the partition's
   * next owner loads the newest one and replays the log only from there. Zero turns checkpoints
   * off: a new owner then replays the partition from the start of the log. Default {@link
   * #DEFAULT_CHECKPOINT_INTERVAL}.
   *
   * @throws IllegalArgumentException when negative
   */
  public ClusterConfig withCheckpointInterval(Duration interval) {
    Objects.requireNonNull(interval, "checkpointInterval");
    if (interval.isNegative()) {
      throw new IllegalArgumentException(
          "the cluster checkpoint interval must not be negative, not " + interval);
    }
    return with(f -> f.checkpointInterval = interval);
  }

  /**
   * Whether a Hyprstream server in front of this instance sends clients straight to the owner of
   * the key a key lookup reads: the query's FlightInfo names the owner's advertised location, and
   * the client reads the rows there instead of through this instance. Off by default: the Flight
   * SQL JDBC driver (18.3) opens a new connection to the owner for each such query, which on one
   * machine cost more than the relay saved (docs/cluster.md, "Direct reads"); clients must also be
   * able to reach the advertised locations.
   */
  public ClusterConfig withDirectReads(boolean on) {
    return with(f -> f.directReads = on);
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  public String name() {
    return name;
  }

  public int partitions() {
    return partitions;
  }

  public String instanceId() {
    return instanceId;
  }

  public @Nullable String advertisedLocation() {
    return advertisedLocation;
  }

  /** Where this instance serves other instances' reads itself, or null (see withPeerServer). */
  public @Nullable InetSocketAddress peerServer() {
    return peerServer;
  }

  /** See {@link #withPeerCredentials}; null when this instance reads the others anonymously. */
  public @Nullable PeerCredentials peerCredentials() {
    return peerCredentials;
  }

  public Map<String, String> kafkaProperties() {
    return kafkaProperties;
  }

  /** The Kafka topic that carries the cluster's ingest log. */
  public String ingestTopic() {
    return "hs." + name + ".ingest";
  }

  /**
   * The compacted Kafka topic where each instance publishes its Flight location and the partitions
   * it owns (docs/cluster.md, "Membership").
   */
  public String membersTopic() {
    return "hs." + name + ".members";
  }

  /**
   * The one-partition Kafka topic of column claims: the first claim of a table's column decides its
   * type in the whole cluster (docs/cluster.md, "Bad input").
   */
  public String columnsTopic() {
    return "hs." + name + ".columns";
  }

  /** See {@link #withDirectReads}. */
  public boolean directReads() {
    return directReads;
  }

  /** See {@link #withCheckpointInterval}; zero when checkpoints are off. */
  public Duration checkpointInterval() {
    return checkpointInterval;
  }

  /**
   * The compacted Kafka topic that holds the newest checkpoint of each partition, in the partition
   * of the same number (docs/cluster.md, "Checkpoints").
   */
  public String checkpointTopic() {
    return "hs." + name + ".checkpoints";
  }

  /** The Kafka consumer group the cluster's instances form. */
  public String groupId() {
    return "hs." + name;
  }

  @Override
  public String toString() {
    return "cluster '"
        + name
        + "' on Kafka "
        + bootstrapServers
        + " ("
        + partitions
        + " partitions, instance "
        + instanceId
        + ")";
  }

  private static void checkName(String value, String option) {
    if (!NAME.matcher(value).matches()) {
      throw new IllegalArgumentException(
          option + " '" + value + "' may hold only letters, digits, '.', '_' and '-'");
    }
  }
}
