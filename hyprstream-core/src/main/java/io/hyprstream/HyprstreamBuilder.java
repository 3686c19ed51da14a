package io.hyprstream;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.BackendStore;
import io.hyprstream.api.CacheStore;
import io.hyprstream.api.EvictionPolicy;
import io.hyprstream.api.WindowAggregatorFactory;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.cluster.ClusterConfig;
import io.hyprstream.duckdb.DuckDbCacheStore;
import io.hyprstream.internal.CacheConfig;
import io.hyprstream.internal.Engine;
import io.hyprstream.internal.EngineConfig;
import io.hyprstream.internal.classpath.OptionalClients;
import io.hyprstream.internal.cluster.ClusteredHyprstream;
import io.hyprstream.window.HeapWindowAggregator;
import io.hyprstream.writethrough.WriteThrough;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import org.apache.arrow.memory.BufferAllocator;
import org.jspecify.annotations.Nullable;

/**
 * Configures a {@link Hyprstream}. Each option may be set once; {@link #build()} checks them
 * together.
 *
 * <pre>{@code
 * Hyprstream hs = Hyprstream.builder()
 *     .cacheDuration(Duration.ofHours(2))
 *     .aggregate(AggregationSpec.builder("trades").timeColumn("ts").keyColumns("symbol")
 *         .valueColumns("price").build())
 *     .build();
 * }</pre>
 */
public final class HyprstreamBuilder {
  /** Raw rows are kept for an hour of event time unless told otherwise. */
  public static final Duration DEFAULT_CACHE_DURATION = Duration.ofSeconds(3600);

  /** How often expiry runs on its own. */
  public static final Duration DEFAULT_EXPIRY_INTERVAL = Duration.ofSeconds(10);

  /** How often window state is snapshotted when no interval is given. */
  public static final Duration DEFAULT_SNAPSHOT_INTERVAL = Duration.ofMinutes(1);

  /** How many client ingest ids each table remembers when {@link #ingestIdsRemembered} is unset. */
  public static final int DEFAULT_INGEST_IDS_REMEMBERED = 100_000;

  private @Nullable BufferAllocator allocator;
  private @Nullable Path cacheFile;
  private @Nullable Duration cacheDuration;
  private @Nullable Duration expiryInterval;
  private @Nullable InstantSource clock;
  private @Nullable List<WindowSpec> metricsWindows;
  private final Map<String, AggregationSpec> aggregations = new LinkedHashMap<>();
  private final Map<String, String> timeColumns = new LinkedHashMap<>();
  private @Nullable BackendStore backend;
  private @Nullable Function<BufferAllocator, ? extends CacheStore> cacheStore;
  private @Nullable WindowAggregatorFactory windowAggregators;
  private io.hyprstream.api.@Nullable WindowListener windowListener;
  private @Nullable Path dataDirectory;
  private @Nullable Long walMaxBytes;
  private @Nullable Boolean synchronousWriteThrough;
  private @Nullable Duration drainTimeout;
  private @Nullable Duration snapshotInterval;
  private @Nullable Integer ingestIdsRemembered;
  private @Nullable Long maxBacklogBytes;
  private @Nullable Duration maxWriteThroughLag;
  private @Nullable Long resultCacheBytes;
  private @Nullable Duration resultCacheTtl;
  private @Nullable Long cacheMemoryBytes;
  private @Nullable EvictionPolicy evictionPolicy;
  private final Map<String, Duration> maxStaleness = new LinkedHashMap<>();

  /** Query results kept for repeats, in bytes, unless told otherwise (256 MiB). */
  public static final long DEFAULT_RESULT_CACHE_BYTES = 256L << 20;

  /** Kept query results expire after this unless told otherwise. */
  public static final Duration DEFAULT_RESULT_CACHE_TTL = Duration.ofMinutes(5);

  private @Nullable Long cacheMemoryLimit;
  private @Nullable ClusterConfig cluster;

  /** Where the write-ahead log lives unless told otherwise (relative to the working directory). */
  public static final Path DEFAULT_DATA_DIRECTORY = Path.of("hyprstream-data");

  /** The write-ahead log refuses ingest beyond this many bytes unless told otherwise (4 GiB). */
  public static final long DEFAULT_WAL_MAX_BYTES = 4L << 30;

