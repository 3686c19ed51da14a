package io.hyprstream.internal;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.BackendStore;
import io.hyprstream.api.CacheStore;
import io.hyprstream.api.WindowAggregatorFactory;
import io.hyprstream.api.WindowListener;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.internal.table.MetricsTable;
import io.hyprstream.writethrough.WriteThrough;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.arrow.memory.BufferAllocator;
import org.jspecify.annotations.Nullable;

/**
 * The options a {@code HyprstreamBuilder} collected, checked and defaulted.
 *
 * @param timeColumns time columns of tables without aggregates, by lower-case table name (raw-row
 *     expiry)
 * @param openCache opens the cache store, with buffers from the engine's allocator; the engine
 *     closes it
 * @param aggregators makes each aggregated table's window aggregator
 * @param backend {@link BackendStore#none()} when there is none; never null
 * @param snapshotInterval how often window state is snapshotted (with a backend); zero takes none
 * @param windowListener told of window changes after each ingest (publication); null for none
 * @param clusterMode true when the instance is one of a cluster's partition owners ({@code
 *     internal.cluster}): Kafka is its log and the owners write the backend, so the engine keeps no
 *     log of its own, restores nothing from the backend at start and reads none of it
 * @param ingestIdsRemembered how many client ingest ids each table (in cluster mode, each
 *     partition) remembers to know a retry as a repeat
 */
public record EngineConfig(
    @Nullable BufferAllocator allocator,
    @Nullable Path cacheFile,
    Duration cacheDuration,
    Duration expiryInterval,
    InstantSource clock,
    List<AggregationSpec> aggregations,
    Map<String, String> timeColumns,
    Function<BufferAllocator, ? extends CacheStore> openCache,
    WindowAggregatorFactory aggregators,
    BackendStore backend,
    Path dataDirectory,
    long walMaxBytes,
    boolean synchronousWriteThrough,
    Duration drainTimeout,
    Duration snapshotInterval,
    CacheConfig cache,
    WriteThrough.Bounds writeThroughBounds,
    @Nullable WindowListener windowListener,
    boolean clusterMode,
    int ingestIdsRemembered) {
  public EngineConfig {
    aggregations = List.copyOf(aggregations);
    timeColumns = Map.copyOf(timeColumns);
  }

  /**
   * The built-in {@code metrics} aggregation: key {@code metric_id}, value {@code value}, time
   * {@code timestamp}, running columns over the smallest window.
   */
  public static AggregationSpec metricsSpec(List<WindowSpec> windows) {
    WindowSpec smallest =
        windows.stream().min(Comparator.comparing(WindowSpec::size)).orElseThrow();
    return AggregationSpec.builder(MetricsTable.NAME)
        .timeColumn(MetricsTable.TIMESTAMP)
        .keyColumns(MetricsTable.METRIC_ID)
        .valueColumns(MetricsTable.VALUE)
        .windows(windows)
        .runningWindow(smallest)
        .build();
  }
}
