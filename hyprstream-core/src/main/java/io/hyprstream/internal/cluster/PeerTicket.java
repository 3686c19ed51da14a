package io.hyprstream.internal.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyprstream.ClusterMember;
import io.hyprstream.api.QueryRejectedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * A read one instance asks of another: a query to run there alone, for the rows of the partitions
 * the asker believes the other owns. The ticket of a Flight {@code DoGet}: {@link
 * ClusterMember#PEER_TICKET_PREFIX}, then JSON.
 *
 * @param cluster the cluster's name; an instance refuses tickets of another cluster
 * @param partitions the partitions the asker expects the answer to cover; the answering instance
 *     refuses when it does not own (or is still restoring) one of them
 * @param sql the query, run on the answering instance's own engine
 * @param parameters the values of the query's {@code ?}s: texts, integers (as {@code Long}),
 *     doubles, booleans and nulls travel as themselves, so the owner runs the very statement the
 *     client sent and finds it analysed already; other values are inlined into {@code sql}
 * @param relation for a read of one relation's rows: its name, which the answering instance may not
 *     have (then the answer is empty); null for a whole query
 * @param awaitBackendWrites true when the asker reads the rows before its cold boundary from the
 *     backend: the answering owner first waits until the backend holds every record of the
 *     partitions it has applied, and refuses if it cannot, so no row falls between the two reads
 * @param partialAggregates true when {@code sql} computes partial aggregates of {@code relation}
 *     over the answering instance's rows: it refuses when it still holds rows of partitions that
 *     moved away, which an aggregate could not leave out, and the asker reads rows instead
 */
record PeerTicket(
    String cluster,
    Set<Integer> partitions,
    String sql,
    List<@Nullable Object> parameters,
    @Nullable String relation,
    boolean awaitBackendWrites,
    boolean partialAggregates) {
  private static final ObjectMapper JSON = new ObjectMapper();

  PeerTicket {
    parameters = java.util.Collections.unmodifiableList(new java.util.ArrayList<>(parameters));
  }

  /** True when every value can travel in a ticket as itself ({@link #parameters}). */
  static boolean carries(List<@Nullable Object> values) {
    return TicketValues.carries(values);
  }

  byte[] encode() {
    ObjectNode o = JSON.createObjectNode();
    o.put("cluster", cluster);
    partitions.stream().sorted().forEach(o.putArray("partitions")::add);
    o.put("sql", sql);
    TicketValues.write(parameters, o.putArray("parameters"));
    if (relation != null) {
      o.put("relation", relation);
    }
    if (awaitBackendWrites) {
      o.put("awaitBackendWrites", true);
    }
    if (partialAggregates) {
      o.put("partialAggregates", true);
    }
    byte[] json;
    try {
      json = JSON.writeValueAsBytes(o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    byte[] prefix = ClusterMember.PEER_TICKET_PREFIX;
    byte[] out = Arrays.copyOf(prefix, prefix.length + json.length);
    System.arraycopy(json, 0, out, prefix.length, json.length);
    return out;
  }

  /**
   * @throws QueryRejectedException when {@code ticket} is not a peer ticket
   */
  static PeerTicket decode(byte[] ticket) {
    if (!ClusterMember.isPeerTicket(ticket)) {
      throw new QueryRejectedException("not a Hyprstream peer ticket", null);
    }
    int from = ClusterMember.PEER_TICKET_PREFIX.length;
    try {
      JsonNode o = JSON.readTree(Arrays.copyOfRange(ticket, from, ticket.length));
      Set<Integer> partitions = new TreeSet<>();
      for (JsonNode p : o.path("partitions")) {
        partitions.add(p.asInt());
      }
      List<@Nullable Object> parameters = TicketValues.read(o.path("parameters"));
      JsonNode relation = o.get("relation");
      return new PeerTicket(
          o.path("cluster").asText(),
          Set.copyOf(partitions),
          o.path("sql").asText(),
          parameters,
          relation == null || relation.isNull() ? null : relation.asText(),
          o.path("awaitBackendWrites").asBoolean(false),
          o.path("partialAggregates").asBoolean(false));
    } catch (IOException e) {
      throw new QueryRejectedException("an unreadable Hyprstream peer ticket: " + e, e);
    }
  }
}
