package io.hyprstream.internal;

import static io.hyprstream.api.SqlIdentifier.quote;

import io.hyprstream.QueryResult;
import io.hyprstream.api.CacheStore;
import io.hyprstream.api.Freshness;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.internal.arrow.ArrowCopy;
import io.hyprstream.internal.arrow.Columns;
import io.hyprstream.internal.cache.CacheSql;
import io.hyprstream.internal.ingest.ViewSync;
import io.hyprstream.internal.query.BackendReads;
import io.hyprstream.internal.query.ReadPreparation;
import io.hyprstream.internal.query.Router;
import io.hyprstream.internal.query.StatementGuard;
import io.hyprstream.internal.sql.AggregateQuery;
import io.hyprstream.internal.sql.SqlAnalyser;
import io.hyprstream.internal.sql.StatementAnalysis;
import io.hyprstream.internal.sql.TimeLiterals;
import io.hyprstream.internal.sql.TimeSpan;
import io.hyprstream.internal.table.HotSet;
import io.hyprstream.internal.table.TableState;
import io.hyprstream.internal.table.Tables;
import io.hyprstream.internal.table.WindowView;
import java.time.Instant;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * What cluster mode ({@code internal.cluster}) reads of one instance's engine beyond the public
 * API: which relations are split across the cluster by key, their key and time columns, and queries
 * over this instance's rows plus rows fetched from the other owners. A facet of {@link Engine}, as
 * {@link EngineOperations} is, so the engine itself stays the facade of its parts.
 */
public final class ClusterFacet {
  private final SqlAnalyser analyser;
  private final Tables tables;
  private final CacheStore cache;
  private final CacheSql cacheSql;
  private final StatementGuard guard;
  private final ReadPreparation preparation;
  private final ViewSync viewSync;
  private final HotSet hotSet;
  private final Router router;
  private final BackendReads backendReads;
  private final io.hyprstream.internal.ingest.Flusher flusher;
  private final io.hyprstream.internal.ingest.IngestPipeline ingest;
  private final io.hyprstream.internal.table.ChangeVersions versions;
  private final InstantSource clock;
  private final Runnable checkOpen;

  ClusterFacet(
      SqlAnalyser analyser,
      Tables tables,
      CacheStore cache,
      CacheSql cacheSql,
      StatementGuard guard,
      ReadPreparation preparation,
      ViewSync viewSync,
      HotSet hotSet,
      Router router,
      BackendReads backendReads,
      io.hyprstream.internal.ingest.Flusher flusher,
      io.hyprstream.internal.ingest.IngestPipeline ingest,
      io.hyprstream.internal.table.ChangeVersions versions,
      InstantSource clock,
      Runnable checkOpen) {
    this.analyser = analyser;
    this.tables = tables;
    this.cache = cache;
    this.cacheSql = cacheSql;
    this.guard = guard;
    this.preparation = preparation;
    this.viewSync = viewSync;
    this.hotSet = hotSet;
    this.router = router;
    this.backendReads = backendReads;
    this.flusher = flusher;
    this.ingest = ingest;
    this.versions = versions;
    this.clock = clock;
    this.checkOpen = checkOpen;
  }

  /** DuckDB's analysis of {@code sql}, as a query here would see it. */
  public StatementAnalysis analyse(String sql) {
    checkOpen.run();
    return analyser.analyse(sql);
  }

  /**
   * True when {@code name} is a relation whose rows are split across the cluster by key partition:
   * a table ingest wrote here, or a window view of one.
   */
  public boolean isPartitioned(String name) {
    return tables.isView(name) || tables.get(name) != null;
  }

  /**
   * The table whose rows relation {@code name} reads: the table itself, or a window view's table.
   */
  public String tableOf(String name) {
    WindowView view = tables.viewOf(name);
    return view != null ? view.spec().table() : name;
  }

  /** True when this instance holds table state for relation {@code name}'s table. */
  public boolean holds(String name) {
    return tables.get(tableOf(name)) != null;
  }

