package io.hyprstream.flight.internal.cli;

import io.hyprstream.api.AggregateFunction;
import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.EvictionPolicy;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.backend.BackendStores;
import io.hyprstream.backend.PoolSettings;
import io.hyprstream.backend.redis.RedisBackendStore;
import io.hyprstream.backend.redis.RedisConnection;
import io.hyprstream.flight.Authentication;
import io.hyprstream.flight.ServerLimits;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.tomlj.Toml;
import org.tomlj.TomlArray;
import org.tomlj.TomlParseResult;
import org.tomlj.TomlTable;

/**
 * The server's configuration, merged from, later winning: the defaults embedded in the jar, {@code
 * /etc/hyprstream/config.toml} (when present), {@code --config FILE}, environment variables, then
 * command-line flags. Every key and value is checked; a wrong one is a {@link ConfigException}
 * naming the key, the value, where it came from and what to write instead.
 *
 * <p>Each key is declared once, in {@link #KEYS}: its name ({@code section.name}), type, flag and
 * environment variable ({@code HYPRSTREAM_} and the key in upper case with {@code _} for the dot,
 * except {@code engine.engine}, which is {@code HYPRSTREAM_ENGINE}). {@code engine.options} is a
 * TOML table, {@code k=v,k=v} in the environment, and merges option by option across sources.
 *
 * <p>The forms Hyprstream (Rust) documented ({@code [storage]}, {@code [adbc]}, {@code
 * [adbc.pool]}, {@code [cache] duration_secs}, {@code ADBC_*} and {@code HYPRSTREAM_ADBC_*}
 * variables, {@code --db-*} flags) are {@linkplain Alias aliases} of these keys; {@link #sourceOf}
 * says which alias set a value.
 */
public final class Config {
  public static final String SERVER_HOST = "server.host";
  public static final String SERVER_PORT = "server.port";
  public static final String SERVER_LOG_LEVEL = "server.log_level";
  public static final String CACHE_ENABLED = "cache.enabled";
  public static final String CACHE_ENGINE = "cache.engine";
  public static final String CACHE_CONNECTION = "cache.connection";
  public static final String CACHE_DURATION = "cache.duration";
  public static final String CACHE_RESULT_BYTES = "cache.result_cache_bytes";
  public static final String CACHE_RESULT_TTL = "cache.result_cache_ttl";
  public static final String CACHE_MEMORY_BYTES = "cache.memory_bytes";
  public static final String CACHE_EVICTION = "cache.eviction";
  public static final String CACHE_MAX_STALENESS = "cache.max_staleness";
  public static final String METRICS_WINDOWS = "metrics.windows";
  public static final String ENGINE_ENGINE = "engine.engine";
  public static final String ENGINE_CONNECTION = "engine.connection";
  public static final String ENGINE_DATABASE = "engine.database";
  public static final String ENGINE_USERNAME = "engine.username";
  public static final String ENGINE_PASSWORD = "engine.password";
  public static final String ENGINE_OPTIONS = "engine.options";
  public static final String ENGINE_DATA_DIR = "engine.data_dir";
  public static final String ENGINE_SYNCHRONOUS = "engine.synchronous";
  public static final String ENGINE_MAX_BACKLOG_BYTES = "engine.max_backlog_bytes";
  public static final String ENGINE_MAX_LOG_BYTES = "engine.max_log_bytes";
  public static final String ENGINE_MAX_LAG = "engine.max_lag";
  public static final String ENGINE_SNAPSHOT_INTERVAL = "engine.snapshot_interval";
  public static final String PUBLISH_WINDOWS = "publish.windows";
  public static final String PUBLISH_CLOSED_WINDOWS = "publish.closed_windows";
  public static final String PUBLISH_KEY_PREFIX = "publish.key_prefix";
  public static final String SERVER_HTTP_PORT = "server.http_port";
  public static final String SERVER_SHUTDOWN_GRACE = "server.shutdown_grace";
  public static final String TLS_CERT = "tls.cert";
  public static final String TLS_KEY = "tls.key";
  public static final String TLS_CLIENT_CA = "tls.client_ca";
  public static final String AUTH_ENABLED = "auth.enabled";
  public static final String AUTH_TOKEN_TTL = "auth.token_ttl";
  public static final String AUTH_USERS = "auth.users";
  public static final String LIMITS_MAX_BATCH_BYTES = "limits.max_batch_bytes";
  public static final String LIMITS_MAX_REQUEST_ROWS = "limits.max_request_rows";
  public static final String LIMITS_MAX_CONCURRENT_QUERIES = "limits.max_concurrent_queries";
  public static final String LIMITS_QUERY_QUEUE = "limits.query_queue";
  public static final String LIMITS_QUERY_QUEUE_TIMEOUT = "limits.query_queue_timeout";
  public static final String LIMITS_QUERY_TIMEOUT = "limits.query_timeout";
  public static final String LIMITS_STREAM_IDLE_TIMEOUT = "limits.stream_idle_timeout";
  public static final String LIMITS_MAX_MEMORY_BYTES = "limits.max_memory_bytes";
  public static final String LIMITS_DUCKDB_MEMORY_LIMIT_BYTES = "limits.duckdb_memory_limit_bytes";

  /** The system-wide configuration file, read when it exists. */
  public static final Path SYSTEM_FILE = Path.of("/etc/hyprstream/config.toml");

  private static final String ENV_PREFIX = "HYPRSTREAM_";
  private static final Set<String> LOG_LEVELS =
      Set.of("trace", "debug", "info", "warn", "error", "off");
  private static final Set<String> ENGINES = Set.of("none", "duckdb", "adbc", "redis");
  private static final String WINDOW_FORM =
      "write SIZE[:RETENTION] with units s, m, h, d, w (e.g. 5m:10d or 1h)";

  /** The type of a key's value. */
  enum Type {
    STRING,
    INT,
    LONG,
    BOOL,
    MAP,
    /** Users: TOML {@code [[auth.users]]} tables, or {@code name:hash:role,...} as text. */
    USERS,
    /** A list of text items: a TOML array of strings, or {@code a,b,c} as text. */
    LIST
  }

  /**
   * One configuration key: its name, type, command-line flag (without {@code --}; null when none)
   * and whether its value is a secret never shown.
   */
  record Key(String name, Type type, @Nullable String flag, boolean secret) {
    /** The environment variable that sets this key. */
    String env() {
      if (name.equals(ENGINE_ENGINE)) {
        return ENV_PREFIX + "ENGINE";
      }
      return ENV_PREFIX + name.replace('.', '_').toUpperCase(Locale.ROOT);
    }

    String section() {
      return name.substring(0, name.indexOf('.'));
    }
  }

  private static final Map<String, Key> KEYS = new LinkedHashMap<>();

  private static void key(String name, Type type, @Nullable String flag) {
    KEYS.put(name, new Key(name, type, flag, false));
  }

