package io.hyprstream;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.arrow.memory.BufferAllocator;

/**
 * An instance's part in a cluster, for the Flight server that fronts it ({@link
 * Operations#cluster()}): where other instances reach it, and the reads they send it. Other
 * instances read the partitions this one owns with a Flight {@code DoGet} whose ticket is a peer
 * ticket ({@link #isPeerTicket}); the server hands such tickets to {@link #answerPeer} on its own
 * port, so one advertised location serves clients and peers alike.
 */
public interface ClusterMember {

  /** The first bytes of every peer ticket; no Flight SQL ticket (a protobuf Any) starts so. */
  byte[] PEER_TICKET_PREFIX = "hyprstream-peer/1\n".getBytes(StandardCharsets.US_ASCII);

  /** True when {@code ticket} is a peer ticket, to be answered by {@link #answerPeer}. */
  static boolean isPeerTicket(byte[] ticket) {
    return ticket.length >= PEER_TICKET_PREFIX.length
        && Arrays.equals(
            ticket, 0, PEER_TICKET_PREFIX.length, PEER_TICKET_PREFIX, 0, PEER_TICKET_PREFIX.length);
  }

  /**
   * Publishes {@code location} ({@code grpc://HOST:PORT}) as where other instances reach this one,
   * unless the instance was configured with an advertised location of its own, which stays.
   */
  void advertise(String location);

  /** The location this instance publishes now, or null while it publishes none. */
  @org.jspecify.annotations.Nullable
  String advertisedLocation();

  /**
   * What keeps this instance from serving its part of the cluster now, one line each, each starting
   * {@code "cluster: "}; empty when nothing does. A server reports them on {@code /ready}, which is
   * not ready while the list is not empty. The lines, in this order:
   *
   * <ul>
   *   <li>the cluster's Kafka cannot be reached ({@code cannot reach the cluster log (Kafka at
   *       BOOTSTRAP, topic TOPIC): CAUSE}): ingest is refused meanwhile. It is the answer of the
   *       last probe of Kafka, which a call starts at most once a second without waiting for it, so
   *       an outage shows a few seconds after it begins and the first call after it ends still
   *       shows it;
   *   <li>the partition consumer stopped for good ({@code this instance stopped applying its
   *       partitions of TOPIC: CAUSE}), a fatal Kafka error: this instance owns no partition until
   *       it is restarted;
   *   <li>partitions being restored from the cluster log ({@code restoring partitions [0, 3] of
   *       TOPIC}): reads of them are refused meanwhile;
   *   <li>a backend the owner cannot write to ({@code cannot write to backend NAME (ERROR);
   *       acknowledged rows wait in TOPIC}, NAME being {@code BackendStore.name()}): ingest is
   *       still acknowledged and the owner retries.
   * </ul>
   *
   * <p>Safe to call from any thread, often (a health probe): it reads what the instance's threads
   * last recorded and never waits on Kafka. Returns a new list the caller may keep.
   */
  java.util.List<String> problems();

  /**
   * Answers a peer ticket from this instance alone (it never fans out again): the rows of the
   * partitions it owns. Ownership: the caller closes the result, allocated from {@code allocator}.
   *
   * @throws io.hyprstream.api.BackendUnavailableException when this instance does not own, or is
   *     still restoring, a partition the ticket asks for (the asker retries with fresh membership)
   * @throws io.hyprstream.api.QueryRejectedException when the ticket is not a peer ticket of this
   *     cluster
   */
  QueryResult answerPeer(byte[] ticket, BufferAllocator allocator);

  /**
   * The advertised location of the instance that answers {@code sql} with {@code parameters} from
   * its own rows alone, when that is another instance: the owner of the one key a key lookup reads
   * ({@code SELECT ... FROM r WHERE key = 'value' [AND time bounds] ...}). A server names it in the
   * query's FlightInfo, so the client reads the owner directly instead of through this instance.
   * Null when this instance answers (the key is its own, the query is not a key lookup, it reads
   * the backend too, or the owner advertises no location) and when {@link
   * io.hyprstream.cluster.ClusterConfig#withDirectReads} is off. What it names can change with the
   * next rebalance; an instance given the query's ticket answers it anyway (routing it to the owner
   * of the moment).
   */
  @org.jspecify.annotations.Nullable
  String directReadLocation(
      String sql, java.util.List<@org.jspecify.annotations.Nullable Object> parameters);
}