  /**
   * Makes table {@code name}, which ingest created only on other instances, known here with {@code
   * schema} and no rows, as an ingest of no rows would: a query of it is then read from the
   * instances that hold its rows instead of failing as not found. Nothing when the table exists
   * here already (ingested, or made by SQL).
   */
  public void holdEmpty(String name, Schema schema, BufferAllocator alloc) {
    if (tables.get(name) != null || cache.tableSchema(name) != null) {
      return;
    }
    VectorSchemaRoot empty = VectorSchemaRoot.create(schema, alloc);
    empty.setRowCount(0);
    List<VectorSchemaRoot> batches = new ArrayList<>();
    batches.add(empty);
    ingest.applyLogged(name, batches, null); // takes the batch and closes it
  }

  /**
   * Every table ingest wrote here, each with its window views' names (none for a table without
   * window aggregates).
   */
  public java.util.Map<String, List<String>> ingestedTables() {
    java.util.Map<String, List<String>> out = new java.util.TreeMap<>();
    for (TableState ts : tables.all()) {
      List<String> views = new ArrayList<>();
      io.hyprstream.api.AggregationSpec spec = ts.specOrNull();
      if (spec != null) {
        spec.windows().forEach(w -> views.add(spec.viewName(w)));
      }
      out.put(ts.name, views);
    }
    return out;
  }

  /**
   * The one key column of relation {@code name} (a table with window aggregates or one of its
   * views), whose value places its rows in a partition; null for other relations and for
   * aggregations keyed by several columns.
   */
  public @Nullable String keyColumnOf(String name) {
    WindowView view = tables.viewOf(name);
    io.hyprstream.api.AggregationSpec spec = view != null ? view.spec() : tables.spec(name);
    return spec == null || spec.keyColumns().size() != 1 ? null : spec.keyColumns().get(0);
  }

  /**
   * A partitioned relation's event-time column: {@code window_start} for a view, the table's time
   * column otherwise, with the schema it is in and the unit its literals take.
   */
  private record TimeColumn(Schema schema, Field field, ChronoUnit unit) {}

  /** The timestamp time column of relation {@code name}, or null when it has none. */
  private @Nullable TimeColumn timeColumnOf(String name) {
    String column;
    Schema schema;
    ChronoUnit unit = ChronoUnit.MICROS;
    WindowView view = tables.viewOf(name);
    if (view != null) {
      column = "window_start";
      schema = cache.tableSchema(name);
    } else {
      TableState ts = tables.get(name);
      if (ts == null) {
        return null;
      }
      column = tables.timeColumnOf(ts);
      schema = ts.schema;
      unit = Tables.epochUnitOf(ts);
    }
    Field time = column == null || schema == null ? null : Columns.field(schema, column);
    if (schema == null || time == null || !(time.getType() instanceof ArrowType.Timestamp)) {
      return null;
    }
    return new TimeColumn(schema, time, unit);
  }

  /**
   * A DuckDB condition over relation {@code name}'s time column ({@code window_start} for a view)
   * that holds for every row {@code analysis} can read of it, with {@code parameters}; null when
   * none is proven, or when the proof depends on the clock (DuckDB's {@code now()} is its own wall
   * clock, not this instance's).
   */
  public @Nullable String timeCondition(
      String name, StatementAnalysis analysis, List<@Nullable Object> parameters) {
    TimeColumn tc = timeColumnOf(name);
    if (tc == null) {
      return null;
    }
    Field time = tc.field();
    TimeSpan early = analysis.bounds(name, time.getName(), parameters, Instant.EPOCH);
    TimeSpan late =
        analysis.bounds(name, time.getName(), parameters, Instant.parse("2200-01-01T00:00:00Z"));
    if (early == null || !early.equals(late)) {
      return null;
    }
    List<String> terms = new ArrayList<>();
    String quoted = io.hyprstream.api.SqlIdentifier.quote(time.getName());
    if (early.boundedBelow()) {
      terms.add(
          quoted
              + " >= "
              + TimeLiterals.timeLiteral(
                  time, ChronoUnit.MICROS, TimeLiterals.instantOfMicros(early.fromMicros())));
    }
    if (early.boundedAbove()) {
      terms.add(
          quoted
              + " <= "
              + TimeLiterals.timeLiteral(
                  time, ChronoUnit.MICROS, TimeLiterals.instantOfMicros(early.toMicros())));
    }
    return terms.isEmpty() ? null : String.join(" AND ", terms);
  }

  /**
   * Runs {@code sql} on this instance's cache as it is, without routing or completeness checks: for
   * listing what this instance holds (its keys), never for an answer. The caller closes the reader.
   */
  public ArrowReader queryHeldRows(String sql, BufferAllocator alloc) {
    checkOpen.run();
    preparation.prepareFor(analyser.analyse(sql).names()); // rows and windows still buffered
    return cache.query(sql, List.of(), alloc);
  }

