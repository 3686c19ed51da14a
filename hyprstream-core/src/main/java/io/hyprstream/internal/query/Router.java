package io.hyprstream.internal.query;

import io.hyprstream.api.BackendStore;
import io.hyprstream.api.CacheStore;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.internal.sql.SqlAnalyser;
import io.hyprstream.internal.sql.StatementAnalysis;
import io.hyprstream.internal.sql.TableRef;
import io.hyprstream.internal.sql.TimeLiterals;
import io.hyprstream.internal.sql.TimeSpan;
import io.hyprstream.internal.table.HotSet;
import io.hyprstream.internal.table.TableState;
import io.hyprstream.internal.table.Tables;
import io.hyprstream.internal.table.TimeRange;
import io.hyprstream.internal.wal.WriteAheadLog;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides where a query runs: on the cache alone, on the cache with the rows it no longer holds
 * read from the backend ({@link BackendReads}), or wholly on the backend.
 */
public final class Router {
  private static final Logger LOG = LoggerFactory.getLogger(Router.class);

  private final Tables tables;
  private final CacheStore cache;
  private final HotSet hotSet;
  private final @Nullable BackendStore backend;
  private final Duration cacheDuration;
  private final Instant startedAt;
  private final @Nullable Set<String> heldBeforeStart;
  private final boolean clusterMode;

  /**
   * @param startedAt when this instance started: with a backend, rows acknowledged before may be
   *     only there
   * @param heldBeforeStart see {@link #heldBeforeStart(BackendStore, List)}
   * @param clusterMode true for a cluster's partition owner: the backend holds every owner's rows,
   *     so reading it here would add the other partitions' rows to this instance's share; a query
   *     that needs it is refused instead
   */
  public Router(
      Tables tables,
      CacheStore cache,
      HotSet hotSet,
      @Nullable BackendStore backend,
      Duration cacheDuration,
      Instant startedAt,
      @Nullable Set<String> heldBeforeStart,
      boolean clusterMode) {
    this.tables = tables;
    this.cache = cache;
    this.hotSet = hotSet;
    this.backend = backend;
    this.cacheDuration = cacheDuration;
    this.startedAt = startedAt;
    this.heldBeforeStart = heldBeforeStart;
    this.clusterMode = clusterMode;
  }

  /** Makes the next routing list the backend's tables again: it may have gained one. */
  void forgetBackendTables() {
    backendTablesReadAt = 0;
  }

  // Backend table names, re-read at most every few seconds (it is a remote call).
  private volatile Set<String> backendTableNames = Set.of();
  private volatile long backendTablesReadAt;

  Set<String> backendTables() {
    BackendStore b = backend;
    if (b == null) {
      return Set.of();
    }
    long now = System.nanoTime();
    if (backendTablesReadAt == 0 || now - backendTablesReadAt > TimeUnit.SECONDS.toNanos(5)) {
      Set<String> names = new HashSet<>();
      try {
        for (String t : b.tables()) {
          names.add(Tables.key(t));
        }
        backendTableNames = names;
      } catch (RuntimeException e) {
        LOG.debug("cannot list the backend's tables: {}", e.getMessage());
      }
      backendTablesReadAt = now;
    }
    return backendTableNames;
  }

  /**
   * Where a query runs. {@code backendWhy} set: the whole statement runs on the backend (it names a
   * table only the backend holds, or a catalog-qualified table whose rows the cache lacks). {@code
   * cold} not empty: it runs on DuckDB with those tables' missing rows read from the backend.
   * Otherwise it runs on the cache alone, and {@code missing} says what rows it cannot see. {@code
   * ranges}: the span of each cached table it reads, by key, for the hot-set accounting.
   */
  record Route(
      @Nullable String backendWhy,
      List<ColdRead> cold,
      @Nullable String missing,
      Map<String, TimeRange> ranges) {
    boolean local() {
      return backendWhy == null && cold.isEmpty();
    }
  }

  /**
   * Rows of {@code table} the cache does not hold and a query needs: event times in {@code
   * [fromMicros, boundaryMicros)} ({@code fromMicros} may be {@code Long.MIN_VALUE}). The cache
   * holds every row at or after the boundary.
   */
  public record ColdRead(
      TableState table, String timeColumn, long fromMicros, long boundaryMicros) {}

  /**
   * How far inside the cache duration a cluster reads from the backend, at most: the owners' clocks
   * and their expiry passes may run this far apart without a row falling between the two reads. A
   * tenth of the cache duration when that is less, so a short cache still answers from the caches.
   */
  public static final Duration CLUSTER_COLD_MARGIN = Duration.ofMinutes(1);

  /** The margin {@link #clusterColdReads} keeps inside this cache's duration. */
  private Duration clusterColdMargin() {
    Duration tenth = cacheDuration.dividedBy(10);
    return tenth.compareTo(CLUSTER_COLD_MARGIN) < 0 ? tenth : CLUSTER_COLD_MARGIN;
  }

