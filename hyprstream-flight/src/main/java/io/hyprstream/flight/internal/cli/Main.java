package io.hyprstream.flight.internal.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

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

  // Each configuration key's flag is added from its declaration (ConfigKeys) in commandLine();
  // the options here are the ones that are not keys.

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "A TOML configuration file with [server], [cache], [engine], [[aggregations]].")
  private @Nullable Path config;

  @Option(
      names = "--demo",
      description =
          "Generate a live synthetic metrics stream (a day of history, then one row per"
              + " second per series) so the window views fill at once.")
  private boolean demo;

  /** Removed; kept only so that setting it says what replaced it (see Config#removedBecause). */
  @Option(names = "--max-backlog-rows", hidden = true, paramLabel = "ROWS")
  private @Nullable Long maxBacklogRows;

  /** How {@code --help} shows a Hyprstream (Rust) flag: its value's label and what it does. */
  private record AliasHelp(String label, String description) {}

  private static final Map<String, AliasHelp> ALIAS_HELP =
      Map.of(
          "--db-url",
          new AliasHelp(
              "URL", "Hyprstream (Rust) name of --engine-connection (selects --engine adbc)."),
          "--db-user",
          new AliasHelp("USER", "Hyprstream (Rust) name of --engine-username."),
          "--db-name",
          new AliasHelp("NAME", "Hyprstream (Rust) name of --engine-database."),
          "--driver-path",
          new AliasHelp(
              "PATH",
              "A native ADBC driver (libadbc_driver_postgresql.so, _sqlite, _flightsql,"
                  + " libduckdb): selects the Java path to that database; same as"
                  + " --engine-options driver_path=PATH."));

  /** The parsed command line's model, with the options added from the key declarations. */
  @Spec private @Nullable CommandSpec spec;

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
    CommandSpec spec = CommandSpec.forAnnotatedObject(main);
    for (ConfigKey key : Config.declared()) {
      String flag = key.flag();
      if (flag != null) {
        spec.addOption(option(key, flag));
      }
    }
    for (ConfigLoader.Alias alias : ConfigLoader.aliases()) {
      if (alias.form().startsWith("--")) {
        AliasHelp help = Objects.requireNonNull(ALIAS_HELP.get(alias.form()), alias.form());
        spec.addOption(
            OptionSpec.builder(alias.form())
                .paramLabel(help.label())
                .type(String.class)
                .description(help.description())
                .build());
      }
    }
    CommandLine cl = new CommandLine(spec);
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
      // Kafka's clients log every configuration at INFO, and while the cluster's Kafka is down its
      // consumer logs "Rebootstrapping" at INFO in a tight loop (138 million characters in two and
      // a half minutes of ClusterKafkaDownIT); /ready says that Kafka is unreachable.
      System.setProperty("org.slf4j.simpleLogger.log.org.apache.kafka", "warn");
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
    RunningServer running;
    try {
      running = RunningServer.start(cfg, demo);
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
    if (running.http() != null) {
      log.info(
          "event=http_listening url={}://{}:{}/",
          cfg.tlsCert() == null ? "http" : "https",
          hostForUri(cfg.host()),
          running.http().port());
    }
    out.println(
        "Hyprstream listening on "
            + (running.server().tls() ? "grpc+tls://" : "grpc://")
            + hostForUri(running.server().host())
            + ":"
            + running.server().port());
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
    } catch (RuntimeException | Error e) {
      // Logged here, Errors too: once `stopped` counts down, the shutdown hook halts the JVM, so
      // nothing further up (picocli's handler) would get to print it.
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

  /** The option that sets {@code key}, as its declaration says. */
  private static OptionSpec option(ConfigKey key, String flag) {
    OptionSpec.Builder b = OptionSpec.builder("--" + flag).description(key.help());
    switch (key.type()) {
      case BOOL:
        b.type(Boolean.class).negatable(true);
        break;
      case INT:
        b.type(Integer.class);
        break;
      case LONG:
        b.type(Long.class);
        break;
      case LIST:
        b.type(List.class).auxiliaryTypes(String.class).splitRegex(",");
        break;
      case USERS:
        b.type(List.class).auxiliaryTypes(String.class);
        break;
      case MAP:
        b.type(Map.class).auxiliaryTypes(String.class, String.class);
        break;
      case STRING:
        b.type(String.class);
        break;
    }
    if (!key.paramLabel().isEmpty()) {
      b.paramLabel(key.paramLabel());
    }
    return b.build();
  }

  /** The flags given, by configuration key (alias flags by their name, with {@code --}). */
  private Map<String, Object> flags() {
    CommandSpec s = Objects.requireNonNull(spec, "picocli injects the spec");
    Map<String, Object> f = new LinkedHashMap<>();
    putIfSet(f, "--max-backlog-rows", maxBacklogRows);
    for (ConfigKey key : Config.declared()) {
      String flag = key.flag();
      if (flag == null) {
        continue;
      }
      Object value = s.findOption("--" + flag).getValue();
      if (value != null && key.type() == ConfigKey.Type.USERS) {
        @SuppressWarnings("unchecked")
        List<String> entries = (List<String>) value;
        value = ConfigValues.usersFromText(entries, "flag --" + flag);
      }
      putIfSet(f, key.name(), value);
    }
    for (ConfigLoader.Alias alias : ConfigLoader.aliases()) {
      if (alias.form().startsWith("--")) {
        putIfSet(f, alias.form(), s.findOption(alias.form()).getValue());
      }
    }
    return f;
  }

  private static void putIfSet(Map<String, Object> flags, String key, @Nullable Object value) {
    if (value != null) {
      flags.put(key, value);
    }
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
