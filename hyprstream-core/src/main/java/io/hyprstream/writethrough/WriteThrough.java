package io.hyprstream.writethrough;

import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.wal.WriteAheadLog;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves logged batches to a {@link BackendStore} on one thread, in the order they were logged (so
 * per table too), retrying with exponential back-off while the backend is unavailable. A batch
 * leaves the {@link WriteAheadLog} only once the backend has committed it; the backend's batch-id
 * ledger makes a re-send after a crash or a lost reply a no-op, so no row is written twice.
 */
public final class WriteThrough implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WriteThrough.class);
  private static final long MIN_BACKOFF_MS = 50;

  /** A group sent in one backend transaction holds at most this many rows... */
  static final long MAX_GROUP_ROWS = 256 * 1024;

  /** ...and waits up to {@link #LINGER_NANOS} to gather at least this many. */
  static final long MIN_GROUP_ROWS = 8 * 1024;

  static final long LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
  private static final long MAX_BACKOFF_MS = 10_000;

  private final BackendStore backend;
  private final WriteAheadLog wal;
  private final Thread worker;
  private final Object lock = new Object();
  // Guarded by lock.
  private final ArrayDeque<Item> queue = new ArrayDeque<>();
  private long queuedRows;
  private long committedBatches;
  private long committedRows;
  private long failures;
  private @Nullable String lastError;
  private boolean stopping;

  private static final class Item {
    final String table;
    final String batchId;
    final VectorSchemaRoot batch;
    final long enqueuedNanos = System.nanoTime();
    boolean done;

    Item(String table, String batchId, VectorSchemaRoot batch) {
      this.table = table;
      this.batchId = batchId;
      this.batch = batch;
    }
  }

  /** A snapshot of the pipeline's state, for status tables and metrics. */
  public static final class Status {
    public final String backend;
    public final long backlogBatches;
    public final long backlogRows;
    public final long lagMillis;
    public final long committedBatches;
    public final long committedRows;
    public final long failures;
    public final @Nullable String lastError;
    public final long walBytes;

    Status(
        String backend,
        long backlogBatches,
        long backlogRows,
        long lagMillis,
        long committedBatches,
        long committedRows,
        long failures,
        @Nullable String lastError,
        long walBytes) {
      this.backend = backend;
      this.backlogBatches = backlogBatches;
      this.backlogRows = backlogRows;
      this.lagMillis = lagMillis;
      this.committedBatches = committedBatches;
      this.committedRows = committedRows;
      this.failures = failures;
      this.lastError = lastError;
      this.walBytes = walBytes;
    }
  }

  public WriteThrough(BackendStore backend, WriteAheadLog wal) {
    this.backend = backend;
    this.wal = wal;
    this.worker = new Thread(this::run, "hyprstream-write-through");
    worker.setDaemon(true);
    worker.start();
  }

  /**
   * Queues a batch already in the log. Takes ownership of {@code batch}. When {@code waitForCommit}
   * is true, returns only once the backend has committed it (synchronous write-through).
   */
  public void submit(String table, String batchId, VectorSchemaRoot batch, boolean waitForCommit) {
    Item item = new Item(table, batchId, batch);
    synchronized (lock) {
      if (stopping) {
        batch.close();
        throw new IllegalStateException("write-through is shutting down");
      }
      queue.addLast(item);
      queuedRows += batch.getRowCount();
      lock.notifyAll();
      while (waitForCommit && !item.done && !stopping) {
        try {
          lock.wait(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  private void run() {
    long backoff = MIN_BACKOFF_MS;
    while (true) {
      List<Item> group;
      synchronized (lock) {
        while (queue.isEmpty() && !stopping) {
          try {
            lock.wait();
          } catch (InterruptedException e) {
            return;
          }
        }
        if (queue.isEmpty()) {
          return;
        }
        group = gather();
      }
      String table = group.get(0).table;
      List<String> ids = new ArrayList<>(group.size());
      List<VectorSchemaRoot> batches = new ArrayList<>(group.size());
      long rows = 0;
      for (Item item : group) {
        ids.add(item.batchId);
        batches.add(item.batch);
        rows += item.batch.getRowCount();
      }
      try {
        backend.appendAll(table, ids, batches);
      } catch (BackendUnavailableException e) {
        recordFailure(group.get(0), e);
        if (!sleep(backoff)) {
          return;
        }
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
        continue;
      } catch (RuntimeException e) {
        // Not a connectivity problem (a type the backend refuses...): retrying as-is cannot help,
        // but dropping would lose rows. Keep it at the head, log loudly, retry slowly.
        recordFailure(group.get(0), e);
        if (!sleep(MAX_BACKOFF_MS)) {
          return;
        }
        continue;
      }
      backoff = MIN_BACKOFF_MS;
      for (String id : ids) {
        wal.committed(id);
      }
      synchronized (lock) {
        for (Item item : group) {
          queue.pollFirst();
          item.done = true;
        }
        queuedRows -= rows;
        committedBatches += group.size();
        committedRows += rows;
        lock.notifyAll();
      }
      group.forEach(item -> item.batch.close());
    }
  }

  /**
   * The run of queued batches of the head's table to send as one group, lingering briefly when they
   * are few, so many small ingests share a backend round trip. Called holding {@link #lock}.
   */
  private List<Item> gather() {
    while (true) {
      List<Item> group = new ArrayList<>();
      long rows = 0;
      Item head = java.util.Objects.requireNonNull(queue.peekFirst());
      for (Item item : queue) {
        if (!item.table.equals(head.table)
            || (!group.isEmpty() && rows + item.batch.getRowCount() > MAX_GROUP_ROWS)) {
          break;
        }
        group.add(item);
        rows += item.batch.getRowCount();
      }
      long waited = System.nanoTime() - head.enqueuedNanos;
      boolean runEnded = group.size() < queue.size(); // another table's batch follows
      if (rows >= MIN_GROUP_ROWS || runEnded || stopping || waited >= LINGER_NANOS) {
        return group;
      }
      try {
        TimeUnit.NANOSECONDS.timedWait(lock, LINGER_NANOS - waited);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return group;
      }
    }
  }

  private void recordFailure(Item item, RuntimeException e) {
    synchronized (lock) {
      failures++;
      lastError = e.getMessage();
    }
    LOG.warn(
        "write-through of batch {} to '{}' on {} failed, will retry: {}",
        item.batchId,
        item.table,
        backend.name(),
        e.getMessage());
  }

  /** Sleeps unless stopping; false when asked to stop. */
  private boolean sleep(long millis) {
    synchronized (lock) {
      long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
      while (!stopping) {
        long left = end - System.nanoTime();
        if (left <= 0) {
          return true;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(lock, left);
        } catch (InterruptedException e) {
          return false;
        }
      }
      return false;
    }
  }

  /** The current backlog, lag and error counts. */
  public Status status() {
    synchronized (lock) {
      Item head = queue.peekFirst();
      long lag = head == null ? 0 : (System.nanoTime() - head.enqueuedNanos) / 1_000_000;
      return new Status(
          backend.name(),
          queue.size(),
          queuedRows,
          lag,
          committedBatches,
          committedRows,
          failures,
          lastError,
          wal.sizeBytes());
    }
  }

  /**
   * Waits up to {@code timeout} for the queue to drain, then stops. Batches not yet committed stay
   * in the log and are sent after the next start.
   */
  public boolean drain(Duration timeout) {
    long end = System.nanoTime() + timeout.toNanos();
    synchronized (lock) {
      while (!queue.isEmpty()) {
        long left = end - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(lock, Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
      return true;
    }
  }

  @Override
  public void close() {
    synchronized (lock) {
      stopping = true;
      lock.notifyAll();
    }
    try {
      worker.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (lock) {
      if (!worker.isAlive()) { // a worker still stuck in a backend call owns its group's batches
        queue.forEach(item -> item.batch.close());
        queue.clear();
      }
    }
  }
}
