package io.hyprstream.internal.sql;

import com.fasterxml.jackson.databind.JsonNode;
import io.hyprstream.internal.sql.StatementAnalysis.TimeValue;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.LongFunction;
import java.util.function.UnaryOperator;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * A query of one table that is a plain aggregate, in the shape dashboards send: {@code SELECT g…,
 * count(*), count(c), sum(c), avg(c), min(c), max(c) FROM t [WHERE time bounds] [GROUP BY g…]
 * [ORDER BY …] [LIMIT n]}. Such a query splits at a time boundary into partial aggregates: the
 * backend computes them over the rows the cache no longer holds, DuckDB over the rows it does, and
 * DuckDB combines the two. So an unbounded {@code count(*)} reads one row per group from the
 * backend instead of every row it holds.
 *
 * <p>Only what combines exactly is accepted, everything else stays on the row path: counts; sums,
 * averages, minima and maxima of integer and floating-point columns (text minima would compare by
 * the backend's collation, not DuckDB's); groups of text, boolean and integer columns; a WHERE that
 * is nothing but comparisons of the table's time column with values the analyser resolves ({@link
 * TimeExpressions#value}). Each part gets those comparisons as literals resolved once, so both read
 * the same span. The combined columns keep DuckDB's names and types for the query, so a client
 * cannot tell which path answered (floating-point sums may differ in their last bits, as they do
 * between any two summation orders).
 */
public final class AggregateQuery {
  /** The relation the combining query reads the backend's partial aggregates from. */
  public static final String COLD_PARTIALS = "_hs_cold_partials";

  private enum Function {
    COUNT_STAR,
    COUNT,
    SUM,
    AVG,
    MIN,
    MAX
  }

  /** A select-list entry: a grouped column ({@code function == null}) or an aggregate. */
  private record Output(@Nullable Function function, @Nullable String column) {}

  /** {@code column op value}, the column on the left. */
  private record Condition(String column, String op, TimeValue value) {}

  /** An ORDER BY term: a column, or ({@code position > 0}) the output at that 1-based position. */
  private record Order(String column, int position, boolean descending, String nulls) {}

  /** The 1-based position an integer constant names in GROUP BY or ORDER BY, or 0. */
  private static int position(JsonNode e) {
    if (!e.path("type").asText("").equals("VALUE_CONSTANT")
        || !e.path("literal").path("kind").asText("").equals("INTEGER")) {
      return 0;
    }
    try {
      return Math.max(0, Integer.parseInt(e.path("literal").path("text").asText("")));
    } catch (NumberFormatException notSmall) {
      return 0;
    }
  }

  private final String table;
  private final List<Output> outputs;
  private final List<String> groups;
  private final List<Condition> conditions;
  private final List<Order> orders;
  private final @Nullable Long limit;

  private AggregateQuery(
      String table,
      List<Output> outputs,
      List<String> groups,
      List<Condition> conditions,
      List<Order> orders,
      @Nullable Long limit) {
    this.table = table;
    this.outputs = outputs;
    this.groups = groups;
    this.conditions = conditions;
    this.orders = orders;
    this.limit = limit;
  }

  /** The table the query aggregates, as written. */
  public String table() {
    return table;
  }

  /** The SQL each side runs for one execution: see {@link #split}. */
  public record Split(String backendSql, String combineSql) {}

