package io.hyprstream.flight.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.hyprstream.api.QueryRejectedException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The statement handles of tickets a cluster server hands out for another instance to redeem: a key
 * lookup's FlightInfo names the key's owner ({@code ClusterMember.directReadLocation}), and the
 * client takes the ticket there. A handle bound to this server's memory cannot be redeemed there,
 * so these carry the query and its parameters instead. Whoever redeems one runs the same access
 * check and query path as for a statement it was sent, so such a ticket can do no more than the
 * redeeming caller could ask for directly; any instance of the cluster answers it (the owner from
 * its own rows, another by routing it to the owner of the moment).
 *
 * <p>A handle is {@code hyprstream-route/1\n} and then JSON: {@code {"sql": ..., "parameters":
 * [{"text"|"integer"|"double"|"boolean": value} or null, ...]}}.
 */
public final class RouteTickets {
  private static final byte[] PREFIX = "hyprstream-route/1\n".getBytes(StandardCharsets.US_ASCII);
  private static final ObjectMapper JSON = new ObjectMapper();

  private RouteTickets() {}

  /** A query and its parameters, as a route ticket carries them. */
  public record Route(String sql, List<@Nullable Object> parameters) {}

  /**
   * True when every parameter is of a type a route ticket carries as itself: text, an integer, a
   * double, a boolean or null.
   */
  public static boolean carries(List<@Nullable Object> parameters) {
    for (Object p : parameters) {
      if (p != null
          && !(p instanceof String
              || p instanceof Long
              || p instanceof Integer
              || p instanceof Short
              || p instanceof Byte
              || p instanceof Double
              || p instanceof Float
              || p instanceof Boolean)) {
        return false;
      }
    }
    return true;
  }

  /**
   * The handle of a route ticket for {@code sql} with {@code parameters}.
   *
   * @throws IllegalArgumentException when a parameter is of a type it does not carry ({@link
   *     #carries})
   */
  public static ByteString handle(String sql, List<@Nullable Object> parameters) {
    ObjectNode root = JSON.createObjectNode();
    root.put("sql", sql);
    ArrayNode params = root.putArray("parameters");
    for (Object p : parameters) {
      if (p == null) {
        params.addNull();
      } else if (p instanceof String s) {
        params.addObject().put("text", s);
      } else if (p instanceof Long
          || p instanceof Integer
          || p instanceof Short
          || p instanceof Byte) {
        params.addObject().put("integer", ((Number) p).longValue());
      } else if (p instanceof Double || p instanceof Float) {
        params.addObject().put("double", ((Number) p).doubleValue());
      } else if (p instanceof Boolean b) {
        params.addObject().put("boolean", b);
      } else {
        throw new IllegalArgumentException(
            "a route ticket cannot carry a parameter of type " + p.getClass().getName());
      }
    }
    try {
      return ByteString.copyFrom(PREFIX).concat(ByteString.copyFrom(JSON.writeValueAsBytes(root)));
    } catch (IOException e) {
      throw new IllegalStateException("cannot encode a route ticket: " + e, e);
    }
  }

  /** True when {@code handle} is a route ticket's. */
  public static boolean isRoute(ByteString handle) {
    return handle.size() >= PREFIX.length
        && handle.substring(0, PREFIX.length).equals(ByteString.copyFrom(PREFIX));
  }

  /**
   * The query and parameters of a route ticket's handle.
   *
   * @throws QueryRejectedException when the handle is not one {@link #handle} wrote
   */
  public static Route read(ByteString handle) {
    try {
      JsonNode root = JSON.readTree(handle.substring(PREFIX.length).toByteArray());
      JsonNode sql = root.get("sql");
      JsonNode params = root.get("parameters");
      if (sql == null || !sql.isTextual() || params == null || !params.isArray()) {
        throw new IOException("no sql or parameters");
      }
      List<@Nullable Object> out = new ArrayList<>();
      for (JsonNode p : params) {
        out.add(parameter(p));
      }
      return new Route(sql.asText(), out);
    } catch (IOException | RuntimeException e) {
      throw new QueryRejectedException("the ticket is not a route ticket of this server: " + e, e);
    }
  }

  private static @Nullable Object parameter(JsonNode p) throws IOException {
    if (p.isNull()) {
      return null;
    }
    if (p.has("text")) {
      return p.get("text").asText();
    }
    if (p.has("integer")) {
      return p.get("integer").asLong();
    }
    if (p.has("double")) {
      return p.get("double").asDouble();
    }
    if (p.has("boolean")) {
      return p.get("boolean").asBoolean();
    }
    throw new IOException("a parameter of no known type: " + p);
  }
}
