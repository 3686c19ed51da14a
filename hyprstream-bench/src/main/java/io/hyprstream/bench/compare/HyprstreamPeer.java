package io.hyprstream.bench.compare;

import io.hyprstream.Hyprstream;
import io.hyprstream.HyprstreamBuilder;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.bench.Arrows;
import io.hyprstream.bench.MetricsData;
import io.hyprstream.bench.RunEnv;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.util.AutoCloseables;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.jspecify.annotations.Nullable;

/** Hyprstream in-process: {@link Hyprstream#ingest} and {@link Hyprstream#query}. */
final class HyprstreamPeer implements Peer {
  /** The window lookup the aggregator answers (W2). */
  static final String LOOKUP_SQL =
      "SELECT * FROM metrics_1h WHERE metric_id = ? ORDER BY window_start DESC LIMIT 24";

  /** W4's query: the fresh window of one metric. */
  static final String VISIBLE_SQL =
      "SELECT * FROM metrics_5m WHERE metric_id = ? AND window_start >= ? ORDER BY window_start";

  /** W3's query; {@code %d} is the run number, in a predicate every window meets. */
  static final String ALL_5M_SQL =
      "SELECT metric_id, window_start, value_count, value_sum FROM metrics_5m"
          + " WHERE value_count > -%d";

  static final String SETTINGS =
      "in-memory DuckDB cache, built-in `metrics` table with windows 5m (retention raised to 8"
          + " days so W3 covers the 7 days), 30m, 1h, 1d, 1w (default retentions) and the running"
          + " columns; raw rows kept 8 days; clock fixed at the data's end + 1 min; expiry off; no"
          + " backend. W1 ends when a count over the raw rows and one over each window view have"
          + " answered (a query first moves what it reads into DuckDB).";

  private final BufferAllocator allocator;
  private final Hyprstream hs;

  HyprstreamPeer(BufferAllocator parent) {
    this.allocator = parent.newChildAllocator("hyprstream-peer", 0, Long.MAX_VALUE);
    try {
      this.hs = configured(allocator).build();
    } catch (RuntimeException e) {
      allocator.close();
      throw e;
    }
  }

  /** The metrics table's windows in both Hyprstream peers. */
  static final List<WindowSpec> WINDOWS =
      List.of(
          WindowSpec.tumbling(Duration.ofMinutes(5)).withRetention(Duration.ofDays(8)),
          WindowSpec.tumbling(Duration.ofMinutes(30)),
          WindowSpec.tumbling(Duration.ofHours(1)),
          WindowSpec.tumbling(Duration.ofDays(1)),
          WindowSpec.tumbling(Duration.ofDays(7)));

  /** The metrics table's window views, as every Hyprstream peer names them. */
  static final List<String> VIEWS =
      WINDOWS.stream().map(w -> Hyprstream.METRICS_TABLE + "_" + w.name()).toList();

  /** The configuration of both Hyprstream peers. */
  static HyprstreamBuilder configured(BufferAllocator allocator) {
    return Hyprstream.builder()
        .allocator(allocator)
        .clock(InstantSource.fixed(MetricsData.NOW))
        .cacheDuration(Duration.ofDays(8))
        .expiryInterval(Duration.ZERO)
        .metricsWindows(WINDOWS);
  }

  Hyprstream instance() {
    return hs;
  }

  BufferAllocator allocator() {
    return allocator;
  }

  @Override
  public String version() {
    return "Hyprstream " + versionOf(hs, allocator);
  }

  static String versionOf(Hyprstream hs, BufferAllocator allocator) {
    String core = RunEnv.version("io.hyprstream", "hyprstream-core");
    String duck = "?";
    try (ArrowReader r = hs.query("SELECT version()", List.of(), allocator)) {
      if (r.loadNextBatch()) {
        Object o = r.getVectorSchemaRoot().getVector(0).getObject(0);
        duck = o == null ? "?" : o.toString();
      }
    } catch (IOException | RuntimeException e) {
      duck = "?";
    }
    return core + " (git " + RunEnv.gitHead() + ", DuckDB " + duck + " cache)";
  }

