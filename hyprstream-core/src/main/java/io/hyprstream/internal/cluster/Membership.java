package io.hyprstream.internal.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.cluster.ClusterConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's membership: which instance owns each partition, and where each instance is reached.
 *
 * <p>Every instance publishes one record, keyed by its instance id, to the one-partition compacted
 * topic {@link ClusterConfig#membersTopic()}: its advertised Flight location, the partitions it
 * owns and a generation (one more each time it publishes). It publishes whenever Kafka changes its
 * share (from the consumer group's rebalance callbacks, and synchronously there: a revocation is in
 * the topic before Kafka hands the partition to another member) and when its location becomes
 * known; it publishes a tombstone when it leaves. Every instance reads the whole topic on a thread
 * of its own and keeps the latest record of each member.
 *
 * <p>Why a topic of our own rather than {@code Admin.describeConsumerGroups}: the group names
 * members and their assignment but carries no Flight location, and its assignment is the broker's
 * target, which a member may not have taken up yet; a member's own record says what it holds now.
 * One partition keeps every record in one order, so when two members claim a partition (a crashed
 * owner never published its revocation) the later claim, the new owner's, wins.
 */
final class Membership implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Membership.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One member as its latest record says, with that record's offset in the members topic. */
  record Member(
      String instanceId,
      @Nullable String location,
      Set<Integer> partitions,
      long generation,
      long offset) {}

  /** Who owns each partition, as the members topic says now. */
  record Directory(Map<Integer, Member> owners, Map<String, Member> members) {
    /** The owner of partition {@code p}, or null when no member claims it. */
    @Nullable Member ownerOf(int p) {
      return owners.get(p);
    }
  }

  private final ClusterConfig config;
  private final Producer<byte[], byte[]> producer;
  private final TopicFollower follower;
  private final Map<String, Member> members = new ConcurrentHashMap<>();
  private final Object changed = new Object();
  private volatile boolean closing;
  private long generation;
  private Set<Integer> published = Set.of();
  private @Nullable String location;

  /**
   * @param producer the instance's producer (shared with the ingest log; not closed here)
   * @param reader a consumer without a group, reading the members topic (closed here)
   */
  Membership(
      ClusterConfig config,
      Producer<byte[], byte[]> producer,
      Consumer<byte[], byte[]> reader,
      @Nullable String location) {
    this.config = config;
    this.producer = producer;
    this.location = location;
    this.follower =
        new TopicFollower(
            config.membersTopic(),
            "hyprstream-cluster-members-" + config.instanceId(),
            reader,
            this::apply,
            position -> {},
            e ->
                LOG.error(
                    "cluster member {} stopped reading membership: {}", config.instanceId(), e, e));
  }

  void start() {
    follower.start();
  }

  /** This instance's published location, or null. */
  synchronized @Nullable String location() {
    return location;
  }

  /** Publishes {@code owned} as this instance's partitions, with its location; waits for Kafka. */
  synchronized void publishOwned(Set<Integer> owned) {
    published = Set.copyOf(owned);
    publish();
  }

  /** Publishes {@code location} as where this instance is reached, with its partitions. */
  synchronized void publishLocation(String location) {
    this.location = location;
    publish();
  }

  private void publish() {
    ObjectNode value = JSON.createObjectNode();
    value.put("instance", config.instanceId());
    if (location != null) {
      value.put("location", location);
    }
    ArrayNode parts = value.putArray("partitions");
    new TreeSet<>(published).forEach(parts::add);
    value.put("generation", ++generation);
    send(value.toString().getBytes(StandardCharsets.UTF_8));
  }

  private void send(byte @Nullable [] value) {
    try {
      producer
          .send(
              new ProducerRecord<>(
                  config.membersTopic(),
                  0,
                  config.instanceId().getBytes(StandardCharsets.UTF_8),
                  value))
          .get(30, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new BackendUnavailableException(
          "cannot publish instance "
              + config.instanceId()
              + "'s membership to the cluster log (Kafka topic '"
              + config.membersTopic()
              + "' at "
              + config.bootstrapServers()
              + "): "
              + (e.getCause() == null ? e : e.getCause()),
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HyprstreamException("interrupted while publishing membership", e);
    }
  }

  /** Who owns each partition now. */
  Directory directory() {
    Map<Integer, Member> owners = new TreeMap<>();
    for (Member m : members.values()) {
      for (int p : m.partitions()) {
        Member before = owners.get(p);
        if (before == null || before.offset() < m.offset()) {
          owners.put(p, m); // the later claim wins: the earlier claimant never said it let go
        }
      }
    }
    return new Directory(owners, Map.copyOf(members));
  }

  /**
   * The directory once it names another instance with a location as the owner of every partition in
   * {@code needed} (partitions this instance does not hold), or, after {@code wait}, as it is then:
   * a member that just joined or took over may not have published yet.
   */
  Directory directory(Set<Integer> needed, Duration wait) {
    long deadline = System.nanoTime() + wait.toNanos();
    while (true) {
      Directory d = directory();
      boolean complete = true;
      for (int p : needed) {
        Member owner = d.ownerOf(p);
        // This instance's own claim on a partition it does not hold is a record not yet replaced.
        if (owner == null
            || owner.location() == null
            || owner.instanceId().equals(config.instanceId())) {
          complete = false;
          break;
        }
      }
      long left = deadline - System.nanoTime();
      if (complete || left <= 0) {
        return d;
      }
      synchronized (changed) {
        try {
          changed.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 100)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return d;
        }
      }
    }
  }

  private void apply(ConsumerRecord<byte[], byte[]> r) {
    String id = new String(r.key(), StandardCharsets.UTF_8);
    if (r.value() == null) {
      members.remove(id);
    } else {
      try {
        JsonNode v = JSON.readTree(r.value());
        Set<Integer> parts = new TreeSet<>();
        for (JsonNode p : v.path("partitions")) {
          parts.add(p.asInt());
        }
        JsonNode loc = v.get("location");
        members.put(
            id,
            new Member(
                id,
                loc == null || loc.isNull() ? null : loc.asText(),
                Set.copyOf(parts),
                v.path("generation").asLong(),
                r.offset()));
      } catch (IOException | RuntimeException e) {
        LOG.warn("skipping an unreadable membership record of '{}': {}", id, e.toString());
      }
    }
    synchronized (changed) {
      changed.notifyAll();
    }
  }

  /** Publishes a tombstone (this instance leaves the membership), then stops reading. */
  @Override
  public void close() {
    if (closing) {
      return;
    }
    try {
      send(null);
    } catch (RuntimeException e) {
      LOG.warn("cluster member {} could not withdraw its membership: {}", config.instanceId(), e);
    }
    closing = true;
    follower.close();
  }

  /** The members' records as text, for errors and logs. */
  static String describe(Directory d) {
    List<String> out = new ArrayList<>();
    Map<String, Member> sorted = new TreeMap<>(d.members());
    for (Member m : sorted.values()) {
      out.add(
          m.instanceId()
              + " at "
              + (m.location() == null ? "(no location)" : m.location())
              + " owns "
              + new TreeSet<>(m.partitions()));
    }
    return out.isEmpty() ? "no members" : String.join("; ", out);
  }
}
