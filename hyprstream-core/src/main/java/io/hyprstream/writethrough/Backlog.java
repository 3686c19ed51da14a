package io.hyprstream.writethrough;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;

/**
 * The batches waiting for the backend, in the order they were logged, and the memory they hold. A
 * batch arriving past the memory bound is spilled: released at once (it is in the log already) and
 * read back from the log when its turn to be sent comes, so the backlog spills to disk instead of
 * refusing ingest, and order is kept since spilled and held batches wait in the one queue.
 *
 * <p>Not thread-safe: {@link WriteThrough} calls it holding its lock.
 */
final class Backlog {
  /** A queued batch. */
  static final class Item {
    final String table;
    final String batchId;
    final long rows;
    final long bytes;
    final long enqueuedNanos = System.nanoTime();

    /** The batch while held in memory; null while spilled (only in the log). */
    @Nullable VectorSchemaRoot batch;

    /** Set once the backend committed it or it was quarantined: it left the backlog. */
    boolean done;

    /** Set while the worker reads this spilled batch back. */
    boolean reloading;

    Item(String table, String batchId, VectorSchemaRoot batch) {
      this.table = table;
      this.batchId = batchId;
      this.batch = batch;
      this.rows = batch.getRowCount();
      long b = 0;
      for (var v : batch.getFieldVectors()) {
        b += v.getBufferSize();
      }
      this.bytes = b;
    }

    /** The batch of an item the worker holds (loaded before it is sent). */
    VectorSchemaRoot held() {
      return Objects.requireNonNull(batch, "spilled batch not loaded");
    }
  }

  private final long maxHeldBytes;
  private final ArrayDeque<Item> queue = new ArrayDeque<>();
  private long rows;
  private long bytes;
  private long heldBytes; // bytes of queued batches held in memory, reloads in progress included
  private long spilledBatches;
  private long spilledBytes;

  Backlog(long maxHeldBytes) {
    this.maxHeldBytes = maxHeldBytes;
  }

  /** Queues a batch, taking ownership of it; it is spilled when holding it would pass the bound. */
  Item add(String table, String batchId, VectorSchemaRoot batch) {
    Item item = new Item(table, batchId, batch);
    queue.addLast(item);
    rows += item.rows;
    bytes += item.bytes;
    if (heldBytes + item.bytes > maxHeldBytes) {
      batch.close(); // the log holds it; read back when its turn comes
      item.batch = null;
      spilledBatches++;
      spilledBytes += item.bytes;
    } else {
      heldBytes += item.bytes;
    }
    return item;
  }

  /**
   * The run of queued batches of the head's table, up to {@code maxRows} rows (the head always),
   * that can be sent as one group.
   */
  List<Item> headRun(long maxRows) {
    List<Item> group = new ArrayList<>();
    long groupRows = 0;
    Item head = Objects.requireNonNull(queue.peekFirst());
    for (Item item : queue) {
      if (!item.table.equals(head.table) || (!group.isEmpty() && groupRows + item.rows > maxRows)) {
        break;
      }
      group.add(item);
      groupRows += item.rows;
    }
    return group;
  }

  /**
   * The head of {@code group} that may be held in memory at once: its spilled batches are reserved
   * against the memory bound (the first always, so a batch larger than the bound still goes) and
   * the group ends at the first that does not fit.
   */
  List<Item> reserveReloads(List<Item> group) {
    for (int i = 0; i < group.size(); i++) {
      Item item = group.get(i);
      if (item.batch != null) {
        continue;
      }
      if (i > 0 && heldBytes + item.bytes > maxHeldBytes) {
        return new ArrayList<>(group.subList(0, i));
      }
      heldBytes += item.bytes;
      spilledBatches--;
      spilledBytes -= item.bytes;
      item.reloading = true;
    }
    return group;
  }

  /** Marks the group's reloads spilled again, after reading them back failed. */
  void cancelReloads(List<Item> group) {
    for (Item item : group) {
      if (item.reloading) {
        item.reloading = false;
        heldBytes -= item.bytes;
        spilledBatches++;
        spilledBytes += item.bytes;
      }
    }
  }

  /**
   * Takes the first {@code count} items, which the worker sent (or quarantined), off the queue; the
   * worker closes their batches.
   */
  void removeHead(int count) {
    for (int i = 0; i < count; i++) {
      Item item = Objects.requireNonNull(queue.pollFirst());
      item.done = true;
      rows -= item.rows;
      bytes -= item.bytes;
      heldBytes -= item.bytes;
    }
  }

  /** Releases every batch held and empties the queue. */
  void clear() {
    for (Item item : queue) {
      if (item.batch != null) {
        item.batch.close();
      }
    }
    queue.clear();
  }

  @Nullable Item head() {
    return queue.peekFirst();
  }

  boolean isEmpty() {
    return queue.isEmpty();
  }

  int size() {
    return queue.size();
  }

  /** The queued items, oldest first. */
  Iterable<Item> items() {
    return queue;
  }

  long rows() {
    return rows;
  }

  long bytes() {
    return bytes;
  }

  long heldBytes() {
    return heldBytes;
  }

  long spilledBatches() {
    return spilledBatches;
  }

  long spilledBytes() {
    return spilledBytes;
  }
}
