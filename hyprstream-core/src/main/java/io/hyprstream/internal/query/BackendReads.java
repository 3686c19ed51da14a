package io.hyprstream.internal.query;

import static io.hyprstream.api.SqlIdentifier.quote;

import io.hyprstream.Operations;
import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.SqlIdentifier;
import io.hyprstream.api.TimeSlice;
import io.hyprstream.internal.arrow.BatchListReader;
import io.hyprstream.internal.arrow.Closeables;
import io.hyprstream.internal.arrow.Columns;
import io.hyprstream.internal.cache.CacheSql;
import io.hyprstream.internal.sql.AggregateQuery;
import io.hyprstream.internal.sql.SqlLiterals;
import io.hyprstream.internal.sql.StatementAnalysis;
import io.hyprstream.internal.sql.TimeLiterals;
import io.hyprstream.internal.table.Tables;
import io.hyprstream.writethrough.Quarantine;
import io.hyprstream.writethrough.WriteThrough;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the backend for a query: the rows the cache no longer holds, joined to the cache's own in
 * DuckDB (or, for a plain aggregate, partial aggregates the backend computes), or the whole
 * statement when it names a table only the backend holds.
 */
public final class BackendReads {
  private static final Logger LOG = LoggerFactory.getLogger(BackendReads.class);

  private final CacheSql cache;
  private final BufferAllocator allocator;
  private final Router router;
  private final @Nullable BackendStore backend;
  private final @Nullable WriteThrough writeThrough;

  public BackendReads(
      CacheSql cache,
      BufferAllocator allocator,
      Router router,
      @Nullable BackendStore backend,
      @Nullable WriteThrough writeThrough) {
    this.cache = cache;
    this.allocator = allocator;
    this.router = router;
    this.backend = backend;
    this.writeThrough = writeThrough;
  }

  /** How many queries read what the cache no longer holds from the backend, since the start. */
  public Operations.ColdReads counts() {
    return new Operations.ColdReads(coldRowReads.sum(), splitAggregates.sum());
  }

  /** How long a backend-routed query waits for queued writes to reach the backend. */
  public static final Duration BACKEND_READ_WAIT = Duration.ofSeconds(5);

  // Queries that read rows the cache no longer holds, by how: the rows themselves, or partial
  // aggregates the backend computed (see querySplitAggregate).
  private final LongAdder coldRowReads = new LongAdder();
  private final LongAdder splitAggregates = new LongAdder();

  /**
   * Runs {@code sql} unchanged on DuckDB where each table of {@code cold} reads as its rows from
   * the backend before the boundary plus the cache's rows from the boundary on: the backend is
   * asked only a portable {@code SELECT *} with a time predicate, so its dialect never meets
   * DuckDB's SQL (PostgreSQL cannot run {@code time_bucket(INTERVAL 1 HOUR, …)}).
   */
  ArrowReader queryWithColdRows(
      String sql,
      StatementAnalysis analysis,
      List<@Nullable Object> parameters,
      BufferAllocator alloc,
      List<Router.ColdRead> cold) {
    BackendStore b = Objects.requireNonNull(backend);
    WriteThrough wt = Objects.requireNonNull(writeThrough);
    checkReadsBackExactly(cold);
    // Every acknowledged row must be in the backend before its older rows are read from there.
    if (!wt.drain(BACKEND_READ_WAIT)) {
      LOG.warn(
          "reading older rows from {} with {} batches still queued for it",
          b.name(),
          wt.status().backlogBatches());
    }
    Set<String> remote = backendTablesFor(cold);
    ArrowReader split = querySplitAggregate(sql, analysis, parameters, alloc, cold, remote);
    if (split != null) {
      return split;
    }
    coldRowReads.increment();
    List<CacheSql.ExtraRows> extra = new ArrayList<>();
    try {
      for (Router.ColdRead c : cold) {
        if (!remote.contains(Tables.key(c.table().name))) {
          continue; // the backend never received a row of it: the cache holds them all
        }
        Field time = timeField(c);
        ChronoUnit unit = Tables.epochUnitOf(c.table());
        Instant boundary = TimeLiterals.instantOfMicros(c.boundaryMicros());
        String column = quote(time.getName());
        ArrowReader rows = readBefore(c);
        // Batches the backend refused as data are acknowledged rows it does not hold: they are
        // read from the quarantine, for the same span.
        String coldSpan = column + " < " + TimeLiterals.timeLiteral(time, unit, boundary);
        if (c.fromMicros() != Long.MIN_VALUE) {
          coldSpan +=
              " AND "
                  + column
                  + " >= "
                  + TimeLiterals.timeLiteral(
                      time, unit, TimeLiterals.instantOfMicros(c.fromMicros()));
        }
        List<ArrowReader> quarantined = new ArrayList<>();
        try {
          for (Quarantine.Entry e : wt.quarantined()) {
            if (!Tables.key(e.table()).equals(Tables.key(c.table().name))) {
              continue;
            }
            Quarantine.Loaded l = wt.readQuarantined(e.batchId(), allocator);
            if (l != null) {
              quarantined.add(
                  new BatchListReader(allocator, l.batch().getSchema(), List.of(l.batch())));
            }
          }
        } catch (RuntimeException ex) {
          Closeables.closeQuietly(rows);
          quarantined.forEach(Closeables::closeQuietly);
          throw ex;
        }
        extra.add(
            new CacheSql.ExtraRows(c.table().name, rows, hotPredicate(c), quarantined, coldSpan));
      }
    } catch (RuntimeException e) {
      extra.forEach(CacheSql.ExtraRows::closeQuietly);
      throw e;
    }
    return cache.queryWithRows(sql, parameters, extra, alloc);
  }

