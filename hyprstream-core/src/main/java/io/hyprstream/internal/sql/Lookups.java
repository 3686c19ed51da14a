package io.hyprstream.internal.sql;

import static io.hyprstream.internal.sql.SelectNodes.present;

import com.fasterxml.jackson.databind.JsonNode;
import io.hyprstream.internal.sql.LookupShape.Term;
import io.hyprstream.internal.sql.LookupShape.Value;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** Reads a {@link LookupShape} from one SELECT's parse tree, or finds it is not one. */
final class Lookups {
  private Lookups() {}

  private static final Map<String, String> OPERATORS =
      Map.of(
          "COMPARE_EQUAL", "=",
          "COMPARE_GREATERTHAN", ">",
          "COMPARE_GREATERTHANOREQUALTO", ">=",
          "COMPARE_LESSTHAN", "<",
          "COMPARE_LESSTHANOREQUALTO", "<=");

  /** {@code a op b} read as {@code b flipped(op) a}. */
  private static final Map<String, String> FLIPPED =
      Map.of("=", "=", ">", "<", ">=", "<=", "<", ">", "<=", ">=");

  static @Nullable LookupShape shape(JsonNode node) {
    JsonNode from = node.path("from_table");
    if (!SelectNodes.isPlainSelectOfOneTable(node)
        || !from.path("schema_name").asText("").isEmpty()
        || !from.path("catalog_name").asText("").isEmpty()) {
      return null;
    }
    List<String> columns = selectList(node.path("select_list"));
    boolean star = columns == null;
    if (star && !isPlainStar(node.path("select_list"))) {
      return null;
    }
    List<Term> terms = new ArrayList<>();
    if (!terms(node.path("where_clause"), terms) || terms.isEmpty()) {
      return null;
    }
    String orderBy = null;
    boolean descending = false;
    Value limit = null;
    for (JsonNode modifier : node.path("modifiers")) {
      String type = modifier.path("type").asText("");
      if (type.equals("ORDER_MODIFIER") && orderBy == null) {
        JsonNode orders = modifier.path("orders");
        if (orders.size() != 1
            || !orders.get(0).path("null_order").asText("ORDER_DEFAULT").equals("ORDER_DEFAULT")) {
          return null;
        }
        orderBy = column(orders.get(0).path("expression"));
        String direction = orders.get(0).path("type").asText("");
        descending = direction.equals("DESCENDING");
        if (orderBy == null
            || !(descending
                || direction.equals("ASCENDING")
                || direction.equals("ORDER_DEFAULT"))) {
          return null;
        }
      } else if (type.equals("LIMIT_MODIFIER") && limit == null) {
        if (present(modifier.path("offset"))) {
          return null;
        }
        limit = value(modifier.path("limit"));
        if (limit == null) {
          return null;
        }
      } else {
        return null; // DISTINCT, a second ORDER BY, LIMIT percent ...
      }
    }
    return new LookupShape(
        from.path("table_name").asText(""), columns, terms, orderBy, descending, limit);
  }

  /** The selected column names, or null when the list is not plain column references. */
  private static @Nullable List<String> selectList(JsonNode list) {
    List<String> out = new ArrayList<>();
    for (JsonNode e : list) {
      String c = column(e);
      if (c == null || !e.path("alias").asText("").isEmpty()) {
        return null;
      }
      out.add(c);
    }
    return out.isEmpty() ? null : out;
  }

  private static boolean isPlainStar(JsonNode list) {
    if (list.size() != 1) {
      return false;
    }
    JsonNode star = list.get(0);
    return star.path("type").asText("").equals("STAR")
        && star.path("relation_name").asText("").isEmpty()
        && star.path("alias").asText("").isEmpty()
        && !present(star.path("exclude_list"))
        && !present(star.path("replace_list"))
        && !present(star.path("qualified_exclude_list"))
        && !present(star.path("rename_list"))
        && !present(star.path("expr"))
        && !star.path("columns").asBoolean(false);
  }

  /** An unqualified column reference's name, or null. */
  private static @Nullable String column(JsonNode e) {
    JsonNode names = e.path("column_names");
    if (!e.path("type").asText("").equals("COLUMN_REF") || names.size() != 1) {
      return null;
    }
    return names.get(0).asText("");
  }

  /** Adds the ANDed comparisons of {@code where}; false when it holds anything else. */
  private static boolean terms(JsonNode where, List<Term> out) {
    String type = where.path("type").asText("");
    if (type.equals("CONJUNCTION_AND")) {
      for (JsonNode child : where.path("children")) {
        if (!terms(child, out)) {
          return false;
        }
      }
      return true;
    }
    String op = OPERATORS.get(type);
    if (op == null) {
      return false;
    }
    String left = column(where.path("left"));
    Value right = value(where.path("right"));
    if (left != null && right != null) {
      out.add(new Term(left, op, right));
      return true;
    }
    String rightColumn = column(where.path("right"));
    Value leftValue = value(where.path("left"));
    if (rightColumn != null && leftValue != null) {
      out.add(new Term(rightColumn, FLIPPED.getOrDefault(op, op), leftValue));
      return true;
    }
    return false;
  }

  /** A parameter, a string or integer literal, or {@code TIMESTAMP '...'}; else null. */
  private static @Nullable Value value(JsonNode e) {
    String type = e.path("type").asText("");
    if (type.equals("VALUE_PARAMETER")) {
      try {
        int index = Integer.parseInt(e.path("identifier").asText(""));
        return index > 0 ? new Value(index, null, false) : null;
      } catch (NumberFormatException x) {
        return null; // a named parameter
      }
    }
    if (type.equals("VALUE_CONSTANT")) {
      JsonNode literal = e.path("literal");
      String kind = literal.path("kind").asText("");
      String text = literal.path("text").asText("");
      if (kind.equals("STRING")) {
        return new Value(0, text, false);
      }
      if (kind.equals("INTEGER")) {
        try {
          return new Value(0, Long.parseLong(text), false);
        } catch (NumberFormatException x) {
          return null;
        }
      }
      return null;
    }
    if (type.equals("OPERATOR_CAST")
        && !e.path("try_cast").asBoolean(false)
        && e.path("type_expr")
            .path("type_name")
            .asText("")
            .toUpperCase(Locale.ROOT)
            .equals("TIMESTAMP")
        && e.path("child").path("type").asText("").equals("VALUE_CONSTANT")
        && e.path("child").path("literal").path("kind").asText("").equals("STRING")) {
      return new Value(0, e.path("child").path("literal").path("text").asText(""), true);
    }
    return null;
  }
}
