package io.hyprstream.writethrough;

import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.internal.arrow.ArrowCopy;
import io.hyprstream.internal.wal.WriteAheadLog;
import io.hyprstream.writethrough.Backlog.Item;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves logged batches to a {@link BackendStore} on one thread, in the order they were logged (so
 * per table too), retrying with exponential back-off while the backend is unavailable. A batch
 * leaves the {@link WriteAheadLog} only once the backend has committed it; the backend's batch-id
 * ledger makes a re-send after a crash or a lost reply a no-op, so no row is written twice.
 *
 * <p>A failure is either the backend being away ({@link BackendUnavailableException}, which covers
 * time-outs: retried with back-off for as long as it takes) or the backend refusing the data itself
 * (anything else). A refused group is re-sent one batch at a time, so one bad batch cannot hold its
 * neighbours back; a batch refused {@link Bounds#quickRetries} times on its own goes to the {@link
 * Quarantine}, durably, before it leaves the log, and the batches behind it flow on.
 *
 * <p>The backlog's memory is bounded ({@link Bounds#maxBacklogBytes}): a batch arriving past the
 * bound is released at once (it is in the log already) and read back from the log when its turn to
 * be sent comes, so the backlog spills to disk instead of refusing ingest; only the log's own bound
 * refuses it. Order is kept, since spilled and held batches wait in the one queue.
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
  private final Quarantine quarantine;
  private final Bounds bounds;
  private final BufferAllocator allocator;
  private final Thread worker;
  private final Object lock = new Object();
  // Guarded by lock.
  private final Backlog queue;
  private long quarantinedBatches;
  private long quarantinedRows;
  private long stalledSinceNanos; // when the worker's current backend call began; 0 when idle
  private long committedBatches;
  private long committedRows;
  private long failures;
  private @Nullable String lastError;
  private boolean stopping;
  private boolean paused; // no new group is sent while set
  private boolean busy; // the worker holds a group: sending it or recording the outcome

  /**
   * How much the pipeline may hold back: {@code maxBacklogBytes} bounds the Arrow memory the
   * backlog holds (batches past it spill to the log and are read back in turn; ingest is refused
   * only when the log itself is full, see {@code walMaxBytes}); {@code maxLag} is how far behind
   * write-through may fall before the instance reports itself unready; a batch the backend refuses
   * as data {@code quickRetries} times on its own is quarantined.
   */
  public record Bounds(long maxBacklogBytes, Duration maxLag, int quickRetries) {
    /** Default bound on the backlog's memory, in bytes of Arrow buffers. */
    public static final long DEFAULT_MAX_BACKLOG_BYTES = 512L << 20;

    /** Default lag bound. */
    public static final Duration DEFAULT_MAX_LAG = Duration.ofSeconds(60);

    /** The defaults: 512 MiB held in memory, 60 s, 3 attempts. */
    public static final Bounds DEFAULTS = new Bounds(DEFAULT_MAX_BACKLOG_BYTES, DEFAULT_MAX_LAG, 3);

    public Bounds {
      if (maxBacklogBytes <= 0 || quickRetries < 1) {
        throw new IllegalArgumentException(
            "backlog bounds must be positive: bytes "
                + maxBacklogBytes
                + ", retries "
                + quickRetries);
      }
      if (maxLag.isNegative() || maxLag.isZero()) {
        throw new IllegalArgumentException("maxLag must be positive, got " + maxLag);
      }
    }
  }

  /**
   * A snapshot of the pipeline's state, for status tables and metrics.
   *
   * @param spilledBatches backlog batches released from memory, to be read back from the log when
   *     their turn comes
   * @param spilledBytes Arrow bytes of the spilled batches (what holding them would take)
   * @param heldBytes Arrow bytes the backlog holds in memory, at most about {@link
   *     Bounds#maxBacklogBytes}
   * @param maxLagMillis the lag past which the instance is not ready, in milliseconds
   * @param callMillis how long the backend call in progress has been running, 0 when none is
   */
  public record Status(
      String backend,
      long backlogBatches,
      long backlogRows,
      long lagMillis,
      long committedBatches,
      long committedRows,
      long failures,
      @Nullable String lastError,
      long walBytes,
      long backlogBytes,
      long quarantinedBatches,
      long quarantinedRows,
      long maxLagMillis,
      long callMillis,
      long spilledBatches,
      long spilledBytes,
      long heldBytes) {

    /** Whether write-through is further behind than its bound (refused or stalled alike). */
    public boolean overLag() {
      return lagMillis > maxLagMillis;
    }
  }

  /**
   * Starts the worker. Spilled batches are read back from {@code wal} into {@code allocator}, and
   * released once sent.
   */
  public WriteThrough(
      BackendStore backend,
      WriteAheadLog wal,
      Quarantine quarantine,
      Bounds bounds,
      BufferAllocator allocator) {
    this.backend = backend;
    this.allocator = allocator;
    this.wal = wal;
    this.quarantine = quarantine;
    this.bounds = bounds;
    this.queue = new Backlog(bounds.maxBacklogBytes());
    synchronized (lock) {
      for (Quarantine.Entry e : quarantine.list()) {
        quarantinedBatches++;
        quarantinedRows += e.rows();
      }
    }
    this.worker = new Thread(this::run, "hyprstream-write-through");
    worker.setDaemon(true);
    worker.start();
  }

  /**
   * Queues a batch already in the log. Takes ownership of {@code batch}, which is released at once
   * (spilled) when holding it would take the backlog's memory past its bound. When {@code
   * waitForCommit} is true, returns only once the backend has committed it (synchronous
   * write-through).
   */
  public void submit(String table, String batchId, VectorSchemaRoot batch, boolean waitForCommit) {
    synchronized (lock) {
      if (stopping) {
        batch.close();
        throw new IllegalStateException("write-through is shutting down");
      }
      Item item = queue.add(table, batchId, batch);
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
    int refusals = 0; // times the head batch was refused as data, on its own
    while (true) {
      List<Item> group;
      synchronized (lock) {
        busy = false;
        lock.notifyAll();
        while ((queue.isEmpty() || paused) && !stopping) {
          try {
            lock.wait();
          } catch (InterruptedException e) {
            return;
          }
        }
        if (queue.isEmpty()) {
          return;
        }
        group = single > 0 ? List.of(java.util.Objects.requireNonNull(queue.head())) : gather();
        if (paused && !stopping) {
          continue; // paused while gathering: send nothing until resumed
        }
        group = queue.reserveReloads(group);
        busy = true;
      }
      try {
        reload(group);
      } catch (RuntimeException e) {
        // The log could not give a spilled batch back (the disk): it stays at the head, retried.
        unloadAfterFailedReload(group);
        recordFailure(group.get(0), e);
        if (!sleep(MAX_BACKOFF_MS)) {
          return;
        }
        continue;
      }
      String table = group.get(0).table;
      List<String> ids = new ArrayList<>(group.size());
      List<VectorSchemaRoot> batches = new ArrayList<>(group.size());
      long rows = 0;
      for (Item item : group) {
        ids.add(item.batchId);
        batches.add(item.held());
        rows += item.rows;
      }
      try {
        synchronized (lock) {
          stalledSinceNanos = System.nanoTime();
        }
        try {
          backend.appendAll(table, ids, batches);
        } finally {
          synchronized (lock) {
            stalledSinceNanos = 0;
          }
        }
      } catch (BackendUnavailableException e) {
        recordFailure(group.get(0), e);
        if (!sleep(backoff)) {
          return;
        }
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
        continue;
      } catch (RuntimeException e) {
        // The backend refused the data itself: retrying the same group cannot help. Send the
        // group's batches one at a time, so only a guilty batch is held back, and quarantine one
        // refused on its own a few times, so it blocks nothing behind it.
        recordFailure(group.get(0), e);
        if (group.size() > 1) {
          single = group.size();
          continue;
        }
        Item head = group.get(0);
        if (++refusals < bounds.quickRetries()) {
          if (!sleep(backoff)) {
            return;
          }
          backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
          continue;
        }
        refusals = 0;
        if (!quarantine(head, e)) {
          if (!sleep(MAX_BACKOFF_MS)) {
            return;
          }
        }
        continue;
      }
      refusals = 0;
      single = Math.max(0, single - group.size());
      backoff = MIN_BACKOFF_MS;
      for (String id : ids) {
        wal.committed(id);
      }
      synchronized (lock) {
        queue.removeHead(group.size());
        committedBatches += group.size();
        committedRows += rows;
        lock.notifyAll();
      }
      batches.forEach(VectorSchemaRoot::close);
    }
  }

  /** Reads the group's spilled batches back from the log, outside the lock (disk reads). */
  private void reload(List<Item> group) {
    for (Item item : group) {
      boolean spilled;
      synchronized (lock) {
        spilled = item.reloading;
      }
      if (spilled) {
        VectorSchemaRoot loaded = wal.read(item.batchId, allocator);
        synchronized (lock) {
          item.batch = loaded;
          item.reloading = false;
        }
      }
    }
  }

  /** Releases what a failed {@link #reload} read and marks the group's reloads spilled again. */
  private void unloadAfterFailedReload(List<Item> group) {
    synchronized (lock) {
      queue.cancelReloads(group);
    }
  }

  /**
   * Writes the head batch to the quarantine and only then lets it leave the log and the queue.
   * False when it could not be written (the disk); it then stays at the head.
   */
  private boolean quarantine(Item head, RuntimeException refusal) {
    String error = String.valueOf(refusal.getMessage());
    try {
      quarantine.put(head.table, head.batchId, head.held(), error);
    } catch (RuntimeException e) {
      LOG.error(
          "cannot quarantine batch {} of '{}' refused by {}; it stays at the head: {}",
          head.batchId,
          head.table,
          backend.name(),
          e.toString());
      return false;
    }
    wal.committed(head.batchId);
    long rows = head.rows;
    synchronized (lock) {
      queue.removeHead(1);
      quarantinedBatches++;
      quarantinedRows += rows;
      single = Math.max(0, single - 1);
      lock.notifyAll();
    }
    head.held().close();
    LOG.error(
        "{} refused batch {} of '{}' ({} rows) {} times as data; quarantined in {} (re-send it with"
            + " the requeue_quarantine action once the cause is fixed): {}",
        backend.name(),
        head.batchId,
        head.table,
        rows,
        bounds.quickRetries(),
        quarantine.directory(),
        error);
    return true;
  }

  /** Batches still to send one at a time after a group was refused; guarded by the worker. */
  private int single;

  /**
   * The run of queued batches of the head's table to send as one group, lingering briefly when they
   * are few, so many small ingests share a backend round trip. Called holding {@link #lock}.
   */
  private List<Item> gather() {
    while (true) {
      List<Item> group = queue.headRun(MAX_GROUP_ROWS);
      long rows = 0;
      for (Item item : group) {
        rows += item.rows;
      }
      Item head = group.get(0);
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

  /** Sleeps unless stopping or paused; false when asked to stop. */
  private boolean sleep(long millis) {
    synchronized (lock) {
      long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
      while (!stopping && !paused) {
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
      return !stopping; // cut short by a pause: the worker carries on once resumed
    }
  }

  /** Quarantined batch {@code batchId} read back, or null; the caller owns its batch. */
  public Quarantine.@Nullable Loaded readQuarantined(String batchId, BufferAllocator allocator) {
    return quarantine.read(batchId, allocator);
  }

  /** The batches in the quarantine, oldest first. */
  public List<Quarantine.Entry> quarantined() {
    return quarantine.list();
  }

  /**
   * Puts quarantined batches back in the queue: {@code batchId}'s, or every one when null. Each is
   * logged again under its own batch id before it leaves the quarantine, so a crash in between
   * leaves it in both places and the backend's ledger still takes it once.
   *
   * @return the batches requeued
   * @throws IllegalArgumentException when no batch {@code batchId} is quarantined
   */
  public List<Quarantine.Entry> requeue(@Nullable String batchId, BufferAllocator allocator) {
    List<Quarantine.Entry> chosen = new ArrayList<>();
    for (Quarantine.Entry e : quarantine.list()) {
      if (batchId == null || e.batchId().equals(batchId)) {
        chosen.add(e);
      }
    }
    if (batchId != null && chosen.isEmpty()) {
      throw new IllegalArgumentException(
          "no batch '" + batchId + "' is quarantined; SELECT batch_id FROM hyprstream_quarantine");
    }
    for (Quarantine.Entry e : chosen) {
      Quarantine.Loaded loaded = quarantine.read(e.batchId(), allocator);
      if (loaded == null) {
        continue; // requeued by a concurrent call
      }
      VectorSchemaRoot batch = loaded.batch();
      try {
        wal.appendResend(e.table(), e.batchId(), batch); // counted in the windows at ingest
        quarantine.remove(e);
      } catch (RuntimeException ex) {
        batch.close();
        throw ex;
      }
      synchronized (lock) {
        quarantinedBatches--;
        quarantinedRows -= e.rows();
      }
      LOG.info("requeued quarantined batch {} of '{}' ({} rows)", e.batchId(), e.table(), e.rows());
      submit(e.table(), e.batchId(), batch, false);
    }
    return chosen;
  }

  /**
   * Stops sending: waits up to {@code timeout} for a group being sent to finish, so the queue then
   * holds exactly the batches the backend has not committed, and stays so until {@link #resume}.
   *
   * @return the batches queued, as copies the caller owns (spilled ones read back from the log);
   *     null when a backend call did not finish in time (nothing is paused then)
   */
  public @Nullable List<Queued> pause(Duration timeout, BufferAllocator allocator) {
    long end = System.nanoTime() + timeout.toNanos();
    synchronized (lock) {
      paused = true;
      lock.notifyAll();
      while (busy) {
        long left = end - System.nanoTime();
        if (left <= 0) {
          paused = false;
          lock.notifyAll();
          return null;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(lock, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          paused = false;
          lock.notifyAll();
          return null;
        }
      }
      List<Queued> out = new ArrayList<>(queue.size());
      for (Item item : queue.items()) {
        VectorSchemaRoot held = item.batch;
        out.add(
            new Queued(
                item.table,
                item.batchId,
                held == null
                    ? wal.read(item.batchId, allocator)
                    : ArrowCopy.share(held, allocator)));
      }
      return out;
    }
  }

  /** Sends again after {@link #pause}. */
  public void resume() {
    synchronized (lock) {
      paused = false;
      lock.notifyAll();
    }
  }

  /**
   * A batch waiting for the backend, as {@link #pause} returns it; the taker owns {@code batch}.
   */
  public record Queued(String table, String batchId, VectorSchemaRoot batch) {}

  /** The current backlog, lag and error counts. */
  public Status status() {
    synchronized (lock) {
      Item head = queue.head();
      long lag = head == null ? 0 : (System.nanoTime() - head.enqueuedNanos) / 1_000_000;
      return new Status(
          backend.name(),
          queue.size(),
          queue.rows(),
          lag,
          committedBatches,
          committedRows,
          failures,
          lastError,
          wal.sizeBytes(),
          queue.bytes(),
          quarantinedBatches,
          quarantinedRows,
          bounds.maxLag().toMillis(),
          stalledSinceNanos == 0 ? 0 : (System.nanoTime() - stalledSinceNanos) / 1_000_000,
          queue.spilledBatches(),
          queue.spilledBytes(),
          queue.heldBytes());
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
        queue.clear();
      }
    }
  }
}
