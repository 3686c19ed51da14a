package io.hyprstream.internal;

import com.github.benmanes.caffeine.cache.Ticker;
import io.hyprstream.Allocators;
import io.hyprstream.Hyprstream;
import io.hyprstream.Operations;
import io.hyprstream.QueryResult;
import io.hyprstream.StatementInfo;
import io.hyprstream.api.BackendStore;
import io.hyprstream.api.CacheStatistics;
import io.hyprstream.api.CacheStore;
import io.hyprstream.api.IngestResult;
import io.hyprstream.internal.cache.CacheSql;
import io.hyprstream.internal.ingest.Flusher;
import io.hyprstream.internal.ingest.IngestLog;
import io.hyprstream.internal.ingest.IngestPipeline;
import io.hyprstream.internal.ingest.ViewSync;
import io.hyprstream.internal.query.BackendReads;
import io.hyprstream.internal.query.Catalog;
import io.hyprstream.internal.query.InsertAsIngest;
import io.hyprstream.internal.query.QueryPath;
import io.hyprstream.internal.query.ReadPreparation;
import io.hyprstream.internal.query.ResultCache;
import io.hyprstream.internal.query.Router;
import io.hyprstream.internal.query.StatementGuard;
import io.hyprstream.internal.query.SystemTables;
import io.hyprstream.internal.recovery.Recovery;
import io.hyprstream.internal.recovery.Snapshotter;
import io.hyprstream.internal.recovery.WindowSnapshots;
import io.hyprstream.internal.retention.Evictor;
import io.hyprstream.internal.retention.Expirer;
import io.hyprstream.internal.sql.Change;
import io.hyprstream.internal.sql.InsertStatement;
import io.hyprstream.internal.sql.SqlAnalyser;
import io.hyprstream.internal.sql.StatementAnalysis;
import io.hyprstream.internal.table.ChangeVersions;
import io.hyprstream.internal.table.HotSet;
import io.hyprstream.internal.table.MetricsTable;
import io.hyprstream.internal.table.TableState;
import io.hyprstream.internal.table.Tables;
import io.hyprstream.internal.wal.WriteAheadLog;
import io.hyprstream.writethrough.Quarantine;
import io.hyprstream.writethrough.WriteThrough;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Hyprstream} implementation: a facade over the engine's named parts, which it opens in
 * order and closes in reverse.
 *
 * <ul>
 *   <li>Ingest ({@link IngestPipeline}): validate, aggregate, log, queue, then write-through; the
 *       {@link Flusher} moves queued batches into DuckDB on a thread of its own.
 *   <li>Query ({@link QueryPath}): window lookup, result cache, then {@link ReadPreparation} and
 *       DuckDB, or the backend where the {@link Router} says.
 *   <li>Retention: the {@link Expirer} (cache duration, window retention) and the {@link Evictor}
 *       (memory budget).
 *   <li>Recovery at start ({@link Recovery}) and window snapshots ({@link Snapshotter}).
 * </ul>
 *
 * The tables they share are in {@link Tables}; docs/architecture.md draws the data flow.
 */
public final class Engine implements Hyprstream {
  private static final Logger LOG = LoggerFactory.getLogger(Engine.class);

  /** Segments of the write-ahead log roll at this size. */
  static final long WAL_SEGMENT_BYTES = 64L << 20;

  private final EngineConfig config;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final @Nullable BufferAllocator ownedRoot;
  private final BufferAllocator allocator;
  private final CacheStore cache;
  private final Tables tables;
  private final HotSet hotSet;
  private final ChangeVersions versions = new ChangeVersions();
  private final @Nullable ResultCache results;
  private final SystemTables systemTables;

  /**
   * The backend, or null for {@link BackendStore#none()}: translated once here, so that every part
   * reads "no backend" as null and none of them opens the log, write-through or a restore for it.
   */
  private final @Nullable BackendStore backend;

  private final @Nullable WriteAheadLog wal;
  private final @Nullable WriteThrough writeThrough;
  private final Flusher flusher;
  private final ViewSync viewSync;
  private final IngestPipeline ingest;
  private final Expirer expirer;
  private final SqlAnalyser analyser;
  private final StatementGuard guard;
  private final Catalog catalog;
  private final InsertAsIngest inserts;
  private final BackendReads backendReads;
  private final Operations operations;
  private final ClusterFacet clusterFacet;
  private final ReadPreparation preparation;
  private final QueryPath queryPath;

