package io.hyprstream.internal.sql;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.internal.sql.StatementAnalysis.Bound;
import io.hyprstream.internal.sql.StatementAnalysis.Kind;
import io.hyprstream.internal.sql.StatementAnalysis.Occurrence;
import io.hyprstream.internal.sql.StatementAnalysis.TimeValue;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;

/**
 * Analyses SQL with DuckDB's own parser: {@code SELECT json_serialize_sql(?)} gives the parse tree
 * as JSON, read here with Jackson. Per statement text it finds the kind, the tables read (CTE names
 * resolved, subqueries and joins included) and the time bounds each reading of a table can prove:
 * comparisons and {@code BETWEEN} of a bare column against literals, {@code CAST}s of literals,
 * {@code now()}/{@code current_timestamp} plus or minus a fixed interval, and bound parameters,
 * joined by AND in that SELECT's WHERE. Everything else (OR, NOT, a function of the column, ON
 * conditions, bounds on a subquery's columns) proves nothing, so unknown reads as unbounded.
 *
 * <p>Analyses are kept per SQL text. Deep nesting is refused with a clear error, because DuckDB
 * crashes the whole process (SIGSEGV) on it: its planner at about 1,000 nested subqueries, its
 * parser at about 60,000 levels. Before DuckDB sees the text, more than {@link #MAX_SQL_CHARS}
 * characters, more than {@link #MAX_PARENTHESES} opening parentheses (a depth no lexing trick can
 * hide, keeping the parser far from its limit) or parentheses nested deeper than {@link
 * #MAX_NESTING} are refused; after parsing, a parse tree deeper than {@link #MAX_NESTING} query or
 * expression levels is refused, whatever the text's quoting.
 */
public final class SqlAnalyser {
  /** The largest statement text analysed (and so run). */
  public static final int MAX_SQL_CHARS = 1 << 20;

  /**
   * The deepest nesting analysed (parentheses in the text, subqueries and function calls in the
   * parse tree). 1,000 nested subqueries crash DuckDB; 500 run; queries people write stay far
   * below.
   */
  public static final int MAX_NESTING = 200;

  /** The most opening parentheses in one statement text, in code or in literals. */
  public static final int MAX_PARENTHESES = 10_000;

  // DuckDB's parse tree is three JSON levels per subquery or call, plus a few at the top.
  private static final int MAX_TREE_DEPTH = 3 * MAX_NESTING + 32;

  private static final long CACHE_WEIGHT_CHARS = 32L << 20;

  // The parse tree of a query nested MAX_NESTING deep is several JSON levels per SQL level.
  private static final ObjectMapper JSON =
      new ObjectMapper(
          JsonFactory.builder()
              .streamReadConstraints(
                  StreamReadConstraints.builder()
                      .maxNestingDepth(MAX_TREE_DEPTH)
                      .maxStringLength(MAX_SQL_CHARS * 2)
                      .build())
              .build());

  private final UnaryOperator<String> serializer;
  private final Cache<String, StatementAnalysis> cache =
      Caffeine.newBuilder()
          .maximumWeight(CACHE_WEIGHT_CHARS)
          .weigher((String sql, StatementAnalysis a) -> sql.length() + 64)
          .build();

  /**
   * @param serializer returns {@code json_serialize_sql(sql)} as DuckDB computes it
   */
  public SqlAnalyser(UnaryOperator<String> serializer) {
    this.serializer = serializer;
  }

  /**
   * The analysis of {@code sql}, from the cache when this text was analysed before.
   *
   * @throws QueryRejectedException when the text is too large or too deeply nested to parse safely
   */
  public StatementAnalysis analyse(String sql) {
    checkSize(sql);
    return cache.get(sql, this::parse);
  }

  /**
   * Refuses text too large or too deeply nested for DuckDB's parser, naming the limit.
   *
   * @throws QueryRejectedException when it is
   */
  public static void checkSize(String sql) {
    if (sql.length() > MAX_SQL_CHARS) {
      throw new QueryRejectedException(
          "the statement is "
              + sql.length()
              + " characters long; at most "
              + MAX_SQL_CHARS
              + " are accepted: split it or bind the values as parameters",
          null);
    }
    long opening = sql.chars().filter(c -> c == '(').count();
    if (opening > MAX_PARENTHESES) {
      throw new QueryRejectedException(
          "the statement has "
              + opening
              + " opening parentheses; at most "
              + MAX_PARENTHESES
              + " are accepted: split it or bind the values as parameters",
          null);
    }
    int depth = nesting(sql);
    if (depth > MAX_NESTING) {
      throw tooDeep("parentheses " + depth + " deep", null);
    }
  }