  /**
   * For a cluster with a backend: the rows of each ingested table {@code analysis} reads that lie
   * before the cluster's cold boundary ({@link #clusterColdMargin} inside the cache duration, from
   * {@code now}), which the receiving instance reads once from the backend while every owner
   * answers only from the boundary on. Any owner may have let those rows leave its cache, and which
   * did is not known here, so the split does not depend on this instance's own expiry. Empty
   * without a backend, for a query the analyser cannot bound, and for tables without an event time
   * (their rows never leave).
   */
  public List<ColdRead> clusterColdReads(
      StatementAnalysis analysis, List<@Nullable Object> parameters, Instant now) {
    if (backend == null || !analysis.isQuery()) {
      return List.of();
    }
    long boundary = TimeLiterals.micros(now.minus(cacheDuration).plus(clusterColdMargin()));
    Instant sqlNow = Instant.now(); // see routeAnywhere
    List<ColdRead> cold = new ArrayList<>();
    for (TableState ts : tables.all()) {
      if (analysis.referencesTo(ts.name).isEmpty()) {
        continue;
      }
      String column = tables.timeColumnOf(ts);
      if (column == null) {
        continue;
      }
      TimeSpan span = analysis.bounds(ts.name, column, parameters, sqlNow);
      long from = span == null ? Long.MIN_VALUE : span.fromMicros();
      if (from < boundary) {
        cold.add(new ColdRead(ts, column, from, boundary));
      }
    }
    return cold;
  }

  /**
   * Keys of the tables whose rows an instance starting now may not have in its cache because they
   * were acknowledged before (the backend holds them, or the log re-sends them); null when the
   * backend could not say, which counts every table.
   */
  public static @Nullable Set<String> heldBeforeStart(
      @Nullable BackendStore backend, List<WriteAheadLog.Record> recovered) {
    BackendStore b = backend;
    if (b == null) {
      return Set.of();
    }
    Set<String> held = new HashSet<>();
    try {
      for (String t : b.tables()) {
        held.add(Tables.key(t));
      }
    } catch (RuntimeException e) {
      LOG.warn(
          "cannot list {}'s tables ({}); queries reaching before this start read from it",
          b.name(),
          e.getMessage());
      return null;
    }
    for (WriteAheadLog.Record r : recovered) {
      held.add(Tables.key(r.table));
    }
    return held;
  }

  /**
   * Decides where a query runs, from DuckDB's parse of it ({@link SqlAnalyser}). A cached table
   * stays on the cache only when the query is proven to read none of its rows older than what the
   * cache is sure to hold: rows within the cache duration, since this start when there is a backend
   * (rows acknowledged before it may be only there), and after its last evicted partition the query
   * reaches. Unknown bounds count as unbounded.
   */
  Route route(StatementAnalysis analysis, List<@Nullable Object> parameters, Instant now) {
    return check(routeAnywhere(analysis, parameters, now, Map.of()));
  }

  /**
   * Why the whole statement runs on the backend, or null: what its result schema depends on. Rows
   * it reads from the backend besides the cache's do not change the schema, so a query a cluster
   * splits at its cold boundary gets its schema here too.
   */
  @Nullable String wholeStatementOnBackend(StatementAnalysis analysis, Instant now) {
    Route route = routeAnywhere(analysis, List.of(), now, Map.of());
    return route.backendWhy() == null ? null : check(route).backendWhy();
  }

  /** {@code route}, or in cluster mode the refusal of a route that needs the backend. */
  private Route check(Route route) {
    if (clusterMode && !route.local()) {
      String why =
          route.backendWhy() != null
              ? route.backendWhy()
              : "rows of '"
                  + route.cold().get(0).table().name
                  + "' before "
                  + TimeLiterals.instantOfMicros(route.cold().get(0).boundaryMicros())
                  + " have left this instance's cache";
      throw new QueryRejectedException(
          why
              + "; in cluster mode an owner answers only from its cache, and the receiving"
              + " instance reads the backend ("
              + Objects.requireNonNull(backend).name()
              + ") only for rows older than about the cache duration: bound the query to rows the"
              + " cache holds (docs/cluster.md)",
          null);
    }
    return route;
  }

  /**
   * For a query that runs on this instance's cache alone (a cluster's share of a query): what rows
   * it cannot see there, or null when it sees every row it needs.
   *
   * @throws QueryRejectedException when the query needs rows only the backend holds (cluster mode)
   */
  public @Nullable String missingFromCache(
      StatementAnalysis analysis, List<@Nullable Object> parameters, Instant now) {
    return missingFromCache(analysis, parameters, now, Map.of());
  }

