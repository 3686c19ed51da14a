package io.hyprstream.internal.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyprstream.ClusterMember;
import io.hyprstream.api.QueryRejectedException;
import java.util.Set;
import java.util.TreeSet;

/**
 * The bytes of a route ticket ({@link ClusterMember.Route}): {@link
 * ClusterMember#ROUTE_TICKET_PREFIX}, then JSON {@code {"sql": ..., "parameters": [...],
 * "partitions": [...]}} ({@code partitions} absent for the whole query). It carries the query, not
 * a handle, because a handle lives in the memory of the instance that issued it and the client
 * redeems the ticket elsewhere.
 */
final class RouteTicket {
  private RouteTicket() {}

  /**
   * @throws IllegalArgumentException when a parameter cannot travel ({@link TicketJson#carries})
   */
  static byte[] encode(ClusterMember.Route route) {
    ObjectNode o = TicketJson.JSON.createObjectNode();
    o.put("sql", route.sql());
    TicketJson.writeParameters(route.parameters(), o.putArray("parameters"));
    Set<Integer> partitions = route.partitions();
    if (partitions != null) {
      new TreeSet<>(partitions).forEach(o.putArray("partitions")::add);
    }
    return TicketJson.encode(ClusterMember.ROUTE_TICKET_PREFIX, o);
  }

  /**
   * @throws QueryRejectedException when {@code ticket} is not a route ticket
   */
  static ClusterMember.Route decode(byte[] ticket) {
    JsonNode o = TicketJson.decode(ClusterMember.ROUTE_TICKET_PREFIX, ticket, "route ticket");
    JsonNode sql = o.get("sql");
    if (sql == null || !sql.isTextual()) {
      throw new QueryRejectedException("a Hyprstream route ticket without its query", null);
    }
    Set<Integer> partitions = null;
    JsonNode ps = o.get("partitions");
    if (ps != null) {
      Set<Integer> listed = new TreeSet<>();
      for (JsonNode p : ps) {
        listed.add(p.asInt());
      }
      partitions = Set.copyOf(listed);
    }
    return new ClusterMember.Route(
        sql.asText(), TicketJson.readParameters(o.path("parameters")), partitions);
  }
}