  /**
   * Reads the shape from a statement's parse tree ({@code json_serialize_sql}'s {@code node}), or
   * null when the statement is not of it.
   */
  static @Nullable AggregateQuery of(JsonNode node) {
    if (!node.path("type").asText("").equals("SELECT_NODE")
        || node.path("cte_map").path("map").size() > 0
        || !node.path("having").isNull()
        || !node.path("qualify").isNull()
        || !node.path("sample").isNull()
        || !node.path("aggregate_handling").asText("").equals("STANDARD_HANDLING")) {
      return null;
    }
    JsonNode from = node.path("from_table");
    if (!from.path("type").asText("").equals("BASE_TABLE")
        || !from.path("catalog_name").asText("").isEmpty()
        || !from.path("schema_name").asText("").isEmpty()
        || from.path("column_name_alias").size() > 0
        || !from.path("sample").isNull()
        || !from.path("at_clause").isNull()) {
      return null;
    }
    String table = from.path("table_name").asText("");
    String alias = from.path("alias").asText("");
    String binding = alias.isEmpty() ? table : alias;
    List<String> groups = new ArrayList<>();
    for (JsonNode g : node.path("group_expressions")) {
      int position = position(g);
      // GROUP BY 1 names the first output, which must then be a column of the table.
      String c =
          position > 0
              ? column(node.path("select_list").path(position - 1), binding)
              : column(g, binding);
      if (c == null) {
        return null;
      }
      groups.add(c);
    }
    JsonNode sets = node.path("group_sets");
    if (sets.size() > 1 || (sets.size() == 1 && sets.get(0).size() != groups.size())) {
      return null; // GROUPING SETS, ROLLUP, CUBE
    }
    List<Output> outputs = new ArrayList<>();
    boolean aggregates = false;
    for (JsonNode e : node.path("select_list")) {
      String c = column(e, binding);
      if (c != null) {
        if (!containsIgnoreCase(groups, c)) {
          return null;
        }
        outputs.add(new Output(null, c));
        continue;
      }
      Output agg = aggregate(e, binding);
      if (agg == null) {
        return null;
      }
      outputs.add(agg);
      aggregates = true;
    }
    if (!aggregates) {
      return null; // a plain projection reads rows, not partial aggregates
    }
    List<Condition> conditions = new ArrayList<>();
    JsonNode where = node.path("where_clause");
    if (!where.isNull() && !where.isMissingNode() && !conditions(where, binding, conditions)) {
      return null;
    }
    List<Order> orders = new ArrayList<>();
    Long limit = null;
    for (JsonNode m : node.path("modifiers")) {
      String type = m.path("type").asText("");
      if (type.equals("ORDER_MODIFIER")) {
        for (JsonNode o : m.path("orders")) {
          JsonNode ref = o.path("expression");
          int position = position(ref);
          if (position > 0) {
            if (position > node.path("select_list").size()) {
              return null;
            }
            orders.add(
                new Order(
                    "",
                    position,
                    o.path("type").asText("").equals("DESCENDING"),
                    o.path("null_order").asText("ORDER_DEFAULT")));
            continue;
          }
          if (!ref.path("type").asText("").equals("COLUMN_REF")) {
            return null;
          }
          JsonNode names = ref.path("column_names");
          String c = names.get(names.size() - 1).asText("");
          if (names.size() > 2
              || (names.size() == 2 && !names.get(0).asText("").equalsIgnoreCase(binding))) {
            return null;
          }
          orders.add(
              new Order(
                  c,
                  0,
                  o.path("type").asText("").equals("DESCENDING"),
                  o.path("null_order").asText("ORDER_DEFAULT")));
        }
      } else if (type.equals("LIMIT_MODIFIER") && m.path("offset").isNull() && limit == null) {
        JsonNode l = m.path("limit");
        if (!l.path("type").asText("").equals("VALUE_CONSTANT")
            || !l.path("literal").path("kind").asText("").equals("INTEGER")) {
          return null;
        }
        limit = Long.parseLong(l.path("literal").path("text").asText(""));
      } else {
        return null; // DISTINCT, OFFSET, LIMIT PERCENT
      }
    }
    return new AggregateQuery(table, outputs, groups, conditions, orders, limit);
  }