  static {
    key(SERVER_HOST, Type.STRING, "host");
    key(SERVER_PORT, Type.INT, "port");
    key(SERVER_LOG_LEVEL, Type.STRING, "log-level");
    key(CACHE_ENABLED, Type.BOOL, "enable-cache");
    key(CACHE_ENGINE, Type.STRING, "cache-engine");
    key(CACHE_CONNECTION, Type.STRING, "cache-connection");
    key(CACHE_DURATION, Type.INT, "cache-duration");
    key(CACHE_RESULT_BYTES, Type.LONG, "result-cache-bytes");
    key(CACHE_RESULT_TTL, Type.INT, "result-cache-ttl");
    key(CACHE_MEMORY_BYTES, Type.LONG, "cache-memory-bytes");
    key(CACHE_EVICTION, Type.STRING, "cache-eviction");
    key(CACHE_MAX_STALENESS, Type.MAP, null);
    key(METRICS_WINDOWS, Type.LIST, "metrics-windows");
    key(ENGINE_ENGINE, Type.STRING, "engine");
    key(ENGINE_CONNECTION, Type.STRING, "engine-connection");
    key(ENGINE_DATABASE, Type.STRING, "engine-database");
    key(ENGINE_USERNAME, Type.STRING, "engine-username");
    KEYS.put(ENGINE_PASSWORD, new Key(ENGINE_PASSWORD, Type.STRING, "engine-password", true));
    key(ENGINE_OPTIONS, Type.MAP, "engine-options");
    key(ENGINE_DATA_DIR, Type.STRING, "data-dir");
    key(ENGINE_SYNCHRONOUS, Type.BOOL, "synchronous-write-through");
    key(ENGINE_MAX_BACKLOG_BYTES, Type.LONG, "max-backlog-bytes");
    key(ENGINE_MAX_LOG_BYTES, Type.LONG, "max-log-bytes");
    key(ENGINE_MAX_LAG, Type.INT, "max-lag");
    key(ENGINE_SNAPSHOT_INTERVAL, Type.INT, "snapshot-interval");
    key(PUBLISH_WINDOWS, Type.STRING, "publish-windows");
    key(PUBLISH_CLOSED_WINDOWS, Type.INT, "publish-closed-windows");
    key(PUBLISH_KEY_PREFIX, Type.STRING, "publish-key-prefix");
    key(SERVER_HTTP_PORT, Type.INT, "http-port");
    key(SERVER_SHUTDOWN_GRACE, Type.INT, "shutdown-grace");
    key(TLS_CERT, Type.STRING, "tls-cert");
    key(TLS_KEY, Type.STRING, "tls-key");
    key(TLS_CLIENT_CA, Type.STRING, "tls-client-ca");
    key(AUTH_ENABLED, Type.BOOL, "auth");
    key(AUTH_TOKEN_TTL, Type.INT, "auth-token-ttl");
    KEYS.put(AUTH_USERS, new Key(AUTH_USERS, Type.USERS, "auth-user", true));
    key(LIMITS_MAX_BATCH_BYTES, Type.LONG, "max-batch-bytes");
    key(LIMITS_MAX_REQUEST_ROWS, Type.LONG, "max-request-rows");
    key(LIMITS_MAX_CONCURRENT_QUERIES, Type.INT, "max-concurrent-queries");
    key(LIMITS_QUERY_QUEUE, Type.INT, "query-queue");
    key(LIMITS_QUERY_QUEUE_TIMEOUT, Type.INT, "query-queue-timeout");
    key(LIMITS_QUERY_TIMEOUT, Type.INT, "query-timeout");
    key(LIMITS_STREAM_IDLE_TIMEOUT, Type.INT, "stream-idle-timeout");
    key(LIMITS_MAX_MEMORY_BYTES, Type.LONG, "max-memory-bytes");
    key(LIMITS_DUCKDB_MEMORY_LIMIT_BYTES, Type.LONG, "duckdb-memory-limit-bytes");
  }

  private static final Set<String> SECTIONS = sections();

  /**
   * Keys that were removed, by key, flag ({@code --name}) and environment variable, with what
   * replaced them: setting one stops start-up with that reason rather than being ignored.
   */
  private static final Map<String, String> REMOVED = removed();

  private static Map<String, String> removed() {
    String backlogRows =
        "engine.max_backlog_rows was removed: the write-through backlog is bounded in memory by"
            + " engine.max_backlog_bytes (past it, batches spill to the write-ahead log) and on disk"
            + " by engine.max_log_bytes (past it, ingest is refused RESOURCE_EXHAUSTED); drop the"
            + " setting";
    Map<String, String> m = new LinkedHashMap<>();
    m.put("engine.max_backlog_rows", backlogRows);
    m.put("--max-backlog-rows", backlogRows);
    m.put("HYPRSTREAM_ENGINE_MAX_BACKLOG_ROWS", backlogRows);
    return Collections.unmodifiableMap(m);
  }

  /**
   * Why {@code name} (a key, {@code --flag} or environment variable) is no longer accepted, or null
   * when it was never removed.
   */
  static @Nullable String removedBecause(String name) {
    return REMOVED.get(name);
  }

  private static Set<String> sections() {
    Set<String> s = new java.util.LinkedHashSet<>();
    KEYS.values().forEach(k -> s.add(k.section()));
    return Collections.unmodifiableSet(s);
  }

  /**
   * A name Hyprstream (Rust) documented for a key: a TOML {@code [section] name}, an environment
   * variable or a flag. {@code option} is set when the alias sets one entry of {@code
   * engine.options}; {@code impliesAdbc} when naming an ADBC connection or driver selects {@code
   * engine = "adbc"} unless {@code engine.engine} is set.
   */
  record Alias(String form, String key, @Nullable String option, boolean impliesAdbc) {}

  private static Alias alias(String form, String key) {
    return new Alias(form, key, null, false);
  }

  private static final List<Alias> TOML_ALIASES =
      List.of(
          alias("[storage] backend", ENGINE_ENGINE),
          alias("[storage] connection", ENGINE_CONNECTION),
          alias("[storage] options", ENGINE_OPTIONS),
          new Alias("[adbc] url", ENGINE_CONNECTION, null, true),
          alias("[adbc] username", ENGINE_USERNAME),
          alias("[adbc] password", ENGINE_PASSWORD),
          alias("[adbc] database", ENGINE_DATABASE),
          new Alias("[adbc] driver_path", ENGINE_OPTIONS, "driver_path", true),
          new Alias("[adbc] driver", ENGINE_OPTIONS, "driver_path", true),
          alias("[adbc] options", ENGINE_OPTIONS),
          new Alias("[adbc.pool] max_connections", ENGINE_OPTIONS, "pool_max", false),
          new Alias("[adbc.pool] min_connections", ENGINE_OPTIONS, "pool_min", false),
          new Alias("[adbc.pool] connect_timeout", ENGINE_OPTIONS, "connect_timeout", false),
          alias("[cache] duration_secs", CACHE_DURATION));

  /** Environment aliases, lowest precedence first; every {@code HYPRSTREAM_*} key beats them. */
  private static final List<Alias> ENV_ALIASES =
      List.of(
          new Alias("ADBC_DRIVER", ENGINE_OPTIONS, "driver_path", true),
          new Alias("ADBC_URL", ENGINE_CONNECTION, null, true),
          alias("ADBC_USERNAME", ENGINE_USERNAME),
          alias("ADBC_PASSWORD", ENGINE_PASSWORD),
          alias("ADBC_DATABASE", ENGINE_DATABASE),
          new Alias("HYPRSTREAM_ADBC_DRIVER_PATH", ENGINE_OPTIONS, "driver_path", true),
          new Alias("HYPRSTREAM_ADBC_URL", ENGINE_CONNECTION, null, true),
          alias("HYPRSTREAM_ADBC_USERNAME", ENGINE_USERNAME),
          alias("HYPRSTREAM_ADBC_PASSWORD", ENGINE_PASSWORD),
          alias("HYPRSTREAM_ADBC_DATABASE", ENGINE_DATABASE));

  /** Flag aliases, by flag name without {@code --}. */
  private static final List<Alias> FLAG_ALIASES =
      List.of(
          new Alias("db-url", ENGINE_CONNECTION, null, true),
          alias("db-user", ENGINE_USERNAME),
          alias("db-name", ENGINE_DATABASE),
          new Alias("driver-path", ENGINE_OPTIONS, "driver_path", true));