  /**
   * One ingested table's share of a partition: the table's schema, the window state of the
   * partition's keys ({@link io.hyprstream.api.WindowAggregator#exportState(BufferAllocator,
   * java.util.function.Predicate)}; empty for a table without windows) and their hot rows in their
   * stored form. Closing it closes the batches.
   */
  public record PartitionShare(
      String table, Schema schema, List<VectorSchemaRoot> windows, List<VectorSchemaRoot> rows)
      implements AutoCloseable {
    @Override
    public void close() {
      windows.forEach(VectorSchemaRoot::close);
      rows.forEach(VectorSchemaRoot::close);
    }
  }

  /**
   * The share of table {@code name} held here for the keys {@code keys} accepts, whose rows {@code
   * rowsOfKeys} (a DuckDB condition over the key column) selects; null when this instance holds no
   * such table. Runs on the thread that applies the partitions, so no row of those keys arrives
   * meanwhile.
   *
   * @throws UnsupportedOperationException when the table's aggregator cannot export part of its
   *     state
   */
  public @Nullable PartitionShare exportShare(
      String name,
      String rowsOfKeys,
      java.util.function.Predicate<List<@Nullable Object>> keys,
      BufferAllocator alloc) {
    checkOpen.run();
    TableState ts = tables.get(name);
    Schema schema = ts == null ? null : ts.schema;
    if (ts == null || schema == null) {
      return null;
    }
    List<VectorSchemaRoot> windows = new ArrayList<>();
    List<VectorSchemaRoot> rows = new ArrayList<>();
    try {
      ts.lock.lock();
      try {
        if (ts.aggregator != null) {
          windows.addAll(ts.aggregator.exportState(alloc, keys));
        }
      } finally {
        ts.lock.unlock();
      }
      try (ArrowReader r =
          queryHeldRows("SELECT * FROM " + quote(ts.name) + " WHERE " + rowsOfKeys, alloc)) {
        while (r.loadNextBatch()) {
          if (r.getVectorSchemaRoot().getRowCount() > 0) {
            rows.add(ArrowCopy.deepCopy(r.getVectorSchemaRoot(), alloc));
          }
        }
      } catch (java.io.IOException e) {
        throw new HyprstreamException("cannot read the rows of '" + name + "': " + e, e);
      }
      return new PartitionShare(ts.name, schema, windows, rows);
    } catch (RuntimeException e) {
      windows.forEach(VectorSchemaRoot::close);
      rows.forEach(VectorSchemaRoot::close);
      throw e;
    }
  }

  /**
   * Adds a share another instance exported ({@link #exportShare}) to this instance: its keys'
   * windows to the table's aggregator and its rows to the cache, as a restore (not a live ingest:
   * nothing goes to the log or the backend). The keys must hold nothing here. Runs on the thread
   * that applies the partitions. The caller keeps the share.
   *
   * @throws IllegalArgumentException when the windows do not fit the table's aggregation
   * @throws UnsupportedOperationException when the table's aggregator cannot import state
   */
  public void importShare(PartitionShare share, BufferAllocator alloc) {
    checkOpen.run();
    TableState ts = tables.table(share.table());
    ts.flushLock.lock();
    ts.lock.lock();
    try {
      Schema grown = ts.schema == null ? share.schema() : Columns.merged(ts.schema, share.schema());
      if (!grown.equals(ts.schema)) {
        cache.ensureTable(ts.name, grown);
        ts.adopt(grown);
      }
      if (ts.specOrNull() != null && !share.windows().isEmpty()) {
        ts.ensureAggregator(grown);
        java.util.Objects.requireNonNull(ts.aggregator).importState(share.windows());
      }
    } finally {
      ts.lock.unlock();
      ts.flushLock.unlock();
    }
    List<VectorSchemaRoot> rows = new ArrayList<>(share.rows().size());
    for (VectorSchemaRoot r : share.rows()) {
      rows.add(ArrowCopy.share(r, alloc));
    }
    ingest.ingestOwned(ts.name, rows, io.hyprstream.internal.ingest.IngestMode.RESTORE_ROWS);
    ingest.changed(ts); // the imported windows count as changed: the views pick them up
  }

