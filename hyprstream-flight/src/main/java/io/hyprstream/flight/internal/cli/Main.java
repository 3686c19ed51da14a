package io.hyprstream.flight.internal.cli;

import io.hyprstream.Hyprstream;
import io.hyprstream.HyprstreamBuilder;
import io.hyprstream.api.AggregationSpec;
import io.hyprstream.backend.BackendStores;
import io.hyprstream.flight.HyprstreamServer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.util.AutoCloseables;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code hyprstream} command: with no subcommand, runs the Flight SQL server; {@code hyprstream
 * sql "SELECT ..."} queries a running one.
 */
@Command(
    name = "hyprstream",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    subcommands = {SqlCommand.class},
    sortOptions = false,
    description = {
      "Runs the Hyprstream Arrow Flight SQL server: an in-memory DuckDB cache with real-time"
          + " window aggregates. Prints 'Hyprstream listening on grpc://HOST:PORT' when ready.",
      "",
      "Configuration, later wins: built-in defaults, /etc/hyprstream/config.toml, --config FILE,"
          + " HYPRSTREAM_* environment variables (e.g. HYPRSTREAM_SERVER_PORT,"
          + " HYPRSTREAM_CACHE_DURATION), then these flags.",
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
      names = "--result-cache-size",
      paramLabel = "SIZE",
      description =
          "Bytes of query results kept for repeats, e.g. 256MiB (default); 0 turns it off.")
  private @Nullable String resultCacheSize;

  @Option(
      names = "--result-cache-ttl",
      paramLabel = "SECONDS",
      description = "How long a kept query result may be served (default 300).")
  private @Nullable Integer resultCacheTtl;

  @Option(
      names = "--cache-memory",
      paramLabel = "SIZE",
      description =
          "Memory budget of hot raw rows, e.g. 4GiB (default: a quarter of the machine's memory).")
  private @Nullable String cacheMemory;

  @Option(
      names = "--cache-eviction",
      paramLabel = "time|lru|lfu",
      description = "Which time partitions leave first past the memory budget (default time).")
  private @Nullable String cacheEviction;

  @Option(
      names = "--engine",
      paramLabel = "none|duckdb|adbc",
      description = "Backend store (default none; backends arrive in a later release).")
  private @Nullable String engine;

  @Option(
      names = "--engine-connection",
      paramLabel = "URI",
      description = "Backend connection URI.")
  private @Nullable String engineConnection;

  @Option(
      names = "--engine-options",
      paramLabel = "KEY=VALUE",
      description = "Backend option; repeatable.")
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

  @Option(
      names = "--enable-cache",
      negatable = true,
      description = "Keep hot rows in the cache (default on; off needs a backend).")
  private @Nullable Boolean enableCache;

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
    int code = commandLine(new Main()).execute(args);
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
      cfg = Config.load(systemFile, config, env, flags(), warnings);
    } catch (ConfigException e) {
      err.println("hyprstream: configuration error: " + e.getMessage());
      return ConfigException.EXIT_CODE;
    }
    // Before the first logger is created: slf4j-simple reads its level once.
    System.setProperty(LOG_LEVEL_PROPERTY, cfg.logLevel());
    if (!cfg.logLevel().equals("debug") && !cfg.logLevel().equals("trace")) {
      // Arrow's allocator announces its set-up at INFO; that is debugging detail here.
      System.setProperty("org.slf4j.simpleLogger.log.org.apache.arrow.memory", "warn");
    }
    for (String w : warnings) {
      err.println("hyprstream: warning: " + w);
    }
    Running running;
    try {
      running = start(cfg, demo);
    } catch (RuntimeException e) {
      err.println("hyprstream: cannot start: " + e.getMessage());
      return 1;
    }
    org.slf4j.LoggerFactory.getLogger(Main.class).info("configuration (password hidden): {}", cfg);
    // On SIGTERM/SIGINT: ask the main thread to stop, and hold the JVM until it has closed
    // everything (the JVM halts once its hooks return).
    Thread hook =
        new Thread(
            () -> {
              stop();
              try {
                stopped.await(SHUTDOWN_WAIT_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "hyprstream-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    out.println(
        "Hyprstream listening on grpc://"
            + hostForUri(running.server.host())
            + ":"
            + running.server.port());
    out.flush();
    try {
      stop.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      running.close();
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

  private static String hostForUri(String host) {
    return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
  }

  /** The flags given, by configuration key. */
  private Map<String, Object> flags() {
    Map<String, Object> f = new LinkedHashMap<>();
    putIfSet(f, Config.SERVER_HOST, host);
    putIfSet(f, Config.SERVER_PORT, port);
    putIfSet(f, Config.SERVER_LOG_LEVEL, logLevel);
    putIfSet(f, Config.CACHE_DURATION, cacheDuration);
    putIfSet(f, Config.CACHE_ENABLED, enableCache);
    putIfSet(f, Config.CACHE_ENGINE, cacheEngine);
    putIfSet(f, Config.CACHE_CONNECTION, cacheConnection);
    putIfSet(f, Config.CACHE_RESULT_SIZE, resultCacheSize);
    putIfSet(f, Config.CACHE_RESULT_TTL, resultCacheTtl);
    putIfSet(f, Config.CACHE_MEMORY, cacheMemory);
    putIfSet(f, Config.CACHE_EVICTION, cacheEviction);
    putIfSet(f, Config.ENGINE_ENGINE, engine);
    putIfSet(f, Config.ENGINE_CONNECTION, engineConnection);
    putIfSet(f, Config.ENGINE_USERNAME, engineUsername);
    putIfSet(f, Config.ENGINE_PASSWORD, enginePassword);
    putIfSet(f, Config.ENGINE_OPTIONS, engineOptions);
    putIfSet(f, Config.ENGINE_DATA_DIR, dataDir);
    putIfSet(f, Config.ENGINE_SYNCHRONOUS, synchronousWriteThrough);
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

    Running(
        Hyprstream hyprstream,
        HyprstreamServer server,
        @Nullable DemoFeed demo,
        BufferAllocator backendAllocator) {
      this.hyprstream = hyprstream;
      this.server = server;
      this.demo = demo;
      this.backendAllocator = backendAllocator;
    }

    @Override
    public void close() {
      try {
        AutoCloseables.close(demo, server, hyprstream, backendAllocator);
      } catch (Exception e) {
        throw new IllegalStateException("shutdown failed: " + e, e);
      }
    }
  }

  /** Builds the instance and opens the port as {@code cfg} says. */
  static Running start(Config cfg, boolean demo) {
    // The backend store's own buffers (result streams it hands back are the caller's).
    BufferAllocator backendAllocator = new RootAllocator();
    try {
      return start(cfg, demo, backendAllocator);
    } catch (RuntimeException e) {
      backendAllocator.close();
      throw e;
    }
  }

  private static Running start(Config cfg, boolean demo, BufferAllocator backendAllocator) {
    HyprstreamBuilder builder =
        Hyprstream.builder()
            .cacheDuration(cfg.cacheDuration())
            .resultCacheBytes(cfg.resultCacheBytes())
            .resultCacheTtl(cfg.resultCacheTtl())
            .evictionPolicy(cfg.cacheEviction());
    Long memory = cfg.cacheMemory();
    if (memory != null) {
      builder.cacheMemory(memory);
    }
    cfg.maxStaleness().forEach(builder::maxStaleness);
    if (!cfg.cacheConnection().equals(":memory:")) {
      builder.cacheFile(Path.of(cfg.cacheConnection()));
    }
    for (AggregationSpec spec : cfg.aggregations()) {
      builder.aggregate(spec);
    }
    if (!cfg.engine().equals("none")) {
      builder
          .backend(
              BackendStores.open(
                  cfg.engine(),
                  cfg.engineConnection(),
                  cfg.engineOptions(),
                  cfg.engineUsername().isEmpty() ? null : cfg.engineUsername(),
                  cfg.enginePassword().isEmpty() ? null : cfg.enginePassword(),
                  backendAllocator))
          .dataDirectory(Path.of(cfg.dataDir()))
          .synchronousWriteThrough(cfg.synchronousWriteThrough());
    }
    Hyprstream hs = builder.build();
    HyprstreamServer server;
    try {
      server = HyprstreamServer.builder(hs).host(cfg.host()).port(cfg.port()).start();
    } catch (RuntimeException e) {
      hs.close();
      throw e;
    }
    DemoFeed feed = demo ? DemoFeed.start(hs) : null;
    return new Running(hs, server, feed, backendAllocator);
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
