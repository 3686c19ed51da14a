package io.hyprstream.internal;

import com.github.benmanes.caffeine.cache.Ticker;
import io.hyprstream.Hyprstream;
import io.hyprstream.QueryResult;
import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.CacheStatistics;
import io.hyprstream.api.Freshness;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.api.IngestResult;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.api.TableNotFoundException;
import io.hyprstream.api.WindowAggregator;
import io.hyprstream.api.WindowListener;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.duckdb.DuckDbCacheStore;
import io.hyprstream.internal.sql.AggregateQuery;
import io.hyprstream.internal.sql.Change;
import io.hyprstream.internal.sql.LookupShape;
import io.hyprstream.internal.sql.SqlAnalyser;
import io.hyprstream.internal.sql.StatementAnalysis;
import io.hyprstream.internal.sql.TableRef;
import io.hyprstream.internal.sql.TimeSpan;
import io.hyprstream.wal.WriteAheadLog;
import io.hyprstream.window.HeapWindowAggregator;
import io.hyprstream.writethrough.Quarantine;
import io.hyprstream.writethrough.WriteThrough;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Hyprstream} implementation.
 *
 * <p>Ingest validates a call's batches, updates the window aggregates (which also yield the running
 * columns) and queues the stored batches for DuckDB, all under the table's lock, then returns: the
 * windows are current at once. A flusher thread appends queued batches to DuckDB in groups (one
 * {@code INSERT} per group; DuckDB's cost is per statement), so aggregation on the caller's core
 * overlaps DuckDB's append on the other.
 *
 * <p>Queries keep read-your-writes: before a statement runs, the raw tables it names are flushed
 * and the window views it names receive the windows changed since their last use. The common
 * single-key window lookup skips DuckDB and reads the aggregator ({@link WindowLookup}).
 */
public final class Engine implements Hyprstream {
  private static final Logger LOG = LoggerFactory.getLogger(Engine.class);

  /** Ingest waits while more rows than this are queued for DuckDB. */
  static final long MAX_PENDING_ROWS = 4L << 20;

  /**
   * The flusher moves a table's queued rows once this many have gathered, or once the oldest has
   * waited {@link #FLUSH_DELAY_NANOS}: a DuckDB statement costs the same for 100 rows as for 64 Ki,
   * so tiny ingests are grouped. Queries flush what they read at once, whatever the queue holds.
   */
  static final long FLUSH_ROWS = 64 * 1024;

  static final long FLUSH_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final EngineConfig config;
  private final BufferAllocator allocator;
  private final @Nullable BufferAllocator ownedRoot;
  private final DuckDbCacheStore cache;
  private final Map<String, AggregationSpec> specs = new LinkedHashMap<>();
  private final ConcurrentHashMap<String, TableState> tables = new ConcurrentHashMap<>();
  private final Object pendingMonitor = new Object();
  private long pendingRows; // guarded by pendingMonitor
  private final Thread flusher;
  private final @Nullable ScheduledExecutorService expiry;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final @Nullable BackendStore backend;
  private final @Nullable WriteAheadLog wal;
  private final @Nullable WriteThrough writeThrough;

  /** Where window snapshots go; null when none are taken (no backend, a cache file, or off). */
  private final @Nullable WindowSnapshots snapshots;

  private final @Nullable Snapshotter snapshotter;
  private final @Nullable ResultCache results;
  private final ChangeVersions versions = new ChangeVersions();
  private final HotSet hotSet;
  private final SqlAnalyser analyser;
  // Queries that read rows the cache no longer holds, by how: the rows themselves, or partial
  // aggregates the backend computed (see querySplitAggregate).
  private final java.util.concurrent.atomic.LongAdder coldRowReads =
      new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder splitAggregates =
      new java.util.concurrent.atomic.LongAdder();

  /** When this instance started: with a backend, rows acknowledged before may be only there. */
  private final Instant startedAt;

  /**
   * Keys of the tables whose rows this instance may not have in its cache because they were
   * acknowledged before it started (the backend held them, or the log re-sends them); null when the
   * backend could not say, which counts every table.
   */
  private final @Nullable Set<String> heldBeforeStart;

  /** The cache database's name, which a catalog-qualified table name must use. */
  private final String catalog;

  /** Serialises evictions: one pass at a time chooses and deletes partitions. */
  private final Object evictionLock = new Object();

  /** The system table that shows write-through backlog, lag and errors (with a backend). */
  public static final String BACKEND_STATUS_TABLE = "hyprstream_backend_status";

  /** The system table that lists batches the backend refused as data, kept for a re-send. */
  public static final String QUARANTINE_TABLE = "hyprstream_quarantine";

  /** The system table of cache hits, misses, evictions and bytes held. */
  public static final String CACHE_STATS_TABLE = "hyprstream_cache_stats";

  /**
   * Words that make a query's answer change with no ingest (time, randomness, sequences, DuckDB's
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
          BACKEND_STATUS_TABLE,
          QUARANTINE_TABLE,
          CACHE_STATS_TABLE);

  /** How long a backend-routed query waits for queued writes to reach the backend. */
  static final java.time.Duration BACKEND_READ_WAIT = java.time.Duration.ofSeconds(5);

  /** How long a start waits for a write-through call in progress before rebuilding the cache. */
  static final java.time.Duration PAUSE_BOUND = java.time.Duration.ofSeconds(30);

  /** Segments of the write-ahead log roll at this size. */
  static final long WAL_SEGMENT_BYTES = 64L << 20;

  public Engine(EngineConfig config) {
    this.config = config;
    BufferAllocator parent = config.allocator;
    this.ownedRoot = parent == null ? new RootAllocator() : null;
    BufferAllocator base = parent != null ? parent : ownedRoot;
    this.allocator =
        java.util.Objects.requireNonNull(base).newChildAllocator("hyprstream", 0, Long.MAX_VALUE);
    try {
      Long memoryLimit = config.cache.duckDbMemoryLimit;
      this.cache =
          DuckDbCacheStore.open(config.cacheFile, allocator, memoryLimit == null ? 0 : memoryLimit);
    } catch (RuntimeException e) {
      allocator.close();
      if (ownedRoot != null) {
        ownedRoot.close();
      }
      throw e;
    }
    this.catalog = cache.catalogName();
    this.analyser = new SqlAnalyser(cache::parseTree, cache::planTree);
    this.startedAt = config.clock.instant();
    for (AggregationSpec spec : config.aggregations) {
      specs.put(key(spec.table()), spec);
    }
    checkViewNames();
    this.hotSet =
        new HotSet(
            config.cache.memoryBudgetBytes,
            config.cache.evictionPolicy,
            partitionWidth(config.cacheDuration));
    this.results =
        config.cache.resultCacheBytes == 0
            ? null
            : new ResultCache(
                allocator,
                config.cache.resultCacheBytes,
                config.cache.resultCacheTtl,
                tickerOf(config.clock));
    TableState metrics = table(MetricsTable.NAME);
    metrics.lock.lock();
    try {
      cache.ensureTable(MetricsTable.NAME, MetricsTable.BASE_SCHEMA);
      metrics.adopt(MetricsTable.BASE_SCHEMA);
      metrics.startAggregating(
          List.of(new Field(MetricsTable.METRIC_ID, FieldType.nullable(MetricsTable.UTF8), null)));
    } finally {
      metrics.lock.unlock();
    }
    this.backend = config.backend;
    List<WriteAheadLog.Record> recovered = List.of();
    if (backend != null) {
      this.wal =
          WriteAheadLog.open(
              config.dataDirectory.resolve("wal"),
              config.walMaxBytes,
              WAL_SEGMENT_BYTES,
              allocator);
      this.writeThrough =
          new WriteThrough(
              backend,
              wal,
              new Quarantine(config.dataDirectory.resolve("quarantine")),
              config.writeThroughBounds,
              allocator);
      // Sent once the start knows which of them the backend holds (see restoreAfterStart).
      recovered = wal.recovered();
    } else {
      this.wal = null;
      this.writeThrough = null;
    }
    boolean restores = backend != null && config.cacheFile == null;
    this.snapshots =
        restores && !config.snapshotInterval.isZero()
            ? new WindowSnapshots(config.dataDirectory.resolve("snapshots"))
            : null;
    this.heldBeforeStart = heldBeforeStart(recovered);
    refreshCacheStats();
    if (writeThrough != null) {
      // Created now, not at the first query naming it, so catalog listings show it from the start.
      refreshBackendStatus(writeThrough.status());
      refreshQuarantine(writeThrough);
    }
    this.flusher = new Thread(this::flushLoop, "hyprstream-flusher");
    flusher.setDaemon(true);
    flusher.start();
    if (config.expiryInterval.isZero()) {
      this.expiry = null;
    } else {
      this.expiry =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread t = new Thread(r, "hyprstream-expiry");
                t.setDaemon(true);
                return t;
              });
      long ms = config.expiryInterval.toMillis();
      expiry.scheduleWithFixedDelay(this::expireQuietly, ms, ms, TimeUnit.MILLISECONDS);
    }
    if (restores) {
      restoreAfterStart(recovered);
    } else if (writeThrough != null) {
      resend(recovered, Set.of());
    }
    this.snapshotter = snapshots == null ? null : new Snapshotter(config.snapshotInterval);
  }

  /**
   * Queues the logged batches the backend has not committed, each once; the others leave the log:
   * those it committed, and those in the quarantine (it refused them, and they are sent again only
   * when requeued).
   */
  private void resend(List<WriteAheadLog.Record> recovered, Set<String> committed) {
    WriteThrough wt = java.util.Objects.requireNonNull(writeThrough);
    WriteAheadLog log = java.util.Objects.requireNonNull(wal);
    Set<String> done = new java.util.HashSet<>(committed);
    for (Quarantine.Entry e : wt.quarantined()) {
      done.add(e.batchId());
    }
    Set<String> queuedIds = new java.util.HashSet<>();
    int queued = 0;
    for (WriteAheadLog.Record r : recovered) {
      if (done.contains(r.batchId)) {
        log.committed(r.batchId);
        r.batch.close();
      } else if (!queuedIds.add(r.batchId)) {
        r.batch.close(); // logged twice (a requeue); one send commits it
      } else {
        wt.submit(r.table, r.batchId, r.batch, false);
        queued++;
      }
    }
    if (queued > 0) {
      LOG.info(
          "re-sending {} logged batches to {} (already-committed ones are skipped by the ledger)",
          queued,
          java.util.Objects.requireNonNull(backend).name());
    }
  }

  /**
   * Rebuilds the windows and the hot rows after a start, in time that grows with the state held,
   * not with the history:
   *
   * <ul>
   *   <li>Windows: the newest good snapshot, plus the log's records after the position it covers.
   *       Without one, each aggregated table's rows within its longest retention are read back from
   *       the backend and aggregated again (the only path before snapshots).
   *   <li>Hot rows: the backend's rows within the cache duration (the time predicate runs on the
   *       backend), the logged batches the backend has not committed, and the quarantined ones. The
   *       ledger says which logged batches the backend holds, so each comes back once; when the
   *       backend cannot be reached every logged batch comes from the log.
   * </ul>
   *
   * Nothing is sent to the backend while this runs, so what it holds cannot change between the
   * ledger's answer and the read; the logged batches are queued for it afterwards.
   */
  private void restoreAfterStart(List<WriteAheadLog.Record> recovered) {
    BackendStore b = java.util.Objects.requireNonNull(backend);
    WriteThrough wt = java.util.Objects.requireNonNull(writeThrough);
    long started = System.nanoTime();
    Instant now = config.clock.instant();
    WindowSnapshots.Loaded snapshot = snapshots == null ? null : snapshots.loadLatest(allocator);
    Map<String, Long> covered = null; // by table key: the log position its snapshot covers
    try {
      if (snapshot != null) {
        covered = adoptSnapshot(snapshot);
      }
    } finally {
      if (snapshot != null) {
        snapshot.close();
      }
    }
    if (snapshots != null) {
      java.util.Objects.requireNonNull(wal).coveredBefore(snapshots.coveredPosition());
    }
    boolean fromSnapshot = covered != null;
    long loadedNanos = System.nanoTime();
    long replayed = 0;
    if (covered != null) {
      for (WriteAheadLog.Record r : recovered) {
        Long after = covered.get(key(r.table));
        if (!r.resend && (after == null || r.position >= after)) {
          replayed += restore(r.table, ArrowCopy.share(r.batch, allocator), Ingest.REPLAY_WINDOWS);
        }
      }
    }
    Duration keep = config.cacheDuration;
    if (!fromSnapshot) {
      for (AggregationSpec spec : specs.values()) {
        for (WindowSpec w : spec.windows()) {
          Duration d = w.retention().plus(w.size());
          keep = d.compareTo(keep) > 0 ? d : keep;
        }
      }
    }
    Ingest rowsMode = fromSnapshot ? Ingest.RESTORE_ROWS : Ingest.RESTORE;
    long replayedNanos = System.nanoTime();
    BackendRows held = readBackend(b, recovered, now.minus(keep), fromSnapshot);
    long readNanos = System.nanoTime();
    long fromBackend = 0;
    try {
      for (Map.Entry<String, List<VectorSchemaRoot>> e : held.rows.entrySet()) {
        for (java.util.Iterator<VectorSchemaRoot> it = e.getValue().iterator(); it.hasNext(); ) {
          VectorSchemaRoot batch = it.next();
          it.remove();
          fromBackend += restore(e.getKey(), batch, rowsMode);
        }
      }
    } finally {
      held.rows.values().forEach(l -> l.forEach(VectorSchemaRoot::close));
    }
    // Each batch once: the log may hold a batch twice (a quarantined one requeued), and the
    // quarantine a batch the log still holds (a crash between the two steps of a requeue).
    Set<String> restoredIds = new java.util.HashSet<>();
    long fromLog = 0;
    for (WriteAheadLog.Record r : recovered) {
      boolean inBackend = held.committed.contains(r.batchId) && !held.unread.contains(key(r.table));
      if (!inBackend && restoredIds.add(r.batchId)) {
        fromLog += restore(r.table, ArrowCopy.share(r.batch, allocator), rowsMode);
      }
    }
    long quarantined = 0;
    for (Quarantine.Entry e : wt.quarantined()) {
      if (!restoredIds.add(e.batchId())) {
        continue;
      }
      try {
        Quarantine.Loaded loaded = wt.readQuarantined(e.batchId(), allocator);
        if (loaded != null) {
          quarantined += restore(e.table(), loaded.batch(), rowsMode);
        }
      } catch (RuntimeException ex) {
        LOG.warn(
            "cannot restore quarantined batch {} of '{}': {}",
            e.batchId(),
            e.table(),
            ex.toString());
      }
    }
    resend(recovered, held.reachable ? held.committed : Set.of());
    expire();
    long end = System.nanoTime();
    LOG.info(
        "restored in {} ms (snapshot {} ms, replay {} ms, reading {} {} ms, caching {} ms): windows"
            + " {}, {} logged rows replayed into them; hot rows: {} from {}, {} from the log, {}"
            + " quarantined",
        TimeUnit.NANOSECONDS.toMillis(end - started),
        TimeUnit.NANOSECONDS.toMillis(loadedNanos - started),
        TimeUnit.NANOSECONDS.toMillis(replayedNanos - loadedNanos),
        b.name(),
        TimeUnit.NANOSECONDS.toMillis(readNanos - replayedNanos),
        TimeUnit.NANOSECONDS.toMillis(end - readNanos),
        fromSnapshot
            ? "from snapshot " + java.util.Objects.requireNonNull(snapshot).file().getFileName()
            : "rebuilt from " + b.name() + " (no snapshot)",
        replayed,
        fromBackend,
        b.name(),
        fromLog,
        quarantined);
    if (snapshots != null && !fromSnapshot) {
      snapshotQuietly(); // the next start loads these windows instead of reading them again
    }
  }

  /** Ingests one restored batch, taking it; a batch that fails is logged and skipped. */
  private long restore(String table, VectorSchemaRoot batch, Ingest mode) {
    List<VectorSchemaRoot> one = new ArrayList<>(1);
    one.add(batch);
    try {
      return ingestOwned(table, one, mode).rowsAccepted();
    } catch (RuntimeException e) {
      LOG.warn("cannot restore a batch of '{}': {}", table, e.toString());
      return 0;
    }
  }

  /**
   * Installs the windows of {@code snapshot}. Returns, by table key, the log position each table's
   * state covers; null (and nothing installed) when the snapshot does not fit the configured
   * aggregations.
   */
  private @Nullable Map<String, Long> adoptSnapshot(WindowSnapshots.Loaded snapshot) {
    Map<String, Long> covered = new java.util.HashMap<>();
    Map<WindowSnapshots.TableSnapshot, HeapWindowAggregator> restored = new LinkedHashMap<>();
    for (WindowSnapshots.TableSnapshot t : snapshot.tables()) {
      AggregationSpec spec = specs.get(key(t.table()));
      if (spec == null) {
        continue; // no longer aggregated
      }
      try {
        restored.put(t, HeapWindowAggregator.restoreState(spec, t.state()));
      } catch (RuntimeException e) {
        LOG.warn(
            "window snapshot {} does not fit the configured windows ({}); rebuilding them from the"
                + " backend instead",
            snapshot.file(),
            e.getMessage());
        return null;
      }
      covered.put(key(t.table()), t.position());
    }
    for (Map.Entry<WindowSnapshots.TableSnapshot, HeapWindowAggregator> e : restored.entrySet()) {
      WindowSnapshots.TableSnapshot t = e.getKey();
      TableState ts = table(t.table());
      ts.flushLock.lock();
      ts.lock.lock();
      try {
        Schema raw = t.rawSchema();
        if (raw != null) {
          Schema grown = ts.schema == null ? raw : merged(ts.schema, raw);
          cache.ensureTable(ts.name, grown);
          ts.adopt(grown);
        }
        ts.restoreAggregator(e.getValue());
      } finally {
        ts.lock.unlock();
        ts.flushLock.unlock();
      }
    }
    LOG.info(
        "loaded window snapshot {} ({} tables, covering the log before position {})",
        snapshot.file(),
        restored.size(),
        snapshot.position());
    return covered;
  }

  /** {@code current}'s fields, then those of {@code more} it lacks. */
  private static Schema merged(Schema current, Schema more) {
    List<Field> fields = new ArrayList<>(current.getFields());
    for (Field f : more.getFields()) {
      if (Columns.field(current, f.getName()) == null) {
        fields.add(f);
      }
    }
    return new Schema(fields);
  }

  /**
   * What the backend holds, read at start: which logged batches it has committed, and each
   * aggregated table's rows since {@code since} (tables it could not read are in {@code unread}).
   * {@code reachable} is false when it could not be asked at all; then it holds nothing here.
   */
  private record BackendRows(
      boolean reachable,
      Set<String> committed,
      Map<String, List<VectorSchemaRoot>> rows,
      Set<String> unread) {
    static BackendRows unreachable() {
      return new BackendRows(false, Set.of(), new LinkedHashMap<>(), Set.of());
    }
  }

  /**
   * Asks the backend which logged batches it holds and reads the aggregated tables' rows since
   * {@code since}, with the time predicate in the query. With a snapshot the wait is bounded (the
   * drain timeout, at least {@link #PAUSE_BOUND}): a stalled backend must not keep the instance
   * from serving what its snapshot and log hold. Without one the windows depend on this read, so it
   * runs to the end.
   */
  private BackendRows readBackend(
      BackendStore b, List<WriteAheadLog.Record> recovered, Instant since, boolean bounded) {
    AtomicBoolean abandoned = new AtomicBoolean();
    java.util.concurrent.FutureTask<BackendRows> task =
        new java.util.concurrent.FutureTask<>(() -> readBackendNow(b, recovered, since, abandoned));
    Thread reader = new Thread(task, "hyprstream-restore-read");
    reader.setDaemon(true);
    reader.start();
    Duration bound =
        config.drainTimeout.compareTo(PAUSE_BOUND) > 0 ? config.drainTimeout : PAUSE_BOUND;
    try {
      return bounded ? task.get(bound.toMillis(), TimeUnit.MILLISECONDS) : task.get();
    } catch (java.util.concurrent.TimeoutException e) {
      abandoned.set(true);
      task.cancel(true);
      LOG.warn(
          "{} did not answer within {}; hot rows come from the log and the quarantine, the rest is"
              + " read from it once it answers",
          b.name(),
          bound);
      return BackendRows.unreachable();
    } catch (java.util.concurrent.ExecutionException e) {
      LOG.warn(
          "cannot read {} to restore the cache ({}); hot rows come from the log and the quarantine",
          b.name(),
          String.valueOf(e.getCause()));
      return BackendRows.unreachable();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      abandoned.set(true);
      task.cancel(true);
      return BackendRows.unreachable();
    }
  }

  private BackendRows readBackendNow(
      BackendStore b,
      List<WriteAheadLog.Record> recovered,
      Instant since,
      AtomicBoolean abandoned) {
    Set<String> committed = new java.util.HashSet<>();
    for (WriteAheadLog.Record r : recovered) {
      if (b.contains(r.batchId)) {
        committed.add(r.batchId);
      }
    }
    Map<String, List<VectorSchemaRoot>> rows = new LinkedHashMap<>();
    Set<String> unread = new java.util.HashSet<>();
    try {
      for (AggregationSpec spec : specs.values()) {
        List<VectorSchemaRoot> read = new ArrayList<>();
        rows.put(spec.table(), read);
        if (!readBack(b, spec, since, read, abandoned)) {
          unread.add(key(spec.table()));
        }
      }
      if (abandoned.get()) {
        throw new IllegalStateException("abandoned");
      }
      return new BackendRows(true, committed, rows, unread);
    } catch (RuntimeException e) {
      rows.values().forEach(l -> l.forEach(VectorSchemaRoot::close));
      throw e;
    }
  }

  /**
   * Reads {@code spec}'s table's rows since {@code since} from the backend into {@code out} (taken
   * by the caller); false when the backend could not be read (what was read is dropped then).
   */
  private boolean readBack(
      BackendStore b,
      AggregationSpec spec,
      Instant since,
      List<VectorSchemaRoot> out,
      AtomicBoolean abandoned) {
    Schema schema;
    try {
      schema = b.tableSchema(spec.table());
    } catch (RuntimeException e) {
      LOG.warn("cannot read '{}' from {}: {}", spec.table(), b.name(), e.getMessage());
      return false;
    }
    Field time = schema == null ? null : Columns.field(schema, spec.timeColumn());
    if (time == null) {
      return true; // nothing stored yet
    }
    String sql =
        "SELECT * FROM "
            + DuckDbCacheStore.quote(spec.table())
            + " WHERE "
            + DuckDbCacheStore.quote(time.getName())
            + " >= "
            + backendTimeLiteral(time, spec.epochUnit(), since);
    try (ArrowReader reader = b.query(sql, allocator)) {
      while (!abandoned.get() && reader.loadNextBatch()) {
        out.add(ArrowCopy.deepCopy(reader.getVectorSchemaRoot(), allocator));
      }
      return true;
    } catch (IOException | RuntimeException e) {
      LOG.warn("reading '{}' from {} failed: {}", spec.table(), b.name(), e.toString());
      out.forEach(VectorSchemaRoot::close);
      out.clear();
      return false;
    }
  }

  private void checkViewNames() {
    Set<String> seen = new java.util.HashSet<>();
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

  private static String key(String name) {
    return name.toLowerCase(Locale.ROOT);
  }

  private TableState table(String name) {
    return tables.computeIfAbsent(key(name), k -> new TableState(name, specs.get(k)));
  }

  // ------------------------------------------------------------------------------------ ingest

  @Override
  public IngestResult ingest(String table, ArrowReader batches) {
    checkOpen();
    List<VectorSchemaRoot> copies = new ArrayList<>();
    try {
      while (batches.loadNextBatch()) {
        copies.add(ArrowCopy.deepCopy(batches.getVectorSchemaRoot(), allocator));
      }
    } catch (IOException e) {
      copies.forEach(VectorSchemaRoot::close);
      throw new HyprstreamException("cannot read the batches for '" + table + "': " + e, e);
    } catch (RuntimeException e) {
      copies.forEach(VectorSchemaRoot::close);
      throw e;
    }
    return ingestOwned(table, copies, Ingest.LIVE);
  }

  @Override
  public IngestResult ingest(String table, VectorSchemaRoot batch) {
    checkOpen();
    List<VectorSchemaRoot> copies = new ArrayList<>(1);
    copies.add(ArrowCopy.deepCopy(batch, allocator));
    return ingestOwned(table, copies, Ingest.LIVE);
  }

  /** What an ingest does with its batches. */
  private enum Ingest {
    /** A client's rows: checked, counted in the windows, cached, logged and sent to the backend. */
    LIVE,
    /** Restored rows no window holds yet: counted in the windows and cached. */
    RESTORE,
    /** Restored rows the windows hold already (a snapshot or the log's replay): cached only. */
    RESTORE_ROWS,
    /**
     * Logged rows after a snapshot: counted in the windows only (their hot rows come back apart).
     */
    REPLAY_WINDOWS
  }

  /** Ingests batches this engine owns; closes them on every path. */
  private IngestResult ingestOwned(String name, List<VectorSchemaRoot> batches, Ingest mode) {
    boolean log = mode == Ingest.LIVE;
    try {
      validateName(name);
    } catch (RuntimeException e) {
      batches.forEach(VectorSchemaRoot::close);
      throw e;
    }
    if (isView(name)) {
      batches.forEach(VectorSchemaRoot::close);
      throw new QueryRejectedException(
          "'" + name + "' is a window view maintained by Hyprstream; ingest into its table", null);
    }
    if (batches.isEmpty()) {
      return IngestResult.of(0); // an empty stream stores nothing and creates nothing
    }
    TableState ts = table(name);
    List<VectorSchemaRoot> stored = new ArrayList<>(batches.size());
    List<LoggedBatch> toBackend = new ArrayList<>();
    long rows = 0;
    IngestResult result = IngestResult.of(0);
    try {
      try {
        if (log) {
          // Values that DuckDB, the log or the backend would refuse after the acknowledgement are
          // refused now, before anything is stored (a replayed log passed these checks already).
          Map<String, ChronoUnit> epochColumns = epochColumns(ts);
          for (VectorSchemaRoot b : batches) {
            ValueChecks.check(ts.name, b, epochColumns, backend != null);
          }
        }
        ts.lock.lock();
        try {
          Schema grown = ts.validate(batches);
          if (grown != null) {
            // A new table or new label columns: DDL must not race the flusher's INSERTs.
            ts.lock.unlock();
            ts.flushLock.lock();
            try {
              ts.lock.lock();
              grown = ts.validate(batches);
              if (grown != null) {
                if (backend != null) {
                  // A column the backend can never write would block write-through for good.
                  backend.checkWritable(ts.name, grown);
                }
                cache.ensureTable(ts.name, grown);
                ts.adopt(grown);
              }
            } finally {
              ts.flushLock.unlock();
            }
          }
          ts.ensureAggregator(batches.get(0).getSchema());
          if (wal != null && log) {
            // The backlog's memory never refuses (it spills to the log); the log's disk bound does.
            long bytes = 0;
            for (VectorSchemaRoot b : batches) {
              bytes += bufferBytes(b);
            }
            wal.requireRoom(bytes * 2); // stored form adds the running columns
          }
          Instant now = config.clock.instant();
          for (int i = 0; i < batches.size(); i++) {
            VectorSchemaRoot b = batches.get(i);
            batches.set(i, null);
            if (mode == Ingest.REPLAY_WINDOWS) {
              try (b) {
                result = result.plus(ts.aggregateOnly(b, now));
              }
              continue;
            }
            rows += b.getRowCount();
            VectorSchemaRoot s;
            if (mode == Ingest.RESTORE_ROWS) {
              s = b; // already in its stored form, running columns included
              result = result.plus(IngestResult.of(b.getRowCount()));
            } else {
              s = ts.aggregateAndStore(b, now);
              result = result.plus(ts.lastResult);
            }
            if (s.getRowCount() == 0) {
              s.close(); // nothing to store; an empty batch only had to pass validation
            } else {
              stored.add(s);
            }
          }
          if (wal != null && log) {
            // Durable before the acknowledgement, in table order; sent to the backend after unlock.
            for (VectorSchemaRoot st : stored) {
              String id = UUID.randomUUID().toString();
              wal.append(ts.name, id, st);
              toBackend.add(new LoggedBatch(ts.name, id, ArrowCopy.share(st, allocator)));
            }
          }
          for (VectorSchemaRoot st : stored) {
            countHot(ts, st);
          }
          WindowListener listener = config.windowListener;
          if (listener != null && mode == Ingest.LIVE && ts.aggregator != null) {
            listener.windowsChanged(ts.spec(), stored, ts::readWindows);
          }
          if (ts.pending.isEmpty()) {
            ts.pendingSince = System.nanoTime();
          }
          ts.pending.addAll(stored);
          ts.pendingRows += rows;
          stored.clear();
        } finally {
          if (ts.lock.isHeldByCurrentThread()) {
            ts.lock.unlock();
          }
        }
      } finally {
        for (VectorSchemaRoot b : batches) {
          if (b != null) {
            b.close();
          }
        }
        stored.forEach(VectorSchemaRoot::close);
      }
    } catch (RuntimeException e) {
      toBackend.forEach(b -> b.batch.close());
      throw e;
    }
    addPending(rows);
    if (rows > 0 || mode == Ingest.REPLAY_WINDOWS) {
      changed(ts); // before the acknowledgement: results computed before now are out of date
      enforceMemoryBudget();
    }
    WriteThrough wt = writeThrough;
    if (wt != null) {
      for (LoggedBatch b : toBackend) {
        wt.submit(b.table, b.batchId, b.batch, config.synchronousWriteThrough);
      }
    }
    return result;
  }

  /** A batch in the log, bound for the backend. */
  private static final class LoggedBatch {
    final String table;
    final String batchId;
    final VectorSchemaRoot batch;

    LoggedBatch(String table, String batchId, VectorSchemaRoot batch) {
      this.table = table;
      this.batchId = batchId;
      this.batch = batch;
    }
  }

  private static long bufferBytes(VectorSchemaRoot b) {
    long n = 0;
    for (FieldVector v : b.getFieldVectors()) {
      n += v.getBufferSize();
    }
    return n;
  }

  private void addPending(long rows) {
    synchronized (pendingMonitor) {
      pendingRows += rows;
      pendingMonitor.notifyAll();
      while (pendingRows > MAX_PENDING_ROWS && !closed.get()) {
        try {
          pendingMonitor.wait(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /**
   * Names a table may be ingested under: ASCII letters, digits and underscores, not starting with a
   * digit, at most 63 characters. Such a name needs no quoting in DuckDB, PostgreSQL, SQLite or a
   * Flight path, and PostgreSQL keeps it whole (it cuts longer names to 63 bytes).
   */
  private static final Pattern TABLE_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,62}");

  /** Prefixes of the engine's own tables and of the catalogs DuckDB and backends keep. */
  private static final List<String> RESERVED_PREFIXES =
      List.of("_hs_", "hyprstream_", "duckdb_", "pg_", "sqlite_", "information_schema");

  private static void validateName(String name) {
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
    String lower = name.toLowerCase(Locale.ROOT);
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

  private boolean isView(String name) {
    return viewOf(name) != null;
  }

  /** The (table, window) whose view is called {@code name}, or null. */
  private @Nullable ViewRef viewOf(String name) {
    String k = key(name);
    for (AggregationSpec spec : specs.values()) {
      for (WindowSpec w : spec.windows()) {
        if (key(spec.viewName(w)).equals(k)) {
          return new ViewRef(spec, w);
        }
      }
    }
    return null;
  }

  // ------------------------------------------------------------------------------------ flush

  private void flushLoop() {
    while (!closed.get()) {
      boolean any = false;
      long now = System.nanoTime();
      for (TableState ts : tables.values()) {
        if (!ts.dueForFlush(now)) {
          continue;
        }
        try {
          any |= flush(ts) > 0;
        } catch (RuntimeException e) {
          LOG.error(
              "flushing '{}' into the DuckDB cache failed; the batches were lost", ts.name, e);
        }
      }
      if (!any) {
        synchronized (pendingMonitor) {
          if (!closed.get()) {
            try {
              pendingMonitor.wait(20);
            } catch (InterruptedException e) {
              return;
            }
          }
        }
      }
    }
  }

  /** Moves every queued batch of {@code ts} into DuckDB; returns the rows moved. */
  private long flush(TableState ts) {
    ts.flushLock.lock();
    try {
      List<VectorSchemaRoot> batches;
      ts.lock.lock();
      try {
        if (ts.pending.isEmpty()) {
          return 0;
        }
        batches = new ArrayList<>(ts.pending);
        ts.pending.clear();
        ts.pendingRows = 0;
      } finally {
        ts.lock.unlock();
      }
      long rows = 0;
      for (VectorSchemaRoot b : batches) {
        rows += b.getRowCount();
      }
      // A second reference to each batch, to insert them one by one if the grouped INSERT fails:
      // one batch DuckDB refuses must not take the other writers' acknowledged rows with it.
      List<VectorSchemaRoot> spares = new ArrayList<>(batches.size());
      try {
        for (VectorSchemaRoot b : batches) {
          spares.add(ArrowCopy.share(b, allocator));
        }
        try {
          cache.append(ts.name, batches);
        } catch (RuntimeException grouped) {
          List<VectorSchemaRoot> alone = new ArrayList<>(spares);
          spares.clear();
          appendOneByOne(ts, alone, grouped);
        }
      } finally {
        spares.forEach(VectorSchemaRoot::close);
        synchronized (pendingMonitor) {
          pendingRows -= rows;
          pendingMonitor.notifyAll();
        }
      }
      return rows;
    } finally {
      ts.flushLock.unlock();
    }
  }

  /**
   * Inserts each of {@code batches} into DuckDB with a statement of its own, after the grouped
   * insert failed with {@code grouped}; a batch refused again is logged with its row count and
   * dropped from the cache (its log entry and write-through are not affected). Takes the batches.
   */
  private void appendOneByOne(
      TableState ts, List<VectorSchemaRoot> batches, RuntimeException grouped) {
    LOG.warn(
        "inserting {} batches into '{}' at once failed ({}); inserting them one by one",
        batches.size(),
        ts.name,
        grouped.getMessage());
    for (int i = 0; i < batches.size(); i++) {
      VectorSchemaRoot b = batches.get(i);
      int rows = b.getRowCount();
      try {
        cache.append(ts.name, List.of(b));
      } catch (RuntimeException e) {
        LOG.error(
            "DuckDB refused a batch of {} rows for '{}'; those rows are not in the cache: {}",
            rows,
            ts.name,
            e.getMessage());
      }
    }
  }

  /** Syncs the DuckDB table of one window view with the aggregator. */
  private void syncView(TableState ts, WindowSpec window) {
    ts.viewLock.lock();
    try {
      VectorSchemaRoot delta;
      List<String> keyColumns;
      ts.lock.lock();
      try {
        HeapWindowAggregator agg = ts.aggregator;
        if (agg == null) {
          return;
        }
        delta = agg.drainChanges(window, allocator);
        keyColumns = new ArrayList<>(agg.spec().keyColumns());
      } finally {
        ts.lock.unlock();
      }
      try (delta) {
        keyColumns.add("window_start");
        cache.upsert(ts.spec().viewName(window), keyColumns, delta);
      }
    } finally {
      ts.viewLock.unlock();
    }
  }

  /** Flushes the tables and syncs the views a statement naming {@code words} may read. */
  private void prepareFor(Set<String> words) {
    if (writeThrough != null && words.contains(BACKEND_STATUS_TABLE)) {
      refreshBackendStatus(writeThrough.status());
    }
    if (writeThrough != null && words.contains(QUARANTINE_TABLE)) {
      refreshQuarantine(writeThrough);
    }
    if (words.contains(CACHE_STATS_TABLE)) {
      refreshCacheStats();
    }
    for (TableState ts : tables.values()) {
      if (words.contains(key(ts.name))) {
        flush(ts);
      }
      AggregationSpec spec = ts.specOrNull();
      if (spec != null && ts.aggregator != null) {
        for (WindowSpec w : spec.windows()) {
          if (words.contains(key(spec.viewName(w)))) {
            syncView(ts, w);
          }
        }
      }
    }
  }

  // ------------------------------------------------------------------------------------ query

  @Override
  public QueryResult query(String sql) {
    return query(sql, List.of(), allocator);
  }

  /**
   * Answers a query: a single-key window lookup from the aggregator; else a kept result when
   * nothing it read has changed; else the backend when it needs rows the cache does not hold; else
   * DuckDB. What DuckDB or the backend answer is kept for repeats as the caller reads it.
   */
  @Override
  public QueryResult query(String sql, List<@Nullable Object> parameters, BufferAllocator alloc) {
    checkOpen();
    // The analyser refuses text too large or too deeply nested before DuckDB parses it.
    StatementAnalysis analysis = analyser.analyse(sql);
    if (analysis.kind() == StatementAnalysis.Kind.NOT_A_QUERY) {
      InsertStatement insert = InsertStatement.parse(sql);
      if (insert != null && isIngested(insert)) {
        throw runAsStatement("INSERT", insert.table);
      }
    }
    guard(analysis, true);
    Instant now = config.clock.instant();
    QueryResult fast = tryWindowLookup(analysis, parameters, alloc, now);
    if (fast != null) {
      return fast;
    }
    Set<String> words = SqlNames.words(sql);
    ResultCache rc = results;
    ResultCache.Key cacheKey = null;
    long[] seen = null;
    if (rc != null && isCacheable(analysis, words)) {
      List<String> sorted = new ArrayList<>(words);
      java.util.Collections.sort(sorted);
      cacheKey = new ResultCache.Key(SqlNames.normalize(sql), parameters);
      seen = versions.snapshot(sorted); // before the query runs; see ChangeVersions
      QueryResult kept = rc.get(cacheKey, seen, allowedStaleness(sql, words), alloc);
      if (kept != null) {
        return kept;
      }
    }
    Route route = route(analysis, words, parameters, now);
    ArrowReader rows;
    Freshness freshness;
    if (route.backendWhy != null) {
      rows = queryBackend(sql, parameters, alloc, route.backendWhy);
      freshness = Freshness.computed(Freshness.Source.BACKEND, asOf(words), now, null);
    } else if (!route.cold.isEmpty()) {
      prepareFor(words);
      rows = queryWithColdRows(sql, analysis, parameters, alloc, route.cold);
      freshness = Freshness.computed(Freshness.Source.BACKEND, asOf(words), now, null);
    } else {
      prepareFor(words);
      try {
        rows = cache.query(sql, parameters, alloc);
        freshness = Freshness.computed(Freshness.Source.CACHE, asOf(words), now, route.missing);
      } catch (TableNotFoundException e) {
        if (backend == null) {
          throw e;
        }
        backendTablesReadAt = 0; // the backend may have gained the table since it was last listed
        route = route(analysis, words, parameters, now);
        if (route.backendWhy == null) {
          throw e;
        }
        rows = queryBackend(sql, parameters, alloc, route.backendWhy);
        freshness = Freshness.computed(Freshness.Source.BACKEND, asOf(words), now, null);
      }
    }
    countReads(route);
    if (cacheKey != null) {
      return java.util.Objects.requireNonNull(rc)
          .put(cacheKey, java.util.Objects.requireNonNull(seen), rows, freshness, alloc);
    }
    return QueryResult.of(alloc, rows, freshness);
  }

  /** True when a query's answer depends only on table contents, so it may be kept for repeats. */
  private static boolean isCacheable(StatementAnalysis analysis, Set<String> words) {
    if (!analysis.isQuery()) {
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
  private Duration allowedStaleness(String sql, Set<String> words) {
    Duration hinted = SqlNames.stalenessHint(sql);
    if (hinted != null) {
      return hinted;
    }
    Duration allowed = null;
    for (String table : tablesRead(words)) {
      Duration d = config.cache.maxStaleness.getOrDefault(table, Duration.ZERO);
      allowed = allowed == null || d.compareTo(allowed) < 0 ? d : allowed;
    }
    return allowed == null ? Duration.ZERO : allowed;
  }

  /** The lower-case names of the ingested tables {@code words} read, directly or by a view. */
  private Set<String> tablesRead(Set<String> words) {
    Set<String> out = new java.util.TreeSet<>();
    for (String w : words) {
      if (tables.containsKey(w)) {
        out.add(w);
      } else {
        ViewRef ref = viewOf(w);
        if (ref != null) {
          out.add(key(ref.spec.table()));
        }
      }
    }
    return out;
  }

  /** The newest event time ingested into the tables {@code words} read, or null. */
  private @Nullable Instant asOf(Set<String> words) {
    Instant newest = null;
    for (String table : tablesRead(words)) {
      Instant t = hotSet.newest(table);
      if (t != null && (newest == null || t.isAfter(newest))) {
        newest = t;
      }
    }
    return newest;
  }

  private static long micros(Instant t) {
    return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1000);
  }

  private void countReads(Route route) {
    for (Map.Entry<String, TimeRange> e : route.ranges.entrySet()) {
      hotSet.read(e.getKey(), e.getValue(), route.local());
    }
  }

  // Backend table names, re-read at most every few seconds (it is a remote call).
  private volatile Set<String> backendTableNames = Set.of();
  private volatile long backendTablesReadAt;

  private Set<String> backendTables() {
    BackendStore b = backend;
    if (b == null) {
      return Set.of();
    }
    long now = System.nanoTime();
    if (backendTablesReadAt == 0 || now - backendTablesReadAt > TimeUnit.SECONDS.toNanos(5)) {
      Set<String> names = new java.util.HashSet<>();
      try {
        for (String t : b.tables()) {
          names.add(key(t));
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
  private record Route(
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
  private record ColdRead(
      TableState table, String timeColumn, long fromMicros, long boundaryMicros) {}

  private @Nullable Set<String> heldBeforeStart(List<WriteAheadLog.Record> recovered) {
    BackendStore b = backend;
    if (b == null) {
      return Set.of();
    }
    Set<String> held = new java.util.HashSet<>();
    try {
      for (String t : b.tables()) {
        held.add(key(t));
      }
    } catch (RuntimeException e) {
      LOG.warn(
          "cannot list {}'s tables ({}); queries reaching before this start read from it",
          b.name(),
          e.getMessage());
      return null;
    }
    for (WriteAheadLog.Record r : recovered) {
      held.add(key(r.table));
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
  private Route route(
      StatementAnalysis analysis,
      Set<String> words,
      List<@Nullable Object> parameters,
      Instant now) {
    // The status tables live in the cache and must answer while the backend is away or stalled,
    // so a query naming them never waits for the backend's table listing.
    boolean statusQuery = words.contains(BACKEND_STATUS_TABLE) || words.contains(QUARANTINE_TABLE);
    if (backend != null && !statusQuery) {
      Set<String> remote = backendTables();
      List<String> named = new ArrayList<>();
      if (analysis.isQuery()) {
        for (TableRef t : analysis.tables()) {
          named.add(key(t.name()));
        }
      } else {
        named.addAll(words);
      }
      for (String w : named) {
        if (remote.contains(w)
            && !tables.containsKey(w)
            && !isView(w)
            && cache.tableSchema(w) == null) {
          return new Route("'" + w + "' is held only by the backend", List.of(), null, Map.of());
        }
      }
    }
    long coverage = micros(now.minus(config.cacheDuration));
    Set<String> before = heldBeforeStart;
    // now() in the SQL is DuckDB's (the wall clock), not the engine's clock; it only moves later
    // between this analysis and the run, which makes a lower bound found here safe.
    Instant sqlNow = Instant.now();
    Map<String, TimeRange> ranges = new java.util.HashMap<>();
    List<ColdRead> cold = new ArrayList<>();
    String missing = null;
    for (TableState ts : tables.values()) {
      String k = key(ts.name);
      boolean reads =
          analysis.isQuery() ? !analysis.referencesTo(ts.name).isEmpty() : words.contains(k);
      if (!reads) {
        continue;
      }
      String column = timeColumnOf(ts);
      TimeRange range = TimeRange.ALL;
      if (column != null && analysis.isQuery()) {
        TimeSpan span = analysis.bounds(ts.name, column, parameters, sqlNow);
        if (span != null) {
          range = new TimeRange(span.fromMicros(), span.toMicros());
        }
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
        boundary = Math.max(boundary, Math.max(coverage, micros(startedAt)));
      }
      Long evictedEnd = hotSet.evictedEndWithin(k, range);
      if (evictedEnd != null) {
        boundary = Math.max(boundary, evictedEnd);
      }
      if (range.from >= boundary) {
        continue; // proven within what the cache holds
      }
      if (backend == null) {
        if (missing == null) {
          missing =
              "rows of '"
                  + ts.name
                  + "' before "
                  + instantOfMicros(boundary)
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
                    + instantOfMicros(boundary)
                : missing;
        continue;
      }
      for (TableRef ref : analysis.referencesTo(ts.name)) {
        if (ref.catalogQualified()) {
          return new Route(
              "'"
                  + ref
                  + "' is named with its catalog, so the backend's rows of it before "
                  + instantOfMicros(boundary)
                  + " cannot be joined to the cache's",
              List.of(),
              null,
              ranges);
        }
      }
      cold.add(new ColdRead(ts, column, range.from, boundary));
    }
    return new Route(null, cold, missing, ranges);
  }

  /**
   * Runs {@code sql} unchanged on DuckDB where each table of {@code cold} reads as its rows from
   * the backend before the boundary plus the cache's rows from the boundary on: the backend is
   * asked only a portable {@code SELECT *} with a time predicate, so its dialect never meets
   * DuckDB's SQL (PostgreSQL cannot run {@code time_bucket(INTERVAL 1 HOUR, …)}).
   */
  private ArrowReader queryWithColdRows(
      String sql,
      StatementAnalysis analysis,
      List<@Nullable Object> parameters,
      BufferAllocator alloc,
      List<ColdRead> cold) {
    BackendStore b = java.util.Objects.requireNonNull(backend);
    WriteThrough wt = java.util.Objects.requireNonNull(writeThrough);
    if (!b.readsBackExactly()) {
      ColdRead c = cold.get(0);
      throw new QueryRejectedException(
          "the query reads rows of '"
              + c.table.name
              + "' before "
              + instantOfMicros(c.boundaryMicros)
              + ", which only "
              + b.name()
              + " holds, and rows read back from it would not be exact; bound the query's time"
              + " column to the cache's range to answer from the cache",
          null);
    }
    // Every acknowledged row must be in the backend before its older rows are read from there.
    if (!wt.drain(BACKEND_READ_WAIT)) {
      LOG.warn(
          "reading older rows from {} with {} batches still queued for it",
          b.name(),
          wt.status().backlogBatches);
    }
    Set<String> remote = backendTables();
    for (ColdRead c : cold) {
      if (!remote.contains(key(c.table.name))) {
        // The listing may predate the table's first write-through: look again, once.
        backendTablesReadAt = 0;
        remote = backendTables();
        break;
      }
    }
    ArrowReader split = querySplitAggregate(sql, analysis, parameters, alloc, cold, remote);
    if (split != null) {
      return split;
    }
    coldRowReads.increment();
    List<DuckDbCacheStore.ExtraRows> extra = new ArrayList<>();
    try {
      for (ColdRead c : cold) {
        if (!remote.contains(key(c.table.name))) {
          continue; // the backend never received a row of it: the cache holds them all
        }
        Schema schema = java.util.Objects.requireNonNull(c.table.schema);
        Field time = java.util.Objects.requireNonNull(Columns.field(schema, c.timeColumn));
        ChronoUnit unit = epochUnitOf(c.table);
        Instant boundary = instantOfMicros(c.boundaryMicros);
        String column = DuckDbCacheStore.quote(time.getName());
        String where = column + " < " + backendTimeLiteral(time, unit, boundary);
        if (c.fromMicros != Long.MIN_VALUE) {
          where +=
              " AND "
                  + column
                  + " >= "
                  + backendTimeLiteral(time, unit, instantOfMicros(c.fromMicros));
        }
        String read = "SELECT * FROM " + DuckDbCacheStore.quote(c.table.name) + " WHERE " + where;
        LOG.debug(
            "reading rows of '{}' before {} from {}: {}", c.table.name, boundary, b.name(), read);
        ArrowReader rows;
        try {
          rows = b.query(read, allocator);
        } catch (BackendUnavailableException e) {
          // Failing beats a partial answer: most SQL clients never see the freshness metadata.
          throw new BackendUnavailableException(
              "the query reads rows of '"
                  + c.table.name
                  + "' before "
                  + boundary
                  + ", which only "
                  + b.name()
                  + " holds, and it cannot be reached: "
                  + e.getMessage()
                  + " (bound the query's time column to the cache's range to answer from the cache)",
              e);
        }
        // Batches the backend refused as data are acknowledged rows it does not hold: they are
        // read from the quarantine, for the same span.
        String coldSpan = column + " < " + timeLiteral(time, unit, boundary);
        if (c.fromMicros != Long.MIN_VALUE) {
          coldSpan +=
              " AND " + column + " >= " + timeLiteral(time, unit, instantOfMicros(c.fromMicros));
        }
        List<ArrowReader> quarantined = new ArrayList<>();
        try {
          for (Quarantine.Entry e : wt.quarantined()) {
            if (!key(e.table()).equals(key(c.table.name))) {
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
            new DuckDbCacheStore.ExtraRows(
                c.table.name,
                rows,
                column + " >= " + timeLiteral(time, unit, boundary),
                quarantined,
                coldSpan));
      }
    } catch (RuntimeException e) {
      extra.forEach(DuckDbCacheStore.ExtraRows::closeQuietly);
      throw e;
    }
    return cache.queryWithRows(sql, parameters, extra, alloc);
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
      List<ColdRead> cold,
      Set<String> remote) {
    BackendStore b = java.util.Objects.requireNonNull(backend);
    AggregateQuery aggregate = analysis.aggregate();
    if (aggregate == null || cold.size() != 1 || !b.computesPartialAggregates()) {
      return null;
    }
    ColdRead c = cold.get(0);
    String table = c.table.name;
    if (!key(aggregate.table()).equals(key(table)) || !remote.contains(key(table))) {
      return null;
    }
    // Quarantined batches are acknowledged rows the backend does not hold: the row path adds them.
    for (Quarantine.Entry e : java.util.Objects.requireNonNull(writeThrough).quarantined()) {
      if (key(e.table()).equals(key(table))) {
        return null;
      }
    }
    Schema schema = java.util.Objects.requireNonNull(c.table.schema);
    Field time = java.util.Objects.requireNonNull(Columns.field(schema, c.timeColumn));
    if (!(time.getType() instanceof ArrowType.Timestamp)) {
      return null;
    }
    ChronoUnit unit = epochUnitOf(c.table);
    List<String> names = new ArrayList<>();
    for (Field f : cache.querySchema(sql).getFields()) {
      names.add(f.getName());
    }
    AggregateQuery.Split split =
        aggregate.split(
            schema,
            time.getName(),
            c.boundaryMicros,
            parameters,
            micros(Instant.now()), // now() in the SQL is DuckDB's wall clock: see route()
            names,
            DuckDbCacheStore::quote,
            m -> timeLiteral(time, unit, instantOfMicros(m)),
            m -> backendTimeLiteral(time, unit, instantOfMicros(m)));
    if (split == null) {
      return null;
    }
    LOG.debug("splitting an aggregate of '{}' at {}: {}", table, c.boundaryMicros, split);
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

  /**
   * A time literal every backend reads the same: a plain timestamp text (PostgreSQL honours the
   * {@code +00} of a zoned column and ignores it for a naive one), or the epoch number.
   */
  private static String backendTimeLiteral(Field time, ChronoUnit epochUnit, Instant t) {
    if (!(time.getType() instanceof ArrowType.Timestamp)) {
      return timeLiteral(time, epochUnit, t);
    }
    boolean zoned = ((ArrowType.Timestamp) time.getType()).getTimezone() != null;
    return "'"
        + LocalDateTime.ofInstant(t, ZoneOffset.UTC).toString().replace('T', ' ')
        + (zoned ? "+00" : "")
        + "'";
  }

  private static Instant instantOfMicros(long micros) {
    return Instant.EPOCH.plus(micros, ChronoUnit.MICROS);
  }

  private ArrowReader queryBackend(
      String sql, List<@Nullable Object> parameters, BufferAllocator alloc, String why) {
    BackendStore b = java.util.Objects.requireNonNull(backend);
    WriteThrough wt = java.util.Objects.requireNonNull(writeThrough);
    // Read-your-writes through the backend: let acknowledged rows reach it first (bounded).
    if (!wt.drain(BACKEND_READ_WAIT)) {
      LOG.warn(
          "answering from {} with {} batches still queued for it",
          b.name(),
          wt.status().backlogBatches);
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
    ViewRef ref = viewOf(lookup.view);
    if (ref == null
        || ref.spec.keyColumns().size() != 1
        || !ref.spec.keyColumns().get(0).equalsIgnoreCase(lookup.keyColumn)) {
      return null;
    }
    TableState ts = tables.get(key(ref.spec.table()));
    if (ts == null) {
      return null;
    }
    VectorSchemaRoot rows;
    ts.lock.lock();
    try {
      HeapWindowAggregator agg = ts.aggregator;
      if (agg == null) {
        return null;
      }
      Schema viewSchema = agg.viewSchema(ref.window);
      if (lookup.columns != null) {
        for (String c : lookup.columns) {
          if (Columns.field(viewSchema, c) == null) {
            return null; // let DuckDB report the unknown column
          }
        }
      }
      rows =
          agg.lookup(
              ref.window,
              java.util.Collections.singletonList(lookup.key),
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
        new BatchListReader(alloc, projected.getSchema(), List.of(projected)),
        Freshness.computed(
            Freshness.Source.AGGREGATOR, hotSet.newest(key(ref.spec.table())), now, null));
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
        FieldVector src = java.util.Objects.requireNonNull(v);
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

  @Override
  public Schema querySchema(String sql) {
    checkOpen();
    StatementAnalysis analysis = analyser.analyse(sql);
    guard(analysis, true);
    String routed =
        route(analysis, SqlNames.words(sql), List.of(), config.clock.instant()).backendWhy;
    if (routed != null) {
      try (ArrowReader r =
          java.util.Objects.requireNonNull(backend)
              .query("SELECT * FROM (" + sql + ") q LIMIT 0", allocator)) {
        return r.getVectorSchemaRoot().getSchema();
      } catch (IOException e) {
        throw new QueryRejectedException("cannot read the backend's result schema: " + e, e);
      }
    }
    return cache.querySchema(sql);
  }

  @Override
  public long execute(String sql, List<@Nullable Object> parameters) {
    checkOpen();
    SqlAnalyser.checkSize(sql);
    InsertStatement insert = InsertStatement.parse(sql);
    if (insert != null && isIngested(insert)) {
      return executeInsert(insert, parameters);
    }
    StatementAnalysis analysis = analyser.analyse(sql);
    guard(analysis, false);
    prepareFor(SqlNames.words(sql));
    try {
      return cache.execute(sql, parameters);
    } finally {
      versions.changedAny(); // whatever it changed, kept results may no longer hold
      for (Change c : analysis.changes()) {
        String name = c.target().name();
        if (c.operation().equals("DROP") && !name.isEmpty() && cache.tableSchema(name) == null) {
          hotSet.dropped(key(name));
        }
      }
    }
  }

  // ------------------------------------------------------------------------------------ guard

  /**
   * Refuses a statement that would change what other clients see, from DuckDB's own analysis of it;
   * the same decision for a query, a prepared statement, an update and {@link #execute}. A SELECT
   * changes nothing. Any other statement is bound by DuckDB first, and each thing its plan changes
   * must be allowed ({@link #guard(Change, boolean)}); a statement DuckDB cannot bind or whose plan
   * holds an operator this guard does not know is refused.
   *
   * @param asQuery true when the statement runs as a query, which must not change ingested rows
   *     (INSERT into them runs as an ingest only through {@link #execute})
   */
  private void guard(StatementAnalysis analysis, boolean asQuery) {
    if (analysis.kind() != StatementAnalysis.Kind.NOT_A_QUERY) {
      return; // a SELECT; or text DuckDB's parser refuses, which fails with its message when run
    }
    String error = analysis.error();
    if (error != null) {
      String missing = analysis.missingTable();
      if (missing != null) {
        throw new TableNotFoundException(missing);
      }
      throw new QueryRejectedException(
          "the statement is refused because DuckDB cannot bind it to check what it changes: "
              + error,
          null);
    }
    if (analysis.statements() > 1) {
      throw new QueryRejectedException(
          "one statement at a time: this text holds "
              + analysis.statements()
              + " statements; send them one by one",
          null);
    }
    for (Change c : analysis.changes()) {
      guard(c, asQuery);
    }
  }

  /** Catalog entries whose creation changes the meaning of every client's SQL. */
  private static final Set<String> MEANING_CHANGING_ENTRIES =
      Set.of("MACRO_ENTRY", "TABLE_MACRO_ENTRY", "TYPE_ENTRY", "SECRET_ENTRY");

  private void guard(Change c, boolean asQuery) {
    String op = c.operation();
    TableRef target = c.target();
    switch (op) {
      case "INSERT":
      case "UPDATE":
      case "DELETE":
      case "MERGE_INTO":
        guardWrite(target, op.equals("MERGE_INTO") ? "MERGE" : op, true, asQuery);
        return;
      case "CREATE_TABLE":
      case "CREATE_VIEW":
      case "CREATE_SEQUENCE":
      case "CREATE_SCHEMA":
      case "CREATE_INDEX":
        if (c.temporary()) {
          throw new QueryRejectedException(
              "temporary tables, views and sequences are refused: the server's DuckDB connections"
                  + " are shared by every client, and a temporary '"
                  + target.name()
                  + "' would hide the table of that name from the others",
              null);
        }
        guardName(target);
        if (c.replaces()) {
          guardWrite(target, "CREATE OR REPLACE", false, asQuery);
        } else if (op.equals("CREATE_INDEX")) {
          guardWrite(target, "CREATE INDEX", false, asQuery);
        }
        return;
      case "DROP":
      case "ALTER":
        if (MEANING_CHANGING_ENTRIES.contains(c.entryType())
            || c.entryType().equals("PREPARED_STATEMENT")) {
          throw new QueryRejectedException(
              op + " of " + c.entryType() + " '" + target.name() + "' is not allowed", null);
        }
        if (c.entryType().equals("SCHEMA_ENTRY")) {
          if (isSystemCatalog(target.catalog())
              || target.name().equalsIgnoreCase("main")
              || reserved(target.name())) {
            throw new QueryRejectedException(
                op
                    + " of schema '"
                    + target.name()
                    + "' is not allowed: it holds Hyprstream's or DuckDB's own tables",
                null);
          }
          return;
        }
        if (!c.entryType().equals("SEQUENCE_ENTRY") && !c.entryType().equals("INDEX_ENTRY")) {
          guardWrite(target, op, false, asQuery);
        }
        String renamed = c.newName();
        if (renamed != null) {
          guardName(new TableRef(target.catalog(), target.schema(), renamed));
        }
        return;
      case "CREATE_MACRO":
      case "CREATE_FUNCTION":
      case "CREATE_TYPE":
      case "CREATE_SECRET":
        throw new QueryRejectedException(
            "CREATE MACRO, CREATE FUNCTION, CREATE TYPE and CREATE SECRET are refused: the"
                + " server's catalog is shared by every client, and a function or type created"
                + " here (say, a macro named like a built-in such as abs or now) would change the"
                + " answers of every other client's queries",
            null);
      case "SET":
      case "RESET":
        throw new QueryRejectedException(
            "SET, RESET, USE and PRAGMA settings are refused: the server's DuckDB connections are"
                + " shared by every client, so a setting ('"
                + target.name()
                + "') would change other clients' results",
            null);
      case "TRANSACTION":
        throw new QueryRejectedException(
            "BEGIN, COMMIT and ROLLBACK are refused: each statement commits on its own, and a"
                + " transaction left open on a shared connection would hold other clients' writes",
            null);
      case "ATTACH":
      case "DETACH":
      case "LOAD":
      case "EXPORT":
      case "COPY_TO_FILE":
      case "COPY_DATABASE":
      case "VACUUM":
        throw new QueryRejectedException(
            op.replace('_', ' ')
                + " is not allowed: the cache's catalog, files and extensions are fixed",
            null);
      default:
        throw new QueryRejectedException(
            "the statement is refused: its plan holds "
                + op
                + ", which this server does not accept from clients",
            null);
    }
  }

  /**
   * Refuses {@code verb} on {@code target} when it is a system table or view, a window view, a
   * table with window aggregates, or a table ingest manages (which takes INSERT, UPDATE and DELETE
   * only, and as a query none of them).
   *
   * @param rowWrite true for INSERT, UPDATE, DELETE and MERGE, which change rows
   */
  private void guardWrite(TableRef target, String verb, boolean rowWrite, boolean asQuery) {
    String name = target.name();
    if (isSystemCatalog(target.catalog()) || isSystemSchema(target.schema()) || reserved(name)) {
      throw new QueryRejectedException(
          "'" + name + "' is a read-only system table; " + verb + " on it is not allowed", null);
    }
    boolean cacheMain =
        (target.catalog().isEmpty() || target.catalog().equalsIgnoreCase(catalog))
            && (target.schema().isEmpty() || target.schema().equalsIgnoreCase("main"));
    if (!cacheMain) {
      return; // a table of the client's own schema
    }
    TableState ts = tables.get(key(name));
    boolean view = isView(name);
    boolean aggregated = specs.containsKey(key(name));
    boolean managed = ts != null && ts.isManaged();
    if (asQuery && rowWrite && (view || aggregated || managed)) {
      throw runAsStatement(verb, name);
    }
    if (view) {
      throw new QueryRejectedException(
          "'" + name + "' is a window view maintained by Hyprstream and cannot be changed by SQL",
          null);
    }
    if (aggregated) {
      throw new QueryRejectedException(
          verb.equals("INSERT")
              ? "this INSERT into '"
                  + name
                  + "' could not be read (expected INSERT INTO name [(columns)] VALUES ... or"
                  + " INSERT INTO name [(columns)] SELECT ...)"
              : rowWrite
                  ? verb
                      + " of rows of '"
                      + name
                      + "' is not allowed: its window aggregates were computed from the rows as"
                      + " ingested, and changed rows would no longer agree with them. Rows are"
                      + " only added (ingest or INSERT) and leave by expiry; re-ingest corrected"
                      + " data as new rows"
                  : "'" + name + "' is managed by Hyprstream; " + verb + " on it is not allowed",
          null);
    }
    if (managed && !rowWrite) {
      throw new QueryRejectedException(
          "'" + name + "' is managed by Hyprstream; " + verb + " on it is not allowed", null);
    }
  }

  private static QueryRejectedException runAsStatement(String verb, String table) {
    return new QueryRejectedException(
        verb
            + " on '"
            + table
            + "' changes rows: run it as a statement (execute, a Flight SQL update,"
            + " JDBC executeUpdate), not as a query",
        null);
  }

  /** Refuses creating (or renaming to) a name reserved for system tables and catalogs. */
  private void guardName(TableRef created) {
    if (isSystemCatalog(created.catalog())
        || isSystemSchema(created.schema())
        || reserved(created.name())) {
      throw new QueryRejectedException(
          "'"
              + created.name()
              + "' is reserved: names starting with "
              + String.join(", ", RESERVED_PREFIXES)
              + " and the system and temp catalogs belong to Hyprstream's system tables or"
              + " DuckDB's catalog",
          null);
    }
  }

  private static boolean isSystemCatalog(String catalog) {
    return catalog.equalsIgnoreCase("system") || catalog.equalsIgnoreCase("temp");
  }

  private static boolean isSystemSchema(String schema) {
    return schema.equalsIgnoreCase("information_schema") || schema.equalsIgnoreCase("pg_catalog");
  }

  private static boolean reserved(String name) {
    String lower = name.toLowerCase(Locale.ROOT);
    if (lower.equals(io.hyprstream.backend.PostgresBackendStore.LEDGER)) {
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

  /**
   * True when an INSERT targets a table whose rows arrive through ingest (one with window
   * aggregates, or one ingest created or has written to), in the cache's own catalog and schema.
   */
  private boolean isIngested(InsertStatement insert) {
    if (insert.schema != null && !insert.schema.equalsIgnoreCase("main")) {
      return false;
    }
    if (insert.catalog != null && !insert.catalog.equalsIgnoreCase(catalog)) {
      return false;
    }
    if (specs.containsKey(key(insert.table))) {
      return true;
    }
    TableState ts = tables.get(key(insert.table));
    return ts != null && ts.isManaged();
  }

  /**
   * Runs an SQL INSERT into an ingested table as an ingest: DuckDB evaluates the rows the statement
   * supplies (cast to the target columns' types, matched by the column list, by name, or to the
   * table's first columns in order), and those rows are ingested like any batch, so windows,
   * running columns, the write-ahead log and write-through see them. All or nothing. Returns the
   * number of rows ingested.
   */
  private long executeInsert(InsertStatement insert, List<@Nullable Object> parameters) {
    String table = insert.table;
    if (InsertStatement.MORE_STATEMENTS.equals(insert.unsupported)) {
      throw new QueryRejectedException(
          "one statement at a time: this INSERT into '" + table + "' is followed by another", null);
    }
    if (insert.unsupported != null) {
      throw new QueryRejectedException(
          insert.unsupported
              + " is not supported for '"
              + table
              + "': its rows arrive through ingest, which only adds rows; use a plain INSERT INTO "
              + table
              + " [(columns)] VALUES ... or SELECT ...",
          null);
    }
    DuckDbCacheStore.ParsedQuery parsed = cache.parseQuery(insert.source);
    if (parsed.error() != null) {
      throw new QueryRejectedException(
          "the rows of this INSERT into '"
              + table
              + "' must be VALUES or a query: "
              + parsed.error()
              + " (in: "
              + insert.source
              + ")",
          null);
    }
    if (parsed.statements() != 1) {
      throw new QueryRejectedException(
          "one statement at a time: this INSERT into '" + table + "' is followed by another", null);
    }
    Set<String> words = SqlNames.words(insert.source);
    Route route = route(analyser.analyse(insert.source), words, parameters, config.clock.instant());
    String routed = route.backendWhy;
    if (routed == null && !route.cold.isEmpty()) {
      ColdRead c = route.cold.get(0);
      routed =
          "rows of '"
              + c.table.name
              + "' before "
              + instantOfMicros(c.boundaryMicros)
              + " are only in the backend";
    }
    if (routed != null) {
      throw new QueryRejectedException(
          "the rows of this INSERT into '"
              + table
              + "' would be read from the backend ("
              + routed
              + "); INSERT ... SELECT reads the cache only: read them with a query and ingest"
              + " them",
          null);
    }
    prepareFor(words);
    List<String[]> columns = targetColumns(insert, parsed.valuesWidth());
    int supplied = columns.size();
    columns.addAll(omittedValueColumns(table, columns));
    List<String> names = new ArrayList<>(columns.size());
    List<String> types = new ArrayList<>(columns.size());
    columns.forEach(
        c -> {
          names.add(c[0]);
          types.add(c[1]);
        });
    List<VectorSchemaRoot> rows =
        cache.evaluateRows(table, names, supplied, types, insert.source, parameters, allocator);
    TableState ts = tables.get(key(table));
    Schema ingested = null;
    if (ts != null) {
      ts.lock.lock();
      try {
        ingested = ts.schema; // the Arrow types ingest compares with
      } finally {
        ts.lock.unlock();
      }
    }
    List<VectorSchemaRoot> batches = new ArrayList<>(rows.size());
    long count = 0;
    int i = 0;
    try {
      for (; i < rows.size(); i++) {
        VectorSchemaRoot r = rows.get(i);
        count += r.getRowCount();
        batches.add(ingested == null ? r : ArrowConform.toTable(r, ingested, allocator));
      }
    } catch (RuntimeException e) {
      batches.forEach(VectorSchemaRoot::close);
      rows.subList(i + 1, rows.size()).forEach(VectorSchemaRoot::close); // toTable closed row i
      throw e;
    }
    ingestOwned(table, batches, Ingest.LIVE);
    return count;
  }

  /**
   * The value columns of {@code table}'s windows that an INSERT filling {@code columns} leaves out,
   * as {@code {name, DuckDB type}}: SQL makes an omitted column NULL, whereas an ingested batch
   * must carry every value column, so they are added as NULL (such rows are stored, not
   * aggregated). None when the statement fills a value's running count instead (the pre-aggregated
   * form of a seed).
   */
  private List<String[]> omittedValueColumns(String table, List<String[]> columns) {
    AggregationSpec spec = specs.get(key(table));
    if (spec == null) {
      return List.of();
    }
    Set<String> filled = new java.util.HashSet<>();
    columns.forEach(c -> filled.add(key(c[0])));
    List<String[]> out = new ArrayList<>();
    for (String v : spec.valueColumns()) {
      if (filled.contains(key(v)) || filled.contains(key(v + "_running_window_count"))) {
        continue;
      }
      for (String[] c : cache.columnTypes(table)) {
        if (c[0].equalsIgnoreCase(v)) {
          out.add(c);
        }
      }
    }
    return out;
  }

  /**
   * The columns an INSERT fills, each as {@code {name, DuckDB type}} of the target table: its
   * column list; with {@code BY NAME}, the source's column names; otherwise the table's first
   * columns, as many as each source row has ({@code valuesWidth} for a bare VALUES list, else the
   * source query's width), as PostgreSQL does.
   *
   * @throws SchemaMismatchException naming a column the table does not have, or one named twice
   */
  private List<String[]> targetColumns(InsertStatement insert, int valuesWidth) {
    String table = insert.table;
    List<String[]> tableColumns = cache.columnTypes(table);
    if (tableColumns.isEmpty()) {
      throw new TableNotFoundException(table);
    }
    List<String> names = insert.columns;
    if (names == null) {
      Schema source = valuesWidth < 0 || insert.byName ? cache.querySchema(insert.source) : null;
      int width =
          valuesWidth >= 0
              ? valuesWidth
              : java.util.Objects.requireNonNull(source).getFields().size();
      names = new ArrayList<>();
      if (insert.byName) {
        for (Field f : java.util.Objects.requireNonNull(source).getFields()) {
          names.add(f.getName());
        }
      } else if (width > tableColumns.size()) {
        throw new QueryRejectedException(
            "'"
                + table
                + "' has "
                + tableColumns.size()
                + " columns but this INSERT supplies "
                + width
                + " values per row",
            null);
      } else {
        for (int i = 0; i < width; i++) {
          names.add(tableColumns.get(i)[0]);
        }
      }
    }
    List<String[]> out = new ArrayList<>(names.size());
    Set<String> seen = new java.util.HashSet<>();
    for (String n : names) {
      String[] column = null;
      for (String[] c : tableColumns) {
        if (c[0].equalsIgnoreCase(n)) {
          column = c;
        }
      }
      if (column == null) {
        List<String> known = new ArrayList<>();
        tableColumns.forEach(c -> known.add(c[0]));
        throw new SchemaMismatchException(
            table,
            n,
            "no such column; the table has "
                + String.join(", ", known)
                + " (a new column arrives with an ingested batch that carries it)");
      }
      if (!seen.add(key(column[0]))) {
        throw new SchemaMismatchException(table, column[0], "named twice in the INSERT");
      }
      out.add(column);
    }
    return out;
  }

  @Override
  public List<TableInfo> tables() {
    checkOpen();
    List<TableInfo> out = new ArrayList<>();
    for (String name : cache.tables()) {
      if (name.startsWith("_hs_")) {
        continue;
      }
      Schema schema = cache.tableSchema(name);
      if (schema != null) {
        out.add(new TableInfo(name, kindOf(name), schema));
      }
    }
    BackendStore b = backend;
    if (b != null) {
      Set<String> listed = new java.util.HashSet<>();
      out.forEach(t -> listed.add(key(t.name())));
      try {
        for (String name : b.tables()) {
          Schema schema = listed.contains(key(name)) ? null : b.tableSchema(name);
          if (schema != null) {
            out.add(new TableInfo(name, TableInfo.Kind.BACKEND_TABLE, schema));
          }
        }
      } catch (RuntimeException e) {
        LOG.warn("cannot list the backend's tables: {}", e.getMessage());
      }
      out.sort(java.util.Comparator.comparing(TableInfo::name));
    }
    return out;
  }

  private TableInfo.Kind kindOf(String name) {
    if (name.equalsIgnoreCase(CACHE_STATS_TABLE)
        || name.equalsIgnoreCase(BACKEND_STATUS_TABLE)
        || name.equalsIgnoreCase(QUARANTINE_TABLE)) {
      return TableInfo.Kind.SYSTEM_TABLE;
    }
    return isView(name) ? TableInfo.Kind.WINDOW_VIEW : TableInfo.Kind.TABLE;
  }

  @Override
  public @Nullable Schema tableSchema(String table) {
    checkOpen();
    Schema schema = cache.tableSchema(table);
    BackendStore b = backend;
    if (schema == null && b != null) {
      schema = b.tableSchema(table);
    }
    return schema;
  }

  // ------------------------------------------------------------------------------------ expiry

  @Override
  public void expire() {
    checkOpen();
    Instant now = config.clock.instant();
    Instant rawCutoff = now.minus(config.cacheDuration);
    for (TableState ts : tables.values()) {
      AggregationSpec spec = ts.specOrNull();
      String timeColumn = timeColumnOf(ts);
      if (timeColumn == null || ts.schema == null) {
        continue;
      }
      flush(ts);
      Field time = Columns.field(ts.schema, timeColumn);
      if (time != null) {
        long deleted =
            cache.delete(
                ts.name,
                DuckDbCacheStore.quote(time.getName())
                    + " < "
                    + timeLiteral(time, epochUnitOf(ts), rawCutoff));
        hotSet.expired(key(ts.name), micros(rawCutoff), deleted);
        if (deleted > 0) {
          versions.changed(key(ts.name));
        }
      }
      if (spec == null || ts.aggregator == null) {
        continue;
      }
      ts.viewLock.lock();
      try {
        ts.lock.lock();
        try {
          ts.aggregator.expire(now);
        } finally {
          ts.lock.unlock();
        }
        for (WindowSpec w : spec.windows()) {
          if (cache.delete(
                  spec.viewName(w), "window_end <= " + timestampLiteral(now.minus(w.retention())))
              > 0) {
            versions.changed(key(spec.viewName(w)));
          }
        }
      } finally {
        ts.viewLock.unlock();
      }
    }
  }

  // ------------------------------------------------------------------------ memory budget

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

  /** The event-time column of a table: its aggregation's, or one declared for expiry, or null. */
  private @Nullable String timeColumnOf(TableState ts) {
    AggregationSpec spec = ts.specOrNull();
    return spec != null ? spec.timeColumn() : config.timeColumns.get(key(ts.name));
  }

  /** The table's time column when it may arrive as an int64 epoch, with its unit. */
  private Map<String, ChronoUnit> epochColumns(TableState ts) {
    String column = timeColumnOf(ts);
    return column == null ? Map.of() : Map.of(column, epochUnitOf(ts));
  }

  private static ChronoUnit epochUnitOf(TableState ts) {
    AggregationSpec spec = ts.specOrNull();
    return spec != null ? spec.epochUnit() : ChronoUnit.MILLIS;
  }

  /** Adds a stored batch to the hot-set accounting, by the event time of each row. */
  private void countHot(TableState ts, VectorSchemaRoot stored) {
    String column = timeColumnOf(ts);
    FieldVector time = column == null ? null : Columns.vector(stored, column);
    long[] micros =
        time == null ? null : Columns.eventMicros(time, stored.getRowCount(), epochUnitOf(ts));
    hotSet.stored(key(ts.name), micros, stored.getRowCount(), bufferBytes(stored));
  }

  /** Marks {@code ts} and its views changed: kept results that read them are out of date. */
  private void changed(TableState ts) {
    versions.changed(key(ts.name));
    AggregationSpec spec = ts.specOrNull();
    if (spec != null) {
      for (WindowSpec w : spec.windows()) {
        versions.changed(key(spec.viewName(w)));
      }
    }
  }

  /**
   * While the hot rows exceed the memory budget, deletes the partition the policy chooses from
   * DuckDB (after flushing its table, so queued rows go too) and records it as evicted. Window
   * state is untouched. Runs on the ingesting thread once its rows are acknowledged.
   */
  private void enforceMemoryBudget() {
    if (!hotSet.overBudget()) {
      return;
    }
    synchronized (evictionLock) {
      HotSet.Victim v;
      while ((v = hotSet.nextVictim()) != null) {
        TableState ts = java.util.Objects.requireNonNull(tables.get(v.table));
        String column = java.util.Objects.requireNonNull(timeColumnOf(ts));
        Field time = Columns.field(java.util.Objects.requireNonNull(ts.schema), column);
        flush(ts);
        Instant from = instantOfMicros(v.startMicros);
        Instant to = instantOfMicros(v.endMicros);
        String col = DuckDbCacheStore.quote(java.util.Objects.requireNonNull(time).getName());
        long deleted =
            cache.delete(
                ts.name,
                col
                    + " >= "
                    + timeLiteral(time, epochUnitOf(ts), from)
                    + " AND "
                    + col
                    + " < "
                    + timeLiteral(time, epochUnitOf(ts), to));
        hotSet.evicted(v, deleted);
        versions.changed(key(ts.name));
        LOG.debug(
            "evicted {} rows of '{}' in [{}, {}) for the memory budget",
            deleted,
            ts.name,
            from,
            to);
      }
    }
  }

  // ------------------------------------------------------------------------------ cache stats

  @Override
  public List<CacheStatistics> cacheStatistics() {
    checkOpen();
    List<String> names = new ArrayList<>(tables.keySet());
    java.util.Collections.sort(names);
    List<CacheStatistics> out = new ArrayList<>(hotSet.statistics(names));
    ResultCache rc = results;
    if (rc != null) {
      out.add(rc.statistics());
    }
    return out;
  }

  /** Rewrites the cache statistics table from the current counters. */
  private void refreshCacheStats() {
    StringBuilder sql =
        new StringBuilder("CREATE OR REPLACE TABLE ")
            .append(CACHE_STATS_TABLE)
            .append(
                " AS SELECT NULL::VARCHAR AS scope, NULL::VARCHAR AS name, NULL::BIGINT AS hits,"
                    + " NULL::BIGINT AS misses, NULL::DOUBLE AS hit_ratio, NULL::BIGINT AS"
                    + " evicted_size, NULL::BIGINT AS evicted_expired, NULL::BIGINT AS"
                    + " evicted_invalidated, NULL::BIGINT AS bytes, NULL::BIGINT AS rows"
                    + " WHERE false");
    for (CacheStatistics c : closed.get() ? List.<CacheStatistics>of() : cacheStatistics()) {
      sql.append(" UNION ALL SELECT '")
          .append(c.scope().name().toLowerCase(Locale.ROOT))
          .append("', '")
          .append(c.name().replace("'", "''"))
          .append("', ")
          .append(c.hits())
          .append(", ")
          .append(c.misses())
          .append(", ")
          .append(c.hitRatio())
          .append(", ")
          .append(c.evictedSize())
          .append(", ")
          .append(c.evictedExpired())
          .append(", ")
          .append(c.evictedInvalidated())
          .append(", ")
          .append(c.bytes())
          .append(", ")
          .append(c.rows());
    }
    cache.execute(sql.toString(), List.of());
  }

  private void expireQuietly() {
    try {
      if (!closed.get()) {
        expire();
      }
    } catch (RuntimeException e) {
      LOG.warn("expiry pass failed; it runs again in {}", config.expiryInterval, e);
    }
  }

  private static String timeLiteral(Field time, ChronoUnit epochUnit, Instant cutoff) {
    ArrowType t = time.getType();
    if (t instanceof ArrowType.Timestamp) {
      String tz = ((ArrowType.Timestamp) t).getTimezone();
      return tz == null ? timestampLiteral(cutoff) : "TIMESTAMPTZ '" + cutoff + "'";
    }
    long seconds = cutoff.getEpochSecond();
    long value;
    if (epochUnit == ChronoUnit.SECONDS) {
      value = seconds;
    } else if (epochUnit == ChronoUnit.MILLIS) {
      value = cutoff.toEpochMilli();
    } else if (epochUnit == ChronoUnit.MICROS) {
      value = seconds * 1_000_000L + cutoff.getNano() / 1000;
    } else {
      value = seconds * 1_000_000_000L + cutoff.getNano();
    }
    return Long.toString(value);
  }

  private static String timestampLiteral(Instant instant) {
    return "TIMESTAMP '" + LocalDateTime.ofInstant(instant, ZoneOffset.UTC) + "'";
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
      snapshotter.stop();
    }
    if (expiry != null) {
      expiry.shutdownNow();
      try {
        expiry.awaitTermination(
            30, TimeUnit.SECONDS); // a running pass finishes before the cache closes
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    synchronized (pendingMonitor) {
      pendingMonitor.notifyAll();
    }
    try {
      flusher.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      for (TableState ts : tables.values()) {
        try {
          flush(ts);
        } catch (RuntimeException e) {
          LOG.error("final flush of '{}' failed", ts.name, e);
        }
        ts.lock.lock();
        try {
          ts.pending.forEach(VectorSchemaRoot::close);
          ts.pending.clear();
        } finally {
          ts.lock.unlock();
        }
      }
      if (snapshots != null) {
        snapshotQuietly(); // the next start loads it and replays nothing
      }
    } finally {
      if (config.windowListener != null) {
        config.windowListener.close(); // publishes what the last ingests changed
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
      return;
    }
    try {
      if (!wt.drain(config.drainTimeout)) {
        LOG.warn(
            "write-through did not drain within {}; {} batches stay in the log and are sent after"
                + " the next start",
            config.drainTimeout,
            wt.status().backlogBatches);
      }
    } finally {
      wt.close();
      java.util.Objects.requireNonNull(wal).close();
      java.util.Objects.requireNonNull(backend).close();
    }
  }

  /** Rewrites the one-row status table from the pipeline's current figures. */
  private void refreshBackendStatus(WriteThrough.Status st) {
    String error = st.lastError == null ? "NULL" : "'" + st.lastError.replace("'", "''") + "'";
    cache.execute(
        "CREATE OR REPLACE TABLE "
            + BACKEND_STATUS_TABLE
            + " AS SELECT '"
            + st.backend.replace("'", "''")
            + "' AS backend, "
            + st.backlogBatches
            + "::BIGINT AS backlog_batches, "
            + st.backlogRows
            + "::BIGINT AS backlog_rows, "
            + st.lagMillis
            + "::BIGINT AS lag_ms, "
            + st.committedBatches
            + "::BIGINT AS committed_batches, "
            + st.committedRows
            + "::BIGINT AS committed_rows, "
            + st.failures
            + "::BIGINT AS failures, "
            + error
            + "::VARCHAR AS last_error, "
            + st.walBytes
            + "::BIGINT AS wal_bytes, "
            + st.backlogBytes
            + "::BIGINT AS backlog_bytes, "
            + st.maxLagMillis
            + "::BIGINT AS max_lag_ms, "
            + st.callMillis
            + "::BIGINT AS call_ms, "
            + st.quarantinedBatches
            + "::BIGINT AS quarantined_batches, "
            + st.quarantinedRows
            + "::BIGINT AS quarantined_rows, "
            + st.spilledBatches
            + "::BIGINT AS spilled_batches, "
            + st.spilledBytes
            + "::BIGINT AS spilled_bytes, "
            + st.heldBytes
            + "::BIGINT AS held_bytes, now() AS as_of",
        List.of());
  }

  /** Rewrites the quarantine table: one row per batch the backend refused as data. */
  private void refreshQuarantine(WriteThrough wt) {
    StringBuilder sql =
        new StringBuilder("CREATE OR REPLACE TABLE ")
            .append(QUARANTINE_TABLE)
            .append(
                " (table_name VARCHAR, batch_id VARCHAR, row_count BIGINT, error VARCHAR,"
                    + " quarantined_at TIMESTAMPTZ)");
    synchronized (quarantineTableLock) {
      cache.execute(sql.toString(), List.of());
      for (Quarantine.Entry e : wt.quarantined()) {
        cache.execute(
            "INSERT INTO " + QUARANTINE_TABLE + " VALUES (?, ?, ?, ?, to_timestamp(?))",
            List.of(e.table(), e.batchId(), e.rows(), e.error(), e.when().toEpochMilli() / 1000.0));
      }
    }
  }

  /** One rewrite of the quarantine table at a time, so readers never see two interleaved. */
  private final Object quarantineTableLock = new Object();

  /** The batches the backend refused as data; empty without a backend. */
  public List<Quarantine.Entry> quarantined() {
    WriteThrough wt = writeThrough;
    return wt == null ? List.of() : wt.quarantined();
  }

  /**
   * Puts quarantined batches back in the write-through queue: {@code batchId}'s, or all when null.
   *
   * @throws QueryRejectedException without a backend, or when no such batch is quarantined
   */
  public List<Quarantine.Entry> requeueQuarantine(@Nullable String batchId) {
    checkOpen();
    WriteThrough wt = writeThrough;
    if (wt == null) {
      throw new QueryRejectedException("there is no backend, so nothing is quarantined", null);
    }
    try {
      return wt.requeue(batchId, allocator);
    } catch (IllegalArgumentException e) {
      throw new QueryRejectedException(String.valueOf(e.getMessage()), e);
    }
  }

  /**
   * How many queries read what the cache no longer holds from the backend, since the start: as the
   * rows themselves, or as partial aggregates the backend computed.
   */
  public record ColdReads(long rows, long partialAggregates) {}

  public ColdReads coldReads() {
    return new ColdReads(coldRowReads.sum(), splitAggregates.sum());
  }

  /** The write-through pipeline's state, or null without a backend. */
  public WriteThrough.@Nullable Status backendStatus() {
    WriteThrough wt = writeThrough;
    return wt == null ? null : wt.status();
  }

  /** Window state bytes and count, for benchmarks and status tables. */
  public long windowStateBytes() {
    long b = 0;
    for (TableState ts : tables.values()) {
      ts.lock.lock();
      try {
        if (ts.aggregator != null) {
          b += ts.aggregator.stateBytes();
        }
      } finally {
        ts.lock.unlock();
      }
    }
    return b;
  }

  /** Number of (key, window) states held across all tables. */
  public long windowCount() {
    long n = 0;
    for (TableState ts : tables.values()) {
      ts.lock.lock();
      try {
        if (ts.aggregator != null) {
          n += ts.aggregator.windowCount();
        }
      } finally {
        ts.lock.unlock();
      }
    }
    return n;
  }

  /** The DuckDB cache, for tools that measure it. */
  public DuckDbCacheStore cache() {
    return cache;
  }

  // ------------------------------------------------------------------------------- snapshots

  /** The log position the last snapshot was taken at; guarded by {@link #snapshotLock}. */
  private long lastSnapshotPosition = -1;

  /** One snapshot at a time: the periodic one or the one at shutdown. */
  private final Object snapshotLock = new Object();

  /**
   * Writes a snapshot of every aggregated table's windows, unless nothing was logged since the last
   * one, and lets the log drop the segments the kept snapshots cover.
   *
   * <p>Each table's state is copied under its lock, together with the log's position at that
   * moment: an ingest counts its rows and logs them under the same lock, so the copy holds exactly
   * the table's records before that position. Only the copying holds up ingest; the writing does
   * not.
   */
  private void snapshot() {
    WindowSnapshots store = java.util.Objects.requireNonNull(snapshots);
    WriteAheadLog log = java.util.Objects.requireNonNull(wal);
    synchronized (snapshotLock) {
      long position = log.position();
      // Nothing logged since the last one: a second snapshot is still due while the older kept
      // one lags, since the log keeps every record the older one does not cover (a drained, full
      // log would otherwise keep refusing ingest with nothing left to trigger a snapshot).
      if (position == lastSnapshotPosition && store.coveredPosition() >= position) {
        return;
      }
      long started = System.nanoTime();
      List<WindowSnapshots.TableSnapshot> parts = new ArrayList<>();
      try {
        long windows = 0;
        for (TableState ts : tables.values()) {
          if (ts.specOrNull() == null) {
            continue;
          }
          ts.lock.lock();
          try {
            HeapWindowAggregator agg = ts.aggregator;
            if (agg == null) {
              continue;
            }
            windows += agg.windowCount();
            parts.add(
                new WindowSnapshots.TableSnapshot(
                    ts.name, ts.schema, log.position(), agg.exportState(allocator)));
          } finally {
            ts.lock.unlock();
          }
        }
        long covered = store.write(position, parts, allocator);
        log.coveredBefore(covered);
        lastSnapshotPosition = position;
        LOG.debug(
            "window snapshot of {} tables ({} windows) in {} ms, covering the log before {}",
            parts.size(),
            windows,
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started),
            position);
      } finally {
        parts.forEach(WindowSnapshots.TableSnapshot::close);
      }
    }
  }

  /**
   * Writes a window snapshot now, as the snapshotter does every interval.
   *
   * @throws IllegalStateException when this instance takes no snapshots (no backend, a cache file,
   *     or a zero interval)
   */
  public void snapshotWindows() {
    checkOpen();
    if (snapshots == null) {
      throw new IllegalStateException(
          "this instance takes no window snapshots (they need a backend and no cache file)");
    }
    snapshot();
  }

  private void snapshotQuietly() {
    try {
      snapshot();
    } catch (RuntimeException e) {
      LOG.error(
          "cannot write a window snapshot in {}; the log keeps what the last one does not cover",
          java.util.Objects.requireNonNull(snapshots).directory(),
          e);
    }
  }

  /**
   * Takes a window snapshot every interval, and sooner when the log passes half its size bound (the
   * log keeps what the snapshots do not cover, so snapshots must keep up with ingest).
   */
  private final class Snapshotter {
    private final ScheduledExecutorService executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "hyprstream-snapshotter");
              t.setDaemon(true);
              return t;
            });
    private final long intervalNanos;
    private long lastNanos = System.nanoTime();

    Snapshotter(Duration interval) {
      this.intervalNanos = interval.toNanos();
      long tick = Math.max(100, Math.min(1000, interval.toMillis()));
      executor.scheduleWithFixedDelay(this::tick, tick, tick, TimeUnit.MILLISECONDS);
    }

    private void tick() {
      long now = System.nanoTime();
      long since = now - lastNanos;
      WriteAheadLog log = java.util.Objects.requireNonNull(wal);
      boolean logFilling =
          log.sizeBytes() > config.walMaxBytes / 2 && since >= TimeUnit.SECONDS.toNanos(5);
      if (since >= intervalNanos || logFilling) {
        lastNanos = now;
        snapshotQuietly();
      }
    }

    /** Stops taking snapshots, letting one in progress finish. */
    void stop() {
      executor.shutdownNow();
      try {
        executor.awaitTermination(60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static final class ViewRef {
    final AggregationSpec spec;
    final WindowSpec window;

    ViewRef(AggregationSpec spec, WindowSpec window) {
      this.spec = spec;
      this.window = window;
    }
  }

  // ------------------------------------------------------------------------------------ tables

  /** One table's ingest state. {@code lock} guards everything but the DuckDB work. */
  private final class TableState {
    final String name;
    final @Nullable AggregationSpec spec;
    final ReentrantLock lock = new ReentrantLock();

    /** Held while batches move into DuckDB and during DDL; taken before {@link #lock}. */
    final ReentrantLock flushLock = new ReentrantLock();

    /** Held while a view of this table is synced or expired; taken before {@link #lock}. */
    final ReentrantLock viewLock = new ReentrantLock();

    final List<VectorSchemaRoot> pending = new ArrayList<>();
    long pendingRows;
    long pendingSince;
    @Nullable Schema schema;
    @Nullable HeapWindowAggregator aggregator;
    IngestResult lastResult = IngestResult.of(0);
    boolean created;

    TableState(String name, @Nullable AggregationSpec spec) {
      this.name = name;
      this.spec = spec;
    }

    AggregationSpec spec() {
      return java.util.Objects.requireNonNull(spec);
    }

    /** True when the flusher should move this table's queue now. */
    boolean dueForFlush(long nowNanos) {
      lock.lock();
      try {
        return pendingRows >= FLUSH_ROWS
            || (pendingRows > 0 && nowNanos - pendingSince >= FLUSH_DELAY_NANOS);
      } finally {
        lock.unlock();
      }
    }

    @Nullable AggregationSpec specOrNull() {
      return spec;
    }

    boolean isMetrics() {
      return key(name).equals(MetricsTable.NAME);
    }

    /** Tables Hyprstream created by ingest (not by SQL) are managed: no DROP or ALTER by SQL. */
    boolean isManaged() {
      return created;
    }

    void adopt(Schema grown) {
      this.schema = grown;
      this.created = true;
    }

    /**
     * Checks {@code batches} against this table and returns the table's schema grown by their new
     * columns, or null when it need not change. Nothing is modified.
     */
    @Nullable Schema validate(List<VectorSchemaRoot> batches) {
      Schema current = schema;
      if (current == null && !created) {
        current = cache.tableSchema(name); // made by SQL earlier, or by a previous run
        if (current != null) {
          schema = current;
          created = true;
        }
      }
      Map<String, Field> added = new LinkedHashMap<>();
      for (VectorSchemaRoot b : batches) {
        if (isMetrics()) {
          HeapWindowAggregator agg = java.util.Objects.requireNonNull(aggregator);
          MetricsTable.validate(b, agg.isPreAggregated(b.getSchema()));
        } else if (aggregator != null) {
          aggregator.validate(b.getSchema());
        } else if (spec != null) {
          new HeapWindowAggregator(spec, keyFields(b.getSchema())).validate(b.getSchema());
        }
        for (Field f : b.getSchema().getFields()) {
          if (isMetrics() && MetricsTable.isBaseColumn(f.getName())) {
            continue;
          }
          Field existing = current == null ? null : Columns.field(current, f.getName());
          if (existing == null) {
            existing = added.get(key(f.getName()));
          }
          if (existing == null) {
            added.put(
                key(f.getName()),
                new Field(f.getName(), FieldType.nullable(f.getType()), f.getChildren()));
          } else if (!existing.getType().equals(f.getType())) {
            throw new SchemaMismatchException(
                name, f.getName(), "expected " + existing.getType() + ", got " + f.getType());
          }
        }
      }
      if (added.isEmpty() && current != null) {
        return null;
      }
      List<Field> fields = new ArrayList<>(current == null ? List.of() : current.getFields());
      fields.addAll(added.values());
      return new Schema(fields);
    }

    private List<Field> keyFields(Schema schema) {
      List<Field> out = new ArrayList<>();
      for (String k : spec().keyColumns()) {
        Field f = Columns.field(schema, k);
        if (f == null) {
          throw new SchemaMismatchException(
              name, k, "missing; it is a key column of this table's windows");
        }
        out.add(f);
      }
      return out;
    }

    void ensureAggregator(Schema first) {
      if (spec != null && aggregator == null) {
        startAggregating(keyFields(first));
      }
    }

    void startAggregating(List<Field> keyFields) {
      HeapWindowAggregator agg = new HeapWindowAggregator(spec(), keyFields);
      for (WindowSpec w : spec().windows()) {
        cache.ensureTable(spec().viewName(w), agg.viewSchema(w));
      }
      this.aggregator = agg;
    }

    /**
     * Counts {@code batch} (a stored form, read back from the log) in the windows only; the caller
     * keeps it.
     */
    IngestResult aggregateOnly(VectorSchemaRoot batch, Instant now) {
      HeapWindowAggregator agg = aggregator;
      return agg == null ? IngestResult.of(batch.getRowCount()) : agg.update(batch, null, now);
    }

    /** Runs {@code read} on the windows under the table's lock (for a {@link WindowListener}). */
    <T> T readWindows(java.util.function.Function<WindowAggregator, T> read) {
      lock.lock();
      try {
        return read.apply(java.util.Objects.requireNonNull(aggregator, "aggregator"));
      } finally {
        lock.unlock();
      }
    }

    /** Replaces the (empty) window state with {@code restored}, read from a snapshot. */
    void restoreAggregator(HeapWindowAggregator restored) {
      for (WindowSpec w : spec().windows()) {
        cache.ensureTable(spec().viewName(w), restored.viewSchema(w));
      }
      this.aggregator = restored;
    }

    /** Updates the windows with {@code batch} and returns its stored form; takes {@code batch}. */
    VectorSchemaRoot aggregateAndStore(VectorSchemaRoot batch, Instant now) {
      HeapWindowAggregator agg = aggregator;
      if (agg == null) {
        lastResult = IngestResult.of(batch.getRowCount());
        return batch;
      }
      if (!isMetrics()) {
        try {
          lastResult = agg.update(batch, null, now);
          return batch;
        } catch (RuntimeException e) {
          batch.close();
          throw e;
        }
      }
      VectorSchemaRoot running = VectorSchemaRoot.create(MetricsTable.RUNNING_SCHEMA, allocator);
      try {
        running
            .getFieldVectors()
            .forEach(
                v -> {
                  v.setInitialCapacity(batch.getRowCount());
                  v.allocateNew();
                });
        lastResult = agg.update(batch, running, now);
      } catch (RuntimeException e) {
        running.close();
        batch.close();
        throw e;
      }
      return MetricsTable.toStored(batch, running, allocator);
    }
  }
}