  /** Every alias: TOML forms, environment variables, then flags (with {@code --}). */
  static List<Alias> aliases() {
    List<Alias> all = new ArrayList<>(TOML_ALIASES);
    all.addAll(ENV_ALIASES);
    for (Alias a : FLAG_ALIASES) {
      all.add(new Alias("--" + a.form(), a.key(), a.option(), a.impliesAdbc()));
    }
    return all;
  }

  private final Map<String, Object> values;
  private final Map<String, String> sources;
  private final List<AggregationSpec> aggregations;

  private Config(
      Map<String, Object> values, Map<String, String> sources, List<AggregationSpec> aggregations) {
    this.values = values;
    this.sources = sources;
    this.aggregations = aggregations;
  }

  /** Every key, in documentation order. */
  public static Set<String> keys() {
    return Collections.unmodifiableSet(KEYS.keySet());
  }

  /** The environment variable that sets {@code key}. */
  public static String envName(String key) {
    return Objects.requireNonNull(KEYS.get(key), key).env();
  }

  /** The type of {@code key}'s value. */
  static Type typeOf(String key) {
    return Objects.requireNonNull(KEYS.get(key), key).type();
  }

  /** The flag that sets {@code key}, without {@code --}; null when only files and env set it. */
  static @Nullable String flagName(String key) {
    return Objects.requireNonNull(KEYS.get(key), key).flag();
  }

  /** The values being merged, where each came from, and the aggregations. */
  private static final class Merge {
    final Map<String, Object> values = new LinkedHashMap<>();
    final Map<String, String> sources = new LinkedHashMap<>();
    final List<AggregationSpec> aggregations = new ArrayList<>();

    Merge() {
      values.put(ENGINE_OPTIONS, new LinkedHashMap<String, String>());
    }

    /** The alias that selected {@code engine = "adbc"}, if any did. */
    @Nullable String adbcImpliedBy;

    void put(String key, Object value, String source) {
      if (key.equals(ENGINE_OPTIONS)) {
        @SuppressWarnings("unchecked")
        Map<String, String> options = (Map<String, String>) value;
        options.forEach((k, v) -> option(k, v, source));
        return;
      }
      values.put(key, value);
      sources.put(key, source);
    }

    void option(String name, String value, String source) {
      @SuppressWarnings("unchecked")
      Map<String, String> options =
          (Map<String, String>) values.computeIfAbsent(ENGINE_OPTIONS, k -> new LinkedHashMap<>());
      options.put(name, value);
      sources.put(ENGINE_OPTIONS + "." + name, source);
    }

    void alias(Alias alias, Object value, String source) {
      String option = alias.option();
      if (option != null) {
        option(option, String.valueOf(value), source);
      } else {
        put(alias.key(), value, source);
      }
      // The connection's alias is the one to name, over a driver's.
      if (alias.impliesAdbc() && (adbcImpliedBy == null || alias.option() == null)) {
        adbcImpliedBy = source;
      }
    }
  }

  /**
   * Merges every source and checks the result.
   *
   * @param systemFile read when it exists ({@link #SYSTEM_FILE} outside tests)
   * @param configFile {@code --config FILE}, which must exist, or null
   * @param env the environment ({@link System#getenv()} outside tests)
   * @param flags values from command-line flags, already typed (String, Integer, Boolean, List or
   *     Map): by configuration key, or by alias flag name with its {@code --} ({@code --db-url})
   * @param warnings receives notes that do not stop start-up (unknown HYPRSTREAM_ variables)
   * @throws ConfigException naming the first wrong key or value
   */
  public static Config load(
      Path systemFile,
      @Nullable Path configFile,
      Map<String, String> env,
      Map<String, Object> flags,
      List<String> warnings) {
    Merge m = new Merge();
    try (InputStream in = Config.class.getResourceAsStream("defaults.toml")) {
      if (in == null) {
        throw new IllegalStateException("defaults.toml is missing from the jar");
      }
      applyToml(Toml.parse(in), "built-in defaults", m);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the built-in defaults", e);
    }
    // The defaults name no source: a value nobody set reads "built-in defaults".
    m.sources.clear();
    m.adbcImpliedBy = null;
    if (Files.isRegularFile(systemFile)) {
      applyFile(systemFile, m);
    }
    if (configFile != null) {
      if (!Files.isRegularFile(configFile)) {
        throw new ConfigException(
            "--config " + configFile + ": no such file (give the path of a TOML file)");
      }
      applyFile(configFile, m);
    }
    applyEnv(env, m, warnings);
    applyFlags(flags, m);
    // A native driver names an ADBC backend however it was given (--engine-options too).
    String driverPathSource = m.sources.get(ENGINE_OPTIONS + ".driver_path");
    if (m.adbcImpliedBy == null && driverPathSource != null) {
      m.adbcImpliedBy = driverPathSource;
    }
    if (m.adbcImpliedBy != null && !m.sources.containsKey(ENGINE_ENGINE)) {
      m.values.put(ENGINE_ENGINE, "adbc");
      m.sources.put(ENGINE_ENGINE, "implied by " + m.adbcImpliedBy);
    }
    Config config = new Config(m.values, m.sources, List.copyOf(m.aggregations));
    config.validate();
    return config;
  }

  private static void applyFlags(Map<String, Object> flags, Merge m) {
    Map<String, String> given = new LinkedHashMap<>();
    for (Map.Entry<String, Object> flag : flags.entrySet()) {
      String name = flag.getKey();
      String removed = REMOVED.get(name);
      if (removed != null) {
        throw new ConfigException("flag " + name + ": " + removed);
      }
      if (name.startsWith("--")) {
        Alias alias = null;
        for (Alias a : FLAG_ALIASES) {
          if (name.equals("--" + a.form())) {
            alias = a;
          }
        }
        if (alias == null) {
          throw new IllegalArgumentException("no such alias flag: " + name);
        }
        String target = alias.option() == null ? alias.key() : "option " + alias.option();
        String canonical = alias.option() == null ? "--" + flagName(alias.key()) : null;
        if (canonical != null && flags.containsKey(alias.key())) {
          throw new ConfigException(
              "flags "
                  + canonical
                  + " and "
                  + name
                  + " both set "
                  + alias.key()
                  + ": give one of them");
        }
        given.put(target, name);
        m.alias(alias, flag.getValue(), "alias flag " + name);
        continue;
      }
      Key key = KEYS.get(name);
      if (key == null) {
        throw new IllegalArgumentException("no such key: " + name);
      }
      if (key.name().equals(ENGINE_OPTIONS)) {
        @SuppressWarnings("unchecked")
        Map<String, String> options = (Map<String, String>) flag.getValue();
        for (String option : options.keySet()) {
          String other = given.get("option " + option);
          if (other != null) {
            throw new ConfigException(
                "flags --engine-options "
                    + option
                    + "=... and "
                    + other
                    + " both set engine option "
                    + option
                    + ": give one of them");
          }
        }
      }
      m.put(name, flag.getValue(), "flag --" + key.flag());
    }
  }

  private static void applyFile(Path file, Merge m) {
    TomlParseResult toml;
    try {
      toml = Toml.parse(file);
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot read: " + e.getMessage(), e);
    }
    applyToml(toml, file.toString(), m);
  }

