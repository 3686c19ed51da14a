package io.hyprstream.internal.recovery;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.BackendStore;
import io.hyprstream.api.CacheStore;
import io.hyprstream.api.TimeSlice;
import io.hyprstream.api.WindowAggregator;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.internal.arrow.ArrowCopy;
import io.hyprstream.internal.arrow.Columns;
import io.hyprstream.internal.ingest.IngestMode;
import io.hyprstream.internal.ingest.IngestPipeline;
import io.hyprstream.internal.retention.Expirer;
import io.hyprstream.internal.sql.TimeLiterals;
import io.hyprstream.internal.table.TableState;
import io.hyprstream.internal.table.Tables;
import io.hyprstream.internal.wal.WriteAheadLog;
import io.hyprstream.writethrough.Quarantine;
import io.hyprstream.writethrough.WriteThrough;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a start does with a backend: re-sends the logged batches the backend has not committed, and
 * rebuilds the windows and hot rows from a snapshot, the log, the backend and the quarantine, in
 * time that grows with the state held, not with the history.
 */
public final class Recovery {
  private static final Logger LOG = LoggerFactory.getLogger(Recovery.class);

  private final BackendStore backend;
  private final WriteThrough writeThrough;
  private final WriteAheadLog wal;
  private final @Nullable WindowSnapshots snapshots;
  private final @Nullable Snapshotter snapshotter;
  private final IngestPipeline ingest;
  private final Expirer expirer;
  private final Tables tables;
  private final CacheStore cache;
  private final BufferAllocator allocator;
  private final InstantSource clock;
  private final Duration cacheDuration;
  private final Duration drainTimeout;

  public Recovery(
      BackendStore backend,
      WriteThrough writeThrough,
      WriteAheadLog wal,
      @Nullable Snapshotter snapshotter,
      IngestPipeline ingest,
      Expirer expirer,
      Tables tables,
      CacheStore cache,
      BufferAllocator allocator,
      InstantSource clock,
      Duration cacheDuration,
      Duration drainTimeout) {
    this.backend = backend;
    this.writeThrough = writeThrough;
    this.wal = wal;
    this.snapshotter = snapshotter;
    this.snapshots = snapshotter == null ? null : snapshotter.store();
    this.ingest = ingest;
    this.expirer = expirer;
    this.tables = tables;
    this.cache = cache;
    this.allocator = allocator;
    this.clock = clock;
    this.cacheDuration = cacheDuration;
    this.drainTimeout = drainTimeout;
  }

  /** How long a start waits for a write-through call in progress before rebuilding the cache. */
  public static final Duration PAUSE_BOUND = Duration.ofSeconds(30);

  /**
   * Queues the logged batches the backend has not committed, each once; the others leave the log:
   * those it committed, and those in the quarantine (it refused them, and they are sent again only
   * when requeued).
   */
  public void resend(List<WriteAheadLog.Record> recovered, Set<String> committed) {
    WriteThrough wt = writeThrough;
    WriteAheadLog log = wal;
    Set<String> done = new HashSet<>(committed);
    for (Quarantine.Entry e : wt.quarantined()) {
      done.add(e.batchId());
    }
    Set<String> queuedIds = new HashSet<>();
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
          backend.name());
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
  public void restoreAfterStart(List<WriteAheadLog.Record> recovered) {
    BackendStore b = backend;
    WriteThrough wt = writeThrough;
    long started = System.nanoTime();
    Instant now = clock.instant();
    WindowSnapshots.Loaded snapshot = snapshots == null ? null : snapshots.loadLatest(allocator);
    Map<String, Long> covered = null; // by table key: the log position its snapshot covers
    try {
      rememberIngestIds(recovered, snapshot == null ? List.of() : snapshot.ingestIds());
      if (snapshot != null) {
        covered = adoptSnapshot(snapshot);
      }
    } finally {
      if (snapshot != null) {
        snapshot.close();
      }
    }
    if (snapshots != null) {
      wal.coveredBefore(snapshots.coveredPosition());
    }
    boolean fromSnapshot = covered != null;
    long loadedNanos = System.nanoTime();
    long replayed = 0;
    if (covered != null) {
      for (WriteAheadLog.Record r : recovered) {
        Long after = covered.get(Tables.key(r.table));
        if (!r.resend && (after == null || r.position >= after)) {
          replayed +=
              restore(r.table, ArrowCopy.share(r.batch, allocator), IngestMode.REPLAY_WINDOWS);
        }
      }
    }
    Duration keep = cacheDuration;
    if (!fromSnapshot) {
      for (AggregationSpec spec : tables.specs()) {
        for (WindowSpec w : spec.windows()) {
          Duration d = w.retention().plus(w.size());
          keep = d.compareTo(keep) > 0 ? d : keep;
        }
      }
    }
    IngestMode rowsMode = fromSnapshot ? IngestMode.RESTORE_ROWS : IngestMode.RESTORE;
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
    Set<String> restoredIds = new HashSet<>();
    long fromLog = 0;
    for (WriteAheadLog.Record r : recovered) {
      boolean inBackend =
          held.committed.contains(r.batchId) && !held.unread.contains(Tables.key(r.table));
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
    expirer.expire();
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
            ? "from snapshot " + Objects.requireNonNull(snapshot).file().getFileName()
            : "rebuilt from " + b.name() + " (no snapshot)",
        replayed,
        fromBackend,
        b.name(),
        fromLog,
        quarantined);
    if (snapshots != null && !fromSnapshot) {
      Objects.requireNonNull(snapshotter)
          .snapshotQuietly(); // the next start loads these windows instead of reading them again
    }
  }

