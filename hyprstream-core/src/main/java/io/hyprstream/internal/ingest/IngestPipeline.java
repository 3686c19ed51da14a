package io.hyprstream.internal.ingest;

import io.hyprstream.Hyprstream;
import io.hyprstream.api.BackendStore;
import io.hyprstream.api.CacheStore;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.api.IngestResult;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.WindowListener;
import io.hyprstream.internal.arrow.ArrowCopy;
import io.hyprstream.internal.arrow.Columns;
import io.hyprstream.internal.arrow.ValueChecks;
import io.hyprstream.internal.table.ChangeVersions;
import io.hyprstream.internal.table.HotSet;
import io.hyprstream.internal.table.TableState;
import io.hyprstream.internal.table.Tables;
import io.hyprstream.internal.wal.WriteAheadLog;
import io.hyprstream.writethrough.WriteThrough;
import java.io.IOException;
import java.time.Instant;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * The ingest stages of one call, in order: validate (names, schema, values the backend would
 * refuse), aggregate (the windows and running columns, under the table's lock), log (the
 * write-ahead log, before the acknowledgement), queue (for the {@link Flusher}), then hand the
 * logged batches to write-through. The windows are current when the call returns.
 */
public final class IngestPipeline {
  private final Tables tables;
  private final CacheStore cache;
  private final BufferAllocator allocator;
  private final InstantSource clock;
  private final Flusher flusher;
  private final HotSet hotSet;
  private final ChangeVersions versions;
  private final @Nullable BackendStore backend;
  private final @Nullable WriteAheadLog wal;
  private final @Nullable WriteThrough writeThrough;
  private final boolean synchronousWriteThrough;
  private final Runnable afterIngest;
  private final @Nullable WindowListener windowListener;

  /** Where live ingests go instead of this pipeline (cluster mode); null in single-node mode. */
  private volatile @Nullable IngestLog sharedLog;

  /**
   * @param backend the backend, or null without one (then {@code wal} and {@code writeThrough} are
   *     null too)
   * @param afterIngest runs after each call's rows are acknowledged and queued: the memory budget's
   *     eviction
   * @param windowListener told of each live ingest's changed windows, or null
   */
  public IngestPipeline(
      Tables tables,
      CacheStore cache,
      BufferAllocator allocator,
      InstantSource clock,
      Flusher flusher,
      HotSet hotSet,
      ChangeVersions versions,
      @Nullable BackendStore backend,
      @Nullable WriteAheadLog wal,
      @Nullable WriteThrough writeThrough,
      boolean synchronousWriteThrough,
      Runnable afterIngest,
      @Nullable WindowListener windowListener) {
    this.tables = tables;
    this.cache = cache;
    this.allocator = allocator;
    this.clock = clock;
    this.flusher = flusher;
    this.hotSet = hotSet;
    this.versions = versions;
    this.backend = backend;
    this.wal = wal;
    this.writeThrough = writeThrough;
    this.synchronousWriteThrough = synchronousWriteThrough;
    this.afterIngest = afterIngest;
    this.windowListener = windowListener;
  }

  /**
   * Returns {@code ingestId} when it is a usable ingest id: 1 to {@value
   * Hyprstream#MAX_INGEST_ID_LENGTH} characters.
   *
   * @throws IllegalArgumentException naming the limit otherwise
   */
  public static String checkIngestId(String ingestId) {
    Objects.requireNonNull(ingestId, "ingestId");
    if (ingestId.isEmpty() || ingestId.length() > Hyprstream.MAX_INGEST_ID_LENGTH) {
      throw new IllegalArgumentException(
          "an ingest id must be 1 to "
              + Hyprstream.MAX_INGEST_ID_LENGTH
              + " characters, got "
              + ingestId.length());
    }
    return ingestId;
  }

  /**
   * Ingests a copy of every batch of {@code batches}; with an {@code ingestId} the table remembers,
   * nothing is stored and the result is a {@linkplain IngestResult#repeat() repeat}.
   */
  public IngestResult ingest(String table, ArrowReader batches, @Nullable String ingestId) {
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
    return ingestOwned(table, copies, IngestMode.LIVE, ingestId);
  }

  /** Ingests a copy of {@code batch}, as {@link #ingest(String, ArrowReader, String)} does. */
  public IngestResult ingest(String table, VectorSchemaRoot batch, @Nullable String ingestId) {
    List<VectorSchemaRoot> copies = new ArrayList<>(1);
    copies.add(ArrowCopy.deepCopy(batch, allocator));
    return ingestOwned(table, copies, IngestMode.LIVE, ingestId);
  }