  HyprstreamBuilder() {}

  /**
   * The allocator the instance takes a child of for all its buffers (default: a root allocator of
   * its own, from {@link Allocators#newRoot()}). The caller keeps ownership and closes it after the
   * instance. Use {@link Allocators#newRoot()} for your own root too: its released buffers are
   * reused instead of faulted in afresh by each ingested batch.
   */
  public HyprstreamBuilder allocator(BufferAllocator allocator) {
    checkUnset(this.allocator, "allocator");
    this.allocator = Objects.requireNonNull(allocator, "allocator");
    return this;
  }

  /** Keeps the DuckDB cache in this file instead of in memory. */
  public HyprstreamBuilder cacheFile(Path file) {
    checkUnset(this.cacheFile, "cacheFile");
    this.cacheFile = Objects.requireNonNull(file, "cacheFile");
    return this;
  }

  /**
   * How long raw rows stay in the cache, by event time (default 3600 s). Window aggregates are kept
   * by their own retention.
   */
  public HyprstreamBuilder cacheDuration(Duration duration) {
    checkUnset(this.cacheDuration, "cacheDuration");
    if (duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException("cacheDuration must be positive, got " + duration);
    }
    this.cacheDuration = duration;
    return this;
  }

  /** How often expiry runs by itself (default 10 s); {@link Duration#ZERO} turns it off. */
  public HyprstreamBuilder expiryInterval(Duration interval) {
    checkUnset(this.expiryInterval, "expiryInterval");
    if (interval.isNegative()) {
      throw new IllegalArgumentException("expiryInterval must not be negative, got " + interval);
    }
    this.expiryInterval = interval;
    return this;
  }

  /** The clock expiry and window retention are judged by (default: the system clock). */
  public HyprstreamBuilder clock(InstantSource clock) {
    checkUnset(this.clock, "clock");
    this.clock = Objects.requireNonNull(clock, "clock");
    return this;
  }

  /**
   * The windows of the built-in {@code metrics} table (default {@link WindowSpec#DEFAULTS}). The
   * smallest is the running window of the {@code value_running_window_*} columns.
   */
  public HyprstreamBuilder metricsWindows(List<WindowSpec> windows) {
    checkUnset(this.metricsWindows, "metricsWindows");
    if (windows.isEmpty()) {
      throw new IllegalArgumentException("metricsWindows must not be empty");
    }
    this.metricsWindows = List.copyOf(windows);
    return this;
  }

  /**
   * One window of the built-in {@code metrics} table, leaving the others as they are: it replaces
   * the window of the same size (to change its retention) or adds a width. Each call starts from
   * the windows so far ({@link WindowSpec#DEFAULTS} at first).
   *
   * <pre>{@code
   * builder.metricsWindow(WindowSpec.tumbling(Duration.ofHours(1)).withRetention(Duration.ofDays(90)));
   * }</pre>
   */
  public HyprstreamBuilder metricsWindow(WindowSpec window) {
    Objects.requireNonNull(window, "window");
    List<WindowSpec> windows =
        new ArrayList<>(metricsWindows == null ? WindowSpec.DEFAULTS : metricsWindows);
    windows.removeIf(w -> w.size().equals(window.size()));
    windows.add(window);
    // The smallest window is the running window: keep the list in size order.
    windows.sort(Comparator.comparing(WindowSpec::size));
    this.metricsWindows = List.copyOf(windows);
    return this;
  }

  /** Maintains window aggregates for another table; may be called once per table. */
  public HyprstreamBuilder aggregate(AggregationSpec spec) {
    if (spec.table().equals(Hyprstream.METRICS_TABLE)) {
      throw new IllegalArgumentException(
          "the metrics table's aggregation is built in; set its windows with metricsWindows()");
    }
    if (aggregations.putIfAbsent(spec.table(), spec) != null) {
      throw new IllegalStateException("an aggregation of '" + spec.table() + "' was already set");
    }
    return this;
  }