  private static QueryRejectedException tooDeep(String what, @Nullable Exception cause) {
    return new QueryRejectedException(
        "the statement nests "
            + what
            + "; at most "
            + MAX_NESTING
            + " levels are accepted (deeper nesting crashes the SQL engine): flatten the"
            + " subqueries, e.g. into a WITH clause",
        cause);
  }

  /** The deepest parenthesis nesting outside string literals, quoted names and comments. */
  static int nesting(String sql) {
    int depth = 0;
    int max = 0;
    int n = sql.length();
    for (int i = 0; i < n; i++) {
      char c = sql.charAt(i);
      if (c == '\'' || c == '"') {
        int end = sql.indexOf(c, i + 1);
        // '' and "" inside a quoted run are two adjacent runs: skipping each works the same.
        i = end < 0 ? n : end;
      } else if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
        int end = sql.indexOf('\n', i);
        i = end < 0 ? n : end;
      } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
        int end = sql.indexOf("*/", i + 2);
        i = end < 0 ? n : end + 1;
      } else if (c == '(') {
        max = Math.max(max, ++depth);
      } else if (c == ')') {
        depth = Math.max(0, depth - 1);
      }
    }
    return max;
  }

  private StatementAnalysis parse(String sql) {
    String json = serializer.apply(sql);
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (StreamConstraintsException e) {
      throw tooDeep("more than " + MAX_NESTING + " levels of subqueries or function calls", e);
    } catch (JsonProcessingException e) {
      throw new QueryRejectedException("cannot read DuckDB's parse tree: " + e.getMessage(), e);
    }
    if (root.path("error").asBoolean(false)) {
      String message = root.path("error_message").asText("");
      String type = root.path("error_type").asText("");
      return StatementAnalysis.refused(
          type.equals("parser") ? Kind.INVALID : Kind.NOT_A_QUERY, message);
    }
    Walk walk = new Walk();
    JsonNode statements = root.path("statements");
    for (JsonNode statement : statements) {
      walk.anything(statement.path("node"), Set.of());
    }
    AggregateQuery aggregate =
        statements.size() == 1 ? AggregateQuery.of(statements.get(0).path("node")) : null;
    return StatementAnalysis.query(walk.occurrences, aggregate);
  }

  /** One walk over a parse tree, collecting the readings of tables. */
  private static final class Walk {
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
      Map<String, Integer> bindings = new java.util.LinkedHashMap<>();
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
        column(c.path("input"), bindings, value(c.path("lower")), true, false);
        column(c.path("input"), bindings, value(c.path("upper")), false, true);
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
        column(left, bindings, value(right), lower, upper);
      } else if (isColumn(right)) {
        column(right, bindings, value(left), upper, lower); // '…' <= ts bounds ts below
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

  // ------------------------------------------------------------------------ values

  /** The event-time value an expression stands for, or null when it proves nothing. */
  static @Nullable TimeValue value(JsonNode e) {
    String type = e.path("type").asText("");
    switch (type) {
      case "VALUE_CONSTANT":
        {
          JsonNode lit = e.path("literal");
          if (!lit.path("kind").asText("").equals("STRING")) {
            return null;
          }
          Long v = TimeValues.parseTimestamp(lit.path("text").asText(""));
          return v == null ? null : (p, now) -> v;
        }
      case "OPERATOR_CAST":
        return castValue(e);
      case "VALUE_PARAMETER":
        {
          int index;
          try {
            index = Integer.parseInt(e.path("identifier").asText("")) - 1;
          } catch (NumberFormatException x) {
            return null;
          }
          return (p, now) ->
              index >= 0 && index < p.size() ? TimeValues.parameter(p.get(index)) : null;
        }
      case "COLUMN_REF":
        {
          // current_timestamp without parentheses parses as a column name.
          JsonNode names = e.path("column_names");
          if (names.size() == 1) {
            return nowFunction(names.get(0).asText(""));
          }
          return null;
        }
      case "FUNCTION":
        {
          String name = e.path("function_name").asText("").toLowerCase(Locale.ROOT);
          JsonNode args = e.path("arguments");
          if (args.isEmpty()) {
            return nowFunction(name);
          }
          if (args.size() == 2 && (name.equals("+") || name.equals("-"))) {
            JsonNode a = args.get(0).path("expression");
            JsonNode b = args.get(1).path("expression");
            TimeValue t = value(a);
            Long interval = interval(b);
            if (t == null && name.equals("+")) {
              t = value(b);
              interval = interval(a);
            }
            if (t == null || interval == null) {
              return null;
            }
            long signed = name.equals("-") ? -interval : interval;
            TimeValue base = t;
            return (p, now) -> {
              Long v = base.micros(p, now);
              try {
                return v == null ? null : Math.addExact(v, signed);
              } catch (ArithmeticException x) {
                return null;
              }
            };
          }
          return null;
        }
      default:
        return null;
    }
  }

  private static @Nullable TimeValue nowFunction(String name) {
    switch (name.toLowerCase(Locale.ROOT)) {
      case "now":
      case "current_timestamp":
      case "get_current_timestamp":
      case "transaction_timestamp":
      case "localtimestamp":
        return (p, now) -> now;
      case "current_date":
      case "today":
        return (p, now) -> TimeValues.floor(now, TimeUnit.DAYS.toMicros(1));
      default:
        return null;
    }
  }

  /** A cast to a timestamp type keeps the value; to DATE or a coarser timestamp, floors it. */
  private static @Nullable TimeValue castValue(JsonNode e) {
    String target = e.path("type_expr").path("type_name").asText("").toUpperCase(Locale.ROOT);
    long unit;
    switch (target) {
      case "TIMESTAMP":
      case "TIMESTAMPTZ":
      case "TIMESTAMP WITH TIME ZONE":
      case "DATETIME":
      case "TIMESTAMP_US":
      case "TIMESTAMP_NS":
        unit = 1;
        break;
      case "TIMESTAMP_MS":
        unit = 1_000;
        break;
      case "TIMESTAMP_S":
        unit = TimeUnit.SECONDS.toMicros(1);
        break;
      case "DATE":
        unit = TimeUnit.DAYS.toMicros(1);
        break;
      default:
        return null;
    }
    TimeValue inner = value(e.path("child"));
    if (inner == null) {
      return null;
    }
    return unit == 1
        ? inner
        : (p, now) -> {
          Long v = inner.micros(p, now);
          return v == null ? null : TimeValues.floor(v, unit);
        };
  }

  /** A fixed interval in microseconds: {@code INTERVAL '4 hours'} or {@code INTERVAL 4 HOUR}. */
  static @Nullable Long interval(JsonNode e) {
    String type = e.path("type").asText("");
    if (type.equals("OPERATOR_CAST")) {
      String target = e.path("type_expr").path("type_name").asText("").toUpperCase(Locale.ROOT);
      JsonNode child = e.path("child");
      if (target.equals("INTERVAL")
          && child.path("type").asText("").equals("VALUE_CONSTANT")
          && child.path("literal").path("kind").asText("").equals("STRING")) {
        return TimeValues.parseInterval(child.path("literal").path("text").asText(""));
      }
      return null;
    }
    if (type.equals("FUNCTION") && e.path("arguments").size() == 1) {
      String name = e.path("function_name").asText("").toLowerCase(Locale.ROOT);
      if (!name.startsWith("to_")) {
        return null;
      }
      Long unit = TimeValues.unitMicros(name.substring(3));
      BigDecimal n = number(e.path("arguments").get(0).path("expression"));
      if (unit == null || n == null) {
        return null;
      }
      try {
        return n.multiply(BigDecimal.valueOf(unit)).longValueExact();
      } catch (ArithmeticException x) {
        return null; // a fraction of a microsecond, or out of range
      }
    }
    return null;
  }

  /** A numeric constant, through the casts and trunc() DuckDB wraps {@code INTERVAL 4 HOUR} in. */
  private static @Nullable BigDecimal number(JsonNode e) {
    String type = e.path("type").asText("");
    if (type.equals("VALUE_CONSTANT")) {
      String kind = e.path("literal").path("kind").asText("");
      if (kind.equals("INTEGER") || kind.equals("DECIMAL") || kind.equals("DOUBLE")) {
        try {
          return new BigDecimal(e.path("literal").path("text").asText(""));
        } catch (NumberFormatException x) {
          return null;
        }
      }
      return null;
    }
    if (type.equals("OPERATOR_CAST")) {
      BigDecimal n = number(e.path("child"));
      String target = e.path("type_expr").path("type_name").asText("").toUpperCase(Locale.ROOT);
      if (n == null) {
        return null;
      }
      switch (target) {
        case "DOUBLE":
        case "DECIMAL":
        case "FLOAT":
          return n;
        case "BIGINT":
        case "INTEGER":
          return n.stripTrailingZeros().scale() <= 0 ? n : null;
        default:
          return null;
      }
    }
    if (type.equals("FUNCTION")
        && e.path("function_name").asText("").equalsIgnoreCase("trunc")
        && e.path("arguments").size() == 1) {
      BigDecimal n = number(e.path("arguments").get(0).path("expression"));
      return n == null ? null : new BigDecimal(n.toBigInteger());
    }
    return null;
  }
}
