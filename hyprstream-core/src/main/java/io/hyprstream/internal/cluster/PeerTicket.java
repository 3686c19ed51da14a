package io.hyprstream.internal.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyprstream.ClusterMember;
import io.hyprstream.api.QueryRejectedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
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
 * @param sql the query, parameters inlined, run on the answering instance's own engine
 * @param relation for a read of one relation's rows: its name, which the answering instance may not
 *     have (then the answer is empty); null for a whole query
 */
record PeerTicket(String cluster, Set<Integer> partitions, String sql, @Nullable String relation) {
  private static final ObjectMapper JSON = new ObjectMapper();

  byte[] encode() {
    ObjectNode o = JSON.createObjectNode();
    o.put("cluster", cluster);
    partitions.stream().sorted().forEach(o.putArray("partitions")::add);
    o.put("sql", sql);
    if (relation != null) {
      o.put("relation", relation);
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
      JsonNode relation = o.get("relation");
      return new PeerTicket(
          o.path("cluster").asText(),
          Set.copyOf(partitions),
          o.path("sql").asText(),
          relation == null || relation.isNull() ? null : relation.asText());
    } catch (IOException e) {
      throw new QueryRejectedException("an unreadable Hyprstream peer ticket: " + e, e);
    }
  }
}