  /**
   * @throws QueryRejectedException when the backend cannot read rows back exactly, so the rows of
   *     {@code cold} cannot come from it
   */
  public void checkReadsBackExactly(List<Router.ColdRead> cold) {
    BackendStore b = Objects.requireNonNull(backend);
    if (!b.readsBackExactly() && !cold.isEmpty()) {
      Router.ColdRead c = cold.get(0);
      throw new QueryRejectedException(
          onlyTheBackendHolds(c, b)
              + ", and rows read back from it would not be exact; bound the query's time"
              + " column to the cache's range to answer from the cache",
          null);
    }
  }

  /** "the query reads rows of 't' before <boundary>, which only <backend> holds". */
  private static String onlyTheBackendHolds(Router.ColdRead c, BackendStore b) {
    return "the query reads rows of '"
        + c.table().name
        + "' before "
        + TimeLiterals.instantOfMicros(c.boundaryMicros())
        + ", which only "
        + b.name()
        + " holds";
  }

  /**
   * The keys of the backend's tables, listed again once when one of {@code cold}'s tables is not
   * among them: the listing may predate the table's first write.
   */
  public Set<String> backendTablesFor(List<Router.ColdRead> cold) {
    Set<String> remote = router.backendTables();
    for (Router.ColdRead c : cold) {
      if (!remote.contains(Tables.key(c.table().name))) {
        router.forgetBackendTables();
        return router.backendTables();
      }
    }
    return remote;
  }

  /** The cache's rows {@code c} leaves to the cache: its time column at or after the boundary. */
  public static String hotPredicate(Router.ColdRead c) {
    Field time = timeField(c);
    return quote(time.getName())
        + " >= "
        + TimeLiterals.timeLiteral(
            time, Tables.epochUnitOf(c.table()), TimeLiterals.instantOfMicros(c.boundaryMicros()));
  }

  private static Field timeField(Router.ColdRead c) {
    Schema schema = Objects.requireNonNull(c.table().schema);
    return Objects.requireNonNull(Columns.field(schema, c.timeColumn()));
  }

  /**
   * The backend's rows of {@code c}'s table with event times in {@code [from, boundary)}, read with
   * a portable {@code SELECT *} and a time predicate. Allocated from this engine's allocator.
   *
   * @throws BackendUnavailableException naming the table and the backend when it cannot be reached
   *     (failing beats a partial answer: most SQL clients never see the freshness metadata)
   */
  public ArrowReader readBefore(Router.ColdRead c) {
    BackendStore b = Objects.requireNonNull(backend);
    Field time = timeField(c);
    ChronoUnit unit = Tables.epochUnitOf(c.table());
    TimeSlice slice =
        new TimeSlice(
            c.table().name,
            time,
            c.fromMicros() == Long.MIN_VALUE
                ? TimeSlice.NO_LOWER_BOUND
                : TimeLiterals.columnValue(time, unit, c.fromMicros()),
            TimeLiterals.columnValue(time, unit, c.boundaryMicros()));
    LOG.debug("reading {} from {}", slice, b.name());
    try {
      return b.read(slice, allocator);
    } catch (BackendUnavailableException e) {
      throw new BackendUnavailableException(
          onlyTheBackendHolds(c, b)
              + ", and it cannot be reached: "
              + e.getMessage()
              + " (bound the query's time column to the cache's range to answer from the cache)",
          e);
    }
  }

