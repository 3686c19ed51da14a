package io.hyprstream.internal.sql;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What DuckDB's bound plan of a statement ({@code json_serialize_plan}) says: each thing it changes
 * ({@link Change}), the tables it touches, and the type the binder gave each bound parameter.
 */
final class PlanFacts {
  final List<Change> changes = new ArrayList<>();
  final Set<String> tables = new java.util.TreeSet<>();
  final Map<Integer, String> parameterTypes = new TreeMap<>();

  private PlanFacts() {}

  /** The facts of every plan under {@code root} (the JSON {@code json_serialize_plan} returns). */
  static PlanFacts of(JsonNode root) {
    PlanFacts facts = new PlanFacts();
    for (JsonNode plan : root.path("plans")) {
      facts.changes(plan);
      facts.collect(plan);
    }
    for (Change c : facts.changes) {
      if (!c.target().name().isEmpty()
          && !c.operation().equals("SET")
          && !c.operation().equals("RESET")) {
        facts.tables.add(c.target().name().toLowerCase(Locale.ROOT));
      }
    }
    return facts;
  }

  /** Table names read or written (scans name theirs in function_data) and bound parameter types. */
  private void collect(JsonNode n) {
    if (n.isArray()) {
      n.forEach(this::collect);
      return;
    }
    if (!n.isObject()) {
      return;
    }
    if (n.path("type").asText("").equals("VALUE_PARAMETER")) {
      try {
        int index = Integer.parseInt(n.path("identifier").asText(""));
        String type = n.path("return_type").path("id").asText("");
        if (!type.isEmpty()) {
          parameterTypes.put(index, type);
        }
      } catch (NumberFormatException e) {
        // a named parameter: Flight SQL binds by position only
      }
    }
    JsonNode table = n.path("function_data").path("table");
    if (table.isTextual() && !table.asText().isEmpty()) {
      tables.add(table.asText().toLowerCase(Locale.ROOT));
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
      collect(it.next().getValue());
    }
  }

  /**
   * Logical operators that only read or shape rows. Any other operator in a plan is a change; one
   * this list does not know is reported as one too, so the guard refuses what it cannot judge.
   */
  private static final Set<String> READING_OPERATORS =
      Set.of(
          "PROJECTION",
          "FILTER",
          "AGGREGATE_AND_GROUP_BY",
          "WINDOW",
          "UNNEST",
          "LIMIT",
          "ORDER_BY",
          "TOP_N",
          "DISTINCT",
          "SAMPLE",
          "PIVOT",
          "GET",
          "CHUNK_GET",
          "DELIM_GET",
          "EXPRESSION_GET",
          "DUMMY_SCAN",
          "EMPTY_RESULT",
          "CTE_REF",
          "JOIN",
          "DELIM_JOIN",
          "COMPARISON_JOIN",
          "ANY_JOIN",
          "CROSS_PRODUCT",
          "POSITIONAL_JOIN",
          "ASOF_JOIN",
          "DEPENDENT_JOIN",
          "UNION",
          "EXCEPT",
          "INTERSECT",
          "RECURSIVE_CTE",
          "MATERIALIZED_CTE");

  /** Adds the changes of {@code op} and of every operator under it. */
  private void changes(JsonNode op) {
    String type = op.path("type").asText("");
    String operation = type.startsWith("LOGICAL_") ? type.substring("LOGICAL_".length()) : type;
    if (!READING_OPERATORS.contains(operation)) {
      changes.add(change(operation, op));
    }
    for (JsonNode child : op.path("children")) {
      changes(child);
    }
  }

  private static Change change(String operation, JsonNode op) {
    JsonNode tableInfo = op.path("table_info");
    if (tableInfo.isObject()) { // INSERT, UPDATE, DELETE, MERGE_INTO
      return new Change(operation, text(tableInfo, "type"), entry(tableInfo), false, false, null);
    }
    JsonNode info = op.path("info");
    if (operation.equals("SET") || operation.equals("RESET")) {
      return new Change(
          operation, text(op, "scope"), new TableRef("", "", text(op, "name")), false, false, null);
    }
    if (!info.isObject()) {
      return new Change(operation, "", new TableRef("", "", ""), false, false, null);
    }
    String entryType = text(info, "type");
    TableRef target = entry(info);
    if (operation.equals("CREATE_INDEX")) {
      // What an index changes is the table it indexes, in the index's catalog and schema.
      target = new TableRef(target.catalog(), target.schema(), text(info, "table"));
    }
    String newName = null;
    for (String field : List.of("new_table_name", "new_view_name", "new_name")) {
      if (!text(info, field).isEmpty()) {
        newName = text(info, field);
      }
    }
    return new Change(
        operation,
        entryType,
        target,
        text(info, "on_conflict").equals("REPLACE_ON_CONFLICT"),
        info.path("temporary").asBoolean(false),
        newName);
  }

  /**
   * The entry an info object names, from its {@code qualified_name} path as the binder resolved it
   * (catalog, schema, name; a schema's path is catalog, schema), else from its plain fields.
   */
  private static TableRef entry(JsonNode info) {
    List<String> path = new ArrayList<>();
    for (JsonNode part : info.path("qualified_name").path("path")) {
      path.add(part.asText(""));
    }
    if (text(info, "type").equals("SCHEMA_ENTRY")) {
      String catalog = path.isEmpty() ? text(info, "catalog") : path.get(0);
      String schema = path.size() > 1 ? path.get(1) : text(info, "schema");
      return new TableRef(catalog, "", schema.isEmpty() ? text(info, "name") : schema);
    }
    int n = path.size();
    if (n >= 1 && !path.get(n - 1).isEmpty()) {
      return new TableRef(
          n >= 3 ? path.get(n - 3) : "", n >= 2 ? path.get(n - 2) : "", path.get(n - 1));
    }
    String name = text(info, "name");
    return new TableRef(
        text(info, "catalog"), text(info, "schema"), name.isEmpty() ? text(info, "table") : name);
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.path(field);
    return v.isValueNode() && !v.isNull() ? v.asText("") : "";
  }
}