  /**
   * Declares the event-time column (a timestamp, or int64 epoch milliseconds) of a table without
   * window aggregates, so its raw rows expire after the cache duration like every other table's.
   * Tables declared with {@link #aggregate} already have one.
   */
  public HyprstreamBuilder timeColumn(String table, String column) {
    if (table.isBlank() || column.isBlank()) {
      throw new IllegalArgumentException("timeColumn needs a table and a column name");
    }
    if (timeColumns.putIfAbsent(table.toLowerCase(java.util.Locale.ROOT), column) != null) {
      throw new IllegalStateException("a time column of '" + table + "' was already set");
    }
    return this;
  }

  /**
   * The system of record every acknowledged row is written through to. The instance takes ownership
   * and closes it. Without one, or with {@link BackendStore#none()} (the same thing), the cache is
   * the only copy: no write-ahead log is opened, nothing is written through or restored, and every
   * query is answered from the cache.
   */
  public HyprstreamBuilder backend(BackendStore backend) {
    checkUnset(this.backend, "backend");
    this.backend = Objects.requireNonNull(backend, "backend");
    return this;
  }

  /**
   * Opens the {@link CacheStore} the instance keeps hot rows and window views in and runs SQL on,
   * in place of the default in-memory DuckDB store ({@code DuckDbCacheStore}). Called once by
   * {@link #build()} with the instance's own allocator, so the store's buffers are accounted with
   * the instance's and a leak shows when it closes; the instance takes ownership of the store and
   * closes it. The store must run DuckDB SQL (see {@link CacheStore}): typically it decorates
   * {@code DuckDbCacheStore.open(null, allocator)}. Cannot be combined with {@link #cacheFile} or
   * {@link #cacheMemoryLimit}, which configure the default store.
   */
  public HyprstreamBuilder cacheStore(Function<BufferAllocator, ? extends CacheStore> open) {
    checkUnset(this.cacheStore, "cacheStore");
    this.cacheStore = Objects.requireNonNull(open, "cacheStore");
    return this;
  }

  /**
   * Makes the {@link io.hyprstream.api.WindowAggregator} of each aggregated table (the metrics
   * table included), in place of the default heap aggregator. Window snapshots are taken only when
   * the factory {@link WindowAggregatorFactory#restores() restores} them; otherwise a restart
   * rebuilds the windows from the backend's rows.
   */
  public HyprstreamBuilder windowAggregators(WindowAggregatorFactory factory) {
    checkUnset(this.windowAggregators, "windowAggregators");
    this.windowAggregators = Objects.requireNonNull(factory, "windowAggregators");
    return this;
  }

  /**
   * Told of every change to the windows after each ingest, e.g. a {@code RedisWindowPublisher} that
   * serves them to other services. The instance takes ownership and closes it.
   */
  public HyprstreamBuilder windowListener(io.hyprstream.api.WindowListener listener) {
    checkUnset(this.windowListener, "windowListener");
    this.windowListener = Objects.requireNonNull(listener, "windowListener");
    return this;
  }

  /** Where local durable state (the write-ahead log) lives; default {@code hyprstream-data/}. */
  public HyprstreamBuilder dataDirectory(Path dir) {
    checkUnset(this.dataDirectory, "dataDirectory");
    this.dataDirectory = Objects.requireNonNull(dir, "dataDirectory");
    return this;
  }

  /**
   * The write-ahead log's disk bound (default 4 GiB), which also bounds the write-through backlog
   * spilled from memory: past it, ingest is refused with {@code ResourceExhaustedException} until
   * the backend drains the log.
   */
  public HyprstreamBuilder walMaxBytes(long bytes) {
    checkUnset(this.walMaxBytes, "walMaxBytes");
    if (bytes < 1 << 20) {
      throw new IllegalArgumentException("walMaxBytes must be at least 1 MiB, got " + bytes);
    }
    this.walMaxBytes = bytes;
    return this;
  }

  /**
   * When true, {@code ingest} returns only after the backend has committed the rows (default false:
   * it returns once they are in the cache and the fsync'd log).
   */
  public HyprstreamBuilder synchronousWriteThrough(boolean synchronous) {
    checkUnset(this.synchronousWriteThrough, "synchronousWriteThrough");
    this.synchronousWriteThrough = synchronous;
    return this;
  }

