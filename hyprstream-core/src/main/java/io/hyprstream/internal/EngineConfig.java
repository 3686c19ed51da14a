package io.hyprstream.internal;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.BackendStore;
import io.hyprstream.api.CacheStore;
import io.hyprstream.api.WindowAggregatorFactory;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.internal.table.MetricsTable;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;
import org.apache.arrow.memory.BufferAllocator;
import org.jspecify.annotations.Nullable;

/** The options a {@code HyprstreamBuilder} collected, checked and defaulted. */
public final class EngineConfig {
  final @Nullable BufferAllocator allocator;
  final @Nullable Path cacheFile;
  final Duration cacheDuration;
  final Duration expiryInterval;
  final InstantSource clock;
  final List<AggregationSpec> aggregations;

  /** Time columns of tables without aggregates, by lower-case table name (raw-row expiry). */
  final java.util.Map<String, String> timeColumns;

  /** Opens the cache store, with buffers from the engine's allocator; the engine closes it. */
  final Function<BufferAllocator, ? extends CacheStore> openCache;

  /** Makes each aggregated table's window aggregator. */
  final WindowAggregatorFactory aggregators;

  /** {@link BackendStore#none()} when there is none; never null. */
  final BackendStore backend;

  final Path dataDirectory;
  final long walMaxBytes;
  final boolean synchronousWriteThrough;
  final Duration drainTimeout;

  /** How often window state is snapshotted (with a backend); zero takes none. */
  final Duration snapshotInterval;

  final CacheConfig cache;
  final io.hyprstream.writethrough.WriteThrough.Bounds writeThroughBounds;

  /** Told of window changes after each ingest (publication); null for none. */
  final io.hyprstream.api.@Nullable WindowListener windowListener;

  public EngineConfig(
      @Nullable BufferAllocator allocator,
      @Nullable Path cacheFile,
      Duration cacheDuration,
      Duration expiryInterval,
      InstantSource clock,
      List<AggregationSpec> aggregations,
      java.util.Map<String, String> timeColumns,
      Function<BufferAllocator, ? extends CacheStore> openCache,
      WindowAggregatorFactory aggregators,
      BackendStore backend,
      Path dataDirectory,
      long walMaxBytes,
      boolean synchronousWriteThrough,
      Duration drainTimeout,
      Duration snapshotInterval,
      CacheConfig cache,
      io.hyprstream.writethrough.WriteThrough.Bounds writeThroughBounds,
      io.hyprstream.api.@Nullable WindowListener windowListener) {
    this.allocator = allocator;
    this.cacheFile = cacheFile;
    this.cacheDuration = cacheDuration;
    this.expiryInterval = expiryInterval;
    this.clock = clock;
    this.aggregations = List.copyOf(aggregations);
    this.timeColumns = java.util.Map.copyOf(timeColumns);
    this.openCache = openCache;
    this.aggregators = aggregators;
    this.backend = backend;
    this.dataDirectory = dataDirectory;
    this.walMaxBytes = walMaxBytes;
    this.synchronousWriteThrough = synchronousWriteThrough;
    this.drainTimeout = drainTimeout;
    this.snapshotInterval = snapshotInterval;
    this.cache = cache;
    this.writeThroughBounds = writeThroughBounds;
    this.windowListener = windowListener;
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