  /**
   * {@link #missingFromCache(StatementAnalysis, List, Instant)} for a query whose rows of some
   * tables are read from the cache only from a time on: {@code readFrom} maps a table's key to that
   * time (epoch micros), the rows before it being read elsewhere ({@link #clusterColdReads}).
   */
  public @Nullable String missingFromCache(
      StatementAnalysis analysis,
      List<@Nullable Object> parameters,
      Instant now,
      Map<String, Long> readFrom) {
    return check(routeAnywhere(analysis, parameters, now, readFrom)).missing();
  }

  /** {@link #route} wherever the rows are, the backend included. */
  private Route routeAnywhere(
      StatementAnalysis analysis,
      List<@Nullable Object> parameters,
      Instant now,
      Map<String, Long> readFrom) {
    Set<String> words = analysis.names();
    // The status tables live in the cache and must answer while the backend is away or stalled,
    // so a query naming them never waits for the backend's table listing.
    boolean statusQuery =
        words.contains(SystemTables.BACKEND_STATUS_TABLE)
            || words.contains(SystemTables.QUARANTINE_TABLE);
    if (backend != null && !statusQuery) {
      Set<String> remote = backendTables();
      List<String> named = new ArrayList<>();
      if (analysis.isQuery()) {
        for (TableRef t : analysis.tables()) {
          named.add(Tables.key(t.name()));
        }
      } else {
        named.addAll(words);
      }
      for (String w : named) {
        if (remote.contains(w)
            && !tables.keys().contains(w)
            && !tables.isView(w)
            && cache.tableSchema(w) == null) {
          return new Route("'" + w + "' is held only by the backend", List.of(), null, Map.of());
        }
      }
    }
    long coverage = TimeLiterals.micros(now.minus(cacheDuration));
    Set<String> before = heldBeforeStart;
    // now() in the SQL is DuckDB's (the wall clock), not the engine's clock; it only moves later
    // between this analysis and the run, which makes a lower bound found here safe.
    Instant sqlNow = Instant.now();
    Map<String, TimeRange> ranges = new HashMap<>();
    List<ColdRead> cold = new ArrayList<>();
    String missing = null;
    for (TableState ts : tables.all()) {
      String k = Tables.key(ts.name);
      boolean reads =
          analysis.isQuery() ? !analysis.referencesTo(ts.name).isEmpty() : words.contains(k);
      if (!reads) {
        continue;
      }
      String column = tables.timeColumnOf(ts);
      TimeRange range = TimeRange.ALL;
      if (column != null && analysis.isQuery()) {
        TimeSpan span = analysis.bounds(ts.name, column, parameters, sqlNow);
        if (span != null) {
          range = new TimeRange(span.fromMicros(), span.toMicros());
        }
      }
      Long from = readFrom.get(k);
      if (from != null && from > range.from()) {
        range = new TimeRange(from, range.to());
      }
      ranges.put(k, range);
      if (column == null) {
        continue; // without an event time, rows neither expire nor leave for the budget
      }
      // The cache holds every row of the table from the boundary on: all of them unless expiry
      // deleted some, rows were acknowledged before this start, or a partition was evicted.
      long boundary = Long.MIN_VALUE;
      if (hotSet.expiredRows(k) > 0) {
        boundary = coverage;
      }
      if (before == null || before.contains(k)) {
        boundary = Math.max(boundary, Math.max(coverage, TimeLiterals.micros(startedAt)));
      }
      Long evictedEnd = hotSet.evictedEndWithin(k, range);
      if (evictedEnd != null) {
        boundary = Math.max(boundary, evictedEnd);
      }
      if (range.from() >= boundary) {
        continue; // proven within what the cache holds
      }
      if (backend == null) {
        if (missing == null) {
          missing =
              "rows of '"
                  + ts.name
                  + "' before "
                  + TimeLiterals.instantOfMicros(boundary)
                  + " left the cache (expired after the cache duration or evicted for its memory"
                  + " budget), and there is no backend to read them from";
        }
        continue;
      }
      if (!analysis.isQuery()) {
        missing =
            missing == null
                ? "the statement is not a query the router can analyse ("
                    + analysis.error()
                    + "); it saw only the cache's rows of '"
                    + ts.name
                    + "', from "
                    + TimeLiterals.instantOfMicros(boundary)
                : missing;
        continue;
      }
      for (TableRef ref : analysis.referencesTo(ts.name)) {
        if (ref.catalogQualified()) {
          return new Route(
              "'"
                  + ref
                  + "' is named with its catalog, so the backend's rows of it before "
                  + TimeLiterals.instantOfMicros(boundary)
                  + " cannot be joined to the cache's",
              List.of(),
              null,
              ranges);
        }
      }
      cold.add(new ColdRead(ts, column, range.from(), boundary));
    }
    return new Route(null, cold, missing, ranges);
  }
}
