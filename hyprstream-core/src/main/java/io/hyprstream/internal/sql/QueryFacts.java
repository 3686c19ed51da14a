package io.hyprstream.internal.sql;

import com.fasterxml.jackson.databind.JsonNode;
import io.hyprstream.internal.sql.StatementAnalysis.ParameterUse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * What one walk over a SELECT's parse tree finds besides table readings: the names it uses (tables,
 * views, table functions and functions, for read-your-writes and the result cache's volatility
 * test), what each {@code ?} parameter meets (for a client's parameter types), and a digest of the
 * tree without source positions, which is the same for texts that differ only in layout and
 * comments (the result cache's key).
 */
final class QueryFacts {
  /** Names that parse as a column reference but read the clock ({@code current_timestamp}). */
  private static final Set<String> CLOCK_NAMES =
      Set.of(
          "current_timestamp",
          "current_date",
          "current_time",
          "localtimestamp",
          "localtime",
          "transaction_timestamp");

  /** Comparisons whose other side gives a parameter its column. */
  private static final Set<String> COMPARISONS =
      Set.of(
          "COMPARE_EQUAL",
          "COMPARE_NOTEQUAL",
          "COMPARE_LESSTHAN",
          "COMPARE_GREATERTHAN",
          "COMPARE_LESSTHANOREQUALTO",
          "COMPARE_GREATERTHANOREQUALTO",
          "COMPARE_DISTINCT_FROM",
          "COMPARE_NOT_DISTINCT_FROM");

  /** Functions DuckDB parses LIKE, ILIKE and their negations into. */
  private static final Set<String> LIKE_FUNCTIONS =
      Set.of("~~", "!~~", "~~*", "!~~*", "like", "ilike", "not_like", "not_ilike");

  final Set<String> names = new HashSet<>();
  final Map<Integer, ParameterUse> parameters = new HashMap<>();
  int parameterCount;
  boolean readsCatalog;
  private final MessageDigest digest;

  private QueryFacts() {
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  static QueryFacts of(JsonNode statements) {
    QueryFacts facts = new QueryFacts();
    facts.walk(statements);
    return facts;
  }

  /** The digest of the parse tree without source positions, as hex. */
  String treeDigest() {
    return HexFormat.of().formatHex(digest.digest());
  }

  private void walk(JsonNode n) {
    if (n.isArray()) {
      digest.update((byte) '[');
      n.forEach(this::walk);
      digest.update((byte) ']');
      return;
    }
    if (!n.isObject()) {
      digest.update(n.asText("").getBytes(StandardCharsets.UTF_8));
      digest.update((byte) 0);
      return;
    }
    note(n);
    digest.update((byte) '{');
    for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().startsWith("query_location")) {
        continue; // where in the text: two layouts of one query have one tree
      }
      digest.update(e.getKey().getBytes(StandardCharsets.UTF_8));
      digest.update((byte) ':');
      walk(e.getValue());
    }
    digest.update((byte) '}');
  }

  private void note(JsonNode n) {
    String type = n.path("type").asText("");
    switch (type) {
      case "BASE_TABLE":
        names.add(lower(n.path("table_name").asText("")));
        break;
      case "SHOW_REF":
        readsCatalog = true; // SHOW, DESCRIBE, SUMMARIZE: DuckDB's catalog, not table contents
        break;
      case "FUNCTION":
        {
          String name = lower(n.path("function_name").asText(""));
          names.add(name);
          if (LIKE_FUNCTIONS.contains(name) && n.path("arguments").size() == 2) {
            use(expression(n, 1), column(expression(n, 0)), false);
          }
          break;
        }
      case "COLUMN_REF":
        if (n.path("column_names").size() == 1) {
          String name = lower(n.path("column_names").get(0).asText(""));
          if (CLOCK_NAMES.contains(name)) {
            names.add(name);
          }
        }
        break;
      case "VALUE_PARAMETER":
        {
          int index = index(n);
          parameterCount = Math.max(parameterCount, index);
          break;
        }
      case "COMPARE_BETWEEN":
      case "COMPARE_NOT_BETWEEN":
        {
          String column = column(n.path("input"));
          use(n.path("lower"), column, false);
          use(n.path("upper"), column, false);
          break;
        }
      case "COMPARE_IN":
      case "COMPARE_NOT_IN":
        {
          JsonNode children = n.path("children");
          String column = children.size() > 0 ? column(children.get(0)) : null;
          for (int i = 1; i < children.size(); i++) {
            use(children.get(i), column, false);
          }
          break;
        }
      case "LIMIT_MODIFIER":
        use(n.path("limit"), null, true);
        use(n.path("offset"), null, true);
        break;
      default:
        if (COMPARISONS.contains(type)) {
          use(n.path("right"), column(n.path("left")), false);
          use(n.path("left"), column(n.path("right")), false);
        }
    }
  }

  private static JsonNode expression(JsonNode function, int argument) {
    JsonNode a = function.path("arguments").get(argument);
    // A function's arguments are {expression: ...} objects in DuckDB's tree.
    return a.has("expression") ? a.path("expression") : a;
  }

  /** Records what parameter {@code e} (when it is one) meets. */
  private void use(JsonNode e, @Nullable String column, boolean integer) {
    if (!e.path("type").asText("").equals("VALUE_PARAMETER")) {
      return;
    }
    int index = index(e);
    if (index > 0 && (column != null || integer)) {
      parameters.putIfAbsent(index, new ParameterUse(column, integer, null));
    }
  }

  private static int index(JsonNode parameter) {
    try {
      return Integer.parseInt(parameter.path("identifier").asText(""));
    } catch (NumberFormatException e) {
      return 0; // a named parameter ($name): Flight SQL and JDBC bind by position only
    }
  }

  /** The name a column reference ends in, or null when {@code e} is not one. */
  private static @Nullable String column(JsonNode e) {
    JsonNode names = e.path("column_names");
    if (!e.path("type").asText("").equals("COLUMN_REF") || names.isEmpty()) {
      return null;
    }
    return names.get(names.size() - 1).asText("");
  }

  private static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }

  /**
   * For a bare {@code VALUES (...), ...} list, the number of values in its first row; otherwise -1.
   */
  static int valuesWidth(JsonNode statements) {
    if (statements.size() != 1) {
      return -1;
    }
    JsonNode node = statements.get(0).path("node");
    JsonNode list = node.path("select_list");
    JsonNode from = node.path("from_table");
    if (!node.path("type").asText("").equals("SELECT_NODE")
        || !from.path("type").asText("").equals("EXPRESSION_LIST")
        || list.size() != 1
        || !list.get(0).path("class").asText("").equals("STAR")) {
      return -1;
    }
    JsonNode rows = from.path("values");
    return rows.isEmpty() ? -1 : rows.get(0).size();
  }

  /**
   * True for a bare {@code VALUES (?, ?, ...)} of one row holding only parameters: the rows a
   * prepared INSERT takes from its bound batch.
   */
  static boolean isOneRowOfParameters(JsonNode statements) {
    if (valuesWidth(statements) < 0) {
      return false;
    }
    JsonNode rows = statements.get(0).path("node").path("from_table").path("values");
    if (rows.size() != 1) {
      return false;
    }
    for (JsonNode v : rows.get(0)) {
      if (!v.path("type").asText("").equals("VALUE_PARAMETER") || index(v) <= 0) {
        return false;
      }
    }
    return true;
  }
}
