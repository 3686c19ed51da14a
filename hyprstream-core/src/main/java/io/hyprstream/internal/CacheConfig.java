package io.hyprstream.internal;

import io.hyprstream.api.EvictionPolicy;
import java.time.Duration;
import java.util.Map;

/** The cache options a {@code HyprstreamBuilder} collected: result cache and memory budget. */
public final class CacheConfig {
  final long resultCacheBytes;
  final Duration resultCacheTtl;
  final long memoryBudgetBytes;
  final EvictionPolicy evictionPolicy;

  /** Allowed staleness of cached results, by lower-case table name. */
  final Map<String, Duration> maxStaleness;

  /**
   * @param resultCacheBytes bytes of query results kept (0: no result cache)
   * @param memoryBudgetBytes hot raw bytes the DuckDB cache may hold before evicting partitions
   */
  public CacheConfig(
      long resultCacheBytes,
      Duration resultCacheTtl,
      long memoryBudgetBytes,
      EvictionPolicy evictionPolicy,
      Map<String, Duration> maxStaleness) {
    this.resultCacheBytes = resultCacheBytes;
    this.resultCacheTtl = resultCacheTtl;
    this.memoryBudgetBytes = memoryBudgetBytes;
    this.evictionPolicy = evictionPolicy;
    this.maxStaleness = Map.copyOf(maxStaleness);
  }
}
