package io.hyprstream.flight.internal.console;

import com.fasterxml.jackson.core.JsonGenerator;
import io.hyprstream.Hyprstream;
import io.hyprstream.api.CacheStatistics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * The console's server panel: the server's own meters read once a second into a ring of the last
 * {@value #SECONDS} seconds, so the page shows the last minutes as soon as it opens. Rates are the
 * difference of two readings of a counter ({@code hyprstream.ingest.rows}, the count of {@code
 * hyprstream.query.latency}); levels are gauges (write-through backlog and lag, memory) read as
 * they are; hit ratios and hot bytes are the caches' own statistics, as {@code /metrics} has them.
 */
final class ServerPanel {
  /** How many one-second samples are kept. */
  static final int SECONDS = 300;

  private final MeterRegistry registry;
  private final Hyprstream hyprstream;
  private final long[] times = new long[SECONDS];
  private final double[] ingestRate = new double[SECONDS];
  private final double[] queryRate = new double[SECONDS];
  private final double[] backlogRows = new double[SECONDS];
  private final double[] lagSeconds = new double[SECONDS];
  private int next;
  private int size;
  private double lastIngested = Double.NaN;
  private double lastQueries = Double.NaN;
  private long lastNanos;

  ServerPanel(MeterRegistry registry, Hyprstream hyprstream) {
    this.registry = registry;
    this.hyprstream = hyprstream;
  }

  /** Takes one sample (once a second, from the console's timer). */
  synchronized void sample(long nowMillis, long nowNanos) {
    double ingested = sumCounters("hyprstream.ingest.rows");
    double queries = 0;
    for (Timer t : registry.find("hyprstream.query.latency").timers()) {
      queries += t.count();
    }
    if (!Double.isNaN(lastIngested)) {
      double seconds = Math.max(1e-3, (nowNanos - lastNanos) / 1e9);
      times[next] = nowMillis;
      ingestRate[next] = Math.max(0, ingested - lastIngested) / seconds;
      queryRate[next] = Math.max(0, queries - lastQueries) / seconds;
      backlogRows[next] = gauge("hyprstream.writethrough.backlog.rows");
      lagSeconds[next] = lagSeconds();
      next = (next + 1) % SECONDS;
      size = Math.min(SECONDS, size + 1);
    }
    lastIngested = ingested;
    lastQueries = queries;
    lastNanos = nowNanos;
  }

  /** The series and the current levels, as {@code GET /api/server} answers. */
  void write(JsonGenerator json) throws IOException {
    json.writeStartObject();
    synchronized (this) {
      json.writeObjectFieldStart("series");
      int first = (next - size + SECONDS) % SECONDS;
      json.writeArrayFieldStart("time_ms");
      for (int k = 0; k < size; k++) {
        json.writeNumber(times[(first + k) % SECONDS]);
      }
      json.writeEndArray();
      series(json, "ingest_rows_per_s", first, i -> ingestRate[i]);
      series(json, "queries_per_s", first, i -> queryRate[i]);
      series(json, "backlog_rows", first, i -> backlogRows[i]);
      series(json, "lag_s", first, i -> lagSeconds[i]);
      json.writeEndObject();
    }
    json.writeObjectFieldStart("writethrough");
    number(json, "backlog_rows", gauge("hyprstream.writethrough.backlog.rows"));
    number(json, "backlog_bytes", gauge("hyprstream.writethrough.backlog.bytes"));
    number(json, "lag_s", lagSeconds());
    json.writeEndObject();
    long tableHits = 0;
    long tableLookups = 0;
    long hotBytes = 0;
    json.writeObjectFieldStart("cache");
    for (CacheStatistics s : hyprstream.cacheStatistics()) {
      if (s.scope() == CacheStatistics.Scope.RESULTS) {
        number(json, "result_hit_ratio", s.hits() + s.misses() == 0 ? Double.NaN : s.hitRatio());
      } else {
        tableHits += s.hits();
        tableLookups += s.hits() + s.misses();
        hotBytes += s.bytes();
      }
    }
    number(
        json,
        "table_hit_ratio",
        tableLookups == 0 ? Double.NaN : (double) tableHits / tableLookups);
    json.writeEndObject();
    json.writeObjectFieldStart("memory");
    Runtime rt = Runtime.getRuntime();
    number(json, "jvm_heap_used_bytes", rt.totalMemory() - rt.freeMemory());
    number(json, "jvm_heap_max_bytes", rt.maxMemory());
    number(json, "arrow_bytes", gauge("hyprstream.arrow.allocated"));
    number(json, "duckdb_bytes", gauge("hyprstream.duckdb.memory"));
    number(json, "hot_rows_bytes", hotBytes);
    number(json, "window_state_bytes", gauge("hyprstream.window.state"));
    json.writeEndObject();
    json.writeEndObject();
  }

  private interface Column {
    double at(int index);
  }

  private void series(JsonGenerator json, String name, int first, Column column)
      throws IOException {
    json.writeArrayFieldStart(name);
    for (int k = 0; k < size; k++) {
      double v = column.at((first + k) % SECONDS);
      if (Double.isNaN(v)) {
        json.writeNull();
      } else {
        json.writeNumber(v);
      }
    }
    json.writeEndArray();
  }

  /** A finite figure, or null (a meter the server does not have, or no lookup yet). */
  private static void number(JsonGenerator json, String name, double value) throws IOException {
    if (Double.isFinite(value)) {
      json.writeNumberField(name, value);
    } else {
      json.writeNullField(name);
    }
  }

  private double sumCounters(String name) {
    double sum = 0;
    for (Counter c : registry.find(name).counters()) {
      sum += c.count();
    }
    return sum;
  }

  /** The gauge's value, NaN when the server has none (no backend: no write-through meters). */
  private double gauge(String name) {
    Gauge g = registry.find(name).gauge();
    return g == null ? Double.NaN : g.value();
  }

  private double lagSeconds() {
    TimeGauge g = registry.find("hyprstream.writethrough.lag").timeGauge();
    return g == null ? Double.NaN : g.value(TimeUnit.SECONDS);
  }
}
