package io.hyprstream.internal.table;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.CacheStore;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.WindowAggregatorFactory;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.backend.PostgresBackendStore;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.apache.arrow.memory.BufferAllocator;
import org.jspecify.annotations.Nullable;

/**
 * The tables the engine knows: each ingested table's state, the configured aggregations and their
 * window views, and the rules for names. Tables are found by key: the name in lower case, as DuckDB
 * and PostgreSQL compare unquoted names.
 */
public final class Tables {
  /**
   * Names a table may be ingested under: ASCII letters, digits and underscores, not starting with a
   * digit, at most 63 characters. Such a name needs no quoting in DuckDB, PostgreSQL, SQLite or a
   * Flight path, and PostgreSQL keeps it whole (it cuts longer names to 63 bytes).
   */
  private static final Pattern TABLE_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,62}");

  /** Prefixes of the engine's own tables and of the catalogs DuckDB and backends keep. */
  public static final List<String> RESERVED_PREFIXES =
      List.of("_hs_", "hyprstream_", "duckdb_", "pg_", "sqlite_", "information_schema");

  private final Map<String, AggregationSpec> specs = new LinkedHashMap<>();

  /** Every window view by key; fixed with the specs, and asked on every query and ingest. */
  private final Map<String, WindowView> views = new HashMap<>();

  /** The keys of each aggregated table's views, by the table's key. */
  private final Map<String, List<String>> viewKeys = new HashMap<>();

  private final Map<String, String> timeColumns;
  private final ConcurrentHashMap<String, TableState> states = new ConcurrentHashMap<>();
  private final CacheStore cache;
  private final WindowAggregatorFactory aggregators;
  private final BufferAllocator allocator;
  private final int ingestIdsRemembered;

  /**
   * @param aggregations the tables with window aggregates
   * @param timeColumns by table key, the event-time column of tables without aggregates that expire
   * @param aggregators makes each aggregated table's window aggregator
   * @param ingestIdsRemembered how many client ingest ids each table remembers
   * @throws IllegalArgumentException when two window views would have the same name
   */
  public Tables(
      List<AggregationSpec> aggregations,
      Map<String, String> timeColumns,
      CacheStore cache,
      WindowAggregatorFactory aggregators,
      BufferAllocator allocator,
      int ingestIdsRemembered) {
    for (AggregationSpec spec : aggregations) {
      specs.put(key(spec.table()), spec);
      List<String> keys = new ArrayList<>();
      for (WindowSpec w : spec.windows()) {
        views.putIfAbsent(key(spec.viewName(w)), new WindowView(spec, w));
        keys.add(key(spec.viewName(w)));
      }
      viewKeys.put(key(spec.table()), List.copyOf(keys));
    }
    this.timeColumns = timeColumns;
    this.cache = cache;
    this.aggregators = aggregators;
    this.allocator = allocator;
    this.ingestIdsRemembered = ingestIdsRemembered;
    checkViewNames();
  }

  /** What makes (and restores) the window aggregators of the aggregated tables. */
  public WindowAggregatorFactory aggregators() {
    return aggregators;
  }

  /** The key of {@code name}: lower case. */
  public static String key(String name) {
    return name.toLowerCase(Locale.ROOT);
  }

  /** The state of table {@code name}, created empty when it has none yet. */
  public TableState table(String name) {
    return states.computeIfAbsent(
        key(name),
        k ->
            new TableState(name, specs.get(k), cache, aggregators, allocator, ingestIdsRemembered));
  }

  /**
   * The state of table {@code name}, or, when it has none, a new empty one that is not kept: for
   * checking a batch bound for another instance without creating the table here.
   */
  public TableState stateOrProbe(String name) {
    TableState ts = get(name);
    return ts != null
        ? ts
        : new TableState(name, specs.get(key(name)), cache, aggregators, allocator, 1);
  }

  /** The state of table {@code name}, or null when nothing was ingested into it. */
  public @Nullable TableState get(String name) {
    return states.get(key(name));
  }

  /** Every table with state. */
  public Collection<TableState> all() {
    return states.values();
  }

  /** The keys of every table with state. */
  public Set<String> keys() {
    return states.keySet();
  }

  /** The aggregation of table {@code name}, or null. */
  public @Nullable AggregationSpec spec(String name) {
    return specs.get(key(name));
  }

  /** Every configured aggregation. */
  public Collection<AggregationSpec> specs() {
    return specs.values();
  }

  /** The keys of the window views of table {@code name} (none when it has no aggregation). */
  public List<String> viewKeys(String name) {
    return viewKeys.getOrDefault(key(name), List.of());
  }

  /** The window view called {@code name}, or null. */
  public @Nullable WindowView viewOf(String name) {
    return views.get(key(name));
  }

  public boolean isView(String name) {
    return viewOf(name) != null;
  }

  /** The keys of the ingested tables {@code words} read, directly or by a view. */
  public Set<String> tablesRead(Set<String> words) {
    Set<String> out = new TreeSet<>();
    for (String w : words) {
      if (states.containsKey(w)) {
        out.add(w);
      } else {
        WindowView view = viewOf(w);
        if (view != null) {
          out.add(key(view.spec().table()));
        }
      }
    }
    return out;
  }

  /** The event-time column of a table: its aggregation's, or one declared for expiry, or null. */
  public @Nullable String timeColumnOf(TableState ts) {
    AggregationSpec spec = ts.specOrNull();
    return spec != null ? spec.timeColumn() : timeColumns.get(key(ts.name));
  }

  /** The unit of the table's time column when it arrives as an int64 epoch. */
  public static ChronoUnit epochUnitOf(TableState ts) {
    AggregationSpec spec = ts.specOrNull();
    return spec != null ? spec.epochUnit() : ChronoUnit.MILLIS;
  }

  /** The table's time column when it may arrive as an int64 epoch, with its unit. */
  public Map<String, ChronoUnit> epochColumns(TableState ts) {
    String column = timeColumnOf(ts);
    return column == null ? Map.of() : Map.of(column, epochUnitOf(ts));
  }

  private void checkViewNames() {
    Set<String> seen = new HashSet<>();
    for (AggregationSpec spec : specs.values()) {
      seen.add(key(spec.table()));
    }
    for (AggregationSpec spec : specs.values()) {
      for (WindowSpec w : spec.windows()) {
        if (!seen.add(key(spec.viewName(w)))) {
          throw new IllegalArgumentException(
              "view name '" + spec.viewName(w) + "' would be used twice; rename a table or window");
        }
      }
    }
  }

  /**
   * Refuses a name no table may be ingested under: not a plain identifier, or reserved.
   *
   * @throws QueryRejectedException naming the rule
   */
  public static void validateName(String name) {
    String shown =
        name.length() > 80
            ? name.substring(0, 80) + "... (" + name.length() + " characters)"
            : name;
    if (!TABLE_NAME.matcher(name).matches()) {
      throw new QueryRejectedException(
          "'"
              + shown
              + "' is not a valid table name: use 1 to 63 ASCII letters, digits and underscores,"
              + " not starting with a digit",
          null);
    }
    String lower = key(name);
    for (String prefix : RESERVED_PREFIXES) {
      if (lower.startsWith(prefix)) {
        throw new QueryRejectedException(
            "'"
                + name
                + "' is reserved: names starting with "
                + prefix
                + " belong to Hyprstream's system tables or a database catalog and cannot be"
                + " ingested into",
            null);
      }
    }
  }

  /** True for names of system tables and database catalogs, which clients may not change. */
  public static boolean reserved(String name) {
    String lower = key(name);
    if (lower.equals(PostgresBackendStore.LEDGER)) {
      // The exactly-once ledger an upstream Hyprstream keeps in its backend, which can be this
      // server (a grpc:// backend): a client's own table, not a system one.
      return false;
    }
    for (String prefix : RESERVED_PREFIXES) {
      if (lower.startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }
}