  private static void applyToml(TomlParseResult toml, String origin, Merge m) {
    if (toml.hasErrors()) {
      throw new ConfigException(
          origin + ": not valid TOML: " + toml.errors().get(0).toString() + " (fix the syntax)");
    }
    for (String section : toml.keySet()) {
      Object sectionValue = toml.get(List.of(section));
      if (section.equals("aggregations")) {
        if (!(sectionValue instanceof TomlArray)) {
          throw new ConfigException(
              origin + ": aggregations must be an array of tables ([[aggregations]])");
        }
        // A later file's aggregations replace an earlier file's.
        m.aggregations.clear();
        m.aggregations.addAll(parseAggregations((TomlArray) sectionValue, origin));
        continue;
      }
      boolean known = SECTIONS.contains(section) || hasTomlAlias(section);
      if (!(sectionValue instanceof TomlTable) || !known) {
        throw new ConfigException(
            origin
                + ": unknown key '"
                + section
                + "' (sections are ["
                + String.join("], [", SECTIONS)
                + "] and [[aggregations]]; [storage], [adbc] and [adbc.pool] are read as their"
                + " Hyprstream (Rust) forms)");
      }
      TomlTable table = (TomlTable) sectionValue;
      for (String name : table.keySet()) {
        String key = section + "." + name;
        int line = table.inputPositionOf(List.of(name)).line();
        String where = origin + " (line " + line + ")";
        Object raw = Objects.requireNonNull(table.get(List.of(name)));
        Key k = KEYS.get(key);
        if (key.equals(ENGINE_OPTIONS) && raw instanceof TomlTable) {
          applyOptions((TomlTable) raw, origin, null, m);
          continue;
        }
        if (k != null) {
          m.put(key, fromToml(key, k.type(), raw, where), where);
          continue;
        }
        if (section.equals("adbc") && name.equals("pool") && raw instanceof TomlTable) {
          applyPool((TomlTable) raw, origin, m);
          continue;
        }
        Alias alias = tomlAlias(section, name);
        String removed = REMOVED.get(key);
        if (alias == null && removed != null) {
          throw new ConfigException(where + ": " + removed);
        }
        if (alias == null) {
          throw new ConfigException(
              where
                  + ": unknown key '"
                  + key
                  + "'; known keys: "
                  + String.join(", ", KEYS.keySet())
                  + " (and the Hyprstream (Rust) forms listed in docs/server.md)");
        }
        if (alias.key().equals(ENGINE_OPTIONS)
            && alias.option() == null
            && raw instanceof TomlTable) {
          applyOptions((TomlTable) raw, origin, alias, m);
          continue;
        }
        String source = "alias " + alias.form() + " in " + origin + " line " + line;
        Type type =
            alias.option() != null
                ? Type.STRING
                : Objects.requireNonNull(KEYS.get(alias.key())).type();
        Object value =
            alias.option() != null && raw instanceof Long
                ? String.valueOf(raw)
                : fromToml(alias.form(), type, raw, where);
        m.alias(alias, value, source);
      }
    }
  }

  /** Each option of an options table, with its own line, through {@code alias} if not null. */
  private static void applyOptions(
      TomlTable options, String origin, @Nullable Alias alias, Merge m) {
    for (String name : options.keySet()) {
      int line = options.inputPositionOf(List.of(name)).line();
      String value = String.valueOf(options.get(List.of(name)));
      m.option(
          name,
          value,
          alias == null
              ? origin + " (line " + line + ")"
              : "alias " + alias.form() + " in " + origin + " line " + line);
    }
  }

  private static void applyPool(TomlTable pool, String origin, Merge m) {
    for (String name : pool.keySet()) {
      int line = pool.inputPositionOf(List.of(name)).line();
      Alias alias = null;
      for (Alias a : TOML_ALIASES) {
        if (a.form().equals("[adbc.pool] " + name)) {
          alias = a;
        }
      }
      if (alias == null) {
        throw new ConfigException(
            origin
                + " (line "
                + line
                + "): unknown key 'adbc.pool."
                + name
                + "' (known: max_connections, min_connections, connect_timeout)");
      }
      Object raw = Objects.requireNonNull(pool.get(List.of(name)));
      if (!(raw instanceof Long)) {
        throw new ConfigException(
            origin
                + " (line "
                + line
                + "): "
                + alias.form()
                + " must be a whole number, got "
                + tomlText(raw));
      }
      m.alias(
          alias, String.valueOf(raw), "alias " + alias.form() + " in " + origin + " line " + line);
    }
  }

  private static boolean hasTomlAlias(String section) {
    for (Alias a : TOML_ALIASES) {
      if (a.form().startsWith("[" + section + "]")) {
        return true;
      }
    }
    return false;
  }

  private static @Nullable Alias tomlAlias(String section, String name) {
    for (Alias a : TOML_ALIASES) {
      if (a.form().equals("[" + section + "] " + name)) {
        return a;
      }
    }
    return null;
  }

