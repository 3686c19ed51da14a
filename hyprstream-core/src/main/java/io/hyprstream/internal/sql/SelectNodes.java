package io.hyprstream.internal.sql;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What the shapes read from one SELECT's parse tree ({@code json_serialize_sql}'s {@code node})
 * share: a SELECT that neither groups nor filters its groups, over one table of the catalog.
 */
final class SelectNodes {
  private SelectNodes() {}

  /** True for a field that is there and not null or empty. */
  static boolean present(JsonNode n) {
    return !(n.isMissingNode() || n.isNull() || (n.isContainerNode() && n.isEmpty()));
  }

  /**
   * True for a SELECT without a CTE, GROUP BY, HAVING, QUALIFY or SAMPLE, whose FROM is one table
   * (not a join, subquery or table function), read without a sample, a time-travel clause or column
   * aliases. It may still aggregate in its select list.
   */
  static boolean isPlainSelectOfOneTable(JsonNode node) {
    if (!node.path("type").asText("").equals("SELECT_NODE")
        || present(node.path("cte_map").path("map"))
        || present(node.path("group_expressions"))
        || present(node.path("group_sets"))
        || present(node.path("having"))
        || present(node.path("qualify"))
        || present(node.path("sample"))
        || !node.path("aggregate_handling")
            .asText("STANDARD_HANDLING")
            .equals("STANDARD_HANDLING")) {
      return false;
    }
    JsonNode from = node.path("from_table");
    return from.path("type").asText("").equals("BASE_TABLE")
        && !present(from.path("sample"))
        && !present(from.path("at_clause"))
        && !present(from.path("column_name_alias"));
  }
}
