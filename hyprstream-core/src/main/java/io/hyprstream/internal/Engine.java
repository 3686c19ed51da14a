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
import io.hyprstream.api.WindowSpec;
import io.hyprstream.duckdb.DuckDbCacheStore;
import io.hyprstream.internal.sql.AggregateQuery;
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
import java.util.regex.Matcher;
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

  private static final Pattern WRITE_TARGET =
      Pattern.compile(
          "^\\s*(?:INSERT\\s+(?:OR\\s+\\w+\\s+)?INTO|UPDATE|DELETE\\s+FROM|MERGE\\s+INTO|TRUNCATE(?:\\s+TABLE)?"
              + "|DROP\\s+(?:TABLE|VIEW)(?:\\s+IF\\s+EXISTS)?|ALTER\\s+TABLE(?:\\s+IF\\s+EXISTS)?"
              + "|CREATE\\s+(?:OR\\s+REPLACE\\s+)?(?:TEMP\\s+|TEMPORARY\\s+)?(?:TABLE|VIEW)"
              + "(?:\\s+IF\\s+NOT\\s+EXISTS)?)"
              + "\\s+(?:(?:\"(?:[^\"]|\"\")+\"|\\w+)\\s*\\.\\s*)*(\"(?:[^\"]|\"\")+\"|\\w+)",
          Pattern.CASE_INSENSITIVE);

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

  /** A {@code /*+ max_staleness=5s *}{@code /} hint: the query accepts a result this old. */
  private static final Pattern STALENESS_HINT =
      Pattern.compile(
          "/\\*\\+?\\s*max_staleness\\s*[=:]?\\s*'?(\\d+)\\s*(ms|s|m|h)?'?\\s*\\*/",
          Pattern.CASE_INSENSITIVE);

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
    this.analyser = new SqlAnalyser(cache::parseTree);
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
      List<WriteAheadLog.Record> recovered = wal.recovered();
      if (!recovered.isEmpty()) {
        LOG.info(
            "re-sending {} logged batches to {} (already-committed ones are skipped by the ledger)",
            recovered.size(),
            backend.name());
      }
      for (WriteAheadLog.Record r : recovered) {
        writeThrough.submit(r.table, r.batchId, r.batch, false);
      }
    } else {
      this.wal = null;
      this.writeThrough = null;
    }
    this.heldBeforeStart = heldBeforeStart();
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
    if (backend != null && config.cacheFile == null) {
      restoreFromBackend();
    }
  }

  /**
   * Rebuilds the in-memory cache and window state after a start: first the log's backlog is sent
   * (so the backend holds every acknowledged row), then each aggregated table's rows within its
   * longest retention are read back from the backend and aggregated again, without being logged.
   */
  private void restoreFromBackend() {
    BackendStore b = java.util.Objects.requireNonNull(backend);
    WriteThrough wt = java.util.Objects.requireNonNull(writeThrough);
    long started = System.nanoTime();
    if (!wt.drain(config.drainTimeout)) {
      LOG.warn(
          "the backend did not take the logged backlog within {}; windows are rebuilt from what it"
              + " holds now and the rest follows as it drains",
          config.drainTimeout);
    }
    WriteThrough.Status sent = wt.status();
    LOG.info(
        "sent the log's backlog to {}: {} rows in {} ms",
        b.name(),
        sent.committedRows,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    Instant now = config.clock.instant();
    long restored = 0;
    // With the backend away, acknowledged batches are restored from the queue instead; paused, no
    // batch can move from the queue to the backend while the cache is rebuilt.
    // A call in progress against an unreachable backend ends with the pool's connect time-out.
    java.time.Duration pauseBound =
        config.drainTimeout.compareTo(PAUSE_BOUND) > 0 ? config.drainTimeout : PAUSE_BOUND;
    List<WriteThrough.Queued> unsent = wt.pause(pauseBound, allocator);
    if (unsent == null) {
      LOG.warn(
          "a call to {} did not finish within {}; rows still queued for it are not restored to the"
              + " cache",
          b.name(),
          pauseBound);
    }
    List<WriteThrough.Queued> left = unsent == null ? new ArrayList<>() : new ArrayList<>(unsent);
    try {
      restored += restoreTables(b, wt, now, left);
    } finally {
      left.forEach(q -> q.batch().close());
      wt.resume();
    }
    expire();
    LOG.info(
        "restored {} rows from {} in {} ms",
        restored,
        b.name(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
  }

  /**
   * Reads each aggregated table back from the backend, then adds its quarantined batches and, when
   * the backend could not be read, its batches in {@code unsent} (taking those out of the list:
   * they are owned from then on).
   */
  private long restoreTables(
      BackendStore b, WriteThrough wt, Instant now, List<WriteThrough.Queued> unsent) {
    long restored = 0;
    for (AggregationSpec spec : specs.values()) {
      long read = readBack(b, spec, now);
      restored += Math.max(0, read);
      restored += restoreQuarantined(wt, spec.table());
      // Only when the backend gave nothing back: the queue may still hold batches the backend
      // has committed (a log segment is read back whole), which a read would show a second time.
      for (java.util.Iterator<WriteThrough.Queued> it = unsent.iterator();
          read < 0 && it.hasNext(); ) {
        WriteThrough.Queued q = it.next();
        if (q.table().equalsIgnoreCase(spec.table())) {
          it.remove();
          List<VectorSchemaRoot> one = new ArrayList<>(1);
          one.add(q.batch());
          try {
            restored += ingestOwned(spec.table(), one, false).rowsAccepted();
          } catch (RuntimeException e) {
            LOG.warn(
                "cannot restore queued batch {} of '{}': {}", q.batchId(), q.table(), e.toString());
          }
        }
      }
    }
    return restored;
  }

  /**
   * Reads {@code spec}'s table back from the backend within its longest retention; -1 when the
   * backend could not be read at all.
   */
  private long readBack(BackendStore b, AggregationSpec spec, Instant now) {
    long restored = 0;
    Schema schema;
    try {
      schema = b.tableSchema(spec.table());
    } catch (RuntimeException e) {
      LOG.warn(
          "cannot read '{}' from {} to restore its windows: {}",
          spec.table(),
          b.name(),
          e.getMessage());
      return -1;
    }
    if (schema == null || Columns.field(schema, spec.timeColumn()) == null) {
      return 0;
    }
    java.time.Duration keep = config.cacheDuration;
    for (WindowSpec w : spec.windows()) {
      java.time.Duration d = w.retention().plus(w.size());
      keep = d.compareTo(keep) > 0 ? d : keep;
    }
    String sql =
        "SELECT * FROM "
            + DuckDbCacheStore.quote(spec.table())
            + " WHERE "
            + DuckDbCacheStore.quote(spec.timeColumn())
            + " >= '"
            + LocalDateTime.ofInstant(now.minus(keep), ZoneOffset.UTC).toString().replace('T', ' ')
            + "'";
    try (ArrowReader reader = b.query(sql, allocator)) {
      while (reader.loadNextBatch()) {
        List<VectorSchemaRoot> one = new ArrayList<>(1);
        one.add(ArrowCopy.deepCopy(reader.getVectorSchemaRoot(), allocator));
        restored += ingestOwned(spec.table(), one, false).rowsAccepted();
      }
    } catch (IOException | RuntimeException e) {
      LOG.warn("restoring '{}' from {} stopped early: {}", spec.table(), b.name(), e.toString());
      if (restored == 0) {
        return -1;
      }
    }
    return restored;
  }

  /**
   * Adds {@code table}'s quarantined batches to the cache and windows: they were acknowledged, and
   * the backend, which refused them, cannot give them back.
   */
  private long restoreQuarantined(WriteThrough wt, String table) {
    long restored = 0;
    for (Quarantine.Entry e : wt.quarantined()) {
      if (!e.table().equalsIgnoreCase(table)) {
        continue;
      }
      try {
        Quarantine.Loaded loaded = wt.readQuarantined(e.batchId(), allocator);
        if (loaded != null) {
          List<VectorSchemaRoot> one = new ArrayList<>(1);
          one.add(loaded.batch());
          restored += ingestOwned(table, one, false).rowsAccepted();
        }
      } catch (RuntimeException ex) {
        LOG.warn(
            "cannot restore quarantined batch {} of '{}': {}", e.batchId(), table, ex.toString());
      }
    }
    return restored;
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
    return ingestOwned(table, copies, true);
  }

  @Override
  public IngestResult ingest(String table, VectorSchemaRoot batch) {
    checkOpen();
    List<VectorSchemaRoot> copies = new ArrayList<>(1);
    copies.add(ArrowCopy.deepCopy(batch, allocator));
    return ingestOwned(table, copies, true);
  }

  /** Ingests batches this engine owns; closes them on every path. */
  private IngestResult ingestOwned(String name, List<VectorSchemaRoot> batches, boolean log) {
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
            rows += b.getRowCount();
            VectorSchemaRoot s = ts.aggregateAndStore(b, now);
            result = result.plus(ts.lastResult);
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
    if (rows > 0) {
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
    refuseUnsafe(sql);
    SqlAnalyser.checkSize(sql); // before anything parses it: deep nesting crashes DuckDB
    refuseIngestedWrite(sql);
    Instant now = config.clock.instant();
    QueryResult fast = tryWindowLookup(sql, parameters, alloc, now);
    if (fast != null) {
      return fast;
    }
    Set<String> words = SqlNames.words(sql);
    ResultCache rc = results;
    ResultCache.Key cacheKey = null;
    long[] seen = null;
    if (rc != null && isCacheable(sql, words)) {
      List<String> sorted = new ArrayList<>(words);
      java.util.Collections.sort(sorted);
      cacheKey = new ResultCache.Key(SqlNames.normalize(sql), parameters);
      seen = versions.snapshot(sorted); // before the query runs; see ChangeVersions
      QueryResult kept = rc.get(cacheKey, seen, allowedStaleness(sql, words), alloc);
      if (kept != null) {
        return kept;
      }
    }
    StatementAnalysis analysis = analyser.analyse(sql);
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
        route = route(analyser.analyse(sql), words, parameters, now);
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
  private static boolean isCacheable(String sql, Set<String> words) {
    String verb = SqlNames.verb(sql);
    if (!(verb.equals("SELECT") || verb.equals("WITH") || verb.equals("FROM"))) {
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
    Matcher hint = STALENESS_HINT.matcher(sql);
    if (hint.find()) {
      long n = Long.parseLong(hint.group(1));
      String unit = hint.group(2) == null ? "s" : hint.group(2).toLowerCase(Locale.ROOT);
      switch (unit) {
        case "ms":
          return Duration.ofMillis(n);
        case "m":
          return Duration.ofMinutes(n);
        case "h":
          return Duration.ofHours(n);
        default:
          return Duration.ofSeconds(n);
      }
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

  private @Nullable Set<String> heldBeforeStart() {
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
    for (WriteAheadLog.Record r : java.util.Objects.requireNonNull(wal).recovered()) {
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
    // Every acknowledged row must be in the backend before its older rows are read from there.
    if (!wt.drain(BACKEND_READ_WAIT)) {
      LOG.warn(
          "reading older rows from {} with {} batches still queued for it",
          b.name(),
          wt.status().backlogBatches);
    }
    backendTablesReadAt = 0; // a table written through in the last seconds must be seen
    Set<String> remote = backendTables();
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
      String sql, List<@Nullable Object> parameters, BufferAllocator alloc, Instant now) {
    WindowLookup lookup = WindowLookup.parse(sql, parameters);
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
    SqlAnalyser.checkSize(sql);
    String routed =
        route(analyser.analyse(sql), SqlNames.words(sql), List.of(), config.clock.instant())
            .backendWhy;
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
    refuseUnsafe(sql);
    InsertStatement insert = InsertStatement.parse(sql);
    if (insert != null && isIngested(insert)) {
      return executeInsert(insert, parameters);
    }
    // Leading comments and a WITH clause must not hide the target from the checks below.
    String body = sql.substring(InsertStatement.statementStart(sql));
    Matcher m = WRITE_TARGET.matcher(body);
    String target = m.find() ? targetOf(m) : null;
    String verb = SqlNames.verb(body);
    if (target != null) {
      if (target.equalsIgnoreCase(BACKEND_STATUS_TABLE)
          || target.equalsIgnoreCase(QUARANTINE_TABLE)
          || target.equalsIgnoreCase(CACHE_STATS_TABLE)) {
        throw new QueryRejectedException("'" + target + "' is a read-only system table", null);
      }
      if (isView(target)) {
        throw new QueryRejectedException(
            "'"
                + target
                + "' is a window view maintained by Hyprstream and cannot be changed by SQL",
            null);
      }
      if (specs.containsKey(key(target)) && WRITE_VERBS.contains(verb)) {
        throw new QueryRejectedException(
            verb.equals("INSERT")
                ? "this INSERT into '"
                    + target
                    + "' could not be read (expected INSERT INTO name [(columns)] VALUES ... or"
                    + " INSERT INTO name [(columns)] SELECT ...)"
                : verb
                    + " of rows of '"
                    + target
                    + "' is not allowed: its window aggregates were computed from the rows as"
                    + " ingested, and changed rows would no longer agree with them. Rows are only"
                    + " added (ingest or INSERT) and leave by expiry; re-ingest corrected data as"
                    + " new rows",
            null);
      }
      TableState targetState = tables.get(key(target));
      boolean managed = targetState != null && targetState.isManaged();
      if (managed && !(verb.equals("INSERT") || verb.equals("UPDATE") || verb.equals("DELETE"))) {
        throw new QueryRejectedException(
            "'" + target + "' is managed by Hyprstream; " + verb + " on it is not allowed", null);
      }
    }
    prepareFor(SqlNames.words(sql));
    try {
      return cache.execute(sql, parameters);
    } finally {
      versions.changedAny(); // whatever it changed, kept results may no longer hold
      if (target != null && verb.equals("DROP") && cache.tableSchema(target) == null) {
        hotSet.dropped(key(target));
      }
    }
  }

  /**
   * Refuses, in a query, a statement that would change an ingested table: run as a query, DuckDB
   * would change the rows behind the windows' back ({@link #execute} runs INSERT as an ingest).
   */
  private void refuseIngestedWrite(String sql) {
    String first = SqlNames.verb(sql);
    if (!(first.equals("WITH") || WRITE_VERBS.contains(first))) {
      return; // the common case, a SELECT, costs one look at the first word
    }
    String body = sql.substring(InsertStatement.statementStart(sql));
    String verb = SqlNames.verb(body);
    if (!WRITE_VERBS.contains(verb)) {
      return;
    }
    InsertStatement insert = InsertStatement.parse(sql);
    String target;
    if (insert != null) {
      target = isIngested(insert) ? insert.table : null;
    } else {
      Matcher m = WRITE_TARGET.matcher(body);
      String named = m.find() ? targetOf(m) : null;
      TableState ts = named == null ? null : tables.get(key(named));
      boolean guarded =
          named != null
              && (specs.containsKey(key(named)) || isView(named) || (ts != null && ts.isManaged()));
      target = guarded ? named : null;
    }
    if (target != null) {
      throw new QueryRejectedException(
          verb
              + " on '"
              + target
              + "' changes rows: run it as a statement (execute, a Flight SQL update,"
              + " JDBC executeUpdate), not as a query",
          null);
    }
  }

  /** Statements that change rows, which a query must not run on an ingested table. */
  private static final Set<String> WRITE_VERBS = Set.of("INSERT", "UPDATE", "DELETE", "MERGE");

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
    ingestOwned(table, batches, true);
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

  /** The table a write statement matched by {@link #WRITE_TARGET} names, unquoted. */
  private static String targetOf(Matcher m) {
    String target = m.group(1);
    return target.startsWith("\"")
        ? target.substring(1, target.length() - 1).replace("\"\"", "\"")
        : target;
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

  /** Statements DuckDB's lock-down leaves open that have no place in a shared cache. */
  private static final Set<String> REFUSED_VERBS =
      Set.of("ATTACH", "DETACH", "INSTALL", "LOAD", "EXPORT", "IMPORT", "USE");

  private static void refuseUnsafe(String sql) {
    String verb = SqlNames.verb(sql);
    if (REFUSED_VERBS.contains(verb)) {
      throw new QueryRejectedException(
          verb + " is not allowed: the cache's catalog and extensions are fixed", null);
    }
  }

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
    } finally {
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