  /**
   * Answers a plain aggregate of one table ({@link AggregateQuery}) from partial aggregates: the
   * backend's over the rows before the cache's boundary, DuckDB's over the rest, combined in
   * DuckDB. Null when the query, the table or the backend does not allow it, or the backend refused
   * the partial query: the caller then reads the rows themselves.
   */
  private @Nullable ArrowReader querySplitAggregate(
      String sql,
      StatementAnalysis analysis,
      List<@Nullable Object> parameters,
      BufferAllocator alloc,
      List<Router.ColdRead> cold,
      Set<String> remote) {
    BackendStore b = Objects.requireNonNull(backend);
    AggregateQuery aggregate = analysis.aggregate();
    if (aggregate == null || cold.size() != 1 || !b.computesPartialAggregates()) {
      return null;
    }
    Router.ColdRead c = cold.get(0);
    String table = c.table().name;
    if (!Tables.key(aggregate.table()).equals(Tables.key(table))
        || !remote.contains(Tables.key(table))) {
      return null;
    }
    // Quarantined batches are acknowledged rows the backend does not hold: the row path adds them.
    for (Quarantine.Entry e : Objects.requireNonNull(writeThrough).quarantined()) {
      if (Tables.key(e.table()).equals(Tables.key(table))) {
        return null;
      }
    }
    Schema schema = Objects.requireNonNull(c.table().schema);
    Field time = timeField(c);
    if (!(time.getType() instanceof ArrowType.Timestamp)) {
      return null;
    }
    ChronoUnit unit = Tables.epochUnitOf(c.table());
    // Only to write the backend's literals of this time column.
    TimeSlice column =
        new TimeSlice(table, time, TimeSlice.NO_LOWER_BOUND, TimeSlice.NO_UPPER_BOUND);
    List<String> names = new ArrayList<>();
    for (Field f : cache.querySchema(sql).getFields()) {
      names.add(f.getName());
    }
    AggregateQuery.Split split =
        aggregate.split(
            schema,
            time.getName(),
            c.boundaryMicros(),
            parameters,
            TimeLiterals.micros(
                Instant.now()), // now() in the SQL is DuckDB's wall clock: see route()
            names,
            SqlIdentifier::quote,
            m -> TimeLiterals.timeLiteral(time, unit, TimeLiterals.instantOfMicros(m)),
            column::portableLiteral);
    if (split == null) {
      return null;
    }
    LOG.debug("splitting an aggregate of '{}' at {}: {}", table, c.boundaryMicros(), split);
    ArrowReader partials;
    try {
      partials = b.query(split.backendSql(), allocator);
    } catch (BackendUnavailableException e) {
      throw e;
    } catch (RuntimeException e) {
      LOG.warn(
          "{} refused the partial aggregate of '{}' ({}); reading its rows instead",
          b.name(),
          table,
          e.getMessage());
      return null;
    }
    ArrowReader combined =
        cache.queryWithPartials(split.combineSql(), AggregateQuery.COLD_PARTIALS, partials, alloc);
    splitAggregates.increment();
    return combined;
  }

  ArrowReader queryBackend(
      String sql, List<@Nullable Object> parameters, BufferAllocator alloc, String why) {
    BackendStore b = Objects.requireNonNull(backend);
    WriteThrough wt = Objects.requireNonNull(writeThrough);
    // Read-your-writes through the backend: let acknowledged rows reach it first (bounded).
    if (!wt.drain(BACKEND_READ_WAIT)) {
      LOG.warn(
          "answering from {} with {} batches still queued for it",
          b.name(),
          wt.status().backlogBatches());
    }
    String inlined;
    try {
      inlined = SqlLiterals.inline(sql, parameters);
    } catch (IllegalArgumentException e) {
      throw new QueryRejectedException(
          e.getMessage() + " (the query runs on the backend: " + why + ")", e);
    }
    LOG.debug("routing to {}: {}", b.name(), why);
    return b.query(inlined, alloc);
  }
}
