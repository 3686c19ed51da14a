package io.hyprstream.internal.sql;

import com.fasterxml.jackson.databind.JsonNode;
import io.hyprstream.internal.sql.StatementAnalysis.Bound;
import io.hyprstream.internal.sql.StatementAnalysis.Occurrence;
import io.hyprstream.internal.sql.StatementAnalysis.TimeValue;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * One walk over a SELECT's parse tree, collecting each reading of a table (a FROM item; CTE names
 * resolved, subqueries, joins and set operations included) with the bounds its SELECT's WHERE
 * proves on it: comparisons and {@code BETWEEN} of a bare column against a {@link TimeExpressions
 * time value}, joined by AND. Everything else (OR, NOT, a function of the column, ON conditions,
 * bounds on a subquery's columns) proves nothing, so unknown reads as unbounded.
 */
final class TableReads {
  final List<Occurrence> occurrences = new ArrayList<>();

  /** Any JSON value: query nodes open a CTE scope; a lone BASE_TABLE is a reading. */
  void anything(JsonNode n, Set<String> ctes) {
    if (n.isArray()) {
      for (JsonNode child : n) {
        anything(child, ctes);
      }
      return;
    }
    if (!n.isObject()) {
      return;
    }
    if (n.has("cte_map") && n.path("type").asText("").endsWith("_NODE")) {
      queryNode(n, ctes);
      return;
    }
    if (n.path("type").asText("").equals("BASE_TABLE")) {
      TableRef t = tableOf(n, ctes);
      if (t != null) {
        occurrences.add(new Occurrence(t, List.of()));
      }
      return;
    }
    fields(n, ctes, Set.of());
  }

  private void fields(JsonNode n, Set<String> ctes, Set<String> skip) {
    for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!skip.contains(e.getKey())) {
        anything(e.getValue(), ctes);
      }
    }
  }

  private void queryNode(JsonNode n, Set<String> outer) {
    Set<String> scope = new HashSet<>(outer);
    for (JsonNode cte : n.path("cte_map").path("map")) {
      String name = cte.path("key").asText("").toLowerCase(Locale.ROOT);
      JsonNode body = cte.path("value").path("query_node");
      // A CTE's body sees the CTEs before it, and itself only when recursive: in a plain CTE,
      // its own name is the table (over-counting a table only ever reads more rows).
      Set<String> inner = scope;
      if (body.path("type").asText("").equals("RECURSIVE_CTE_NODE")) {
        inner = new HashSet<>(scope);
        inner.add(name);
      }
      anything(body, inner);
      scope.add(name);
    }
    if (!n.path("type").asText("").equals("SELECT_NODE")) {
      fields(n, scope, Set.of("cte_map"));
      return;
    }
    Map<String, Integer> bindings = new LinkedHashMap<>();
    fromItem(n.path("from_table"), scope, bindings);
    List<JsonNode> conjuncts = new ArrayList<>();
    conjuncts(n.path("where_clause"), conjuncts);
    for (JsonNode c : conjuncts) {
      bound(c, bindings);
    }
    fields(n, scope, Set.of("cte_map", "from_table"));
  }

  /** The base tables a FROM item reads directly (through joins, not subqueries). */
  private void fromItem(JsonNode item, Set<String> ctes, Map<String, Integer> bindings) {
    String type = item.path("type").asText("");
    if (type.equals("BASE_TABLE")) {
      TableRef t = tableOf(item, ctes);
      if (t != null) {
        String alias = item.path("alias").asText("");
        String binding = (alias.isEmpty() ? t.name() : alias).toLowerCase(Locale.ROOT);
        // A name bound twice in one FROM is ambiguous to us: neither reading gets bounds.
        bindings.put(binding, bindings.containsKey(binding) ? -1 : occurrences.size());
        occurrences.add(new Occurrence(t, new ArrayList<>()));
      }
    } else if (type.equals("JOIN")) {
      fromItem(item.path("left"), ctes, bindings);
      fromItem(item.path("right"), ctes, bindings);
      anything(item.path("condition"), ctes);
    } else {
      anything(item, ctes);
    }
  }

  private static @Nullable TableRef tableOf(JsonNode n, Set<String> ctes) {
    String name = n.path("table_name").asText("");
    String schema = n.path("schema_name").asText("");
    String catalog = n.path("catalog_name").asText("");
    if (name.isEmpty()
        || (schema.isEmpty()
            && catalog.isEmpty()
            && ctes.contains(name.toLowerCase(Locale.ROOT)))) {
      return null;
    }
    return new TableRef(catalog, schema, name);
  }

  private static void conjuncts(JsonNode e, List<JsonNode> out) {
    if (e.path("type").asText("").equals("CONJUNCTION_AND")) {
      for (JsonNode c : e.path("children")) {
        conjuncts(c, out);
      }
    } else if (e.isObject()) {
      out.add(e);
    }
  }

  private void bound(JsonNode c, Map<String, Integer> bindings) {
    String type = c.path("type").asText("");
    if (type.equals("COMPARE_BETWEEN")) {
      column(c.path("input"), bindings, TimeExpressions.value(c.path("lower")), true, false);
      column(c.path("input"), bindings, TimeExpressions.value(c.path("upper")), false, true);
      return;
    }
    boolean lower;
    boolean upper;
    switch (type) {
      case "COMPARE_EQUAL":
        lower = true;
        upper = true;
        break;
      case "COMPARE_GREATERTHAN":
      case "COMPARE_GREATERTHANOREQUALTO":
        lower = true;
        upper = false;
        break;
      case "COMPARE_LESSTHAN":
      case "COMPARE_LESSTHANOREQUALTO":
        lower = false;
        upper = true;
        break;
      default:
        return;
    }
    JsonNode left = c.path("left");
    JsonNode right = c.path("right");
    if (isColumn(left)) {
      column(left, bindings, TimeExpressions.value(right), lower, upper);
    } else if (isColumn(right)) {
      column(
          right, bindings, TimeExpressions.value(left), upper, lower); // '…' <= ts bounds ts below
    }
  }

  private static boolean isColumn(JsonNode e) {
    return e.path("type").asText("").equals("COLUMN_REF");
  }

  /** Adds a bound to the reading the column reference names, when that is certain. */
  private void column(
      JsonNode ref,
      Map<String, Integer> bindings,
      @Nullable TimeValue value,
      boolean lower,
      boolean upper) {
    if (value == null || !isColumn(ref)) {
      return;
    }
    JsonNode names = ref.path("column_names");
    int n = names.size();
    if (n == 0) {
      return;
    }
    String column = names.get(n - 1).asText("").toLowerCase(Locale.ROOT);
    Integer at;
    if (n == 1) {
      // Unqualified: certain only with one table in this FROM (if that table lacks the column,
      // the name is an outer one, and the router never asks this table for it).
      at = bindings.size() == 1 ? bindings.values().iterator().next() : null;
    } else {
      at = bindings.get(names.get(n - 2).asText("").toLowerCase(Locale.ROOT));
    }
    if (at == null || at < 0) {
      return;
    }
    occurrences.get(at).bounds().add(new Bound(column, lower, upper, value));
  }
}