  /** Null when no window snapshots are taken (no backend, a cache file, or off). */
  private final @Nullable Snapshotter snapshotter;

  /**
   * Opens the parts in order: allocator, DuckDB, the log and write-through (with a backend), the
   * flusher and expiry threads, then the restore from the backend. A failure at any step closes
   * what the steps before it opened, the backend included, and rethrows.
   */
  public Engine(EngineConfig config) {
    this.config = config;
    Deque<AutoCloseable> opened = new ArrayDeque<>(); // closed in reverse if a step fails
    BufferAllocator parent = config.allocator();
    this.ownedRoot = parent == null ? Allocators.newRoot() : null;
    try {
      if (ownedRoot != null) {
        opened.push(ownedRoot);
      }
      this.allocator =
          Objects.requireNonNull(parent != null ? parent : ownedRoot)
              .newChildAllocator("hyprstream", 0, Long.MAX_VALUE);
      opened.push(allocator);
      this.backend = config.backend() == BackendStore.none() ? null : config.backend();
      if (backend != null) {
        opened.push(backend); // the engine owns it from here on, and closes it on a failed start
      }
      this.cache = Objects.requireNonNull(config.openCache().apply(allocator), "cache store");
      opened.push(cache);
      // A store holding tables already (a cache file, a persistent custom store) is not restored
      // into from the backend: that would add its rows twice.
      boolean cacheStartsEmpty = config.cacheFile() == null && cache.tables().isEmpty();
      CacheSql cacheSql = new CacheSql(cache, allocator);
      String catalogName = cacheSql.catalogName();
      Instant startedAt = config.clock().instant();
      Tables tables =
          new Tables(
              config.aggregations(),
              config.timeColumns(),
              cache,
              config.aggregators(),
              allocator,
              config.ingestIdsRemembered());
      this.tables = tables;
      // Tables with window aggregates and their views refuse DDL, so none of them is a SQL view.
      this.analyser =
          new SqlAnalyser(
              cacheSql::parseTree,
              cacheSql::planTree,
              name -> tables.spec(name) != null || tables.isView(name));
      this.hotSet =
          new HotSet(
              config.cache().memoryBudgetBytes(),
              config.cache().evictionPolicy(),
              partitionWidth(config.cacheDuration()));
      this.results =
          config.cache().resultCacheBytes() == 0
              ? null
              : new ResultCache(
                  allocator,
                  config.cache().resultCacheBytes(),
                  config.cache().resultCacheTtl(),
                  tickerOf(config.clock()));
      if (results != null) {
        opened.push(results);
      }
      this.systemTables = new SystemTables(cache);
      createMetricsTable();
      List<WriteAheadLog.Record> recovered = List.of();
      // In cluster mode Kafka is the log and the partition owners write the backend themselves.
      boolean ownLog = backend != null && !config.clusterMode();
      if (ownLog) {
        this.wal =
            WriteAheadLog.open(
                config.dataDirectory().resolve("wal"),
                config.walMaxBytes(),
                WAL_SEGMENT_BYTES,
                allocator);
        opened.push(wal);
        this.writeThrough =
            new WriteThrough(
                Objects.requireNonNull(backend),
                wal,
                new Quarantine(config.dataDirectory().resolve("quarantine")),
                config.writeThroughBounds(),
                allocator);
        opened.push(writeThrough);
        // Sent once the start knows which of them the backend holds (see Recovery).
        recovered = wal.recovered();
      } else {
        this.wal = null;
        this.writeThrough = null;
      }
      this.flusher = new Flusher(tables, cache, allocator);
      opened.push(flusher);
      this.viewSync = new ViewSync(tables, cache, allocator);
      opened.push(viewSync);
      Evictor evictor = new Evictor(tables, flusher, cache, hotSet, versions);
      this.ingest =
          new IngestPipeline(
              tables,
              cache,
              allocator,
              config.clock(),
              flusher,
              hotSet,
              versions,
              backend,
              wal,
              writeThrough,
              config.synchronousWriteThrough(),
              evictor::enforceMemoryBudget,
              config.windowListener());
      this.expirer =
          new Expirer(
              tables,
              flusher,
              cache,
              hotSet,
              versions,
              config.clock(),
              config.cacheDuration(),
              config.expiryInterval());
      opened.push(expirer);
      Router router =
          new Router(
              tables,
              cache,
              hotSet,
              backend,
              config.cacheDuration(),
              startedAt,
              // A cluster owner rebuilds its partitions from the start of the Kafka log.
              config.clusterMode() ? Set.of() : Router.heldBeforeStart(backend, recovered),
              config.clusterMode());
      this.backendReads = new BackendReads(cacheSql, allocator, router, backend, writeThrough);
      this.operations =
          new EngineOperations(
              tables, cache, backendReads, writeThrough, allocator, this::checkOpen);
      this.preparation =
          new ReadPreparation(
              tables,
              flusher,
              viewSync,
              systemTables,
              writeThrough,
              () -> closed.get() ? List.of() : statistics());
      this.guard = new StatementGuard(tables, catalogName);
      this.clusterFacet =
          new ClusterFacet(
              analyser,
              tables,
              cache,
              cacheSql,
              guard,
              preparation,
              viewSync,
              hotSet,
              router,
              backendReads,
              flusher,
              ingest,
              versions,
              config.clock(),
              this::checkOpen);
      this.catalog = new Catalog(tables, cache, backend);
      this.inserts =
          new InsertAsIngest(
              tables,
              cacheSql,
              allocator,
              analyser,
              router,
              preparation,
              ingest,
              config.clock(),
              catalogName);
      this.queryPath =
          new QueryPath(
              analyser,
              guard,
              inserts,
              router,
              backendReads,
              preparation,
              tables,
              cache,
              allocator,
              hotSet,
              versions,
              results,
              backend,
              config.clock(),
              config.cache().maxStaleness());
      boolean restores = ownLog && cacheStartsEmpty;
      this.snapshotter =
          restores && !config.snapshotInterval().isZero() && config.aggregators().restores()
              ? new Snapshotter(
                  new WindowSnapshots(config.dataDirectory().resolve("snapshots")),
                  Objects.requireNonNull(wal),
                  tables,
                  allocator,
                  config.snapshotInterval(),
                  config.walMaxBytes())
              : null;
      if (snapshotter != null) {
        opened.push(snapshotter);
      }
      systemTables.refreshCacheStats(statistics());
      if (writeThrough != null) {
        // Created now, not at the first query naming them, so catalog listings show them at once.
        systemTables.refreshBackendStatus(writeThrough.status());
        systemTables.refreshQuarantine(writeThrough);
      }
      flusher.start();
      viewSync.start();
      expirer.start();
      if (ownLog) {
        Recovery recovery =
            new Recovery(
                Objects.requireNonNull(backend),
                Objects.requireNonNull(writeThrough),
                Objects.requireNonNull(wal),
                snapshotter,
                ingest,
                expirer,
                tables,
                cache,
                allocator,
                config.clock(),
                config.cacheDuration(),
                config.drainTimeout());
        if (restores) {
          recovery.restoreAfterStart(recovered);
        } else {
          recovery.rememberIngestIds(recovered, List.of()); // a cache file: no snapshots
          recovery.resend(recovered, Set.of());
        }
      }
      if (snapshotter != null) {
        snapshotter.start();
      }
    } catch (RuntimeException | Error e) {
      closed.set(true);
      while (!opened.isEmpty()) {
        try {
          opened.pop().close();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
  }

  /** The metrics table exists from the start, aggregated by metric id. */
  private void createMetricsTable() {
    TableState metrics = tables.table(MetricsTable.NAME);
    metrics.lock.lock();
    try {
      cache.ensureTable(MetricsTable.NAME, MetricsTable.BASE_SCHEMA);
      metrics.adopt(MetricsTable.BASE_SCHEMA);
      metrics.startAggregating(
          List.of(new Field(MetricsTable.METRIC_ID, FieldType.nullable(MetricsTable.UTF8), null)));
    } finally {
      metrics.lock.unlock();
    }
  }

  // ------------------------------------------------------------------------------------ ingest

  @Override
  public IngestResult ingest(String table, ArrowReader batches) {
    checkOpen();
    return ingest.ingest(table, batches, null);
  }

  @Override
  public IngestResult ingest(String table, ArrowReader batches, String ingestId) {
    checkOpen();
    return ingest.ingest(table, batches, IngestPipeline.checkIngestId(ingestId));
  }

  @Override
  public IngestResult ingest(String table, VectorSchemaRoot batch) {
    checkOpen();
    return ingest.ingest(table, batch, null);
  }

  @Override
  public IngestResult ingest(String table, VectorSchemaRoot batch, String ingestId) {
    checkOpen();
    return ingest.ingest(table, batch, IngestPipeline.checkIngestId(ingestId));
  }

  @Override
  public IngestResult ingestTransferred(String table, List<VectorSchemaRoot> batches) {
    return transferred(table, batches, null);
  }

  @Override
  public IngestResult ingestTransferred(
      String table, List<VectorSchemaRoot> batches, String ingestId) {
    return transferred(table, batches, ingestId);
  }

  private IngestResult transferred(
      String table, List<VectorSchemaRoot> batches, @Nullable String ingestId) {
    try {
      checkOpen();
      if (ingestId != null) {
        IngestPipeline.checkIngestId(ingestId);
      }
    } catch (RuntimeException e) {
      batches.forEach(VectorSchemaRoot::close);
      throw e;
    }
    return ingest.ingestTransferred(table, batches, ingestId);
  }

  /** How many client ingest ids each table (in cluster mode, each partition) remembers. */
  public int ingestIdsRemembered() {
    return config.ingestIdsRemembered();
  }

  /**
   * Cluster mode: sends every later live ingest to the cluster's shared log instead of this
   * instance's windows; the owner of each key partition applies them with {@link #applyLogged}.
   */
  public void routeLiveIngestTo(IngestLog log) {
    checkOpen();
    ingest.routeLiveIngestTo(log);
  }

  /**
   * Cluster mode: applies batches this instance took from the shared log for the partitions it
   * owns, as a live ingest here. Takes ownership of the batches.
   *
   * @param storedOut when not null, gets the batches as stored (running columns included), for the
   *     owner to write to the backend; the caller closes them
   */
  public IngestResult applyLogged(
      String table, List<VectorSchemaRoot> batches, @Nullable List<VectorSchemaRoot> storedOut) {
    checkOpen();
    return ingest.applyLogged(table, batches, storedOut);
  }

  /** The backend the cluster's partition owners write, or null when there is none. */
  public @Nullable BackendStore backend() {
    return backend;
  }

  /** What cluster mode reads of this engine beyond the public API ({@link ClusterFacet}). */
  public ClusterFacet cluster() {
    return clusterFacet;
  }

  /** The engine's allocator; what the cluster decodes from the log is allocated here. */
  public BufferAllocator allocator() {
    return allocator;
  }

  // ------------------------------------------------------------------------------------ query

  @Override
  public QueryResult query(String sql) {
    return query(sql, List.of(), allocator);
  }

  @Override
  public QueryResult query(String sql, List<@Nullable Object> parameters) {
    return query(sql, parameters, allocator);
  }

  @Override
  public QueryResult query(String sql, List<@Nullable Object> parameters, BufferAllocator alloc) {
    checkOpen();
    viewSync.queried();
    return queryPath.query(sql, parameters, alloc);
  }

  @Override
  public StatementInfo describe(String sql) {
    checkOpen();
    return queryPath.describe(sql);
  }

  @Override
  public Schema querySchema(String sql) {
    checkOpen();
    return queryPath.querySchema(sql);
  }

  @Override
  public long execute(String sql, List<@Nullable Object> parameters) {
    checkOpen();
    StatementAnalysis analysis = analyser.analyse(sql);
    InsertStatement insert = analysis.insert();
    if (insert != null && inserts.isIngested(insert)) {
      return inserts.executeInsert(insert, parameters);
    }
    guard.check(analysis, false);
    preparation.prepareFor(analysis.names());
    try {
      return cache.execute(sql, parameters);
    } finally {
      versions.changedAny(); // whatever it changed, kept results may no longer hold
      for (Change c : analysis.changes()) {
        if (!Set.of("INSERT", "UPDATE", "DELETE", "MERGE_INTO").contains(c.operation())) {
          analyser.catalogChanged(); // a view may read other tables now
        }
        String name = c.target().name();
        if (c.operation().equals("DROP") && !name.isEmpty() && cache.tableSchema(name) == null) {
          hotSet.dropped(Tables.key(name));
        }
      }
    }
  }

  @Override
  public List<TableInfo> tables() {
    checkOpen();
    return catalog.tables();
  }

  @Override
  public @Nullable Schema tableSchema(String table) {
    checkOpen();
    return catalog.tableSchema(table);
  }

  // ------------------------------------------------------------------------------------ retention

  @Override
  public void expire() {
    checkOpen();
    expirer.expire();
  }

  /** One partition per 1/60 of the cache duration, between 1 minute and 1 hour of event time. */
  private static long partitionWidth(Duration cacheDuration) {
    long micros = cacheDuration.dividedBy(60).toNanos() / 1000;
    return Math.max(TimeUnit.MINUTES.toMicros(1), Math.min(TimeUnit.HOURS.toMicros(1), micros));
  }

  /** The instance's clock as the result cache's time source, so tests drive TTLs with it. */
  private static Ticker tickerOf(InstantSource clock) {
    return () -> {
      Instant t = clock.instant();
      return t.getEpochSecond() * 1_000_000_000L + t.getNano();
    };
  }

  @Override
  public List<CacheStatistics> cacheStatistics() {
    checkOpen();
    return statistics();
  }

  private List<CacheStatistics> statistics() {
    List<String> names = new ArrayList<>(tables.keys());
    Collections.sort(names);
    List<CacheStatistics> out = new ArrayList<>(hotSet.statistics(names));
    ResultCache rc = results;
    if (rc != null) {
      out.add(rc.statistics());
    }
    return out;
  }

  // ------------------------------------------------------------------------------------ close

  private void checkOpen() {
    if (closed.get()) {
      throw new IllegalStateException("this Hyprstream instance is closed");
    }
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (snapshotter != null) {
      snapshotter.close();
    }
    expirer.close();
    viewSync.close();
    try {
      flusher.close();
      if (snapshotter != null) {
        snapshotter.snapshotQuietly(); // the next start loads it and replays nothing
      }
    } finally {
      if (config.windowListener() != null) {
        config.windowListener().close(); // publishes what the last ingests changed
      }
      closeBackend();
      if (results != null) {
        results.close();
      }
      cache.close();
      allocator.close();
      if (ownedRoot != null) {
        ownedRoot.close();
      }
    }
  }

  /**
   * Drains the write-through queue (bounded), then closes the pipeline, the log and the backend.
   */
  private void closeBackend() {
    WriteThrough wt = writeThrough;
    if (wt == null) {
      if (backend != null) {
        backend.close(); // cluster mode: the partition owners wrote it, and have stopped
      }
      return;
    }
    try {
      if (!wt.drain(config.drainTimeout())) {
        LOG.warn(
            "write-through did not drain within {}; {} batches stay in the log and are sent after"
                + " the next start",
            config.drainTimeout(),
            wt.status().backlogBatches());
      }
    } finally {
      wt.close();
      java.util.Objects.requireNonNull(wal).close();
      java.util.Objects.requireNonNull(backend).close();
    }
  }

  // ------------------------------------------------------------------------------------ status

  @Override
  public Operations operations() {
    return operations;
  }

  /** The cache store, for tools that measure it. */
  public CacheStore cache() {
    return cache;
  }

  /**
   * Writes a window snapshot now, as the snapshotter does every interval.
   *
   * @throws IllegalStateException when this instance takes no snapshots (no backend, a cache file,
   *     or a zero interval)
   */
  public void snapshotWindows() {
    checkOpen();
    if (snapshotter == null) {
      throw new IllegalStateException(
          "this instance takes no window snapshots (they need a backend, no cache file and a window"
              + " aggregator factory that restores)");
    }
    snapshotter.snapshot();
  }
}
