package io.hyprstream.flight.internal;

import io.hyprstream.Hyprstream;
import io.hyprstream.internal.Engine;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

/**
 * The cache's meters, in one place: today the window state the aggregator holds (bytes and (key,
 * window) count). The query result cache's hits, misses and evictions belong here too, read from
 * the engine's cache statistics (the {@code hyprstream_cache_stats} table's figures) once the
 * engine exposes them, as {@code hyprstream.cache.requests{result="hit|miss"}} and {@code
 * hyprstream.cache.evictions} function counters.
 */
public final class CacheMetrics implements MeterBinder {
  private final Hyprstream hyprstream;

  public CacheMetrics(Hyprstream hyprstream) {
    this.hyprstream = hyprstream;
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    if (!(hyprstream instanceof Engine)) {
      return;
    }
    Engine engine = (Engine) hyprstream;
    Gauge.builder("hyprstream.window.state", engine, Engine::windowStateBytes)
        .description("Heap held by window aggregate state")
        .baseUnit("bytes")
        .register(registry);
    Gauge.builder("hyprstream.window.count", engine, Engine::windowCount)
        .description("(key, window) aggregate states held")
        .register(registry);
  }
}
