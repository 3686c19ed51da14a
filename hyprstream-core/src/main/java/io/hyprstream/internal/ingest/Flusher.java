package io.hyprstream.internal.ingest;

import io.hyprstream.api.CacheStore;
import io.hyprstream.internal.arrow.ArrowCopy;
import io.hyprstream.internal.table.TableState;
import io.hyprstream.internal.table.Tables;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves ingested batches from each table's queue into DuckDB on a thread of its own, in groups (one
 * {@code INSERT} per group: DuckDB's cost is per statement), so aggregation on the ingesting core
 * overlaps DuckDB's append on the other. Queries call {@link #flush} for the tables they read,
 * which keeps read-your-writes; {@link ViewSync} does the same for the window views.
 */
public final class Flusher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Flusher.class);

  private final Tables tables;
  private final CacheStore cache;
  private final BufferAllocator allocator;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Thread thread;

  /** Ingest waits while more rows than this are queued for DuckDB. */
  public static final long MAX_PENDING_ROWS = 4L << 20;

  /**
   * The flusher moves a table's queued rows once this many have gathered, or once the oldest has
   * waited {@link #FLUSH_DELAY_NANOS}: a DuckDB statement costs the same for 100 rows as for 64 Ki,
   * and DuckDB appended 64 Ki-row batches 2.5 times faster 16 to a statement than one to a
   * statement (the core runner's two plain appends), so a fast ingest's batches are grouped too.
   * Queries flush what they read at once, whatever the queue holds.
   */
  static final long FLUSH_ROWS = 1L << 20;

  static final long FLUSH_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final Object pendingMonitor = new Object();
  private long pendingRows; // guarded by pendingMonitor

  /**
   * Counts {@code rows} newly queued and wakes the flusher; blocks the ingesting caller while more
   * than {@link #MAX_PENDING_ROWS} wait, so a DuckDB slower than ingest holds ingest back instead
   * of filling the heap.
   */
  public void addPending(long rows) {
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

  private void run() {
    while (!closed.get()) {
      boolean any = false;
      long now = System.nanoTime();
      for (TableState ts : tables.all()) {
        if (!ts.dueForFlush(now, FLUSH_ROWS, FLUSH_DELAY_NANOS)) {
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
  public long flush(TableState ts) {
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

  public Flusher(Tables tables, CacheStore cache, BufferAllocator allocator) {
    this.tables = tables;
    this.cache = cache;
    this.allocator = allocator;
    this.thread = new Thread(this::run, "hyprstream-flusher");
    thread.setDaemon(true);
  }

  /** Starts the flusher thread. */
  public void start() {
    thread.start();
  }

  /**
   * Stops the thread, then moves what is still queued into DuckDB and releases what it cannot move.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    synchronized (pendingMonitor) {
      pendingMonitor.notifyAll();
    }
    try {
      thread.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (TableState ts : tables.all()) {
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
  }
}