  /**
   * Ingests batches the caller hands over (closing them on every path). A batch under this engine's
   * root allocator is re-accounted to the engine's allocator without copying its buffers (the copy,
   * mostly page faults on fresh memory, was a quarter of an ingest's CPU time on the caller's
   * thread); one from another root is copied, since Arrow moves buffers only within a root.
   */
  public IngestResult ingestTransferred(
      String table, List<VectorSchemaRoot> batches, @Nullable String ingestId) {
    List<VectorSchemaRoot> owned = new ArrayList<>(batches.size());
    try {
      for (VectorSchemaRoot b : batches) {
        owned.add(sharesRoot(b) ? ArrowCopy.share(b, allocator) : ArrowCopy.deepCopy(b, allocator));
      }
    } catch (RuntimeException e) {
      owned.forEach(VectorSchemaRoot::close);
      throw e;
    } finally {
      batches.forEach(VectorSchemaRoot::close);
    }
    return ingestOwned(table, owned, IngestMode.LIVE, ingestId);
  }

  private boolean sharesRoot(VectorSchemaRoot batch) {
    for (FieldVector v : batch.getFieldVectors()) {
      BufferAllocator owner = v.getAllocator(); // null for a NullVector, which has no buffers
      if (owner != null && owner.getRoot() != allocator.getRoot()) {
        return false;
      }
    }
    return true;
  }

  /**
   * Sends every later live ingest (in-process, Flight, SQL INSERT) to {@code log} instead of
   * aggregating it here; the rows come back through {@link #applyLogged} on the instance that owns
   * their keys. Set once, at start.
   */
  public void routeLiveIngestTo(IngestLog log) {
    if (sharedLog != null) {
      throw new IllegalStateException("live ingest is already routed to a shared log");
    }
    sharedLog = log;
  }

  /**
   * Applies batches taken from the shared log (cluster mode) as a live ingest here: checked,
   * aggregated and cached. Closes them on every path.
   *
   * @param storedOut when not null, gets the batches as stored here (running columns included), for
   *     the partition's owner to write to the backend; the caller closes them
   */
  public IngestResult applyLogged(
      String name, List<VectorSchemaRoot> batches, @Nullable List<VectorSchemaRoot> storedOut) {
    // The partition owner has already skipped a repeat, by the record's ingest id.
    return ingestHere(name, batches, IngestMode.LIVE, storedOut, null);
  }

  /**
   * Ingests batches the engine owns into table {@code name}, as {@code mode} says; closes them on
   * every path. A live ingest goes to the shared log when there is one.
   */
  public IngestResult ingestOwned(String name, List<VectorSchemaRoot> batches, IngestMode mode) {
    return ingestOwned(name, batches, mode, null);
  }

  private IngestResult ingestOwned(
      String name, List<VectorSchemaRoot> batches, IngestMode mode, @Nullable String ingestId) {
    IngestLog shared = sharedLog;
    if (shared == null || mode != IngestMode.LIVE) {
      return ingestHere(name, batches, mode, null, ingestId);
    }
    checkTarget(name, batches);
    checkBeforeLogging(name, batches);
    return batches.isEmpty() ? IngestResult.of(0) : shared.append(name, batches, ingestId);
  }

  /**
   * Refuses, before a batch reaches the shared log and is acknowledged, what the owner would refuse
   * after: values DuckDB, the log or the backend would refuse, and columns whose type differs from
   * the table's as this instance knows it (or that the backend cannot write). Closes the batches
   * when it refuses. A column only other instances have seen is checked by the log itself, against
   * the type the cluster agreed for it (the cluster's {@code ColumnClaims}).
   */
  private void checkBeforeLogging(String name, List<VectorSchemaRoot> batches) {
    try {
      TableState ts = tables.stateOrProbe(name);
      Map<String, ChronoUnit> epochColumns = tables.epochColumns(ts);
      for (VectorSchemaRoot b : batches) {
        ValueChecks.check(ts.name, b, epochColumns, backend != null);
      }
      Schema grown;
      ts.lock.lock();
      try {
        grown = ts.validate(batches);
      } finally {
        ts.lock.unlock();
      }
      if (grown != null && backend != null) {
        backend.checkWritable(ts.name, grown);
      }
    } catch (RuntimeException e) {
      batches.forEach(VectorSchemaRoot::close);
      throw e;
    }
  }

