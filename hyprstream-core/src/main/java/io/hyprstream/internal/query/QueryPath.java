package io.hyprstream.internal.query;

import io.hyprstream.QueryResult;
import io.hyprstream.StatementInfo;
import io.hyprstream.api.BackendStore;
import io.hyprstream.api.CacheStore;
import io.hyprstream.api.Freshness;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.TableNotFoundException;
import io.hyprstream.api.WindowAggregator;
import io.hyprstream.internal.arrow.Columns;
import io.hyprstream.internal.arrow.OneBatchReader;
import io.hyprstream.internal.sql.InsertStatement;
import io.hyprstream.internal.sql.LookupShape;
import io.hyprstream.internal.sql.SqlAnalyser;
import io.hyprstream.internal.sql.StatementAnalysis;
import io.hyprstream.internal.table.ChangeVersions;
import io.hyprstream.internal.table.HotSet;
import io.hyprstream.internal.table.TableState;
import io.hyprstream.internal.table.Tables;
import io.hyprstream.internal.table.TimeRange;
import io.hyprstream.internal.table.WindowView;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * The query chain: the single-key window lookup answered from the aggregator; else a kept result
 * when nothing it read has changed ({@link ResultCache}); else the statement runs where the {@link
 * Router} says, after {@link ReadPreparation}: on DuckDB, on DuckDB with the backend's older rows
 * ({@link BackendReads}), or on the backend. What DuckDB or the backend answer is kept for repeats
 * as the caller reads it.
 */
public final class QueryPath {
  private final SqlAnalyser analyser;
  private final StatementGuard guard;
  private final InsertAsIngest inserts;
  private final Router router;
  private final BackendReads backendReads;
  private final ReadPreparation preparation;
  private final Tables tables;
  private final CacheStore cache;
  private final BufferAllocator allocator;
  private final HotSet hotSet;
  private final ChangeVersions versions;
  private final @Nullable ResultCache results;
  private final @Nullable BackendStore backend;
  private final InstantSource clock;
  private final Map<String, Duration> maxStaleness;

  /**
   * @param maxStaleness by table key, how stale a kept answer reading the table may be
   */
  public QueryPath(
      SqlAnalyser analyser,
      StatementGuard guard,
      InsertAsIngest inserts,
      Router router,
      BackendReads backendReads,
      ReadPreparation preparation,
      Tables tables,
      CacheStore cache,
      BufferAllocator allocator,
      HotSet hotSet,
      ChangeVersions versions,
      @Nullable ResultCache results,
      @Nullable BackendStore backend,
      InstantSource clock,
      Map<String, Duration> maxStaleness) {
    this.analyser = analyser;
    this.guard = guard;
    this.inserts = inserts;
    this.router = router;
    this.backendReads = backendReads;
    this.preparation = preparation;
    this.tables = tables;
    this.cache = cache;
    this.allocator = allocator;
    this.hotSet = hotSet;
    this.versions = versions;
    this.results = results;
    this.backend = backend;
    this.clock = clock;
    this.maxStaleness = maxStaleness;
  }

  /**
   * Names that make a query's answer change with no ingest (time, randomness, sequences, DuckDB's
   * own state): such queries are never served from the result cache.
   */
  private static final Set<String> VOLATILE_WORDS =
      Set.of(
          "now",
          "current_timestamp",
          "current_date",
          "current_time",
          "localtimestamp",
          "localtime",
          "get_current_timestamp",
          "get_current_time",
          "transaction_timestamp",
          "today",
          "random",
          "uuid",
          "gen_random_uuid",
          "uuidv4",
          "uuidv7",
          "setseed",
          "nextval",
          "currval",
          SystemTables.BACKEND_STATUS_TABLE,
          SystemTables.QUARANTINE_TABLE,
          SystemTables.CACHE_STATS_TABLE);

