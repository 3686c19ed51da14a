package io.hyprstream.internal.ingest;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.CacheStore;
import io.hyprstream.api.WindowAggregator;
import io.hyprstream.api.WindowSpec;
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
 * Keeps the window views' DuckDB tables current: on a thread of its own, it copies the windows
 * changed since its last pass into them, so the first query naming a view copies only the last
 * moments' changes instead of every window. Queries call {@link #syncView} for the views they name,
 * which keeps read-your-writes. A pass waits while queries are arriving (up to {@link
 * #MAX_DEFERRAL_NANOS}), so that its DuckDB work does not land in their latency on a small machine.
 *
 * <p>Changes are copied in chunks of at most {@link #CHUNK_ROWS} windows, each drained under the
 * table lock and upserted in one DuckDB transaction of its own. A backfill can change millions of
 * windows before a sync; drained at once, they took hundreds of megabytes of fresh Arrow memory (2
 * M windows of {@code metrics_5m}: about 230 MB, most of the drain's time spent faulting it in)
 * while ingest waited on the lock. A query that did not sync sees each window before or after its
 * chunk, never twice or missing; one that syncs sees every change made before it.
 *
 * <p>A copy that fails loses nothing: the drained changes exist nowhere else, so the aggregator is
 * asked to re-deliver every window of that size at the next sync ({@link
 * WindowAggregator#markAllChanged}).
 */
public final class ViewSync implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ViewSync.class);

  /**
   * The shortest time between two passes. A second keeps the passes few while a burst of ingest
   * runs (each upsert is a DuckDB statement over the view's table), and a query still copies what
   * changed since.
   */
  static final long MIN_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(1000);

  /**
   * A pass waits this many times the previous pass's length: DuckDB's upsert scans each view's
   * table, so while ingest backfills history a pass can take a second, and the passes are kept to a
   * tenth of a core.
   */
  static final int IDLE_FACTOR = 9;

  /**
   * The most windows drained and upserted at a time: 64 Ki, so each column's buffer is 512 KiB, a
   * size the recycling allocator keeps warm, and a DuckDB statement's fixed cost stays small.
   */
  static final int CHUNK_ROWS = 64 * 1024;

  /** A pass waits while a query arrived less than this long ago... */
  static final long QUIET_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  /** ...but not longer than this since the previous pass. */
  static final long MAX_DEFERRAL_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final Tables tables;
  private final CacheStore cache;
  private final BufferAllocator allocator;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Object wake = new Object();
  private final Thread thread;
  private volatile long lastQueryNanos = System.nanoTime() - QUIET_NANOS;

  public ViewSync(Tables tables, CacheStore cache, BufferAllocator allocator) {
    this.tables = tables;
    this.cache = cache;
    this.allocator = allocator;
    this.thread = new Thread(this::run, "hyprstream-view-sync");
    thread.setDaemon(true);
  }

  /** Starts the thread. */
  public void start() {
    thread.start();
  }

  /** Notes that a query arrived; the next pass waits for a quiet moment. */
  public void queried() {
    lastQueryNanos = System.nanoTime();
  }

  private void run() {
    long lastPass = System.nanoTime();
    while (!closed.get()) {
      long now = System.nanoTime();
      long pause;
      boolean busy = now - lastQueryNanos < QUIET_NANOS;
      if (busy && now - lastPass < MAX_DEFERRAL_NANOS) {
        pause = QUIET_NANOS;
      } else {
        syncAllViews();
        lastPass = System.nanoTime();
        pause = Math.max(MIN_INTERVAL_NANOS, IDLE_FACTOR * (lastPass - now));
      }
      synchronized (wake) {
        if (closed.get()) {
          return;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(wake, pause);
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  /** One pass: every view of every aggregated table receives its changed windows. */
  private void syncAllViews() {
    for (TableState ts : tables.all()) {
      AggregationSpec spec = ts.specOrNull();
      if (spec == null || ts.aggregator == null) {
        continue;
      }
      for (WindowSpec w : spec.windows()) {
        if (closed.get()) {
          return;
        }
        try {
          syncView(ts, w);
        } catch (RuntimeException e) {
          LOG.warn(
              "copying changed windows into '{}' failed; every window will be copied at the next"
                  + " sync: {}",
              spec.viewName(w),
              e.getMessage());
        }
      }
    }
  }

  /**
   * Copies the windows of {@code window} changed since the last sync into the view's DuckDB table,
   * chunk by chunk. When a chunk's copy fails, the aggregator is asked to re-deliver every window
   * at the next sync, and the failure is thrown to the caller.
   */
  public void syncView(TableState ts, WindowSpec window) {
    ts.viewLock.lock();
    try {
      while (syncChunk(ts, window) == CHUNK_ROWS) {
        // a full chunk: the sweep may hold more
      }
    } finally {
      ts.viewLock.unlock();
    }
  }

  /** Drains and upserts the sweep's next chunk; returns its row count. */
  private int syncChunk(TableState ts, WindowSpec window) {
    VectorSchemaRoot delta;
    WindowAggregator agg;
    List<String> keyColumns;
    ts.lock.lock();
    try {
      agg = ts.aggregator;
      if (agg == null) {
        return 0;
      }
      delta = agg.drainChanges(window, allocator, CHUNK_ROWS);
      keyColumns = new ArrayList<>(agg.spec().keyColumns());
    } finally {
      ts.lock.unlock();
    }
    try (delta) {
      keyColumns.add("window_start");
      cache.upsert(ts.spec().viewName(window), keyColumns, delta);
      return delta.getRowCount();
    } catch (RuntimeException e) {
      ts.lock.lock();
      try {
        agg.markAllChanged(window);
      } finally {
        ts.lock.unlock();
      }
      throw e;
    }
  }

  /** Stops the thread; a pass in progress finishes its current view first. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    synchronized (wake) {
      wake.notifyAll();
    }
    try {
      thread.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
