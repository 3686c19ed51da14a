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
   * The parts a client may read {@code sql}'s answer from, each an instance answering its share
   * alone, when that is not this instance answering it whole; null otherwise, and always when
   * {@link io.hyprstream.cluster.ClusterConfig#withDirectReads} is off. A server lists them as the
   * query's FlightInfo endpoints, so the client reads the owners directly instead of through this
   * instance:
   *
   * <ul>
   *   <li>a key lookup ({@code SELECT ... FROM r WHERE key = 'value' [AND time bounds] ...}) whose
   *       key another instance owns: one part, at that owner;
   *   <li>a row filter of one window view ({@code SELECT <columns or *> FROM metrics_1h [WHERE
   *       ...]}, no aggregate, ORDER BY, LIMIT or subquery), whose answer is the union of the
   *       owners' answers: one part per owner, each for the partitions it owns (this instance's own
   *       part without a location).
   * </ul>
   *
   * <p>Null too when the parameters are of types a ticket does not carry, the query reads the
   * backend, or an owner is unknown or advertises no location (this instance then answers, or fails
   * naming what is missing). What the parts name can change with the next rebalance; every instance
   * answers every part's ticket exactly ({@link #answerRoute}).
   */
  java.util.@org.jspecify.annotations.Nullable List<Endpoint> directEndpoints(
      String sql, java.util.List<@org.jspecify.annotations.Nullable Object> parameters);

  /** The first bytes of every route ticket ({@link Endpoint#ticket}). */
  byte[] ROUTE_TICKET_PREFIX = "hyprstream-route/2\n".getBytes(StandardCharsets.US_ASCII);

  /** True when {@code ticket} is a route ticket, to be read by {@link #readRoute}. */
  static boolean isRouteTicket(byte[] ticket) {
    return ticket.length >= ROUTE_TICKET_PREFIX.length
        && Arrays.equals(
            ticket,
            0,
            ROUTE_TICKET_PREFIX.length,
            ROUTE_TICKET_PREFIX,
            0,
            ROUTE_TICKET_PREFIX.length);
  }

  /**
   * One part of a query's answer ({@link #directEndpoints}).
   *
   * @param location where to read it ({@code grpc://host:port}), or null for the instance that
   *     planned the query
   * @param ticket a route ticket: the query, its parameters and the partitions the part covers,
   *     which any instance of the cluster answers; it carries no credentials, and whoever redeems
   *     it checks the caller may run the query
   */
  record Endpoint(@org.jspecify.annotations.Nullable String location, byte[] ticket) {}

  /**
   * What a route ticket asks for.
   *
   * @param sql the query
   * @param parameters its {@code ?}s' values
   * @param partitions the partitions whose rows the answer covers, exactly; null for the whole
   *     query
   */
  record Route(
      String sql,
      java.util.List<@org.jspecify.annotations.Nullable Object> parameters,
      java.util.@org.jspecify.annotations.Nullable Set<Integer> partitions) {}

  /**
   * Reads a route ticket, so that a server can check the caller may run its query before {@link
   * #answerRoute}.
   *
   * @throws io.hyprstream.api.QueryRejectedException when it is not a route ticket
   */
  Route readRoute(byte[] ticket);

  /**
   * Answers a route ticket: the whole query, or, for a part, the query over the rows of its
   * partitions exactly, whichever instances own them now (this one answers what it owns and reads
   * the rest from their owners). Ownership: the caller closes the result, allocated from {@code
   * allocator}.
   *
   * @throws io.hyprstream.api.BackendUnavailableException when an owner is missing, unreachable or
   *     still restoring, as for any query
   */
  QueryResult answerRoute(Route route, BufferAllocator allocator);
}