  /**
   * The write-through backlog's memory bound, in bytes of Arrow buffers held for the backend
   * (default 512 MiB). Batches past it are released from memory and read back from the write-ahead
   * log when their turn to be sent comes; ingest is refused only when the log reaches {@link
   * #walMaxBytes}.
   */
  public HyprstreamBuilder maxBacklogBytes(long bytes) {
    checkUnset(this.maxBacklogBytes, "maxBacklogBytes");
    if (bytes <= 0) {
      throw new IllegalArgumentException("maxBacklogBytes must be positive, got " + bytes);
    }
    this.maxBacklogBytes = bytes;
    return this;
  }

  /**
   * How far write-through may fall behind (the age of the oldest batch not yet in the backend,
   * whether the backend refuses or stalls) before the instance reports itself unready (default 60
   * s).
   */
  public HyprstreamBuilder maxWriteThroughLag(Duration lag) {
    checkUnset(this.maxWriteThroughLag, "maxWriteThroughLag");
    if (lag.isNegative() || lag.isZero()) {
      throw new IllegalArgumentException("maxWriteThroughLag must be positive, got " + lag);
    }
    this.maxWriteThroughLag = lag;
    return this;
  }

  /** How long {@code close()} waits for the write-through queue to drain (default 30 s). */
  public HyprstreamBuilder drainTimeout(Duration timeout) {
    checkUnset(this.drainTimeout, "drainTimeout");
    if (timeout.isNegative()) {
      throw new IllegalArgumentException("drainTimeout must not be negative, got " + timeout);
    }
    this.drainTimeout = timeout;
    return this;
  }

  /**
   * How often every aggregated table's window state is snapshotted to {@code
   * <dataDirectory>/snapshots} (default 1 minute; also at close). A restart loads the newest
   * snapshot and replays the write-ahead log after it, instead of reading the windows' whole
   * retention back from the backend. {@link Duration#ZERO} takes none. Used with a backend.
   */
  public HyprstreamBuilder snapshotInterval(Duration interval) {
    checkUnset(this.snapshotInterval, "snapshotInterval");
    if (interval.isNegative()) {
      throw new IllegalArgumentException("snapshotInterval must not be negative, got " + interval);
    }
    this.snapshotInterval = interval;
    return this;
  }

  /**
   * How many client ingest ids each table remembers (default {@value
   * #DEFAULT_INGEST_IDS_REMEMBERED}): an ingest with a remembered id is a repeat and stores nothing
   * ({@link Hyprstream#ingest(String, org.apache.arrow.vector.ipc.ArrowReader, String)}). Past the
   * bound the oldest id is forgotten, and a retry with it stores its rows again. An id costs about
   * 100 bytes of heap plus its length. In cluster mode each key partition remembers this many (per
   * partition, not per table), and every instance must use the same value, since each owner decides
   * what is a repeat by replaying the log.
   */
  public HyprstreamBuilder ingestIdsRemembered(int count) {
    checkUnset(this.ingestIdsRemembered, "ingestIdsRemembered");
    if (count < 1) {
      throw new IllegalArgumentException("ingestIdsRemembered must be at least 1, got " + count);
    }
    this.ingestIdsRemembered = count;
    return this;
  }

  /**
   * Bytes of query results kept so a repeated query is served without running it (default 256 MiB);
   * 0 turns the result cache off. An ingest into a table makes the results that read it out of date
   * at once (see {@link #maxStaleness}); eviction is Caffeine's W-TinyLFU.
   */
  public HyprstreamBuilder resultCacheBytes(long bytes) {
    checkUnset(this.resultCacheBytes, "resultCacheBytes");
    if (bytes < 0) {
      throw new IllegalArgumentException("resultCacheBytes must not be negative, got " + bytes);
    }
    this.resultCacheBytes = bytes;
    return this;
  }

  /**
   * DuckDB's {@code memory_limit} for the cache, in bytes. A query needing more fails with an
   * out-of-memory error; the instance stays up. Default: twice the {@link #cacheMemory} budget (at
   * least the budget plus 1 GiB), so half the machine's memory with the default budget; never
   * DuckDB's own default (80% of RAM), which leaves the JVM too little. It must not be below the
   * budget, or DuckDB would run out before eviction starts.
   */
  public HyprstreamBuilder cacheMemoryLimit(long bytes) {
    checkUnset(this.cacheMemoryLimit, "cacheMemoryLimit");
    if (bytes <= 0) {
      throw new IllegalArgumentException("cacheMemoryLimit must be positive, got " + bytes);
    }
    this.cacheMemoryLimit = bytes;
    return this;
  }

