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
import io.hyprstream.internal.sql.StatementAnalysis.Details;
import io.hyprstream.internal.sql.StatementAnalysis.ParameterUse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;

/**
 * The one place that understands SQL text, with DuckDB's own parser: {@code SELECT
 * json_serialize_sql(?)} gives the parse tree as JSON, read here with Jackson. Per statement text
 * it finds the kind, the tables read and the time bounds each reading can prove ({@link
 * TableReads}, {@link TimeExpressions}), the names used, what each parameter meets and the result
 * cache's key ({@link QueryFacts}), the window-lookup and split-aggregate shapes ({@link Lookups},
 * {@link AggregateQuery}) and hints in comments ({@link StatementHints}).
 *
 * <p>A statement that is not a SELECT is bound by DuckDB without running ({@code
 * json_serialize_plan}, which resolves every name against the catalog as execution would), and its
 * plan says what it changes, which tables it touches and the types of its parameters ({@link
 * PlanFacts}); an INSERT's head is read by {@link InsertStatement}, since DuckDB serialises only
 * SELECTs. Plans depend on the catalog, so they are made per call.
 *
 * <p>Analyses of SELECTs are kept per SQL text. Deep nesting is refused with a clear error, because
 * DuckDB crashes the whole process (SIGSEGV) on it: its planner at about 1,000 nested subqueries,
 * its parser at about 60,000 levels. Before DuckDB sees the text, more than {@link #MAX_SQL_CHARS}
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
  private final UnaryOperator<String> planSerializer;
  private final Predicate<String> neverView;
  private final Cache<String, StatementAnalysis> cache =
      Caffeine.newBuilder()
          .maximumWeight(CACHE_WEIGHT_CHARS)
          .weigher((String sql, StatementAnalysis a) -> sql.length() + 64)
          .build();

  /**
   * @param serializer returns {@code json_serialize_sql(sql)} as DuckDB computes it
   * @param planSerializer returns {@code json_serialize_plan(sql)} as DuckDB computes it against
   *     the catalog the statement would run on
   */
  public SqlAnalyser(UnaryOperator<String> serializer, UnaryOperator<String> planSerializer) {
    this(serializer, planSerializer, table -> false);
  }

  /**
   * @param neverView true for a table name that cannot be a SQL view (one Hyprstream creates and
   *     refuses DDL on): a query naming only such tables reads nothing through a view, so DuckDB
   *     need not bind it to find out (about a millisecond per new text)
   */
  public SqlAnalyser(
      UnaryOperator<String> serializer,
      UnaryOperator<String> planSerializer,
      Predicate<String> neverView) {
    this.serializer = serializer;
    this.planSerializer = planSerializer;
    this.neverView = neverView;
  }

  /**
   * The analysis of {@code sql}: a SELECT's from the cache when this text was analysed before; any
   * other statement bound afresh, since what it resolves to depends on the catalog.
   *
   * @throws QueryRejectedException when the text is too large or too deeply nested to parse safely
   */
  public StatementAnalysis analyse(String sql) {
    StatementAnalysis kept = cache.getIfPresent(sql);
    if (kept != null) {
      return kept; // the same text passed checkSize when it was analysed
    }
    checkSize(sql);
    JsonNode root = read(serializer.apply(sql));
    if (root.path("error").asBoolean(false)) {
      String message = root.path("error_message").asText("");
      if (root.path("error_type").asText("").equals("parser")) {
        StatementAnalysis invalid = StatementAnalysis.invalid(message);
        cache.put(sql, invalid);
        return invalid;
      }
      return plan(sql); // not a SELECT: json_serialize_sql serialises nothing else
    }
    StatementAnalysis query = query(root, sql);
    cache.put(sql, query);
    return query;
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
    int depth = SqlTokens.nesting(sql);
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

  private static JsonNode read(String json) {
    try {
      return JSON.readTree(json);
    } catch (StreamConstraintsException e) {
      throw tooDeep("more than " + MAX_NESTING + " levels of subqueries or function calls", e);
    } catch (JsonProcessingException e) {
      throw new QueryRejectedException("cannot read DuckDB's parse tree: " + e.getMessage(), e);
    }
  }

  private StatementAnalysis query(JsonNode root, String sql) {
    TableReads reads = new TableReads();
    JsonNode statements = root.path("statements");
    for (JsonNode statement : statements) {
      reads.anything(statement.path("node"), Set.of());
    }
    QueryFacts facts = QueryFacts.of(statements);
    if (reads.occurrences.stream().anyMatch(o -> !neverView(o.table()))) {
      viewedTables(sql, reads, facts.names);
    }
    LookupShape lookup =
        statements.size() == 1 ? Lookups.shape(statements.get(0).path("node")) : null;
    AggregateQuery aggregate =
        statements.size() == 1 ? AggregateQuery.of(statements.get(0).path("node")) : null;
    Details details =
        new Details(
            Set.copyOf(facts.names),
            parameters(facts.parameterCount, facts.parameters),
            facts.treeDigest(),
            facts.readsCatalog,
            QueryFacts.valuesWidth(statements),
            QueryFacts.isOneRowOfParameters(statements),
            statements.size() == 1 && RowFilters.isRowFilter(statements.get(0).path("node")));
    return StatementAnalysis.query(
        reads.occurrences,
        statements.size(),
        lookup,
        aggregate,
        details,
        StatementHints.maxStaleness(sql));
  }

  /**
   * Adds the tables the query reads through SQL views, as DuckDB's binder expands them: the parse
   * tree names only the view, so each such table is read with no bound proven (the router then
   * reads what the cache lacks from the backend). A query DuckDB cannot bind here (a table only the
   * backend holds) adds nothing.
   */
  private void viewedTables(String sql, TableReads reads, Set<String> names) {
    JsonNode plan = read(planSerializer.apply(sql));
    if (plan.path("error").asBoolean(false)) {
      return;
    }
    Set<String> named = new java.util.HashSet<>();
    reads.occurrences.forEach(o -> named.add(o.table().name().toLowerCase(java.util.Locale.ROOT)));
    for (String table : PlanFacts.of(plan).tables) {
      if (named.add(table)) {
        reads.occurrences.add(
            new StatementAnalysis.Occurrence(new TableRef("", "", table), List.of()));
        names.add(table);
      }
    }
  }

  /** True when {@code ref} names, in the default catalog and schema, a table that is no view. */
  private boolean neverView(TableRef ref) {
    boolean defaultSchema =
        !ref.catalogQualified()
            && (ref.schema().isEmpty() || ref.schema().equalsIgnoreCase("main"));
    return defaultSchema && neverView.test(ref.name());
  }

  /**
   * Forgets every kept analysis: a statement changed the catalog (a view may now read other
   * tables).
   */
  public void catalogChanged() {
    cache.invalidateAll();
  }

  private StatementAnalysis plan(String sql) {
    InsertStatement insert = InsertStatement.parse(sql);
    JsonNode root = read(planSerializer.apply(sql));
    if (root.path("error").asBoolean(false)) {
      String message = root.path("error_message").asText("");
      boolean missingTable =
          root.path("error_subtype").asText("").equals("MISSING_ENTRY")
              && root.path("type").asText("").equalsIgnoreCase("Table");
      return StatementAnalysis.unbound(
          message, missingTable ? root.path("name").asText("") : null, insert);
    }
    PlanFacts facts = PlanFacts.of(root);
    Map<Integer, ParameterUse> uses = new java.util.HashMap<>();
    int count = 0;
    for (Map.Entry<Integer, String> e : facts.parameterTypes.entrySet()) {
      uses.put(e.getKey(), new ParameterUse(null, false, e.getValue()));
      count = Math.max(count, e.getKey());
    }
    Details details =
        new Details(Set.copyOf(facts.tables), parameters(count, uses), "", false, -1, false, false);
    return StatementAnalysis.bound(facts.changes, root.path("plans").size(), details, insert);
  }

  /** One use per parameter position 1..count, {@link ParameterUse#UNKNOWN} where none is known. */
  private static List<ParameterUse> parameters(int count, Map<Integer, ParameterUse> known) {
    List<ParameterUse> out = new ArrayList<>(count);
    for (int i = 1; i <= count; i++) {
      out.add(known.getOrDefault(i, ParameterUse.UNKNOWN));
    }
    return List.copyOf(out);
  }
}