  /** Refuses a bad table name or a window view, closing the batches. */
  private void checkTarget(String name, List<VectorSchemaRoot> batches) {
    try {
      Tables.validateName(name);
    } catch (RuntimeException e) {
      batches.forEach(VectorSchemaRoot::close);
      throw e;
    }
    if (tables.isView(name)) {
      batches.forEach(VectorSchemaRoot::close);
      throw new QueryRejectedException(
          "'" + name + "' is a window view maintained by Hyprstream; ingest into its table", null);
    }
  }

  private IngestResult ingestHere(
      String name,
      List<VectorSchemaRoot> batches,
      IngestMode mode,
      @Nullable List<VectorSchemaRoot> storedOut,
      @Nullable String ingestId) {
    boolean log = mode == IngestMode.LIVE;
    checkTarget(name, batches);
    if (batches.isEmpty()) {
      return IngestResult.of(0); // an empty stream stores nothing and creates nothing
    }
    TableState ts = tables.table(name);
    List<VectorSchemaRoot> stored = new ArrayList<>(batches.size());
    List<LoggedBatch> toBackend = new ArrayList<>();
    long rows = 0;
    IngestResult result = IngestResult.of(0);
    try {
      try {
        if (log) {
          // Values that DuckDB, the log or the backend would refuse after the acknowledgement are
          // refused now, before anything is stored (a replayed log passed these checks already).
          Map<String, ChronoUnit> epochColumns = tables.epochColumns(ts);
          for (VectorSchemaRoot b : batches) {
            ValueChecks.check(ts.name, b, epochColumns, backend != null);
          }
        }
        ts.lock.lock();
        try {
          // Under the lock that stores the rows, so two calls with one id store them once.
          if (ingestId != null && ts.ingestIds.contains(ingestId)) {
            return IngestResult.repeat(); // the finally blocks close the batches
          }
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
          Instant now = clock.instant();
          for (int i = 0; i < batches.size(); i++) {
            VectorSchemaRoot b = batches.get(i);
            batches.set(i, null);
            if (mode == IngestMode.REPLAY_WINDOWS) {
              try (b) {
                result = result.plus(ts.aggregateOnly(b, now));
              }
              continue;
            }
            rows += b.getRowCount();
            VectorSchemaRoot s;
            if (mode == IngestMode.RESTORE_ROWS) {
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
              wal.append(ts.name, id, ingestId, st);
              toBackend.add(new LoggedBatch(ts.name, id, ArrowCopy.share(st, allocator)));
            }
          }
          if (ingestId != null) {
            ts.ingestIds.remember(ingestId); // once every row is stored (and logged)
          }
          if (storedOut != null) {
            for (VectorSchemaRoot st : stored) {
              toBackend.add(new LoggedBatch(ts.name, "", ArrowCopy.share(st, allocator)));
            }
          }
          for (VectorSchemaRoot st : stored) {
            countHot(ts, st);
          }
          WindowListener listener = windowListener;
          if (listener != null && mode == IngestMode.LIVE && ts.aggregator != null) {
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
    flusher.addPending(rows);
    if (rows > 0 || mode == IngestMode.REPLAY_WINDOWS) {
      changed(ts); // before the acknowledgement: results computed before now are out of date
      afterIngest.run();
    }
    if (storedOut != null) {
      toBackend.forEach(b -> storedOut.add(b.batch()));
      return result;
    }
    WriteThrough wt = writeThrough;
    if (wt != null) {
      for (LoggedBatch b : toBackend) {
        wt.submit(b.table(), b.batchId(), b.batch(), synchronousWriteThrough);
      }
    }
    return result;
  }

  /** A batch in the log, bound for the backend. */
  private record LoggedBatch(String table, String batchId, VectorSchemaRoot batch) {}

  private static long bufferBytes(VectorSchemaRoot b) {
    long n = 0;
    for (FieldVector v : b.getFieldVectors()) {
      n += v.getBufferSize();
    }
    return n;
  }

  /** Adds a stored batch to the hot-set accounting, by the event time of each row. */
  private void countHot(TableState ts, VectorSchemaRoot stored) {
    String column = tables.timeColumnOf(ts);
    FieldVector time = column == null ? null : Columns.vector(stored, column);
    int rows = stored.getRowCount();
    long[] micros =
        time == null
            ? null
            : Columns.eventMicros(time, rows, Tables.epochUnitOf(ts), ts.storedTimes(rows));
    hotSet.stored(Tables.key(ts.name), micros, stored.getRowCount(), bufferBytes(stored));
  }

  /** Marks {@code ts} and its views changed: kept results that read them are out of date. */
  public void changed(TableState ts) {
    versions.changed(Tables.key(ts.name));
    for (String view : tables.viewKeys(ts.name)) {
      versions.changed(view);
    }
  }
}