  /**
   * Answers a query: a single-key window lookup from the aggregator; else a kept result when
   * nothing it read has changed; else the backend when it needs rows the cache does not hold; else
   * DuckDB. What DuckDB or the backend answer is kept for repeats as the caller reads it.
   */
  public QueryResult query(String sql, List<@Nullable Object> parameters, BufferAllocator alloc) {
    // The analyser refuses text too large or too deeply nested before DuckDB parses it.
    StatementAnalysis analysis = analyser.analyse(sql);
    InsertStatement insert = analysis.insert();
    if (insert != null && inserts.isIngested(insert)) {
      throw StatementGuard.runAsStatement("INSERT", insert.table);
    }
    guard.check(analysis, true);
    Instant now = clock.instant();
    QueryResult fast = tryWindowLookup(analysis, parameters, alloc, now);
    if (fast != null) {
      return fast;
    }
    Set<String> words = analysis.names();
    ResultCache rc = results;
    ResultCache.Key cacheKey = null;
    long[] seen = null;
    if (rc != null && isCacheable(analysis, words)) {
      List<String> sorted = new ArrayList<>(words);
      Collections.sort(sorted);
      cacheKey = new ResultCache.Key(analysis.cacheKey(), parameters);
      seen = versions.snapshot(sorted); // before the query runs; see ChangeVersions
      QueryResult kept = rc.get(cacheKey, seen, allowedStaleness(analysis, words), alloc);
      if (kept != null) {
        return kept;
      }
    }
    Router.Route route = router.route(analysis, parameters, now);
    ArrowReader rows;
    Freshness freshness;
    if (route.backendWhy() != null) {
      rows = backendReads.queryBackend(sql, parameters, alloc, route.backendWhy());
      freshness = Freshness.computed(Freshness.Source.BACKEND, asOf(words), now, null);
    } else if (!route.cold().isEmpty()) {
      preparation.prepareFor(words);
      rows = backendReads.queryWithColdRows(sql, analysis, parameters, alloc, route.cold());
      freshness = Freshness.computed(Freshness.Source.BACKEND, asOf(words), now, null);
    } else {
      preparation.prepareFor(words);
      try {
        rows = cache.query(sql, parameters, alloc);
        freshness = Freshness.computed(Freshness.Source.CACHE, asOf(words), now, route.missing());
      } catch (TableNotFoundException e) {
        if (backend == null) {
          throw e;
        }
        router.forgetBackendTables(); // the backend may have gained the table since it was last
        // listed
        route = router.route(analysis, parameters, now);
        if (route.backendWhy() == null) {
          throw e;
        }
        rows = backendReads.queryBackend(sql, parameters, alloc, route.backendWhy());
        freshness = Freshness.computed(Freshness.Source.BACKEND, asOf(words), now, null);
      }
    }
    countReads(route);
    if (cacheKey != null) {
      return Objects.requireNonNull(rc)
          .put(cacheKey, Objects.requireNonNull(seen), rows, freshness, alloc);
    }
    return QueryResult.of(alloc, rows, freshness);
  }

  /** True when a query's answer depends only on table contents, so it may be kept for repeats. */
  private static boolean isCacheable(StatementAnalysis analysis, Set<String> words) {
    if (!analysis.isQuery() || analysis.readsCatalog()) {
      return false;
    }
    for (String w : words) {
      if (VOLATILE_WORDS.contains(w) || w.startsWith("duckdb_") || w.startsWith("pragma_")) {
        return false;
      }
    }
    return true;
  }

  /**
   * How stale a kept answer to {@code sql} may be: its {@code max_staleness} hint, else the least
   * allowance of the tables it reads (zero when any table has none).
   */
  private Duration allowedStaleness(StatementAnalysis analysis, Set<String> words) {
    Duration hinted = analysis.maxStaleness();
    if (hinted != null) {
      return hinted;
    }
    Duration allowed = null;
    for (String table : tables.tablesRead(words)) {
      Duration d = maxStaleness.getOrDefault(table, Duration.ZERO);
      allowed = allowed == null || d.compareTo(allowed) < 0 ? d : allowed;
    }
    return allowed == null ? Duration.ZERO : allowed;
  }

  /** The newest event time ingested into the tables {@code words} read, or null. */
  private @Nullable Instant asOf(Set<String> words) {
    Instant newest = null;
    for (String table : tables.tablesRead(words)) {
      Instant t = hotSet.newest(table);
      if (t != null && (newest == null || t.isAfter(newest))) {
        newest = t;
      }
    }
    return newest;
  }

  private void countReads(Router.Route route) {
    for (Map.Entry<String, TimeRange> e : route.ranges().entrySet()) {
      hotSet.read(e.getKey(), e.getValue(), route.local());
    }
  }

  private @Nullable QueryResult tryWindowLookup(
      StatementAnalysis analysis,
      List<@Nullable Object> parameters,
      BufferAllocator alloc,
      Instant now) {
    LookupShape shape = analysis.lookup();
    WindowLookup lookup = shape == null ? null : WindowLookup.of(shape, parameters);
    if (lookup == null) {
      return null;
    }
    WindowView ref = keyedView(lookup.view, lookup.keyColumn);
    if (ref == null) {
      return null;
    }
    TableState ts = tables.get(ref.spec().table());
    if (ts == null) {
      return null;
    }
    VectorSchemaRoot rows;
    ts.lock.lock();
    try {
      WindowAggregator agg = ts.aggregator;
      if (agg == null) {
        return null;
      }
      Schema viewSchema = agg.viewSchema(ref.window());
      if (lookup.columns != null) {
        for (String c : lookup.columns) {
          if (Columns.field(viewSchema, c) == null) {
            return null; // let DuckDB report the unknown column
          }
        }
      }
      rows =
          agg.lookup(
              ref.window(),
              Collections.singletonList(lookup.key),
              lookup.fromMicros,
              lookup.toMicros,
              lookup.descending,
              lookup.limit,
              alloc);
    } finally {
      ts.lock.unlock();
    }
    VectorSchemaRoot projected = project(rows, lookup.columns);
    return QueryResult.of(
        alloc,
        new OneBatchReader(alloc, projected),
        Freshness.computed(
            Freshness.Source.AGGREGATOR, hotSet.newest(Tables.key(ref.spec().table())), now, null));
  }