  /**
   * Drops the rows and window state of table {@code name}'s keys that moved to another instance:
   * its raw rows and window view rows matching {@code moved} (a DuckDB condition over the key
   * column), and the aggregator's windows of the keys {@code movedKey} accepts. Returns the windows
   * dropped, or -1 when the table's aggregator cannot drop keys (they stay, left out of reads).
   * Runs on the thread that applies the partitions, so no row of those keys arrives meanwhile.
   */
  public long forgetKeys(
      String name, String moved, java.util.function.Predicate<List<@Nullable Object>> movedKey) {
    checkOpen.run();
    TableState ts = tables.get(name);
    if (ts == null) {
      return 0;
    }
    flusher.flush(ts);
    if (cache.delete(ts.name, moved) > 0) {
      versions.changed(Tables.key(ts.name));
    }
    io.hyprstream.api.AggregationSpec spec = ts.specOrNull();
    if (spec == null || ts.aggregator == null) {
      return 0;
    }
    long dropped;
    ts.viewLock.lock();
    try {
      ts.lock.lock();
      try {
        dropped = ts.aggregator.forget(movedKey);
      } finally {
        ts.lock.unlock();
      }
      if (dropped >= 0) {
        for (io.hyprstream.api.WindowSpec w : spec.windows()) {
          if (cache.delete(spec.viewName(w), moved) > 0) {
            versions.changed(Tables.key(spec.viewName(w)));
          }
        }
      }
    } finally {
      ts.viewLock.unlock();
    }
    return dropped;
  }

  /**
   * The rows of the ingested tables {@code analysis} reads that the receiving instance reads once
   * from the backend ({@link Router#clusterColdReads}), each owner answering from the boundary on;
   * empty without a backend.
   *
   * @throws io.hyprstream.api.QueryRejectedException when the backend cannot read rows back exactly
   */
  public List<Router.ColdRead> clusterColdReads(
      StatementAnalysis analysis, List<@Nullable Object> parameters) {
    List<Router.ColdRead> cold = router.clusterColdReads(analysis, parameters, clock.instant());
    if (!cold.isEmpty()) {
      backendReads.checkReadsBackExactly(cold);
    }
    return cold;
  }

  /**
   * The backend's rows of {@code c}'s table before its boundary, or null when the backend holds no
   * table of that name (no row of it was written yet). The caller closes the reader.
   */
  public @Nullable ArrowReader readFromBackend(Router.ColdRead c) {
    if (!backendReads.backendTablesFor(List.of(c)).contains(Tables.key(c.table().name))) {
      return null;
    }
    return backendReads.readBefore(c);
  }

  /**
   * Runs {@code sql} on DuckDB with each relation of {@code extra} read as this instance's own rows
   * of it plus the extra rows ({@link CacheSql#queryWithRows}), after the read-your-writes
   * preparation any query gets. Takes the extra readers; the caller closes the result, allocated
   * from {@code alloc}.
   *
   * @param readElsewhere tables whose rows before a boundary the extra rows hold (read from the
   *     backend, {@link #clusterColdReads}): this instance's share of them is checked from the
   *     boundary on only
   * @param missingElsewhere what the other owners said their shares are missing, each naming its
   *     instance: added to this instance's own in the answer's freshness
   */
  public QueryResult queryWithRows(
      String sql,
      StatementAnalysis analysis,
      List<@Nullable Object> parameters,
      List<CacheSql.ExtraRows> extra,
      List<Router.ColdRead> readElsewhere,
      List<String> missingElsewhere,
      BufferAllocator alloc) {
    try {
      checkOpen.run();
      viewSync.queried();
      guard.check(analysis, true);
      preparation.prepareFor(analysis.names());
    } catch (RuntimeException e) {
      extra.forEach(CacheSql.ExtraRows::closeQuietly);
      throw e;
    }
    Instant now = clock.instant();
    String missing;
    try {
      // This instance's share must be whole too: refused, or said missing, as any query here.
      java.util.Map<String, Long> readFrom = new java.util.HashMap<>();
      readElsewhere.forEach(c -> readFrom.put(Tables.key(c.table().name), c.boundaryMicros()));
      missing = router.missingFromCache(analysis, parameters, now, readFrom);
    } catch (RuntimeException e) {
      extra.forEach(CacheSql.ExtraRows::closeQuietly);
      throw e;
    }
    ArrowReader rows = cacheSql.queryWithRows(sql, parameters, extra, alloc);
    Instant newest = null;
    for (String table : tables.tablesRead(analysis.names())) {
      Instant t = hotSet.newest(table);
      if (t != null && (newest == null || t.isAfter(newest))) {
        newest = t;
      }
    }
    List<String> allMissing = new ArrayList<>(missingElsewhere);
    if (missing != null) {
      allMissing.add(0, missing);
    }
    return QueryResult.of(
        alloc,
        rows,
        Freshness.computed(
            Freshness.Source.CACHE,
            newest,
            now,
            allMissing.isEmpty() ? null : String.join("; ", allMissing)));
  }

