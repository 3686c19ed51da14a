package io.hyprstream.flight.internal.cli;

import io.hyprstream.Hyprstream;
import io.hyprstream.HyprstreamBuilder;
import io.hyprstream.api.AggregationSpec;
import io.hyprstream.backend.BackendStores;
import io.hyprstream.backend.redis.RedisConnection;
import io.hyprstream.backend.redis.RedisWindowPublisher;
import io.hyprstream.flight.Authentication;
import io.hyprstream.flight.HyprstreamServer;
import io.hyprstream.flight.internal.Health;
import io.hyprstream.flight.internal.OpsHttpServer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.util.AutoCloseables;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code hyprstream} command: with no subcommand, runs the Flight SQL server; {@code hyprstream
 * sql}, a SQL shell, queries a running one (a statement, a script on standard input, or a prompt).
 */
@Command(
    name = "hyprstream",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    subcommands = {SqlCommand.class, HashPasswordCommand.class, QuarantineCommand.class},
    sortOptions = false,
    description = {
      "Runs the Hyprstream Arrow Flight SQL server: an in-memory DuckDB cache with real-time"
          + " window aggregates. Prints 'Hyprstream listening on grpc://HOST:PORT' when ready.",
      "",
      "Configuration, later wins: built-in defaults, /etc/hyprstream/config.toml, --config FILE,"
          + " HYPRSTREAM_* environment variables (e.g. HYPRSTREAM_SERVER_PORT,"
          + " HYPRSTREAM_CACHE_DURATION), then these flags. Hyprstream (Rust) forms ([storage],"
          + " [adbc], ADBC_URL, --db-url, ...) are read too: see docs/server.md.",
      ""
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:stopped normally",
      "1:could not start (port in use, cache file unusable) or a failed query",
      "2:bad flag, configuration key or value"
    })
public final class Main implements Callable<Integer> {
  /** slf4j-simple's default level, read once when the first logger is created. */
  static final String LOG_LEVEL_PROPERTY = "org.slf4j.simpleLogger.defaultLogLevel";

  @Option(
      names = "--host",
      paramLabel = "HOST",
      description = "Address to listen on (default 127.0.0.1; 0.0.0.0 for every interface).")
  private @Nullable String host;