  @Override
  public String settings() {
    return "in-process `ingest`/`query`; " + SETTINGS;
  }

  @Override
  public void ingest(List<VectorSchemaRoot> batches) throws IOException {
    for (VectorSchemaRoot b : batches) {
      hs.ingest(Hyprstream.METRICS_TABLE, b);
    }
    checkCount(hs, allocator, batches);
  }

  /**
   * Returns once every row is in DuckDB, the raw rows and every window view (a query flushes what
   * it reads), so W1 ends where QuestDB's does, with its views complete; checks the raw count.
   */
  static void checkCount(Hyprstream hs, BufferAllocator allocator, List<VectorSchemaRoot> batches)
      throws IOException {
    long expected = batches.stream().mapToLong(VectorSchemaRoot::getRowCount).sum();
    try (ArrowReader r = hs.query("SELECT count(*) FROM metrics", List.of(), allocator)) {
      r.loadNextBatch();
      long stored = ((BigIntVector) r.getVectorSchemaRoot().getVector(0)).get(0);
      if (stored < expected) {
        throw new IllegalStateException("metrics holds " + stored + " rows, expected " + expected);
      }
    }
    for (String view : VIEWS) {
      try (ArrowReader r = hs.query("SELECT count(*) FROM " + view, List.of(), allocator)) {
        Arrows.drain(r);
      }
    }
  }

  @Override
  public String writeFloorNote(List<VectorSchemaRoot> input) throws Exception {
    return WriteFloor.measure(hs, VIEWS, input, allocator).note("Hyprstream (in-process)");
  }

  @Override
  public Hourly lastHourly(String mode, String metricId) throws IOException {
    Hourly h = new Hourly(24);
    try (ArrowReader r = hs.query(LOOKUP_SQL, List.of(metricId), allocator)) {
      ArrowAnswers.hourly(ArrowAnswers.of(r), h);
    }
    return h;
  }

  @Override
  public void allFiveMinute(String mode, WindowGrid into, int run) throws IOException {
    try (ArrowReader r =
        hs.query(String.format(Locale.ROOT, ALL_5M_SQL, run), List.of(), allocator)) {
      ArrowAnswers.grid(ArrowAnswers.of(r), into);
    }
  }

  @Override
  public void ingestSmall(VectorSchemaRoot batch) {
    hs.ingest(Hyprstream.METRICS_TABLE, batch);
  }

  @Override
  public long windowCount(String mode, String metricId, long windowStartMicros) throws IOException {
    List<@Nullable Object> params = List.of(metricId, instant(windowStartMicros));
    try (ArrowReader r = hs.query(VISIBLE_SQL, params, allocator)) {
      return ArrowAnswers.firstCount(ArrowAnswers.of(r));
    }
  }

  @Override
  public long nativeBytes() {
    return nativeBytesOf(hs, allocator);
  }

  /** DuckDB's own memory figure plus the Arrow buffers the instance's allocator holds. */
  static long nativeBytesOf(Hyprstream hs, BufferAllocator allocator) {
    long duck = 0;
    try (ArrowReader r =
        hs.query(
            "SELECT sum(memory_usage_bytes)::BIGINT FROM duckdb_memory()", List.of(), allocator)) {
      if (r.loadNextBatch()) {
        duck = ((BigIntVector) r.getVectorSchemaRoot().getVector(0)).get(0);
      }
    } catch (IOException | RuntimeException e) {
      duck = 0;
    }
    return duck + allocator.getAllocatedMemory();
  }

  @Override
  public String memoryNote() {
    return "heap growth + DuckDB `duckdb_memory()` + Arrow buffers held by the instance";
  }

  @Override
  public void close() {
    try {
      AutoCloseables.close(hs, allocator);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static Instant instant(long micros) {
    return Instant.ofEpochSecond(
        Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000);
  }

  /** {@code 2025-06-01 00:00:00}, for SQL timestamp literals. */
  static String sqlTimestamp(long micros) {
    return LocalDateTime.ofInstant(instant(micros), ZoneOffset.UTC)
        .format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS", Locale.ROOT));
  }
}