  /**
   * The two statements for one execution, or null when this table's columns or the values of this
   * execution do not allow the split.
   *
   * @param schema the cached table's columns
   * @param timeColumn the table's event-time column
   * @param boundaryMicros the cache holds every row from this event time on
   * @param outputNames the names DuckDB gives the query's columns, in order
   * @param quote quotes an identifier for both DuckDB and the backend
   * @param cacheLiteral an event time as a literal DuckDB compares with the time column
   * @param backendLiteral the same for the backend
   */
  public @Nullable Split split(
      Schema schema,
      String timeColumn,
      long boundaryMicros,
      List<@Nullable Object> parameters,
      long nowMicros,
      List<String> outputNames,
      UnaryOperator<String> quote,
      LongFunction<String> cacheLiteral,
      LongFunction<String> backendLiteral) {
    if (outputNames.size() != outputs.size()) {
      return null;
    }
    // Each condition, resolved once for both sides: they must read the same span.
    List<String> cacheWhere = new ArrayList<>();
    List<String> backendWhere = new ArrayList<>();
    String time = quote.apply(timeColumn);
    for (Condition c : conditions) {
      Long v = c.value().micros(parameters, nowMicros);
      if (v == null || !c.column().equalsIgnoreCase(timeColumn)) {
        return null;
      }
      cacheWhere.add(time + " " + c.op() + " " + cacheLiteral.apply(v));
      backendWhere.add(time + " " + c.op() + " " + backendLiteral.apply(v));
    }
    cacheWhere.add(0, time + " >= " + cacheLiteral.apply(boundaryMicros));
    backendWhere.add(0, time + " < " + backendLiteral.apply(boundaryMicros));

    List<String> groupFields = new ArrayList<>();
    List<String> groupTypes = new ArrayList<>();
    for (String g : groups) {
      Field f = field(schema, g);
      String type = f == null ? null : groupType(f.getType());
      if (f == null || type == null) {
        return null;
      }
      groupFields.add(quote.apply(f.getName()));
      groupTypes.add(type);
    }
    // Partial columns: name, DuckDB type, the cache's expression, the backend's expression.
    List<String[]> partials = new ArrayList<>();
    List<String> combined = new ArrayList<>();
    for (int i = 0; i < outputs.size(); i++) {
      Output o = outputs.get(i);
      String name = quote.apply(outputNames.get(i));
      if (o.function() == null) {
        int g = indexOfIgnoreCase(groups, o.column());
        combined.add(quote.apply("g" + g) + " AS " + name);
        continue;
      }
      String p = "p" + partials.size();
      if (o.function() == Function.COUNT_STAR) {
        partials.add(new String[] {p, "BIGINT", "count(*)", "count(*)"});
        combined.add("CAST(sum(" + quote.apply(p) + ") AS BIGINT) AS " + name);
        continue;
      }
      Field f = field(schema, java.util.Objects.requireNonNull(o.column()));
      if (f == null) {
        return null;
      }
      String c = quote.apply(f.getName());
      String valueType = numericType(f.getType());
      boolean integral = f.getType() instanceof ArrowType.Int;
      switch (o.function()) {
        case COUNT:
          partials.add(new String[] {p, "BIGINT", "count(" + c + ")", "count(" + c + ")"});
          combined.add("CAST(sum(" + quote.apply(p) + ") AS BIGINT) AS " + name);
          break;
        case MIN:
        case MAX:
          {
            if (valueType == null) {
              return null;
            }
            String fn = o.function() == Function.MIN ? "min" : "max";
            partials.add(new String[] {p, valueType, fn + "(" + c + ")", fn + "(" + c + ")"});
            combined.add(fn + "(" + quote.apply(p) + ") AS " + name);
            break;
          }
        case SUM:
        case AVG:
          {
            if (valueType == null) {
              return null;
            }
            // DuckDB sums integers exactly into HUGEINT and floats into DOUBLE.
            String sumType = integral ? "HUGEINT" : "DOUBLE";
            String backendSum =
                "CAST(sum(" + c + ") AS " + (integral ? "numeric(38,0)" : "double precision") + ")";
            partials.add(new String[] {p, sumType, "sum(" + c + ")", backendSum});
            if (o.function() == Function.SUM) {
              combined.add("sum(" + quote.apply(p) + ") AS " + name);
            } else {
              String n = "p" + partials.size();
              partials.add(new String[] {n, "BIGINT", "count(" + c + ")", "count(" + c + ")"});
              combined.add(
                  "CASE WHEN sum("
                      + quote.apply(n)
                      + ") = 0 THEN NULL ELSE CAST(sum("
                      + quote.apply(p)
                      + ") AS DOUBLE) / sum("
                      + quote.apply(n)
                      + ") END AS "
                      + name);
            }
            break;
          }
        default:
          return null;
      }
    }

    List<String> backendSelect = new ArrayList<>();
    List<String> cacheSelect = new ArrayList<>();
    List<String> coldSelect = new ArrayList<>();
    List<String> groupNames = new ArrayList<>();
    for (int g = 0; g < groupFields.size(); g++) {
      String gn = quote.apply("g" + g);
      groupNames.add(gn);
      backendSelect.add(groupFields.get(g) + " AS " + gn);
      cacheSelect.add(groupFields.get(g) + " AS " + gn);
      coldSelect.add("CAST(" + gn + " AS " + groupTypes.get(g) + ") AS " + gn);
    }
    for (String[] p : partials) {
      String pn = quote.apply(p[0]);
      cacheSelect.add(p[2] + " AS " + pn);
      backendSelect.add(p[3] + " AS " + pn);
      coldSelect.add("CAST(" + pn + " AS " + p[1] + ") AS " + pn);
    }
    String groupBy = groupFields.isEmpty() ? "" : " GROUP BY " + String.join(", ", groupFields);
    String backendSql =
        "SELECT "
            + String.join(", ", backendSelect)
            + " FROM "
            + quote.apply(table)
            + " WHERE "
            + String.join(" AND ", backendWhere)
            + groupBy;
    StringBuilder combine =
        new StringBuilder("SELECT ")
            .append(String.join(", ", combined))
            .append(" FROM (SELECT ")
            .append(String.join(", ", cacheSelect))
            .append(" FROM main.")
            .append(quote.apply(table))
            .append(" WHERE ")
            .append(String.join(" AND ", cacheWhere))
            .append(groupBy)
            .append(" UNION ALL SELECT ")
            .append(String.join(", ", coldSelect))
            .append(" FROM ")
            .append(COLD_PARTIALS)
            .append(")");
    if (!groupNames.isEmpty()) {
      combine.append(" GROUP BY ").append(String.join(", ", groupNames));
    }
    if (!orders.isEmpty()) {
      List<String> by = new ArrayList<>();
      for (Order o : orders) {
        String target =
            o.position() > 0
                ? quote.apply(outputNames.get(o.position() - 1))
                : orderTarget(o.column(), outputNames, quote);
        if (target == null) {
          return null;
        }
        String nulls = nullOrder(o.nulls());
        if (nulls == null) {
          return null;
        }
        by.add(target + (o.descending() ? " DESC" : " ASC") + nulls);
      }
      combine.append(" ORDER BY ").append(String.join(", ", by));
    }
    if (limit != null) {
      combine.append(" LIMIT ").append(limit);
    }
    return new Split(backendSql, combine.toString());
  }

