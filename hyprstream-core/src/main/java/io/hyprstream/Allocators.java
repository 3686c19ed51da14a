package io.hyprstream;

import io.hyprstream.internal.arrow.RecyclingAllocationManager;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

/**
 * Root allocators suited to Hyprstream. Give one to both the instance ({@link
 * HyprstreamBuilder#allocator}) and your own batches: buffers under one root move between them
 * without a copy.
 */
public final class Allocators {
  private Allocators() {}

  /**
   * A root allocator whose released buffers are kept for reuse (up to 256 MiB across the process)
   * instead of being returned to the operating system and faulted in again by the next batch.
   * Ingest allocates and releases a few buffers per batch, on different threads; with Arrow's
   * default allocator, the page faults of that fresh memory took a third of the ingesting thread's
   * CPU time. The instance and the shipped server use this when not given an allocator.
   */
  public static BufferAllocator newRoot() {
    return newRoot(Long.MAX_VALUE);
  }

  /** As {@link #newRoot()}, holding at most {@code limit} bytes at a time. */
  public static BufferAllocator newRoot(long limit) {
    return new RootAllocator(
        RootAllocator.configBuilder()
            .allocationManagerFactory(RecyclingAllocationManager.FACTORY)
            .maxAllocation(limit)
            .build());
  }
}
