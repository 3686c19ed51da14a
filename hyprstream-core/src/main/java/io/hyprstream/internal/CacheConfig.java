package io.hyprstream.internal;

import io.hyprstream.api.EvictionPolicy;
import java.time.Duration;
import java.util.Map;

/**
 * The cache options a {@code HyprstreamBuilder} collected: result cache and memory budget.
 *
 * @param resultCacheBytes bytes of query results kept (0: no result cache)
 * @param memoryBudgetBytes hot raw bytes the DuckDB cache may hold before evicting partitions
 * @param maxStaleness allowed staleness of cached results, by lower-case table name
 */
public record CacheConfig(
    long resultCacheBytes,
    Duration resultCacheTtl,
    long memoryBudgetBytes,
    EvictionPolicy evictionPolicy,
    Map<String, Duration> maxStaleness) {
  public CacheConfig {
    maxStaleness = Map.copyOf(maxStaleness);
  }
}
