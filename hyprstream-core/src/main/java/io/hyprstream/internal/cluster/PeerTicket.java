package io.hyprstream.internal.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyprstream.ClusterMember;
import io.hyprstream.api.QueryRejectedException;
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
 * @param parameters the values of the query's {@code ?}s, of the types {@link TicketJson#carries}
 *     accepts, so the owner runs the very statement the client sent and finds it analysed already;
 *     the asker inlines other values into {@code sql}
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
  PeerTicket {
    parameters = java.util.Collections.unmodifiableList(new java.util.ArrayList<>(parameters));
  }

  byte[] encode() {
    ObjectNode o = TicketJson.JSON.createObjectNode();
    o.put("cluster", cluster);
    partitions.stream().sorted().forEach(o.putArray("partitions")::add);
    o.put("sql", sql);
    TicketJson.writeParameters(parameters, o.putArray("parameters"));
    if (relation != null) {
      o.put("relation", relation);
    }
    if (awaitBackendWrites) {
      o.put("awaitBackendWrites", true);
    }
    if (partialAggregates) {
      o.put("partialAggregates", true);
    }
    return TicketJson.encode(ClusterMember.PEER_TICKET_PREFIX, o);
  }

  /**
   * @throws QueryRejectedException when {@code ticket} is not a peer ticket
   */
  static PeerTicket decode(byte[] ticket) {
    JsonNode o = TicketJson.decode(ClusterMember.PEER_TICKET_PREFIX, ticket, "peer ticket");
    Set<Integer> partitions = new TreeSet<>();
    for (JsonNode p : o.path("partitions")) {
      partitions.add(p.asInt());
    }
    JsonNode relation = o.get("relation");
    return new PeerTicket(
        o.path("cluster").asText(),
        Set.copyOf(partitions),
        o.path("sql").asText(),
        TicketJson.readParameters(o.path("parameters")),
        relation == null || relation.isNull() ? null : relation.asText(),
        o.path("awaitBackendWrites").asBoolean(false),
        o.path("partialAggregates").asBoolean(false));
  }
}