  private static Object fromToml(String key, Type type, Object raw, String where) {
    switch (type) {
      case STRING:
        if (raw instanceof String) {
          return raw;
        }
        break;
      case INT:
        if (raw instanceof Long) {
          long v = (Long) raw;
          if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new ConfigException(where + ": " + key + " = " + v + " is out of range");
          }
          return (int) v;
        }
        break;
      case LONG:
        if (raw instanceof Long) {
          return raw;
        }
        break;
      case USERS:
        if (raw instanceof TomlArray) {
          return usersFromToml((TomlArray) raw, where);
        }
        break;
      case BOOL:
        if (raw instanceof Boolean) {
          return raw;
        }
        break;
      case MAP:
        if (raw instanceof TomlTable) {
          TomlTable t = (TomlTable) raw;
          Map<String, String> map = new LinkedHashMap<>();
          for (String k : t.keySet()) {
            map.put(k, String.valueOf(t.get(List.of(k))));
          }
          return map;
        }
        break;
      case LIST:
        if (raw instanceof TomlArray) {
          List<String> items = new ArrayList<>();
          for (Object o : ((TomlArray) raw).toList()) {
            if (!(o instanceof String)) {
              break;
            }
            items.add((String) o);
          }
          if (items.size() == ((TomlArray) raw).size()) {
            return items;
          }
        }
        break;
    }
    throw new ConfigException(
        where + ": " + key + " must be " + describe(type) + ", got " + tomlText(raw));
  }

  private static String tomlText(Object raw) {
    return raw instanceof String ? "\"" + raw + "\"" : String.valueOf(raw);
  }

  private static String describe(Type type) {
    switch (type) {
      case STRING:
        return "a string (in double quotes)";
      case INT:
      case LONG:
        return "an integer";
      case USERS:
        return "an array of [[auth.users]] tables (name, password_hash, role)";
      case BOOL:
        return "true or false";
      case MAP:
        return "a table of options";
      case LIST:
        return "an array of strings, e.g. [\"5m:1d\", \"1h\"]";
    }
    throw new AssertionError(type);
  }

  private static void applyEnv(Map<String, String> env, Merge m, List<String> warnings) {
    for (Alias alias : ENV_ALIASES) {
      String text = env.get(alias.form());
      if (text != null) {
        Type type =
            alias.option() != null
                ? Type.STRING
                : Objects.requireNonNull(KEYS.get(alias.key())).type();
        String where = "alias environment variable " + alias.form();
        m.alias(alias, fromText(alias.key(), type, text, where), where);
      }
    }
    Map<String, Key> byEnvName = new LinkedHashMap<>();
    for (Key key : KEYS.values()) {
      byEnvName.put(key.env(), key);
    }
    Set<String> aliasNames = new HashSet<>();
    ENV_ALIASES.forEach(a -> aliasNames.add(a.form()));
    for (Map.Entry<String, String> e : env.entrySet()) {
      if (!e.getKey().startsWith(ENV_PREFIX) || aliasNames.contains(e.getKey())) {
        continue;
      }
      Key key = byEnvName.get(e.getKey());
      String removed = REMOVED.get(e.getKey());
      if (removed != null) {
        throw new ConfigException("environment variable " + e.getKey() + ": " + removed);
      }
      if (key == null) {
        warnings.add(
            "ignoring unknown environment variable "
                + e.getKey()
                + " (the HYPRSTREAM_* variables are listed in docs/server.md)");
        continue;
      }
      String where = "environment variable " + e.getKey();
      m.put(key.name(), fromText(key.name(), key.type(), e.getValue(), where), where);
    }
  }

  /** Parses a value given as text (environment) for {@code key}. */
  static Object fromText(String key, Type type, String text, String where) {
    String t = text.trim();
    switch (type) {
      case STRING:
        return text;
      case INT:
        try {
          return Integer.parseInt(t);
        } catch (NumberFormatException ex) {
          throw new ConfigException(where + ": " + key + " must be an integer, got '" + text + "'");
        }
      case LONG:
        try {
          return Long.parseLong(t);
        } catch (NumberFormatException ex) {
          throw new ConfigException(where + ": " + key + " must be an integer, got '" + text + "'");
        }
      case USERS:
        return usersFromText(t.isEmpty() ? List.of() : List.of(t.split(",")), where);
      case BOOL:
        if (t.equalsIgnoreCase("true") || t.equals("1") || t.equalsIgnoreCase("yes")) {
          return true;
        } else if (t.equalsIgnoreCase("false") || t.equals("0") || t.equalsIgnoreCase("no")) {
          return false;
        }
        throw new ConfigException(
            where + ": " + key + " must be true or false, got '" + text + "'");
      case MAP:
        return parseOptions(t, where + ": " + key);
      case LIST:
        List<String> items = new ArrayList<>();
        for (String item : t.split(",")) {
          if (!item.isBlank()) {
            items.add(item.trim());
          }
        }
        return items;
    }
    throw new AssertionError(type);
  }

  /**
   * Parses a window written {@code SIZE[:RETENTION]} ({@code 5m}, {@code 5m:10d}); without a
   * retention, the size's default.
   *
   * @throws IllegalArgumentException saying what is wrong with {@code text}
   */
  static WindowSpec parseWindow(String text) {
    String t = text.trim();
    int colon = t.indexOf(':');
    WindowSpec w = WindowSpec.parse(colon < 0 ? t : t.substring(0, colon));
    if (colon < 0) {
      return w;
    }
    return w.withRetention(WindowSpec.parseDuration(t.substring(colon + 1)));
  }

  /** {@code 5m:1d}: the form {@link #parseWindow} reads. */
  static String windowText(WindowSpec w) {
    return w.name() + ":" + durationText(w.retention());
  }

  /** Days up to a year ({@code 7d}, {@code 400d}), whole weeks past it ({@code 260w}). */
  private static String durationText(Duration d) {
    long s = d.getSeconds();
    if (s % (7 * 86400) == 0 && s > 365 * 86400L) {
      return s / (7 * 86400) + "w";
    } else if (s % 86400 == 0) {
      return s / 86400 + "d";
    } else if (s % 3600 == 0) {
      return s / 3600 + "h";
    } else if (s % 60 == 0) {
      return s / 60 + "m";
    }
    return s + "s";
  }

  /** Users from {@code [[auth.users]]} tables: name, password_hash, role (default read_only). */
  private static List<Authentication.User> usersFromToml(TomlArray array, String where) {
    List<Authentication.User> users = new ArrayList<>();
    for (int i = 0; i < array.size(); i++) {
      String at = where + ": auth.users[" + i + "]";
      Object item = array.get(i);
      if (!(item instanceof TomlTable)) {
        throw new ConfigException(at + " must be a table with name, password_hash and role");
      }
      TomlTable t = (TomlTable) item;
      for (String k : t.keySet()) {
        if (!Set.of("name", "password_hash", "role").contains(k)) {
          throw new ConfigException(
              at + ": unknown key '" + k + "' (known: name, password_hash, role)");
        }
      }
      Object role = t.get(List.of("role"));
      users.add(
          user(
              requiredString(t, "name", at),
              requiredString(t, "password_hash", at),
              role == null ? "read_only" : String.valueOf(role),
              at));
    }
    return users;
  }

  /** Users from {@code name:bcrypt-hash:role} entries (flags, the environment). */
  static List<Authentication.User> usersFromText(List<String> entries, String where) {
    List<Authentication.User> users = new ArrayList<>();
    for (String entry : entries) {
      String[] parts = entry.trim().split(":", -1);
      if (parts.length != 3) {
        throw new ConfigException(
            where
                + ": "
                + AUTH_USERS
                + " entries are NAME:BCRYPT_HASH:ROLE, got an entry with "
                + parts.length
                + " fields (password hash hidden)");
      }
      users.add(user(parts[0], parts[1], parts[2], where));
    }
    return users;
  }

  private static Authentication.User user(String name, String hash, String role, String where) {
    try {
      return new Authentication.User(name, hash, Authentication.Role.parse(role));
    } catch (IllegalArgumentException e) {
      throw new ConfigException(where + ": " + AUTH_USERS + ": " + e.getMessage(), e);
    }
  }

  /** Parses {@code k=v,k=v} (empty text: no options). */
  static Map<String, String> parseOptions(String text, String where) {
    Map<String, String> map = new LinkedHashMap<>();
    if (text.isEmpty()) {
      return map;
    }
    for (String pair : text.split(",")) {
      int eq = pair.indexOf('=');
      if (eq <= 0) {
        throw new ConfigException(where + ": '" + pair + "' is not key=value");
      }
      map.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
    }
    return map;
  }

  private static List<AggregationSpec> parseAggregations(TomlArray array, String origin) {
    List<AggregationSpec> out = new ArrayList<>();
    for (int i = 0; i < array.size(); i++) {
      String where = origin + ": aggregations[" + i + "]";
      Object item = array.get(i);
      if (!(item instanceof TomlTable)) {
        throw new ConfigException(where + " must be a table");
      }
      TomlTable t = (TomlTable) item;
      for (String k : t.keySet()) {
        if (!Set.of(
                "table",
                "time_column",
                "epoch_unit",
                "key_columns",
                "value_columns",
                "windows",
                "functions")
            .contains(k)) {
          throw new ConfigException(
              where
                  + ": unknown key '"
                  + k
                  + "' (known: table, time_column, epoch_unit, key_columns, value_columns,"
                  + " windows, functions)");
        }
      }
      try {
        AggregationSpec.Builder b =
            AggregationSpec.builder(requiredString(t, "table", where))
                .timeColumn(requiredString(t, "time_column", where));
        Object unit = t.get(List.of("epoch_unit"));
        if (unit != null) {
          b.epochUnit(epochUnit(String.valueOf(unit), where));
        }
        List<String> keys = strings(t, "key_columns", where);
        if (!keys.isEmpty()) {
          b.keyColumns(keys.toArray(new String[0]));
        }
        b.valueColumns(strings(t, "value_columns", where).toArray(new String[0]));
        List<String> windows = strings(t, "windows", where);
        if (!windows.isEmpty()) {
          List<WindowSpec> specs = new ArrayList<>();
          for (String w : windows) {
            try {
              specs.add(parseWindow(w));
            } catch (IllegalArgumentException e) {
              throw new ConfigException(
                  where + ".windows: '" + w + "': " + e.getMessage() + "; " + WINDOW_FORM, e);
            }
          }
          b.windows(specs);
        }
        List<String> functions = strings(t, "functions", where);
        if (!functions.isEmpty()) {
          Set<AggregateFunction> fs = EnumSet.noneOf(AggregateFunction.class);
          for (String f : functions) {
            try {
              fs.add(AggregateFunction.valueOf(f.toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
              throw new ConfigException(
                  where
                      + ".functions: unknown function '"
                      + f
                      + "' (known: count, sum, avg, min, max, stddev, slope, intercept)");
            }
          }
          b.functions(fs);
        }
        out.add(b.build());
      } catch (IllegalArgumentException | IllegalStateException e) {
        throw new ConfigException(where + ": " + e.getMessage(), e);
      }
    }
    return out;
  }

  private static ChronoUnit epochUnit(String text, String where) {
    switch (text.toLowerCase(Locale.ROOT)) {
      case "seconds":
        return ChronoUnit.SECONDS;
      case "millis":
        return ChronoUnit.MILLIS;
      case "micros":
        return ChronoUnit.MICROS;
      case "nanos":
        return ChronoUnit.NANOS;
      default:
        throw new ConfigException(
            where + ".epoch_unit: '" + text + "' is not seconds, millis, micros or nanos");
    }
  }

  private static String requiredString(TomlTable t, String key, String where) {
    Object v = t.get(List.of(key));
    if (!(v instanceof String) || ((String) v).isBlank()) {
      throw new ConfigException(where + "." + key + " is required and must be a string");
    }
    return (String) v;
  }

  private static List<String> strings(TomlTable t, String key, String where) {
    Object v = t.get(List.of(key));
    if (v == null) {
      return List.of();
    }
    if (!(v instanceof TomlArray)) {
      throw new ConfigException(where + "." + key + " must be an array of strings");
    }
    List<String> out = new ArrayList<>();
    for (Object o : ((TomlArray) v).toList()) {
      if (!(o instanceof String)) {
        throw new ConfigException(where + "." + key + " must be an array of strings");
      }
      out.add((String) o);
    }
    return out;
  }

  private void validate() {
    int port = intValue(SERVER_PORT);
    if (port < 0 || port > 65535) {
      throw bad(SERVER_PORT, "must be between 0 and 65535");
    }
    if (host().isBlank()) {
      throw bad(SERVER_HOST, "must not be empty");
    }
    if (!LOG_LEVELS.contains(logLevel())) {
      throw bad(SERVER_LOG_LEVEL, "must be one of trace, debug, info, warn, error, off");
    }
    if (intValue(CACHE_DURATION) <= 0) {
      throw bad(CACHE_DURATION, "must be a positive number of seconds");
    }
    if (longValue(CACHE_RESULT_BYTES) < 0) {
      throw bad(CACHE_RESULT_BYTES, "must be 0 (no result cache) or a number of bytes");
    }
    if (intValue(CACHE_RESULT_TTL) <= 0) {
      throw bad(CACHE_RESULT_TTL, "must be a positive number of seconds");
    }
    long memory = longValue(CACHE_MEMORY_BYTES);
    if (memory != 0 && memory < 1 << 20) {
      throw bad(CACHE_MEMORY_BYTES, "must be 0 (a quarter of the machine's memory) or >= 1 MiB");
    }
    long limit = longValue(LIMITS_DUCKDB_MEMORY_LIMIT_BYTES);
    if (memory != 0 && limit != 0 && limit < memory) {
      throw bad(
          LIMITS_DUCKDB_MEMORY_LIMIT_BYTES,
          "is below "
              + CACHE_MEMORY_BYTES
              + " = "
              + memory
              + ": DuckDB would run out of memory before eviction starts");
    }
    cacheEviction();
    maxStaleness();
    if (!cacheEngine().equals("duckdb")) {
      throw bad(CACHE_ENGINE, "must be duckdb (the only cache engine)");
    }
    if (cacheConnection().isBlank()) {
      throw bad(CACHE_CONNECTION, "must be \":memory:\" or a file name");
    }
    metricsWindows();
    String engine = engine();
    if (!ENGINES.contains(engine)) {
      throw bad(ENGINE_ENGINE, "must be one of none, duckdb, adbc, redis");
    }
    String database = string(ENGINE_DATABASE);
    if (!database.isEmpty() && !engine.equals("none")) {
      try {
        BackendStores.withDatabase(engineConnection(), database);
      } catch (IllegalArgumentException e) {
        throw bad(ENGINE_DATABASE, "cannot be used: " + String.valueOf(e.getMessage()));
      }
    }
    String driverPath = engineOptions().get("driver_path");
    if (driverPath != null) {
      try {
        BackendStores.NativeDriver.of(driverPath);
      } catch (IllegalArgumentException e) {
        throw badOption("driver_path", String.valueOf(e.getMessage()));
      }
      if (!engine.equals("adbc")) {
        throw badOption(
            "driver_path",
            "names an ADBC driver, but "
                + ENGINE_ENGINE
                + " = '"
                + engine
                + "' ("
                + sourceOf(ENGINE_ENGINE)
                + "); set engine = \"adbc\"");
      }
    }
    if (engine.equals("redis")) {
      try {
        RedisBackendStore.Settings.fromOptions(engineOptions());
      } catch (IllegalArgumentException e) {
        String message = String.valueOf(e.getMessage());
        throw badOption(message.substring(0, Math.max(0, message.indexOf(' '))), message);
      }
    }
    try {
      PoolSettings.fromOptions(engineOptions());
    } catch (IllegalArgumentException e) {
      String message = String.valueOf(e.getMessage());
      String option = "pool_max";
      for (String o : PoolSettings.OPTIONS) {
        if (message.startsWith(o)) {
          option = o;
        }
      }
      throw badOption(option, message);
    }
    if (!engine.equals("none") && engineConnection().isBlank()) {
      throw bad(
          ENGINE_CONNECTION,
          "is required with engine = "
              + engine
              + " (a DuckDB file for duckdb; postgresql://, jdbc:... or grpc://... for adbc;"
              + " redis://HOST:PORT/DB or rediss://... for redis)");
    }
    if (string(ENGINE_DATA_DIR).isBlank()) {
      throw bad(ENGINE_DATA_DIR, "must name a directory for the write-ahead log");
    }
    int httpPort = intValue(SERVER_HTTP_PORT);
    if (httpPort < -1 || httpPort > 65535) {
      throw bad(SERVER_HTTP_PORT, "must be between 0 and 65535, or -1 to turn HTTP off");
    }
    if (longValue(ENGINE_MAX_BACKLOG_BYTES) <= 0) {
      throw bad(ENGINE_MAX_BACKLOG_BYTES, "must be positive");
    }
    if (longValue(ENGINE_MAX_LOG_BYTES) < 1 << 20) {
      throw bad(ENGINE_MAX_LOG_BYTES, "must be at least 1048576 (1 MiB)");
    }
    if (intValue(ENGINE_MAX_LAG) <= 0) {
      throw bad(ENGINE_MAX_LAG, "must be a positive number of seconds");
    }
    String publish = publishWindows();
    if (!publish.isEmpty()
        && !publish.toLowerCase(Locale.ROOT).startsWith("redis://")
        && !publish.toLowerCase(Locale.ROOT).startsWith("rediss://")) {
      throw bad(
          PUBLISH_WINDOWS, "must be redis://HOST[:PORT][/DB] or rediss://..., or empty (off)");
    }
    if (intValue(PUBLISH_CLOSED_WINDOWS) < 0) {
      throw bad(PUBLISH_CLOSED_WINDOWS, "must be 0 or more");
    }
    if (string(PUBLISH_KEY_PREFIX).isEmpty()) {
      throw bad(PUBLISH_KEY_PREFIX, "must not be empty: keys of other programs would mix in");
    }
    if (intValue(ENGINE_SNAPSHOT_INTERVAL) < 0) {
      throw bad(ENGINE_SNAPSHOT_INTERVAL, "must be a number of seconds, 0 (no snapshots) or more");
    }
    if (intValue(SERVER_SHUTDOWN_GRACE) < 0) {
      throw bad(SERVER_SHUTDOWN_GRACE, "must be a number of seconds, 0 or more");
    }
    boolean cert = !string(TLS_CERT).isBlank();
    boolean key = !string(TLS_KEY).isBlank();
    if (cert != key) {
      throw bad(cert ? TLS_KEY : TLS_CERT, "is required with " + (cert ? TLS_CERT : TLS_KEY));
    }
    for (String file : List.of(TLS_CERT, TLS_KEY, TLS_CLIENT_CA)) {
      String f = string(file);
      if (!f.isBlank() && !Files.isReadable(Path.of(f))) {
        throw bad(file, "is not a readable file");
      }
    }
    if (!string(TLS_CLIENT_CA).isBlank() && !cert) {
      throw bad(TLS_CLIENT_CA, "needs tls.cert and tls.key (mutual TLS is TLS first)");
    }
    if (intValue(AUTH_TOKEN_TTL) <= 0) {
      throw bad(AUTH_TOKEN_TTL, "must be a positive number of seconds");
    }
    if (authEnabled() && users().isEmpty()) {
      throw bad(
          AUTH_ENABLED,
          "needs at least one user: [[auth.users]] in a file, HYPRSTREAM_AUTH_USERS or --auth-user"
              + " NAME:HASH:ROLE (make a hash with `hyprstream hash-password`)");
    }
    Set<String> names = new HashSet<>();
    for (Authentication.User u : users()) {
      if (!names.add(u.name())) {
        throw bad(AUTH_USERS, "defines user '" + u.name() + "' twice");
      }
    }
    for (String k : List.of(LIMITS_MAX_BATCH_BYTES, LIMITS_MAX_REQUEST_ROWS)) {
      if (longValue(k) <= 0) {
        throw bad(k, "must be positive");
      }
    }
    for (String k :
        List.of(
            LIMITS_MAX_CONCURRENT_QUERIES,
            LIMITS_QUERY_QUEUE_TIMEOUT,
            LIMITS_QUERY_TIMEOUT,
            LIMITS_STREAM_IDLE_TIMEOUT)) {
      if (intValue(k) <= 0) {
        throw bad(k, "must be positive");
      }
    }
    if (intValue(LIMITS_QUERY_QUEUE) < 0) {
      throw bad(LIMITS_QUERY_QUEUE, "must be 0 or more");
    }
    for (String k : List.of(LIMITS_MAX_MEMORY_BYTES, LIMITS_DUCKDB_MEMORY_LIMIT_BYTES)) {
      if (longValue(k) < 0) {
        throw bad(k, "must be 0 (derived from the machine) or a number of bytes");
      }
    }
    if (!cacheEnabled()) {
      throw bad(
          CACHE_ENABLED,
          "cannot be false: every answer is served through the cache (a pass-through mode is not"
              + " built)");
    }
  }

  /** {@code scheme://user:secret@host} becomes {@code scheme://user:(hidden)@host}. */
  static String hidePassword(String uri) {
    if (uri.toLowerCase(Locale.ROOT).startsWith("redis")) {
      uri = RedisConnection.masked(uri); // redis://SECRET@host: a lone name is a password
    }
    return uri.replaceAll("(://[^:/@]*):[^@/]*@", "$1:(hidden)@")
        .replaceAll("(?i)(password=)[^&;]*", "$1(hidden)");
  }

  private ConfigException bad(String key, String problem) {
    Object value = values.get(key);
    String shown =
        Objects.requireNonNull(KEYS.get(key)).secret()
            ? "(hidden)"
            : "'" + (value instanceof String ? hidePassword((String) value) : value) + "'";
    return new ConfigException(sourceOf(key) + ": " + key + " = " + shown + " " + problem);
  }

  /** A wrong engine option: the source, the option and its value, the problem. */
  private ConfigException badOption(String option, String problem) {
    String key = ENGINE_OPTIONS + "." + option;
    return new ConfigException(
        sourceOf(key) + ": " + key + " = '" + engineOptions().get(option) + "': " + problem);
  }

  private String string(String key) {
    return (String) Objects.requireNonNull(values.get(key), key);
  }

  private int intValue(String key) {
    return (Integer) Objects.requireNonNull(values.get(key), key);
  }

  private long longValue(String key) {
    Object v = Objects.requireNonNull(values.get(key), key);
    return v instanceof Integer ? (Integer) v : (Long) v;
  }

  /** The HTTP port for /health, /ready and /metrics; -1 when HTTP is off. */
  public int httpPort() {
    return intValue(SERVER_HTTP_PORT);
  }

  /** How long calls in flight get to finish at shutdown. */
  public Duration shutdownGrace() {
    return Duration.ofSeconds(intValue(SERVER_SHUTDOWN_GRACE));
  }

  /** The TLS certificate chain, or null for plaintext. */
  public @Nullable Path tlsCert() {
    return optionalPath(TLS_CERT);
  }

  public @Nullable Path tlsKey() {
    return optionalPath(TLS_KEY);
  }

  /** The CA that client certificates must be signed by (mutual TLS), or null. */
  public @Nullable Path tlsClientCa() {
    return optionalPath(TLS_CLIENT_CA);
  }

  private @Nullable Path optionalPath(String key) {
    String s = string(key);
    return s.isBlank() ? null : Path.of(s);
  }

  public boolean authEnabled() {
    return (Boolean) Objects.requireNonNull(values.get(AUTH_ENABLED));
  }

  public Duration tokenTtl() {
    return Duration.ofSeconds(intValue(AUTH_TOKEN_TTL));
  }

  /** The users; their hashes are secrets: never print them. */
  @SuppressWarnings("unchecked")
  public List<Authentication.User> users() {
    return (List<Authentication.User>) Objects.requireNonNull(values.get(AUTH_USERS));
  }

  /** The request limits; a {@code max_memory_bytes} of 0 keeps the one derived from the JVM. */
  public ServerLimits limits() {
    ServerLimits limits =
        ServerLimits.defaults()
            .withMaxBatchBytes(longValue(LIMITS_MAX_BATCH_BYTES))
            .withMaxRequestRows(longValue(LIMITS_MAX_REQUEST_ROWS))
            .withMaxConcurrentQueries(intValue(LIMITS_MAX_CONCURRENT_QUERIES))
            .withQueryQueue(intValue(LIMITS_QUERY_QUEUE))
            .withQueryQueueTimeout(Duration.ofSeconds(intValue(LIMITS_QUERY_QUEUE_TIMEOUT)))
            .withQueryTimeout(Duration.ofSeconds(intValue(LIMITS_QUERY_TIMEOUT)))
            .withStreamIdleTimeout(Duration.ofSeconds(intValue(LIMITS_STREAM_IDLE_TIMEOUT)));
    long arrowBytes = longValue(LIMITS_MAX_MEMORY_BYTES);
    return arrowBytes == 0 ? limits : limits.withMaxMemoryBytes(arrowBytes);
  }

  /** DuckDB's memory_limit in bytes; 0 derives it from the cache's memory budget. */
  public long duckDbMemoryLimitBytes() {
    return longValue(LIMITS_DUCKDB_MEMORY_LIMIT_BYTES);
  }

  public String host() {
    return string(SERVER_HOST);
  }

  public int port() {
    return intValue(SERVER_PORT);
  }

  public String logLevel() {
    return string(SERVER_LOG_LEVEL).toLowerCase(Locale.ROOT);
  }

  public boolean cacheEnabled() {
    return (Boolean) Objects.requireNonNull(values.get(CACHE_ENABLED));
  }

  public String cacheEngine() {
    return string(CACHE_ENGINE);
  }

  /** {@code ":memory:"} or a file name. */
  public String cacheConnection() {
    return string(CACHE_CONNECTION);
  }

  public Duration cacheDuration() {
    return Duration.ofSeconds(intValue(CACHE_DURATION));
  }

  /** Bytes of query results kept; 0 turns the result cache off. */
  public long resultCacheBytes() {
    return longValue(CACHE_RESULT_BYTES);
  }

  public Duration resultCacheTtl() {
    return Duration.ofSeconds(intValue(CACHE_RESULT_TTL));
  }

  /** The memory budget of hot raw rows, or null for the library default. */
  public @Nullable Long cacheMemory() {
    long bytes = longValue(CACHE_MEMORY_BYTES);
    return bytes == 0 ? null : bytes;
  }

  public EvictionPolicy cacheEviction() {
    try {
      return EvictionPolicy.valueOf(string(CACHE_EVICTION).trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw bad(CACHE_EVICTION, "must be one of time, lru, lfu");
    }
  }

  /** Allowed staleness of kept results, by table. */
  @SuppressWarnings("unchecked")
  public Map<String, Duration> maxStaleness() {
    Map<String, Duration> out = new LinkedHashMap<>();
    for (Map.Entry<String, String> e :
        ((Map<String, String>) Objects.requireNonNull(values.get(CACHE_MAX_STALENESS)))
            .entrySet()) {
      long seconds;
      try {
        seconds = Long.parseLong(e.getValue().trim());
      } catch (NumberFormatException ex) {
        seconds = -1;
      }
      if (seconds < 0) {
        throw bad(
            CACHE_MAX_STALENESS,
            "has " + e.getKey() + " = '" + e.getValue() + "': must be a number of seconds >= 0");
      }
      out.put(e.getKey(), Duration.ofSeconds(seconds));
    }
    return out;
  }

  public String engine() {
    return string(ENGINE_ENGINE).toLowerCase(Locale.ROOT);
  }

  public String engineConnection() {
    return string(ENGINE_CONNECTION);
  }

  /** The database named apart from the connection ({@code --db-name}); empty when none. */
  public String engineDatabase() {
    return string(ENGINE_DATABASE);
  }

  /** The connection with {@link #engineDatabase} filled in, as the backend is opened with. */
  public String backendConnection() {
    return BackendStores.withDatabase(engineConnection(), engineDatabase());
  }

  /** The windows of the built-in {@code metrics} aggregation, in the order given. */
  @SuppressWarnings("unchecked")
  public List<WindowSpec> metricsWindows() {
    List<String> specs = (List<String>) Objects.requireNonNull(values.get(METRICS_WINDOWS));
    if (specs.isEmpty()) {
      throw bad(METRICS_WINDOWS, "names no window; " + WINDOW_FORM);
    }
    List<WindowSpec> out = new ArrayList<>();
    Set<Duration> sizes = new HashSet<>();
    for (String spec : specs) {
      WindowSpec w;
      try {
        w = parseWindow(spec);
      } catch (IllegalArgumentException e) {
        throw bad(METRICS_WINDOWS, "has '" + spec + "': " + e.getMessage() + "; " + WINDOW_FORM);
      }
      if (!sizes.add(w.size())) {
        throw bad(METRICS_WINDOWS, "names the window size " + w.name() + " twice; keep one");
      }
      out.add(w);
    }
    return out;
  }

  public String engineUsername() {
    return string(ENGINE_USERNAME);
  }

  /** The backend password; never print it. */
  public String enginePassword() {
    return string(ENGINE_PASSWORD);
  }

  /** Whether ingest is acknowledged only after the backend commit. */
  public boolean synchronousWriteThrough() {
    return (Boolean) Objects.requireNonNull(values.get(ENGINE_SYNCHRONOUS));
  }

  /** The write-through backlog's memory bound in bytes; past it, batches spill to the log. */
  public long maxBacklogBytes() {
    return longValue(ENGINE_MAX_BACKLOG_BYTES);
  }

  /** The write-ahead log's disk bound in bytes; past it, ingest is refused. */
  public long maxLogBytes() {
    return longValue(ENGINE_MAX_LOG_BYTES);
  }

  /** How far write-through may fall behind before the server is unready. */
  public Duration maxLag() {
    return Duration.ofSeconds(intValue(ENGINE_MAX_LAG));
  }

  /** How often window state is snapshotted (with a backend); zero takes none. */
  /** The Redis URI window views are published to; empty when publication is off. */
  public String publishWindows() {
    return string(PUBLISH_WINDOWS);
  }

  /** How many windows before the newest each published hash holds. */
  public int publishClosedWindows() {
    return intValue(PUBLISH_CLOSED_WINDOWS);
  }

  /** Put before every published key. */
  public String publishKeyPrefix() {
    return string(PUBLISH_KEY_PREFIX);
  }

  public Duration snapshotInterval() {
    return Duration.ofSeconds(intValue(ENGINE_SNAPSHOT_INTERVAL));
  }

  /** Where the write-ahead log lives when a backend is configured. */
  public String dataDir() {
    return string(ENGINE_DATA_DIR);
  }

  @SuppressWarnings("unchecked")
  public Map<String, String> engineOptions() {
    return Collections.unmodifiableMap(
        (Map<String, String>) Objects.requireNonNull(values.get(ENGINE_OPTIONS)));
  }

  /** Window aggregates declared for tables other than {@code metrics}. */
  public List<AggregationSpec> aggregations() {
    return aggregations;
  }

  /**
   * Where the value of {@code key} (or {@code engine.options.NAME}) came from: a file and line, a
   * variable, a flag, an alias of one of these, or the built-in defaults.
   */
  public String sourceOf(String key) {
    return sources.getOrDefault(key, "built-in defaults");
  }

  /**
   * The effective configuration as {@code key = value} pairs in documentation order, secrets
   * hidden: one pair per engine option ({@code engine.options.NAME}), the metrics windows with
   * their retention.
   */
  public Map<String, String> shown() {
    Map<String, String> out = new LinkedHashMap<>();
    for (Key key : KEYS.values()) {
      String name = key.name();
      Object v = values.get(name);
      if (name.equals(ENGINE_OPTIONS)) {
        engineOptions()
            .forEach(
                (k, value) ->
                    out.put(
                        name + "." + k,
                        k.toLowerCase(Locale.ROOT).contains("password") ? "(hidden)" : value));
        continue;
      }
      String text;
      if (name.equals(ENGINE_PASSWORD)) {
        text = string(name).isEmpty() ? "" : "(hidden)";
      } else if (name.equals(AUTH_USERS)) {
        text = users() + " (password hashes hidden)";
      } else if (name.equals(ENGINE_CONNECTION) || name.equals(PUBLISH_WINDOWS)) {
        text = hidePassword(string(name));
      } else if (name.equals(METRICS_WINDOWS)) {
        List<String> windows = new ArrayList<>();
        metricsWindows().forEach(w -> windows.add(windowText(w)));
        text = String.join(",", windows);
      } else {
        text = String.valueOf(v);
      }
      out.put(name, text);
    }
    return out;
  }

  /** Every key and value, with the password hidden. */
  @Override
  public String toString() {
    return "Config" + shown() + " aggregations=" + aggregations;
  }
}