  /** An event time past every row's: what the owners' partial aggregates run up to. */
  private static final long NO_BOUNDARY_MICROS =
      TimeLiterals.micros(Instant.parse("9000-01-01T00:00:00Z"));

  /**
   * How a plain aggregate of relation {@code name} ({@link AggregateQuery}) splits into partial
   * aggregates each owner computes over its own rows ({@code backendSql}, DuckDB's dialect) and the
   * statement that combines them ({@code combineSql}, reading {@link
   * AggregateQuery#COLD_PARTIALS}): the single-node split of the backend's rows from the cache's,
   * with every row on the first side. Null when the query is not such an aggregate of {@code name}.
   */
  public AggregateQuery.@Nullable Split partialAggregates(
      String name, String sql, StatementAnalysis analysis, List<@Nullable Object> parameters) {
    AggregateQuery aggregate = analysis.aggregate();
    if (aggregate == null || !Tables.key(aggregate.table()).equals(Tables.key(name))) {
      return null;
    }
    TimeColumn tc = timeColumnOf(name);
    if (tc == null) {
      return null;
    }
    Field time = tc.field();
    List<String> names = new ArrayList<>();
    for (Field f : cacheSql.querySchema(sql).getFields()) {
      names.add(f.getName());
    }
    ChronoUnit u = tc.unit();
    return aggregate.split(
        tc.schema(),
        time.getName(),
        NO_BOUNDARY_MICROS,
        parameters,
        TimeLiterals.micros(Instant.now()), // now() in the SQL is DuckDB's wall clock
        names,
        io.hyprstream.api.SqlIdentifier::quote,
        m -> TimeLiterals.timeLiteral(time, u, TimeLiterals.instantOfMicros(m)),
        m -> TimeLiterals.timeLiteral(time, u, TimeLiterals.instantOfMicros(m)));
  }

  /**
   * Runs {@code combineSql} of a {@link #partialAggregates} split over the owners' partial
   * aggregates {@code partials} (which it takes), saying {@code missing} (what the owners said
   * their shares are missing, or null). The caller closes the result.
   */
  public QueryResult combinePartials(
      String combineSql,
      StatementAnalysis analysis,
      List<ArrowReader> partials,
      @Nullable String missing,
      BufferAllocator alloc) {
    try {
      checkOpen.run();
      guard.check(analysis, true);
    } catch (RuntimeException e) {
      partials.forEach(io.hyprstream.internal.arrow.Closeables::closeQuietly);
      throw e;
    }
    Instant now = clock.instant();
    return QueryResult.of(
        alloc,
        cacheSql.queryWithPartials(combineSql, AggregateQuery.COLD_PARTIALS, partials, alloc),
        Freshness.computed(Freshness.Source.CACHE, null, now, missing));
  }

  /**
   * Runs {@code sql}, which reads the relation {@code name}: the rows of {@code rows}, held in a
   * temporary table for this query only ({@link CacheSql#queryWithPartials}). Takes {@code rows};
   * the caller closes the result.
   */
  public QueryResult queryWithTable(
      String sql,
      StatementAnalysis analysis,
      String name,
      ArrowReader rows,
      BufferAllocator alloc) {
    try {
      checkOpen.run();
      guard.check(analysis, true);
      preparation.prepareFor(analysis.names());
    } catch (RuntimeException e) {
      io.hyprstream.internal.arrow.Closeables.closeQuietly(rows);
      throw e;
    }
    Instant now = clock.instant();
    return QueryResult.of(
        alloc,
        cacheSql.queryWithPartials(sql, name, rows, alloc),
        Freshness.computed(Freshness.Source.CACHE, now, now, null));
  }
}