  /** An ORDER BY column: an output's name (aliases win, as in DuckDB) or a grouped column. */
  private @Nullable String orderTarget(
      String column, List<String> outputNames, UnaryOperator<String> quote) {
    for (String n : outputNames) {
      if (n.equalsIgnoreCase(column)) {
        return quote.apply(n);
      }
    }
    int g = indexOfIgnoreCase(groups, column);
    return g < 0 ? null : quote.apply("g" + g);
  }

  /** DuckDB's words for a parse tree's {@code null_order}, or null when it is not one we know. */
  private static @Nullable String nullOrder(String order) {
    switch (order.replace('_', ' ')) {
      case "NULLS FIRST":
        return " NULLS FIRST";
      case "NULLS LAST":
        return " NULLS LAST";
      case "ORDER DEFAULT":
        return "";
      default:
        return null;
    }
  }

  /**
   * A column reference's name when it is a bare or {@code binding.}-qualified column, else null.
   */
  private static @Nullable String column(JsonNode e, String binding) {
    if (!e.path("type").asText("").equals("COLUMN_REF")) {
      return null;
    }
    JsonNode names = e.path("column_names");
    if (names.size() == 1) {
      return names.get(0).asText("");
    }
    if (names.size() == 2 && names.get(0).asText("").equalsIgnoreCase(binding)) {
      return names.get(1).asText("");
    }
    return null;
  }

  private static @Nullable Output aggregate(JsonNode e, String binding) {
    if (!e.path("type").asText("").equals("FUNCTION")
        || e.path("distinct").asBoolean(true)
        || !e.path("filter").isNull()
        || e.path("order_bys").path("orders").size() > 0
        || e.path("export_state").asBoolean(true)
        || !e.path("schema").asText("").isEmpty()
        || !e.path("catalog").asText("").isEmpty()) {
      return null;
    }
    String name = e.path("function_name").asText("").toLowerCase(Locale.ROOT);
    JsonNode args = e.path("arguments");
    if (name.equals("count_star") && args.isEmpty()) {
      return new Output(Function.COUNT_STAR, null);
    }
    if (args.size() != 1 || !args.get(0).path("name").asText("").isEmpty()) {
      return null;
    }
    String c = column(args.get(0).path("expression"), binding);
    if (c == null) {
      return null;
    }
    switch (name) {
      case "count":
        return new Output(Function.COUNT, c);
      case "sum":
        return new Output(Function.SUM, c);
      case "avg":
      case "mean":
        return new Output(Function.AVG, c);
      case "min":
        return new Output(Function.MIN, c);
      case "max":
        return new Output(Function.MAX, c);
      default:
        return null;
    }
  }

