package io.hyprstream.internal.sql;

import static io.hyprstream.internal.sql.SelectNodes.present;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Finds queries that select columns of one relation's rows, filtered row by row: {@code SELECT
 * <columns or *> FROM r [WHERE <condition>]}, with no aggregate, grouping, ordering, limit,
 * DISTINCT, window function or subquery. Such a query's answer over a set of rows is the union of
 * its answers over any split of them, which is what lets a cluster answer it as one part per owner.
 * Only column references (and {@code *}, with EXCLUDE or RENAME) are accepted in the select list:
 * DuckDB's parse tree does not tell an aggregate function from a scalar one.
 */
final class RowFilters {
  private RowFilters() {}

  /** True when {@code node} (a statement's {@code json_serialize_sql} node) is a row filter. */
  static boolean isRowFilter(JsonNode node) {
    if (!SelectNodes.isPlainSelectOfOneTable(node) || present(node.path("modifiers"))) {
      return false;
    }
    JsonNode list = node.path("select_list");
    if (list.isEmpty()) {
      return false;
    }
    for (JsonNode e : list) {
      String kind = e.path("class").asText("");
      boolean plainStar =
          kind.equals("STAR")
              && !e.path("columns").asBoolean(false)
              && !present(e.path("expr"))
              && !present(e.path("replace_list"));
      if (!(kind.equals("COLUMN_REF") || plainStar)) {
        return false;
      }
    }
    return rowByRow(node.path("where_clause"));
  }

  /** True when no part of {@code expression} looks beyond its own row. */
  private static boolean rowByRow(JsonNode expression) {
    if (expression.isObject()) {
      String kind = expression.path("class").asText("");
      if (kind.equals("SUBQUERY") || kind.equals("WINDOW")) {
        return false;
      }
    }
    for (JsonNode child : expression) {
      if (child.isContainerNode() && !rowByRow(child)) {
        return false;
      }
    }
    return true;
  }
}
