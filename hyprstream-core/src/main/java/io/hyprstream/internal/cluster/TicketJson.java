package io.hyprstream.internal.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyprstream.api.QueryRejectedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The bytes of a cluster's tickets ({@link PeerTicket}, {@link RouteTicket}): a prefix naming the
 * kind and version, then JSON. Query parameters travel in it each as a {@code {"type": ...,
 * "value": ...}} object, so the instance that runs the query binds the very values the client sent
 * and finds the statement analysed already. Texts, integers (as {@code long}), floating-point
 * numbers (as {@code double}), booleans and nulls travel; a caller inlines any other value into the
 * SQL or keeps the query where it is.
 */
final class TicketJson {
  static final ObjectMapper JSON = new ObjectMapper();

  private TicketJson() {}

  /** {@code prefix}, then {@code body} as JSON: a ticket's bytes. */
  static byte[] encode(byte[] prefix, ObjectNode body) {
    byte[] json;
    try {
      json = JSON.writeValueAsBytes(body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    byte[] out = Arrays.copyOf(prefix, prefix.length + json.length);
    System.arraycopy(json, 0, out, prefix.length, json.length);
    return out;
  }

  /**
   * The JSON after {@code prefix} in {@code ticket}.
   *
   * @param kind what the ticket is, for the error ({@code "peer ticket"})
   * @throws QueryRejectedException when the ticket does not start with the prefix or its JSON
   *     cannot be read
   */
  static JsonNode decode(byte[] prefix, byte[] ticket, String kind) {
    if (ticket.length < prefix.length
        || !Arrays.equals(ticket, 0, prefix.length, prefix, 0, prefix.length)) {
      throw new QueryRejectedException("not a Hyprstream " + kind, null);
    }
    try {
      return JSON.readTree(Arrays.copyOfRange(ticket, prefix.length, ticket.length));
    } catch (IOException e) {
      throw new QueryRejectedException("an unreadable Hyprstream " + kind + ": " + e, e);
    }
  }

  /** True when every value can travel as itself. */
  static boolean carries(List<@Nullable Object> values) {
    for (Object v : values) {
      if (!(v == null
          || v instanceof String
          || v instanceof Long
          || v instanceof Integer
          || v instanceof Short
          || v instanceof Byte
          || v instanceof Double
          || v instanceof Float
          || v instanceof Boolean)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Writes {@code values} into {@code out}.
   *
   * @throws IllegalArgumentException for a value that cannot travel ({@link #carries})
   */
  static void writeParameters(List<@Nullable Object> values, ArrayNode out) {
    for (Object v : values) {
      ObjectNode typed = out.addObject();
      if (v == null) {
        typed.put("type", "null");
      } else if (v instanceof String text) {
        typed.put("type", "string").put("value", text);
      } else if (v instanceof Long
          || v instanceof Integer
          || v instanceof Short
          || v instanceof Byte) {
        typed.put("type", "long").put("value", ((Number) v).longValue());
      } else if (v instanceof Double || v instanceof Float) {
        typed.put("type", "double").put("value", ((Number) v).doubleValue());
      } else if (v instanceof Boolean b) {
        typed.put("type", "boolean").put("value", b);
      } else {
        throw new IllegalArgumentException("a cluster ticket cannot carry " + v.getClass());
      }
    }
  }

  /**
   * Reads values {@link #writeParameters} wrote.
   *
   * @throws QueryRejectedException naming a type it does not know
   */
  static List<@Nullable Object> readParameters(JsonNode values) {
    List<@Nullable Object> out = new ArrayList<>();
    for (JsonNode typed : values) {
      JsonNode value = typed.path("value");
      String type = typed.path("type").asText();
      out.add(
          switch (type) {
            case "null" -> null;
            case "string" -> value.asText();
            case "long" -> value.asLong();
            case "double" -> value.asDouble();
            case "boolean" -> value.asBoolean();
            default ->
                throw new QueryRejectedException(
                    "a Hyprstream cluster ticket with a parameter of unknown type '" + type + "'",
                    null);
          });
    }
    return out;
  }
}