  /** Adds the conjuncts of {@code e}; false when one is not a resolvable comparison. */
  private static boolean conditions(JsonNode e, String binding, List<Condition> out) {
    String type = e.path("type").asText("");
    if (type.equals("CONJUNCTION_AND")) {
      for (JsonNode c : e.path("children")) {
        if (!conditions(c, binding, out)) {
          return false;
        }
      }
      return true;
    }
    if (type.equals("COMPARE_BETWEEN")) {
      String c = column(e.path("input"), binding);
      TimeValue lower = TimeExpressions.value(e.path("lower"));
      TimeValue upper = TimeExpressions.value(e.path("upper"));
      if (c == null || lower == null || upper == null) {
        return false;
      }
      out.add(new Condition(c, ">=", lower));
      out.add(new Condition(c, "<=", upper));
      return true;
    }
    String op;
    String flipped;
    switch (type) {
      case "COMPARE_EQUAL":
        op = "=";
        flipped = "=";
        break;
      case "COMPARE_GREATERTHAN":
        op = ">";
        flipped = "<";
        break;
      case "COMPARE_GREATERTHANOREQUALTO":
        op = ">=";
        flipped = "<=";
        break;
      case "COMPARE_LESSTHAN":
        op = "<";
        flipped = ">";
        break;
      case "COMPARE_LESSTHANOREQUALTO":
        op = "<=";
        flipped = ">=";
        break;
      default:
        return false;
    }
    String left = column(e.path("left"), binding);
    String right = column(e.path("right"), binding);
    TimeValue v;
    if (left != null && (v = TimeExpressions.value(e.path("right"))) != null) {
      out.add(new Condition(left, op, v));
      return true;
    }
    if (right != null && (v = TimeExpressions.value(e.path("left"))) != null) {
      out.add(new Condition(right, flipped, v));
      return true;
    }
    return false;
  }

  private static @Nullable Field field(Schema schema, String name) {
    for (Field f : schema.getFields()) {
      if (f.getName().equalsIgnoreCase(name)) {
        return f;
      }
    }
    return null;
  }

  /** DuckDB's name of an integer or floating-point type whose partials combine exactly. */
  private static @Nullable String numericType(ArrowType t) {
    if (t instanceof ArrowType.Int) {
      return intType((ArrowType.Int) t);
    }
    if (t instanceof ArrowType.FloatingPoint) {
      FloatingPointPrecision p = ((ArrowType.FloatingPoint) t).getPrecision();
      return p == FloatingPointPrecision.DOUBLE
          ? "DOUBLE"
          : p == FloatingPointPrecision.SINGLE ? "FLOAT" : null;
    }
    return null;
  }

  /** DuckDB's name of a type whose values group the same in DuckDB and in the backend. */
  private static @Nullable String groupType(ArrowType t) {
    if (t instanceof ArrowType.Int) {
      return intType((ArrowType.Int) t);
    }
    if (t instanceof ArrowType.Utf8 || t instanceof ArrowType.LargeUtf8) {
      return "VARCHAR";
    }
    if (t instanceof ArrowType.Bool) {
      return "BOOLEAN";
    }
    return null;
  }

  private static @Nullable String intType(ArrowType.Int t) {
    switch (t.getBitWidth()) {
      case 8:
        return t.getIsSigned() ? "TINYINT" : "UTINYINT";
      case 16:
        return t.getIsSigned() ? "SMALLINT" : "USMALLINT";
      case 32:
        return t.getIsSigned() ? "INTEGER" : "UINTEGER";
      case 64:
        return t.getIsSigned() ? "BIGINT" : null; // a backend cannot hold every UBIGINT
      default:
        return null;
    }
  }

  private static boolean containsIgnoreCase(List<String> names, String name) {
    return indexOfIgnoreCase(names, name) >= 0;
  }

  private static int indexOfIgnoreCase(List<String> names, @Nullable String name) {
    for (int i = 0; i < names.size(); i++) {
      if (names.get(i).equalsIgnoreCase(name)) {
        return i;
      }
    }
    return -1;
  }
}