  @Option(
      names = "--port",
      paramLabel = "PORT",
      description = "Port to listen on (default 50051; 0 picks a free one).")
  private @Nullable Integer port;

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "A TOML configuration file with [server], [cache], [engine], [[aggregations]].")
  private @Nullable Path config;

  @Option(
      names = "--cache-duration",
      paramLabel = "SECONDS",
      description = "How long raw rows stay in the cache, by event time (default 3600).")
  private @Nullable Integer cacheDuration;

  @Option(
      names = "--result-cache-bytes",
      paramLabel = "BYTES",
      description = "Bytes of query results kept for repeats (default 268435456); 0 turns it off.")
  private @Nullable Long resultCacheBytes;

  @Option(
      names = "--result-cache-ttl",
      paramLabel = "SECONDS",
      description = "How long a kept query result may be served (default 300).")
  private @Nullable Integer resultCacheTtl;

  @Option(
      names = "--cache-memory-bytes",
      paramLabel = "BYTES",
      description = "Memory budget of hot raw rows (default 0: a quarter of the machine's memory).")
  private @Nullable Long cacheMemoryBytes;

  @Option(
      names = "--cache-eviction",
      paramLabel = "time|lru|lfu",
      description = "Which time partitions leave first past the memory budget (default time).")
  private @Nullable String cacheEviction;

  @Option(
      names = "--engine",
      paramLabel = "none|duckdb|adbc",
      description =
          "Backend store every acknowledged row is written through to: none (default, the cache"
              + " alone), duckdb (a DuckDB file) or adbc (PostgreSQL, JDBC or Flight SQL).")
  private @Nullable String engine;

  @Option(
      names = "--engine-connection",
      paramLabel = "URI",
      description =
          "Backend connection: a DuckDB file for duckdb; postgresql://[USER@]HOST[:PORT]/DB,"
              + " jdbc:... or grpc://HOST:PORT for adbc.")
  private @Nullable String engineConnection;

  @Option(
      names = "--engine-database",
      paramLabel = "NAME",
      description = "Database for a postgresql://HOST[:PORT] connection that names none.")
  private @Nullable String engineDatabase;

  @Option(
      names = "--db-url",
      paramLabel = "URL",
      description = "Hyprstream (Rust) name of --engine-connection (selects --engine adbc).")
  private @Nullable String dbUrl;

  @Option(
      names = "--db-user",
      paramLabel = "USER",
      description = "Hyprstream (Rust) name of --engine-username.")
  private @Nullable String dbUser;

  @Option(
      names = "--db-name",
      paramLabel = "NAME",
      description = "Hyprstream (Rust) name of --engine-database.")
  private @Nullable String dbName;

  @Option(
      names = "--driver-path",
      paramLabel = "PATH",
      description =
          "A native ADBC driver (libadbc_driver_postgresql.so, _sqlite, _flightsql, libduckdb):"
              + " selects the Java path to that database; same as --engine-options"
              + " driver_path=PATH.")
  private @Nullable String driverPath;

  @Option(
      names = "--engine-options",
      paramLabel = "KEY=VALUE",
      description =
          "Backend option; repeatable: schema, copy_format, dialect, pool_max, pool_min,"
              + " connect_timeout (seconds), driver_path; others go to the driver.")
  private @Nullable Map<String, String> engineOptions;

  @Option(names = "--engine-username", paramLabel = "USER", description = "Backend user name.")
  private @Nullable String engineUsername;

  @Option(
      names = "--engine-password",
      paramLabel = "PASSWORD",
      description =
          "Backend password (prefer HYPRSTREAM_ENGINE_PASSWORD: flags show in process lists)."
              + " Never logged.")
  private @Nullable String enginePassword;

  @Option(
      names = "--data-dir",
      paramLabel = "DIR",
      description =
          "Directory for the write-ahead log when a backend is set (default hyprstream-data).")
  private @Nullable String dataDir;

  @Option(
      names = "--synchronous-write-through",
      negatable = true,
      description = "Acknowledge ingest only after the backend commit (default off).")
  private @Nullable Boolean synchronousWriteThrough;

  /** Removed; kept only so that setting it says what replaced it (see Config#removedBecause). */
  @Option(names = "--max-backlog-rows", hidden = true, paramLabel = "ROWS")
  private @Nullable Long maxBacklogRows;

  @Option(
      names = "--max-backlog-bytes",
      paramLabel = "BYTES",
      description =
          "Memory (Arrow bytes) the write-through backlog may hold; past it, batches spill to the"
              + " write-ahead log (default 536870912).")
  private @Nullable Long maxBacklogBytes;

  @Option(
      names = "--max-log-bytes",
      paramLabel = "BYTES",
      description =
          "Disk the write-ahead log may take; past it, ingest is refused RESOURCE_EXHAUSTED"
              + " (default 4294967296).")
  private @Nullable Long maxLogBytes;

  @Option(
      names = "--max-lag",
      paramLabel = "SECONDS",
      description = "Write-through lag past which /ready says 503 (default 60).")
  private @Nullable Integer maxLag;

  @Option(
      names = "--snapshot-interval",
      paramLabel = "SECONDS",
      description =
          "Seconds between window-state snapshots in the data directory, which a restart loads"
              + " instead of re-reading history from the backend; 0 takes none (default 60).")
  private @Nullable Integer snapshotInterval;

  @Option(
      names = "--publish-windows",
      paramLabel = "URI",
      description =
          "redis://HOST[:PORT][/DB] (rediss:// for TLS) to publish every changed window to, a hash"
              + " per (view, key) for online serving (default: off).")
  private @Nullable String publishWindows;

  @Option(
      names = "--publish-closed-windows",
      paramLabel = "N",
      description = "Windows before the newest each published hash holds (default 3).")
  private @Nullable Integer publishClosedWindows;

  @Option(
      names = "--publish-key-prefix",
      paramLabel = "PREFIX",
      description = "Put before every published key (default hyprstream:).")
  private @Nullable String publishKeyPrefix;

  @Option(
      names = "--enable-cache",
      negatable = true,
      description = "Keep hot rows in the cache (default on; off needs a backend).")
  private @Nullable Boolean enableCache;

  @Option(
      names = "--metrics-windows",
      paramLabel = "SPEC[,SPEC...]",
      split = ",",
      description =
          "Windows of the metrics table, SIZE[:RETENTION] with units s m h d w (default"
              + " 5m:1d,30m:7d,1h:31d,1d:400d,1w:260w).")
  private @Nullable List<String> metricsWindows;

  @Option(
      names = "--cache-engine",
      paramLabel = "duckdb",
      description = "Cache engine (default duckdb, the only one).")
  private @Nullable String cacheEngine;

  @Option(
      names = "--cache-connection",
      paramLabel = ":memory:|FILE",
      description = "Keep the cache in memory (default) or in a DuckDB file.")
  private @Nullable String cacheConnection;

  @Option(
      names = "--log-level",
      paramLabel = "LEVEL",
      description = "trace, debug, info (default), warn, error or off.")
  private @Nullable String logLevel;

  @Option(
      names = "--http-port",
      paramLabel = "PORT",
      description =
          "HTTP port for /health, /ready and /metrics (default 9090; 0 picks a free one; -1 off).")
  private @Nullable Integer httpPort;

  @Option(
      names = "--shutdown-grace",
      paramLabel = "SECONDS",
      description = "Seconds calls in flight get to finish at shutdown (default 5).")
  private @Nullable Integer shutdownGrace;

  @Option(
      names = "--tls-cert",
      paramLabel = "FILE",
      description = "PEM certificate chain: serve TLS (needs --tls-key).")
  private @Nullable String tlsCert;

  @Option(names = "--tls-key", paramLabel = "FILE", description = "PEM (PKCS#8) private key.")
  private @Nullable String tlsKey;

  @Option(
      names = "--tls-client-ca",
      paramLabel = "FILE",
      description = "PEM CA certificates: require client certificates signed by them (mutual TLS).")
  private @Nullable String tlsClientCa;

  @Option(
      names = "--auth",
      negatable = true,
      description = "Require authentication (users from --auth-user, config or environment).")
  private @Nullable Boolean auth;

  @Option(
      names = "--auth-user",
      paramLabel = "NAME:HASH:ROLE",
      description =
          "A user: name, bcrypt hash (hyprstream hash-password), read_write or read_only;"
              + " repeatable. Replaces configured users.")
  private @Nullable List<String> authUsers;

  @Option(
      names = "--auth-token-ttl",
      paramLabel = "SECONDS",
      description = "How long a bearer token lives (default 3600).")
  private @Nullable Integer tokenTtl;

  @Option(
      names = "--max-batch-bytes",
      paramLabel = "BYTES",
      description = "Largest ingested record batch (default 268435456).")
  private @Nullable Long maxBatchBytes;

  @Option(
      names = "--max-request-rows",
      paramLabel = "ROWS",
      description = "Most rows per ingest request (default 100000000).")
  private @Nullable Long maxRequestRows;

  @Option(
      names = "--max-concurrent-queries",
      paramLabel = "N",
      description = "Queries running at once (default 16).")
  private @Nullable Integer maxConcurrentQueries;

  @Option(
      names = "--query-queue",
      paramLabel = "N",
      description = "Queries that may wait for a slot (default 256).")
  private @Nullable Integer queryQueue;

  @Option(
      names = "--query-queue-timeout",
      paramLabel = "SECONDS",
      description = "How long a query waits for a slot (default 30).")
  private @Nullable Integer queryQueueTimeout;

  @Option(
      names = "--query-timeout",
      paramLabel = "SECONDS",
      description = "How long a query may run before it is cancelled (default 300).")
  private @Nullable Integer queryTimeout;

  @Option(
      names = "--stream-idle-timeout",
      paramLabel = "SECONDS",
      description =
          "How long a result stream waits for a client that stopped reading before it is"
              + " cancelled (default 30).")
  private @Nullable Integer streamIdleTimeout;

  @Option(
      names = "--max-memory-bytes",
      paramLabel = "BYTES",
      description =
          "Arrow memory for requests and results (default 0: half the JVM's direct memory).")
  private @Nullable Long maxMemoryBytes;

  @Option(
      names = "--duckdb-memory-limit-bytes",
      paramLabel = "BYTES",
      description =
          "DuckDB's memory_limit (default 0: twice --cache-memory-bytes, which defaults to a"
              + " quarter of the machine's memory).")
  private @Nullable Long duckDbMemoryLimitBytes;

  @Option(
      names = "--demo",
      description =
          "Generate a live synthetic metrics stream (a day of history, then one row per"
              + " second per series) so the window views fill at once.")
  private boolean demo;

  private final Map<String, String> env;
  private final Path systemFile;
  private final PrintStream out;
  private final PrintStream err;
  private final CountDownLatch stop = new CountDownLatch(1);
  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile boolean cleanStop;

  /** How long the JVM's shutdown hook waits for the server and instance to close. */
  private static final long SHUTDOWN_WAIT_SECONDS = 60;

  /** A command reading the real environment and {@code /etc/hyprstream/config.toml}. */
  public Main() {
    this(System.getenv(), Config.SYSTEM_FILE, System.out, System.err);
  }

  /** A command with its environment, system file and output injected (tests). */
  public Main(Map<String, String> env, Path systemFile, PrintStream out, PrintStream err) {
    this.env = env;
    this.systemFile = systemFile;
    this.out = out;
    this.err = err;
  }

  /** Runs the command line and exits with its code. */
  public static void main(String[] args) {
    int code;
    try {
      code = commandLine(new Main()).execute(args);
    } catch (Error e) {
      // picocli passes Errors through. The HTTP and gRPC threads are not daemons, so without an
      // explicit exit a fatal error while starting (a class missing from the jar, say) would leave
      // a process that never listens and never ends.
      System.err.println("hyprstream: fatal error: " + e);
      e.printStackTrace();
      code = 1;
    }
    if (code != 0) {
      System.exit(code);
    }
  }

  /** The picocli command line around {@code main}, printing to its streams. */
  public static CommandLine commandLine(Main main) {
    CommandLine cl = new CommandLine(main);
    cl.setOut(new java.io.PrintWriter(main.out, true));
    cl.setErr(new java.io.PrintWriter(main.err, true));
    return cl;
  }

  PrintStream out() {
    return out;
  }

  PrintStream err() {
    return err;
  }

  /** Asks a running server to stop (tests; the JVM's shutdown hook does the same). */
  public void stop() {
    stop.countDown();
  }

  @Override
  public Integer call() {
    Config cfg;
    List<String> warnings = new ArrayList<>();
    try {
      cfg = configuration(warnings);
    } catch (ConfigException e) {
      err.println("hyprstream: configuration error: " + e.getMessage());
      return ConfigException.EXIT_CODE;
    }
    // Before the first logger is created: slf4j-simple reads its level once.
    System.setProperty(LOG_LEVEL_PROPERTY, cfg.logLevel());
    if (!cfg.logLevel().equals("debug") && !cfg.logLevel().equals("trace")) {
      // Arrow's allocator announces its set-up at INFO; that is debugging detail here.
      System.setProperty("org.slf4j.simpleLogger.log.org.apache.arrow.memory", "warn");
      // HikariCP announces each pool's start and shutdown at INFO.
      System.setProperty("org.slf4j.simpleLogger.log.com.zaxxer.hikari", "warn");
    }
    for (String w : warnings) {
      err.println("hyprstream: warning: " + w);
    }
    org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Main.class);
    for (String line : banner(cfg)) {
      log.info(line);
    }
    if (cfg.tlsCert() == null && !isLoopback(cfg.host())) {
      log.warn(
          "event=plaintext host={} : the Flight SQL port is not encrypted beyond loopback{}; set"
              + " --tls-cert/--tls-key",
          cfg.host(),
          cfg.authEnabled() ? " and passwords travel in clear" : "");
    }
    Running running;
    try {
      running = start(cfg, demo);
    } catch (RuntimeException e) {
      err.println("hyprstream: cannot start: " + e.getMessage());
      return 1;
    }
    // On SIGTERM/SIGINT: ask the main thread to stop, and hold the JVM until it has closed
    // everything (the JVM halts once its hooks return). Then halt with the close's outcome: left to
    // itself, a JVM ended by a signal exits 128 + the signal (143 for SIGTERM), which process
    // managers read as a crash.
    Thread hook =
        new Thread(
            () -> {
              stop();
              boolean done = false;
              try {
                done = stopped.await(SHUTDOWN_WAIT_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              out.flush();
              err.flush();
              Runtime.getRuntime().halt(done && cleanStop ? 0 : 1);
            },
            "hyprstream-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    if (running.http != null) {
      log.info(
          "event=http_listening url=http://{}:{}/", hostForUri(cfg.host()), running.http.port());
    }
    out.println(
        "Hyprstream listening on "
            + (running.server.tls() ? "grpc+tls://" : "grpc://")
            + hostForUri(running.server.host())
            + ":"
            + running.server.port());
    out.flush();
    try {
      stop.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    log.info("event=shutdown_started grace_s={}", cfg.shutdownGrace().toSeconds());
    try {
      running.close();
      cleanStop = true;
      log.info("event=shutdown_complete");
    } catch (RuntimeException e) {
      log.error("event=shutdown_failed", e);
    } finally {
      stopped.countDown();
    }
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // The hook is what stopped us.
    }
    return 0;
  }

  /** The effective configuration, one {@code key = value (source)} line each, secrets hidden. */
  static List<String> banner(Config cfg) {
    List<String> lines = new ArrayList<>();
    String version = Main.class.getPackage().getImplementationVersion();
    lines.add("Hyprstream " + (version == null ? "(development build)" : version) + " starting");
    cfg.shown()
        .forEach(
            (key, value) ->
                lines.add("  " + key + " = " + value + "  (" + cfg.sourceOf(key) + ")"));
    lines.add("  aggregations = " + cfg.aggregations());
    return lines;
  }

  private static boolean isLoopback(String host) {
    return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
  }

  private static String hostForUri(String host) {
    return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
  }

  /**
   * The configuration the parsed flags, the environment and the files give.
   *
   * @throws ConfigException naming the first wrong key or value
   */
  Config configuration(List<String> warnings) {
    return Config.load(systemFile, config, env, flags(), warnings);
  }

  /** The flags given, by configuration key (alias flags by their name, with {@code --}). */
  private Map<String, Object> flags() {
    Map<String, Object> f = new LinkedHashMap<>();
    putIfSet(f, Config.SERVER_HOST, host);
    putIfSet(f, Config.SERVER_PORT, port);
    putIfSet(f, Config.SERVER_LOG_LEVEL, logLevel);
    putIfSet(f, Config.CACHE_DURATION, cacheDuration);
    putIfSet(f, Config.CACHE_ENABLED, enableCache);
    putIfSet(f, Config.CACHE_ENGINE, cacheEngine);
    putIfSet(f, Config.CACHE_CONNECTION, cacheConnection);
    putIfSet(f, Config.CACHE_RESULT_BYTES, resultCacheBytes);
    putIfSet(f, Config.CACHE_RESULT_TTL, resultCacheTtl);
    putIfSet(f, Config.CACHE_MEMORY_BYTES, cacheMemoryBytes);
    putIfSet(f, Config.CACHE_EVICTION, cacheEviction);
    putIfSet(f, Config.METRICS_WINDOWS, metricsWindows);
    putIfSet(f, Config.ENGINE_ENGINE, engine);
    putIfSet(f, Config.ENGINE_CONNECTION, engineConnection);
    putIfSet(f, Config.ENGINE_DATABASE, engineDatabase);
    putIfSet(f, Config.ENGINE_USERNAME, engineUsername);
    putIfSet(f, Config.ENGINE_PASSWORD, enginePassword);
    putIfSet(f, Config.ENGINE_OPTIONS, engineOptions);
    putIfSet(f, Config.ENGINE_DATA_DIR, dataDir);
    putIfSet(f, Config.ENGINE_SYNCHRONOUS, synchronousWriteThrough);
    putIfSet(f, "--max-backlog-rows", maxBacklogRows);
    putIfSet(f, Config.ENGINE_MAX_BACKLOG_BYTES, maxBacklogBytes);
    putIfSet(f, Config.ENGINE_MAX_LOG_BYTES, maxLogBytes);
    putIfSet(f, Config.ENGINE_MAX_LAG, maxLag);
    putIfSet(f, Config.ENGINE_SNAPSHOT_INTERVAL, snapshotInterval);
    putIfSet(f, Config.PUBLISH_WINDOWS, publishWindows);
    putIfSet(f, Config.PUBLISH_CLOSED_WINDOWS, publishClosedWindows);
    putIfSet(f, Config.PUBLISH_KEY_PREFIX, publishKeyPrefix);
    putIfSet(f, Config.SERVER_HTTP_PORT, httpPort);
    putIfSet(f, Config.SERVER_SHUTDOWN_GRACE, shutdownGrace);
    putIfSet(f, Config.TLS_CERT, tlsCert);
    putIfSet(f, Config.TLS_KEY, tlsKey);
    putIfSet(f, Config.TLS_CLIENT_CA, tlsClientCa);
    putIfSet(f, Config.AUTH_ENABLED, auth);
    putIfSet(f, Config.AUTH_TOKEN_TTL, tokenTtl);
    if (authUsers != null) {
      f.put(Config.AUTH_USERS, Config.usersFromText(authUsers, "flag --auth-user"));
    }
    putIfSet(f, Config.LIMITS_MAX_BATCH_BYTES, maxBatchBytes);
    putIfSet(f, Config.LIMITS_MAX_REQUEST_ROWS, maxRequestRows);
    putIfSet(f, Config.LIMITS_MAX_CONCURRENT_QUERIES, maxConcurrentQueries);
    putIfSet(f, Config.LIMITS_QUERY_QUEUE, queryQueue);
    putIfSet(f, Config.LIMITS_QUERY_QUEUE_TIMEOUT, queryQueueTimeout);
    putIfSet(f, Config.LIMITS_QUERY_TIMEOUT, queryTimeout);
    putIfSet(f, Config.LIMITS_STREAM_IDLE_TIMEOUT, streamIdleTimeout);
    putIfSet(f, Config.LIMITS_MAX_MEMORY_BYTES, maxMemoryBytes);
    putIfSet(f, Config.LIMITS_DUCKDB_MEMORY_LIMIT_BYTES, duckDbMemoryLimitBytes);
    putIfSet(f, "--db-url", dbUrl);
    putIfSet(f, "--db-user", dbUser);
    putIfSet(f, "--db-name", dbName);
    putIfSet(f, "--driver-path", driverPath);
    return f;
  }

  private static void putIfSet(Map<String, Object> flags, String key, @Nullable Object value) {
    if (value != null) {
      flags.put(key, value);
    }
  }

  /** A started instance, server and optional demo feed; closes in reverse order. */
  static final class Running implements AutoCloseable {
    final Hyprstream hyprstream;
    final HyprstreamServer server;
    final @Nullable DemoFeed demo;
    final BufferAllocator backendAllocator;
    final BufferAllocator root;
    final @Nullable OpsHttpServer http;
    final Health health;
    final @Nullable JvmGcMetrics gc;

    Running(
        Hyprstream hyprstream,
        HyprstreamServer server,
        @Nullable DemoFeed demo,
        BufferAllocator backendAllocator,
        BufferAllocator root,
        @Nullable OpsHttpServer http,
        Health health,
        @Nullable JvmGcMetrics gc) {
      this.hyprstream = hyprstream;
      this.server = server;
      this.demo = demo;
      this.backendAllocator = backendAllocator;
      this.root = root;
      this.http = http;
      this.health = health;
      this.gc = gc;
    }

    /**
     * Reports not ready, stops the demo, drains calls in flight (the shutdown grace), closes the
     * instance (which drains the write-through queue, up to its drain timeout), then HTTP.
     */
    @Override
    public void close() {
      health.stopping();
      try {
        AutoCloseables.close(demo, server, hyprstream, backendAllocator, root, gc, http);
      } catch (Exception e) {
        throw new IllegalStateException("shutdown failed: " + e, e);
      }
    }
  }

  /** Builds the instance and opens the port as {@code cfg} says. */
  static Running start(Config cfg, boolean demo) {
    // One root for the process: the instance, the server and the backend store each take a child
    // of it. Buffers move between them (a backend's rows into the engine, results to a client),
    // and Arrow moves buffers only between allocators of the same root.
    BufferAllocator root = new RootAllocator();
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    JvmGcMetrics gc = new JvmGcMetrics();
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    gc.bindTo(registry);
    // Until the instance is built and the port open, /ready says what it waits for.
    Health starting = new Health();
    AtomicReference<Health> health = new AtomicReference<>(starting);
    OpsHttpServer http = null;
    try {
      if (cfg.httpPort() >= 0) {
        http =
            OpsHttpServer.start(
                cfg.host(),
                cfg.httpPort(),
                () -> java.util.Objects.requireNonNull(health.get()).check(),
                registry);
      }
      Running running = start(cfg, demo, root, registry, http, gc);
      health.set(running.health);
      return running;
    } catch (RuntimeException e) {
      try {
        AutoCloseables.close(gc, http, root);
      } catch (Exception suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  private static Running start(
      Config cfg,
      boolean demo,
      BufferAllocator root,
      PrometheusMeterRegistry registry,
      @Nullable OpsHttpServer http,
      JvmGcMetrics gc) {
    HyprstreamBuilder builder =
        Hyprstream.builder()
            .allocator(root)
            .cacheDuration(cfg.cacheDuration())
            .resultCacheBytes(cfg.resultCacheBytes())
            .resultCacheTtl(cfg.resultCacheTtl())
            .evictionPolicy(cfg.cacheEviction())
            .metricsWindows(cfg.metricsWindows());
    Long memory = cfg.cacheMemory();
    if (memory != null) {
      builder.cacheMemory(memory);
    }
    cfg.maxStaleness().forEach(builder::maxStaleness);
    if (cfg.duckDbMemoryLimitBytes() > 0) {
      builder.cacheMemoryLimit(cfg.duckDbMemoryLimitBytes());
    }
    if (!cfg.cacheConnection().equals(":memory:")) {
      builder.cacheFile(Path.of(cfg.cacheConnection()));
    }
    for (AggregationSpec spec : cfg.aggregations()) {
      builder.aggregate(spec);
    }
    // The backend store's own buffers; closed after the instance, which closes the store.
    BufferAllocator backendAllocator = root.newChildAllocator("backend-store", 0, Long.MAX_VALUE);
    Hyprstream hs;
    RedisWindowPublisher publisher = null;
    try {
      if (!cfg.publishWindows().isEmpty()) {
        String uri = cfg.publishWindows();
        publisher =
            new RedisWindowPublisher(
                () ->
                    RedisConnection.open(
                        uri,
                        null,
                        null,
                        java.time.Duration.ofSeconds(5),
                        java.time.Duration.ofSeconds(5)),
                cfg.publishKeyPrefix(),
                cfg.publishClosedWindows(),
                root,
                java.time.Duration.ofSeconds(5));
        builder.windowListener(publisher);
      }
      if (!cfg.engine().equals("none")) {
        builder
            .backend(
                BackendStores.open(
                    cfg.engine(),
                    cfg.backendConnection(),
                    cfg.engineOptions(),
                    cfg.engineUsername().isEmpty() ? null : cfg.engineUsername(),
                    cfg.enginePassword().isEmpty() ? null : cfg.enginePassword(),
                    backendAllocator))
            .dataDirectory(Path.of(cfg.dataDir()))
            .synchronousWriteThrough(cfg.synchronousWriteThrough())
            .maxBacklogBytes(cfg.maxBacklogBytes())
            .walMaxBytes(cfg.maxLogBytes())
            .maxWriteThroughLag(cfg.maxLag())
            .snapshotInterval(cfg.snapshotInterval());
      }
      hs = builder.build();
    } catch (RuntimeException e) {
      if (publisher != null) {
        publisher.close(); // the instance that would have owned it was not built
      }
      backendAllocator.close();
      throw e;
    }
    HyprstreamServer server;
    try {
      HyprstreamServer.Builder sb =
          HyprstreamServer.builder(hs)
              .allocator(root)
              .host(cfg.host())
              .port(cfg.port())
              .shutdownGrace(cfg.shutdownGrace())
              .limits(cfg.limits())
              .meterRegistry(registry);
      Path cert = cfg.tlsCert();
      if (cert != null) {
        sb.tls(cert, java.util.Objects.requireNonNull(cfg.tlsKey()));
        Path ca = cfg.tlsClientCa();
        if (ca != null) {
          sb.clientCertificateAuthority(ca);
        }
      }
      if (cfg.authEnabled()) {
        sb.authentication(Authentication.of(cfg.users(), cfg.tokenTtl()));
      }
      server = sb.start();
    } catch (RuntimeException e) {
      hs.close();
      backendAllocator.close();
      throw e;
    }
    DemoFeed feed = demo ? DemoFeed.start(hs) : null;
    return new Running(
        hs, server, feed, backendAllocator, root, http, server.producer().health(), gc);
  }

  /** The version from the jar's manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"hyprstream " + (v == null ? "(development build)" : v)};
    }
  }
}