  /** The window view {@code view} when its one key column is {@code keyColumn}, else null. */
  private @Nullable WindowView keyedView(String view, String keyColumn) {
    WindowView ref = tables.viewOf(view);
    if (ref == null
        || ref.spec().keyColumns().size() != 1
        || !ref.spec().keyColumns().get(0).equalsIgnoreCase(keyColumn)) {
      return null;
    }
    return ref;
  }

  /**
   * The schema the aggregator answers a window lookup of this statement's shape with, or null when
   * it is not one. Every prepare and every Flight {@code GetFlightInfo} asks for a schema; DuckDB
   * would bind and run a {@code LIMIT 0} probe for it, which costs more than the lookup itself.
   */
  private @Nullable Schema lookupSchema(StatementAnalysis analysis) {
    LookupShape shape = analysis.lookup();
    String keyColumn = shape == null ? null : WindowLookup.keyColumnOf(shape);
    WindowView ref = keyColumn == null ? null : keyedView(shape.from(), keyColumn);
    TableState ts = ref == null ? null : tables.get(ref.spec().table());
    if (ts == null) {
      return null;
    }
    Schema view;
    ts.lock.lock();
    try {
      WindowAggregator agg = ts.aggregator;
      if (agg == null) {
        return null;
      }
      view = agg.viewSchema(ref.window());
    } finally {
      ts.lock.unlock();
    }
    List<String> columns = shape.columns();
    if (columns == null) {
      return view;
    }
    List<Field> fields = new ArrayList<>();
    for (String c : columns) {
      Field f = Columns.field(view, c);
      if (f == null) {
        return null; // DuckDB reports the unknown column
      }
      fields.add(f);
    }
    return new Schema(fields);
  }

  /** The named columns of {@code rows} (all when null), taking ownership of {@code rows}. */
  private static VectorSchemaRoot project(VectorSchemaRoot rows, @Nullable List<String> columns) {
    if (columns == null) {
      return rows;
    }
    try (rows) {
      List<FieldVector> out = new ArrayList<>();
      for (String c : columns) {
        FieldVector v = null;
        for (FieldVector candidate : rows.getFieldVectors()) {
          if (candidate.getName().equalsIgnoreCase(c)) {
            v = candidate;
          }
        }
        FieldVector src = Objects.requireNonNull(v);
        var pair = src.getTransferPair(src.getName(), src.getAllocator());
        // A slice, not a move: the same column may be selected twice.
        pair.splitAndTransfer(0, rows.getRowCount());
        out.add((FieldVector) pair.getTo());
      }
      VectorSchemaRoot p = new VectorSchemaRoot(out);
      p.setRowCount(rows.getRowCount());
      return p;
    }
  }

  /** What {@code sql} is, for front ends ({@link io.hyprstream.Hyprstream#describe}). */
  public StatementInfo describe(String sql) {
    StatementAnalysis analysis = analyser.analyse(sql);
    // Only SELECTs return rows here: DuckDB cannot serialise an EXPLAIN's plan, so the guard
    // refuses it like any statement it cannot check.
    boolean query = analysis.isQuery();
    List<StatementInfo.Parameter> parameters = new ArrayList<>();
    for (StatementAnalysis.ParameterUse p : analysis.parameters()) {
      parameters.add(new StatementInfo.Parameter(p.column(), p.integer(), p.boundType()));
    }
    String error = analysis.kind() == StatementAnalysis.Kind.INVALID ? analysis.error() : null;
    List<String> read = new ArrayList<>();
    analysis.tables().forEach(t -> read.add(t.name()));
    return new StatementInfo(query, query, read, parameters, plainInsert(analysis), error);
  }

  /** The statement as {@code INSERT INTO t [(c, ...)] VALUES (?, ...)}, or null. */
  private StatementInfo.@Nullable PlainInsert plainInsert(StatementAnalysis analysis) {
    InsertStatement insert = analysis.insert();
    if (insert == null || insert.unsupported != null || insert.byName) {
      return null;
    }
    StatementAnalysis source = analyser.analyse(insert.source);
    if (!source.isOneRowOfParameters()) {
      return null;
    }
    int width = source.valuesWidth();
    if (source.parameters().size() != width
        || (insert.columns != null && insert.columns.size() != width)) {
      return null; // a parameter used twice, or a column list of another length
    }
    return new StatementInfo.PlainInsert(insert.table, insert.columns, width);
  }

  public Schema querySchema(String sql) {
    StatementAnalysis analysis = analyser.analyse(sql);
    guard.check(analysis, true);
    Schema lookup = lookupSchema(analysis);
    if (lookup != null) {
      return lookup; // answered by the aggregator, whatever the route (see query)
    }
    // Without parameter values a bound on a '?' proves nothing: the schema is asked where the
    // widest execution of the statement would run.
    String routed = router.wholeStatementOnBackend(analysis, clock.instant());
    if (routed != null) {
      try (ArrowReader r =
          Objects.requireNonNull(backend)
              .query("SELECT * FROM (" + sql + ") q LIMIT 0", allocator)) {
        return r.getVectorSchemaRoot().getSchema();
      } catch (IOException e) {
        throw new QueryRejectedException("cannot read the backend's result schema: " + e, e);
      }
    }
    return cache.querySchema(sql);
  }
}