  /**
   * Remembers each table's client ingest ids as the previous run did: those a snapshot holds, then
   * those of the logged records from the position the snapshot's ids cover (all of a table's
   * records when it has none there), in log order, so a retry after the restart is still a repeat.
   * The log drops a segment once the backend has committed its batches and a snapshot covers it,
   * which is why the snapshot keeps the ids too.
   */
  public void rememberIngestIds(
      List<WriteAheadLog.Record> recovered, List<WindowSnapshots.TableIds> fromSnapshot) {
    Map<String, Long> idsCovered = new HashMap<>();
    for (WindowSnapshots.TableIds t : fromSnapshot) {
      idsCovered.put(Tables.key(t.table()), t.position());
      remember(t.table(), t.ids());
    }
    for (WriteAheadLog.Record r : recovered) {
      if (r.ingestId != null
          && r.position >= idsCovered.getOrDefault(Tables.key(r.table), Long.MIN_VALUE)) {
        remember(r.table, List.of(r.ingestId));
      }
    }
  }

  private void remember(String table, List<String> ids) {
    TableState ts = tables.table(table);
    ts.lock.lock();
    try {
      ids.forEach(ts.ingestIds::remember);
    } finally {
      ts.lock.unlock();
    }
  }

  /** Ingests one restored batch, taking it; a batch that fails is logged and skipped. */
  private long restore(String table, VectorSchemaRoot batch, IngestMode mode) {
    List<VectorSchemaRoot> one = new ArrayList<>(1);
    one.add(batch);
    try {
      return ingest.ingestOwned(table, one, mode).rowsAccepted();
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
    Map<String, Long> covered = new HashMap<>();
    Map<WindowSnapshots.TableSnapshot, WindowAggregator> restored = new LinkedHashMap<>();
    for (WindowSnapshots.TableSnapshot t : snapshot.tables()) {
      AggregationSpec spec = tables.spec(t.table());
      if (spec == null) {
        continue; // no longer aggregated
      }
      try {
        restored.put(t, tables.aggregators().restore(spec, t.state()));
      } catch (RuntimeException e) {
        LOG.warn(
            "window snapshot {} does not fit the configured windows ({}); rebuilding them from the"
                + " backend instead",
            snapshot.file(),
            e.getMessage());
        return null;
      }
      covered.put(Tables.key(t.table()), t.position());
    }
    for (Map.Entry<WindowSnapshots.TableSnapshot, WindowAggregator> e : restored.entrySet()) {
      WindowSnapshots.TableSnapshot t = e.getKey();
      TableState ts = tables.table(t.table());
      ts.flushLock.lock();
      ts.lock.lock();
      try {
        Schema raw = t.rawSchema();
        if (raw != null) {
          Schema grown = ts.schema == null ? raw : Columns.merged(ts.schema, raw);
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
    Duration bound = drainTimeout.compareTo(PAUSE_BOUND) > 0 ? drainTimeout : PAUSE_BOUND;
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
    Set<String> committed = new HashSet<>();
    for (WriteAheadLog.Record r : recovered) {
      if (b.contains(r.batchId)) {
        committed.add(r.batchId);
      }
    }
    Map<String, List<VectorSchemaRoot>> rows = new LinkedHashMap<>();
    Set<String> unread = new HashSet<>();
    try {
      for (AggregationSpec spec : tables.specs()) {
        List<VectorSchemaRoot> read = new ArrayList<>();
        rows.put(spec.table(), read);
        if (!readBack(b, spec, since, read, abandoned)) {
          unread.add(Tables.key(spec.table()));
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
    TimeSlice slice =
        new TimeSlice(
            spec.table(),
            time,
            TimeLiterals.columnValue(time, spec.epochUnit(), TimeLiterals.micros(since)),
            TimeSlice.NO_UPPER_BOUND);
    try (ArrowReader reader = b.read(slice, allocator)) {
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
}
