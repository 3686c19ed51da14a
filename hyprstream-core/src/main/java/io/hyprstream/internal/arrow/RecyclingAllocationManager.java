package io.hyprstream.internal.arrow;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.arrow.memory.AllocationManager;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.ReferenceManager;
import org.apache.arrow.memory.util.MemoryUtil;

/**
 * Arrow memory that is kept for reuse when released, up to a bound, instead of going back to the
 * operating system.
 *
 * <p>Why: ingest allocates a few buffers per batch (the running columns, a copy of the caller's
 * batch) on the caller's thread, and the flusher releases them once DuckDB has the rows. With
 * Arrow's default (Netty's pool) a chunk that empties is destroyed and the next batch maps and
 * zeroes a new one; with plain {@code malloc} the freed blocks go back to the kernel the same way.
 * A CPU profile of ingest showed a third of the caller's thread in the page faults of that fresh
 * memory. Blocks kept here are reused warm, by whichever thread asks next.
 *
 * <p>Blocks are kept by exact size, which Arrow's rounding policy makes a power of two for all but
 * very large buffers; at most {@link #MAX_RETAINED_BYTES} in all, the rest freed at once. A reused
 * block is not zeroed: Arrow's vectors zero what they allocate, as they must with Netty's pool too.
 */
public final class RecyclingAllocationManager extends AllocationManager {
  /** The most memory kept for reuse, across every size. */
  public static final long MAX_RETAINED_BYTES = 256L << 20;

  /** The factory for {@code RootAllocator} configurations ({@code allocationManagerFactory}). */
  public static final Factory FACTORY =
      new Factory() {
        @Override
        public AllocationManager create(BufferAllocator accountingAllocator, long size) {
          return new RecyclingAllocationManager(accountingAllocator, size);
        }

        @Override
        public ArrowBuf empty() {
          return EMPTY;
        }
      };

  /** Zero bytes at a real address (never freed): C Data consumers may not expect a null one. */
  private static final ArrowBuf EMPTY =
      new ArrowBuf(ReferenceManager.NO_OP, null, 0, MemoryUtil.allocateMemory(8));

  private static final Map<Long, ConcurrentLinkedDeque<Long>> FREE_BY_SIZE =
      new ConcurrentHashMap<>();
  private static final AtomicLong RETAINED = new AtomicLong();

  private final long size;
  private final long address;

  private RecyclingAllocationManager(BufferAllocator accountingAllocator, long size) {
    super(accountingAllocator);
    this.size = size;
    this.address = take(size);
  }

  /** Bytes held for reuse now (released by Arrow, not yet given out again). */
  public static long retainedBytes() {
    return RETAINED.get();
  }

  private static long take(long size) {
    ConcurrentLinkedDeque<Long> free = FREE_BY_SIZE.get(size);
    Long kept = free == null ? null : free.pollFirst();
    if (kept != null) {
      RETAINED.addAndGet(-size);
      return kept;
    }
    return MemoryUtil.allocateMemory(size);
  }

  @Override
  public long getSize() {
    return size;
  }

  @Override
  protected long memoryAddress() {
    return address;
  }

  @Override
  protected void release0() {
    if (size > 0 && RETAINED.addAndGet(size) <= MAX_RETAINED_BYTES) {
      FREE_BY_SIZE.computeIfAbsent(size, s -> new ConcurrentLinkedDeque<>()).offerFirst(address);
      return;
    }
    if (size > 0) {
      RETAINED.addAndGet(-size);
    }
    MemoryUtil.freeMemory(address);
  }
}
