package io.hyprstream.internal.recovery;

import io.hyprstream.api.WindowAggregator;
import io.hyprstream.internal.table.TableState;
import io.hyprstream.internal.table.Tables;
import io.hyprstream.internal.wal.WriteAheadLog;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.BufferAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Window snapshots: every interval (and sooner when the log passes half its size bound, since the
 * log keeps what the snapshots do not cover), each aggregated table's window state is written with
 * the log position it covers, so a restart loads the state and replays only the log after it.
 */
public final class Snapshotter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Snapshotter.class);

  private final WindowSnapshots store;
  private final WriteAheadLog wal;
  private final Tables tables;
  private final BufferAllocator allocator;
  private final long intervalNanos;
  private final long walMaxBytes;
  private final ScheduledExecutorService executor =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "hyprstream-snapshotter");
            t.setDaemon(true);
            return t;
          });
  private long lastNanos = System.nanoTime();

  public Snapshotter(
      WindowSnapshots store,
      WriteAheadLog wal,
      Tables tables,
      BufferAllocator allocator,
      Duration interval,
      long walMaxBytes) {
    this.store = store;
    this.wal = wal;
    this.tables = tables;
    this.allocator = allocator;
    this.intervalNanos = interval.toNanos();
    this.walMaxBytes = walMaxBytes;
  }

  /** The snapshots' store. */
  public WindowSnapshots store() {
    return store;
  }

  /** Starts taking snapshots every interval. */
  public void start() {
    long tick = Math.max(100, Math.min(1000, TimeUnit.NANOSECONDS.toMillis(intervalNanos)));
    executor.scheduleWithFixedDelay(this::tick, tick, tick, TimeUnit.MILLISECONDS);
  }

  private void tick() {
    long now = System.nanoTime();
    long since = now - lastNanos;
    boolean logFilling = wal.sizeBytes() > walMaxBytes / 2 && since >= TimeUnit.SECONDS.toNanos(5);
    if (since >= intervalNanos || logFilling) {
      lastNanos = now;
      snapshotQuietly();
    }
  }

  /** Stops taking snapshots, letting one in progress finish. */
  @Override
  public void close() {
    executor.shutdownNow();
    try {
      executor.awaitTermination(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

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
  private void snapshotNow() {
    WriteAheadLog log = wal;
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
        for (TableState ts : tables.all()) {
          if (ts.specOrNull() == null) {
            continue;
          }
          ts.lock.lock();
          try {
            WindowAggregator agg = ts.aggregator;
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
        List<WindowSnapshots.TableIds> ingestIds = new ArrayList<>();
        for (TableState ts : tables.all()) {
          ts.lock.lock();
          try {
            // Under the lock an ingest remembers its id and logs its rows with: the ids and the
            // position agree, as each table's state and its position do.
            if (ts.ingestIds.size() > 0) {
              ingestIds.add(
                  new WindowSnapshots.TableIds(ts.name, log.position(), ts.ingestIds.ids()));
            }
          } finally {
            ts.lock.unlock();
          }
        }
        long covered = store.write(position, parts, ingestIds, allocator);
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

  /** Writes a window snapshot now, as the snapshotter does every interval. */
  public void snapshot() {
    snapshotNow();
  }

  /** As {@link #snapshot}, logging a failure instead of throwing it. */
  public void snapshotQuietly() {
    try {
      snapshotNow();
    } catch (RuntimeException e) {
      LOG.error(
          "cannot write a window snapshot in {}; the log keeps what the last one does not cover",
          store.directory(),
          e);
    }
  }
}
