package io.hyprstream.internal;

import io.hyprstream.Operations;
import io.hyprstream.api.CacheStore;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.WindowAggregator;
import io.hyprstream.internal.query.BackendReads;
import io.hyprstream.internal.table.TableState;
import io.hyprstream.internal.table.Tables;
import io.hyprstream.writethrough.Quarantine;
import io.hyprstream.writethrough.WriteThrough;
import java.util.List;
import java.util.function.ToLongFunction;
import org.apache.arrow.memory.BufferAllocator;
import org.jspecify.annotations.Nullable;

/**
 * The engine's {@link Operations} facet: what the server's metrics, health checks, status tables
 * and administration read from an instance, each answered from the part that owns it.
 */
final class EngineOperations implements Operations {
  private final Tables tables;
  private final CacheStore cache;
  private final BackendReads backendReads;
  private final @Nullable WriteThrough writeThrough;
  private final BufferAllocator allocator;
  private final Runnable checkOpen;

  EngineOperations(
      Tables tables,
      CacheStore cache,
      BackendReads backendReads,
      @Nullable WriteThrough writeThrough,
      BufferAllocator allocator,
      Runnable checkOpen) {
    this.tables = tables;
    this.cache = cache;
    this.backendReads = backendReads;
    this.writeThrough = writeThrough;
    this.allocator = allocator;
    this.checkOpen = checkOpen;
  }

  @Override
  public WriteThrough.@Nullable Status writeThrough() {
    WriteThrough wt = writeThrough;
    return wt == null ? null : wt.status();
  }

  @Override
  public long windowStateBytes() {
    return sumOverAggregators(WindowAggregator::stateBytes);
  }

  @Override
  public long windowCount() {
    return sumOverAggregators(WindowAggregator::windowCount);
  }

  @Override
  public long cacheMemoryBytes() {
    return cache.sizeBytes();
  }

  @Override
  public ColdReads coldReads() {
    return backendReads.counts();
  }

  @Override
  public List<Quarantine.Entry> quarantined() {
    WriteThrough wt = writeThrough;
    return wt == null ? List.of() : wt.quarantined();
  }

  @Override
  public List<Quarantine.Entry> requeueQuarantine(@Nullable String batchId) {
    checkOpen.run();
    WriteThrough wt = writeThrough;
    if (wt == null) {
      throw new QueryRejectedException("there is no backend, so nothing is quarantined", null);
    }
    try {
      return wt.requeue(batchId, allocator);
    } catch (IllegalArgumentException e) {
      throw new QueryRejectedException(String.valueOf(e.getMessage()), e);
    }
  }

  @Override
  public void cancelQueryOf(Thread thread) {
    cache.cancelQueryOf(thread);
  }

  /** The sum of {@code f} over every table's aggregator, each read under its table's lock. */
  private long sumOverAggregators(ToLongFunction<WindowAggregator> f) {
    long sum = 0;
    for (TableState ts : tables.all()) {
      ts.lock.lock();
      try {
        if (ts.aggregator != null) {
          sum += f.applyAsLong(ts.aggregator);
        }
      } finally {
        ts.lock.unlock();
      }
    }
    return sum;
  }
}
