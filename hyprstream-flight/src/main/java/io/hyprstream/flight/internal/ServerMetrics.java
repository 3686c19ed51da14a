package io.hyprstream.flight.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The server's request meters: ingest rows, bytes and batches by table, ingest and query latency,
 * and refusals by limit. Latencies are timers with a percentile histogram, so Prometheus can
 * compute p99 over any window ({@code histogram_quantile}). Engine-side gauges live in {@link
 * EngineMetrics} and {@link CacheMetrics}.
 */
public final class ServerMetrics {
  private static final ServerMetrics NONE = new ServerMetrics(new CompositeMeterRegistry());

  private final MeterRegistry registry;
  private final Map<String, TableMeters> byTable = new ConcurrentHashMap<>();
  private final Timer queryLatency;
  private final Map<String, Counter> rejections = new ConcurrentHashMap<>();

  public ServerMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.queryLatency =
        Timer.builder("hyprstream.query.latency")
            .description("Time from the start of a query's execution to its last result batch")
            .publishPercentileHistogram()
            .register(registry);
  }

  /** Meters that go nowhere (a producer used without a registry). */
  public static ServerMetrics none() {
    return NONE;
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** Records one acknowledged ingest request. */
  public void ingested(String table, long rows, long bytes, long batches, long nanos) {
    TableMeters m = byTable.computeIfAbsent(table, t -> new TableMeters(registry, t));
    m.rows.increment(rows);
    m.bytes.increment(bytes);
    m.batches.increment(batches);
    m.latency.record(nanos, TimeUnit.NANOSECONDS);
  }

  /** Records one query that streamed its whole result. */
  public void queried(long nanos) {
    queryLatency.record(nanos, TimeUnit.NANOSECONDS);
  }

  /** Counts a request refused by the limit named {@code limit} (its configuration key). */
  public void rejected(String limit) {
    rejections
        .computeIfAbsent(
            limit,
            l ->
                Counter.builder("hyprstream.requests.rejected")
                    .description("Requests refused by a limit")
                    .tag("limit", l)
                    .register(registry))
        .increment();
  }

  private static final class TableMeters {
    final Counter rows;
    final Counter bytes;
    final Counter batches;
    final Timer latency;

    TableMeters(MeterRegistry registry, String table) {
      rows =
          Counter.builder("hyprstream.ingest.rows")
              .description("Rows acknowledged by ingest")
              .tag("table", table)
              .register(registry);
      bytes =
          Counter.builder("hyprstream.ingest.bytes")
              .description("Arrow buffer bytes of acknowledged ingest batches")
              .baseUnit("bytes")
              .tag("table", table)
              .register(registry);
      batches =
          Counter.builder("hyprstream.ingest.batches")
              .description("Record batches acknowledged by ingest")
              .tag("table", table)
              .register(registry);
      latency =
          Timer.builder("hyprstream.ingest.latency")
              .description("Time from an ingest request's first batch to its acknowledgement")
              .tag("table", table)
              .publishPercentileHistogram()
              .register(registry);
    }
  }
}
