package io.hyprstream.flight.internal;

import io.hyprstream.Hyprstream;
import io.hyprstream.Operations;
import io.hyprstream.writethrough.WriteThrough;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import org.apache.arrow.memory.BufferAllocator;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gauges read from the engine when Prometheus scrapes: the write-through backlog, lag, commits and
 * backend errors (from {@link Operations#writeThrough()}, the figures of {@code
 * hyprstream_backend_status}), DuckDB's memory ({@code duckdb_memory()}, one cheap query per
 * scrape) and the server's Arrow memory.
 */
public final class EngineMetrics implements MeterBinder {
  private static final Logger LOG = LoggerFactory.getLogger(EngineMetrics.class);

  private final Hyprstream hyprstream;
  private final BufferAllocator allocator;

  /**
   * @param allocator the server's allocator: its allocated bytes are reported, and the DuckDB
   *     memory query's small result is read into it
   */
  public EngineMetrics(Hyprstream hyprstream, BufferAllocator allocator) {
    this.hyprstream = hyprstream;
    this.allocator = allocator;
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    Gauge.builder("hyprstream.arrow.allocated", allocator, BufferAllocator::getAllocatedMemory)
        .description("Arrow memory held by the server's requests and results")
        .baseUnit("bytes")
        .register(registry);
    Operations engine = hyprstream.operations();
    // Held strongly: Micrometer keeps a gauge's object weakly, and nothing else keeps this one,
    // so the gauge read NaN once a collection had taken it.
    Gauge.builder("hyprstream.duckdb.memory", this, EngineMetrics::duckDbMemoryBytes)
        .description("Memory DuckDB reports in use (duckdb_memory())")
        .baseUnit("bytes")
        .strongReference(true)
        .register(registry);
    if (engine.writeThrough() == null) {
      return;
    }
    gauge(registry, engine, "hyprstream.writethrough.backlog.rows", s -> s.backlogRows(), "rows");
    gauge(
        registry,
        engine,
        "hyprstream.writethrough.backlog.batches",
        s -> s.backlogBatches(),
        "batches");
    gauge(registry, engine, "hyprstream.wal", s -> s.walBytes(), "bytes");
    TimeGauge.builder(
            "hyprstream.writethrough.lag",
            engine,
            TimeUnit.MILLISECONDS,
            e -> status(e, s -> s.lagMillis()))
        .description("Age of the oldest acknowledged batch not yet in the backend")
        .register(registry);
    FunctionCounter.builder("hyprstream.backend.errors", engine, e -> status(e, s -> s.failures()))
        .description("Failed write-through attempts (each is retried)")
        .register(registry);
    FunctionCounter.builder(
            "hyprstream.writethrough.committed.rows",
            engine,
            e -> status(e, s -> s.committedRows()))
        .description("Rows committed to the backend")
        .register(registry);
    gauge(
        registry,
        engine,
        "hyprstream.writethrough.quarantined.batches",
        s -> s.quarantinedBatches(),
        null);
    gauge(
        registry,
        engine,
        "hyprstream.writethrough.quarantined.rows",
        s -> s.quarantinedRows(),
        null);
    gauge(
        registry, engine, "hyprstream.writethrough.backlog.bytes", s -> s.backlogBytes(), "bytes");
    // Past engine.max_backlog_bytes the backlog spills: held in memory, read back from the log.
    gauge(registry, engine, "hyprstream.writethrough.backlog.held", s -> s.heldBytes(), "bytes");
    gauge(
        registry,
        engine,
        "hyprstream.writethrough.backlog.spilled.batches",
        s -> s.spilledBatches(),
        "batches");
    gauge(
        registry,
        engine,
        "hyprstream.writethrough.backlog.spilled",
        s -> s.spilledBytes(),
        "bytes");
    FunctionCounter.builder("hyprstream.backend.reads", engine, e -> e.coldReads().rows())
        .description("Queries that read rows the cache no longer holds from the backend")
        .tag("as", "rows")
        .register(registry);
    FunctionCounter.builder(
            "hyprstream.backend.reads", engine, e -> e.coldReads().partialAggregates())
        .description("Queries that read rows the cache no longer holds from the backend")
        .tag("as", "partial_aggregates")
        .register(registry);
  }

  private static void gauge(
      MeterRegistry registry,
      Operations engine,
      String name,
      ToDoubleFunction<WriteThrough.Status> field,
      @Nullable String unit) {
    Gauge.builder(name, engine, e -> status(e, field)).baseUnit(unit).register(registry);
  }

  private static double status(Operations engine, ToDoubleFunction<WriteThrough.Status> field) {
    WriteThrough.Status s = engine.writeThrough();
    return s == null ? Double.NaN : field.applyAsDouble(s);
  }

  private double duckDbMemoryBytes() {
    try {
      return hyprstream.operations().cacheMemoryBytes();
    } catch (RuntimeException e) {
      LOG.debug("cannot read duckdb_memory()", e);
      return Double.NaN;
    }
  }
}
