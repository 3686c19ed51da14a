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

/**
 * The bytes of a route ticket ({@link ClusterMember.Route}): {@link
 * ClusterMember#ROUTE_TICKET_PREFIX}, then JSON {@code {"sql": ..., "parameters": [...],
 * "partitions": [...]}} ({@code partitions} absent for the whole query). It carries the query, not
 * a handle, because a handle lives in the memory of the instance that issued it and the client
 * redeems the ticket elsewhere.
 */
final class RouteTicket {
  private static final ObjectMapper JSON = new ObjectMapper();

  private RouteTicket() {}

  /**
   * @throws IllegalArgumentException when a parameter cannot travel ({@link TicketValues#carries})
   */
  static byte[] encode(ClusterMember.Route route) {
    ObjectNode o = JSON.createObjectNode();
    o.put("sql", route.sql());
    TicketValues.write(route.parameters(), o.putArray("parameters"));
    Set<Integer> partitions = route.partitions();
    if (partitions != null) {
      new TreeSet<>(partitions).forEach(o.putArray("partitions")::add);
    }
    byte[] json;
    try {
      json = JSON.writeValueAsBytes(o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    byte[] prefix = ClusterMember.ROUTE_TICKET_PREFIX;
    byte[] out = Arrays.copyOf(prefix, prefix.length + json.length);
    System.arraycopy(json, 0, out, prefix.length, json.length);
    return out;
  }

  /**
   * @throws QueryRejectedException when {@code ticket} is not a route ticket
   */
  static ClusterMember.Route decode(byte[] ticket) {
    if (!ClusterMember.isRouteTicket(ticket)) {
      throw new QueryRejectedException("not a Hyprstream route ticket", null);
    }
    int from = ClusterMember.ROUTE_TICKET_PREFIX.length;
    try {
      JsonNode o = JSON.readTree(Arrays.copyOfRange(ticket, from, ticket.length));
      JsonNode sql = o.get("sql");
      if (sql == null || !sql.isTextual()) {
        throw new IOException("no sql");
      }
      Set<Integer> partitions = null;
      JsonNode ps = o.get("partitions");
      if (ps != null) {
        partitions = new TreeSet<>();
        for (JsonNode p : ps) {
          partitions.add(p.asInt());
        }
        partitions = Set.copyOf(partitions);
      }
      return new ClusterMember.Route(
          sql.asText(), TicketValues.read(o.path("parameters")), partitions);
    } catch (IOException e) {
      throw new QueryRejectedException("an unreadable Hyprstream route ticket: " + e, e);
    }
  }
}
