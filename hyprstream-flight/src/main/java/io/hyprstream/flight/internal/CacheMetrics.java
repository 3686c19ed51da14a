package io.hyprstream.flight.internal;

import io.hyprstream.Hyprstream;
import io.hyprstream.Operations;
import io.hyprstream.api.CacheStatistics;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToLongFunction;
import org.jspecify.annotations.Nullable;

/**
 * The cache's meters: the figures of {@code hyprstream_cache_stats} (hits, misses, evictions by
 * cause, bytes and rows held; per table and for the result cache, tagged {@code cache} = table name
 * or {@code results}) and the window state the aggregator holds.
 *
 * <p>The statistics are read once per scrape at most once a second. A table's meters are registered
 * the first time a read sees it, so a new table shows from the scrape after.
 */
public final class CacheMetrics implements MeterBinder {
  private final Hyprstream hyprstream;
  private final Map<String, CacheStatistics> latest = new ConcurrentHashMap<>();
  private final Set<String> registered = ConcurrentHashMap.newKeySet();
  private volatile @Nullable MeterRegistry registry; // set by bindTo

  public CacheMetrics(Hyprstream hyprstream) {
    this.hyprstream = hyprstream;
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    this.registry = registry;
    refresh();
    Operations ops = hyprstream.operations();
    Gauge.builder("hyprstream.window.state", ops, Operations::windowStateBytes)
        .description("Heap held by window aggregate state")
        .baseUnit("bytes")
        .strongReference(true)
        .register(registry);
    Gauge.builder("hyprstream.window.count", ops, Operations::windowCount)
        .description("(key, window) aggregate states held")
        .strongReference(true)
        .register(registry);
  }

  /** Re-reads the statistics; registers the meters of caches not seen before. */
  private void refresh() {
    List<CacheStatistics> stats;
    try {
      stats = hyprstream.cacheStatistics();
    } catch (IllegalStateException closed) {
      return; // the instance is closing; keep the last figures
    }
    for (CacheStatistics s : stats) {
      latest.put(s.name(), s);
      if (registered.add(s.name())) {
        register(s.name());
      }
    }
  }

  private void register(String cache) {
    MeterRegistry registry = java.util.Objects.requireNonNull(this.registry);
    Tags tags = Tags.of("cache", cache);
    counter(
        registry,
        "hyprstream.cache.requests",
        cache,
        tags.and("result", "hit"),
        CacheStatistics::hits);
    counter(
        registry,
        "hyprstream.cache.requests",
        cache,
        tags.and("result", "miss"),
        CacheStatistics::misses);
    counter(
        registry,
        "hyprstream.cache.evictions",
        cache,
        tags.and("cause", "size"),
        CacheStatistics::evictedSize);
    counter(
        registry,
        "hyprstream.cache.evictions",
        cache,
        tags.and("cause", "expired"),
        CacheStatistics::evictedExpired);
    counter(
        registry,
        "hyprstream.cache.evictions",
        cache,
        tags.and("cause", "invalidated"),
        CacheStatistics::evictedInvalidated);
    Gauge.builder("hyprstream.cache.held", hyprstream, h -> read(cache, CacheStatistics::bytes))
        .tags(tags)
        .baseUnit("bytes")
        .description("Bytes held: hot raw rows of a table, or kept query results")
        .register(registry);
    Gauge.builder("hyprstream.cache.rows", hyprstream, h -> read(cache, CacheStatistics::rows))
        .tags(tags)
        .description("Rows held: hot raw rows of a table, or rows of kept query results")
        .register(registry);
  }

  private void counter(
      MeterRegistry registry,
      String name,
      String cache,
      Tags tags,
      ToLongFunction<CacheStatistics> figure) {
    // Micrometer holds the state object weakly: the instance, which the server keeps alive.
    FunctionCounter.builder(name, hyprstream, h -> read(cache, figure))
        .tags(tags)
        .description(
            "Hits and misses (table: answered here or by the backend; results: lookups) and"
                + " evictions by cause (table: rows; results: entries)")
        .register(registry);
  }

  private double read(String cache, ToLongFunction<CacheStatistics> figure) {
    refresh();
    CacheStatistics s = latest.get(cache);
    return s == null ? 0 : figure.applyAsLong(s);
  }
}