  /**
   * How long a kept result may be served after it was computed (default 5 minutes). Results of
   * queries answered by the backend rely on it: the backend can change behind the cache's back.
   */
  public HyprstreamBuilder resultCacheTtl(Duration ttl) {
    checkUnset(this.resultCacheTtl, "resultCacheTtl");
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("resultCacheTtl must be positive, got " + ttl);
    }
    this.resultCacheTtl = ttl;
    return this;
  }

  /**
   * The memory budget of hot raw rows in the DuckDB cache (default: a quarter of the machine's
   * memory). Past it, whole time partitions are evicted by the {@link #evictionPolicy}; queries
   * that reach into them go to the backend. Setting it also sets DuckDB's {@code memory_limit} (see
   * {@link #cacheMemoryLimit}), leaving room for window views and query work.
   */
  public HyprstreamBuilder cacheMemory(long bytes) {
    checkUnset(this.cacheMemoryBytes, "cacheMemory");
    if (bytes < 1 << 20) {
      throw new IllegalArgumentException("cacheMemory must be at least 1 MiB, got " + bytes);
    }
    this.cacheMemoryBytes = bytes;
    return this;
  }

  /** Which partitions leave first when the memory budget is reached (default {@code TIME}). */
  public HyprstreamBuilder evictionPolicy(EvictionPolicy policy) {
    checkUnset(this.evictionPolicy, "evictionPolicy");
    this.evictionPolicy = Objects.requireNonNull(policy, "evictionPolicy");
    return this;
  }

  /**
   * Lets queries over {@code table} (and its window views) be served from the result cache for up
   * to {@code staleness} after they were computed, even when rows arrived since: speed for
   * freshness. Such answers say so ({@code Freshness.stale()}). A query may ask for the same with a
   * {@code /*+ max_staleness=5s *}{@code /} comment. Default: never stale.
   */
  public HyprstreamBuilder maxStaleness(String table, Duration staleness) {
    if (table.isBlank()) {
      throw new IllegalArgumentException("maxStaleness needs a table name");
    }
    if (staleness.isNegative()) {
      throw new IllegalArgumentException("maxStaleness must not be negative, got " + staleness);
    }
    if (maxStaleness.putIfAbsent(table.toLowerCase(java.util.Locale.ROOT), staleness) != null) {
      throw new IllegalStateException("a maxStaleness of '" + table + "' was already set");
    }
    return this;
  }

  /** DuckDB's memory_limit: as set, else derived from the budget (set or default). */
  private long duckDbMemoryLimit() {
    if (cacheMemoryLimit != null) {
      if (cacheMemoryBytes != null && cacheMemoryLimit < cacheMemoryBytes) {
        throw new IllegalArgumentException(
            "cacheMemoryLimit ("
                + cacheMemoryLimit
                + " bytes) must not be below the cacheMemory budget ("
                + cacheMemoryBytes
                + " bytes): DuckDB would run out of memory before eviction starts");
      }
      return cacheMemoryLimit;
    }
    long budget = cacheMemoryBytes == null ? defaultCacheMemory() : cacheMemoryBytes;
    return Math.max(2 * budget, budget + (1L << 30));
  }

  /** A quarter of the machine's memory: the default memory budget of hot raw rows. */
  static long defaultCacheMemory() {
    java.lang.management.OperatingSystemMXBean os =
        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean) {
      return ((com.sun.management.OperatingSystemMXBean) os).getTotalMemorySize() / 4;
    }
    return 4L << 30;
  }

  /**
   * Joins a cluster of instances that share one ingest log on Kafka (docs/cluster.md): ingest
   * through any instance is written to the log, and each instance applies the key partitions Kafka
   * assigns it. Needs {@code org.apache.kafka:kafka-clients} on the class path. With a {@link
   * #backend}, each owner writes its partitions' rows to it exactly once; the instance then keeps
   * no log of its own, so the options of the local log and its write-through queue do not apply.
   */
  public HyprstreamBuilder cluster(ClusterConfig config) {
    checkUnset(this.cluster, "cluster");
    this.cluster = Objects.requireNonNull(config, "cluster");
    return this;
  }

  /**
   * Opens the cache and starts the instance.
   *
   * @throws IllegalArgumentException when options conflict (a view name used twice)
   */
  public Hyprstream build() {
    List<AggregationSpec> specs = new ArrayList<>();
    specs.add(
        EngineConfig.metricsSpec(metricsWindows == null ? WindowSpec.DEFAULTS : metricsWindows));
    specs.addAll(aggregations.values());
    for (String table : timeColumns.keySet()) {
      if (aggregations.keySet().stream().anyMatch(t -> t.equalsIgnoreCase(table))
          || table.equals(Hyprstream.METRICS_TABLE)) {
        throw new IllegalArgumentException(
            "'" + table + "' has window aggregates, whose spec already names its time column");
      }
    }
    ClusterConfig clusterConfig = cluster;
    if (clusterConfig != null) {
      checkClusterable();
    }
    Function<BufferAllocator, ? extends CacheStore> openCache = cacheStore;
    if (openCache == null) {
      Path file = cacheFile;
      long memoryLimit = duckDbMemoryLimit();
      openCache = alloc -> DuckDbCacheStore.open(file, alloc, memoryLimit);
    } else if (cacheFile != null || cacheMemoryLimit != null) {
      throw new IllegalStateException(
          "cacheFile and cacheMemoryLimit configure the default DuckDB cache store; with a"
              + " cacheStore of your own, configure it there");
    }
    EngineConfig config =
        new EngineConfig(
            allocator,
            cacheFile,
            cacheDuration == null ? DEFAULT_CACHE_DURATION : cacheDuration,
            expiryInterval == null ? DEFAULT_EXPIRY_INTERVAL : expiryInterval,
            clock == null ? InstantSource.system() : clock,
            specs,
            timeColumns,
            openCache,
            windowAggregators == null ? HeapWindowAggregator.factory() : windowAggregators,
            backend == null ? BackendStore.none() : backend,
            dataDirectory == null ? DEFAULT_DATA_DIRECTORY : dataDirectory,
            walMaxBytes == null ? DEFAULT_WAL_MAX_BYTES : walMaxBytes,
            synchronousWriteThrough != null && synchronousWriteThrough,
            drainTimeout == null ? Duration.ofSeconds(30) : drainTimeout,
            snapshotInterval == null ? DEFAULT_SNAPSHOT_INTERVAL : snapshotInterval,
            new CacheConfig(
                resultCacheBytes == null ? DEFAULT_RESULT_CACHE_BYTES : resultCacheBytes,
                resultCacheTtl == null ? DEFAULT_RESULT_CACHE_TTL : resultCacheTtl,
                cacheMemoryBytes == null ? defaultCacheMemory() : cacheMemoryBytes,
                evictionPolicy == null ? EvictionPolicy.TIME : evictionPolicy,
                maxStaleness),
            new WriteThrough.Bounds(
                maxBacklogBytes == null
                    ? WriteThrough.Bounds.DEFAULT_MAX_BACKLOG_BYTES
                    : maxBacklogBytes,
                maxWriteThroughLag == null
                    ? WriteThrough.Bounds.DEFAULT_MAX_LAG
                    : maxWriteThroughLag,
                WriteThrough.Bounds.DEFAULTS.quickRetries()),
            windowListener,
            clusterConfig != null,
            ingestIdsRemembered == null ? DEFAULT_INGEST_IDS_REMEMBERED : ingestIdsRemembered);
    Engine engine = new Engine(config);
    return clusterConfig == null ? engine : ClusteredHyprstream.start(engine, clusterConfig, specs);
  }

  /** Cluster mode's limits today, checked before anything starts. */
  private void checkClusterable() {
    if (synchronousWriteThrough != null && synchronousWriteThrough) {
      throw new IllegalArgumentException(
          "synchronousWriteThrough does not apply in cluster mode: an ingest is acknowledged once"
              + " Kafka holds it, and the partition's owner writes it to the backend later"
              + " (docs/cluster.md)");
    }
    OptionalClients.KAFKA.require("cluster mode");
    OptionalClients.FLIGHT.require("cluster mode");
  }

  private static void checkUnset(@Nullable Object current, String option) {
    if (current != null) {
      throw new IllegalStateException(option + " was already set");
    }
  }
}
