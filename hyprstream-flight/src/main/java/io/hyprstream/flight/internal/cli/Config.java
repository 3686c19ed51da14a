package io.hyprstream.flight.internal.cli;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.EvictionPolicy;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.backend.BackendStores;
import io.hyprstream.backend.redis.RedisConnection;
import io.hyprstream.flight.policy.Authentication;
import io.hyprstream.flight.policy.ServerLimits;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The server's configuration, merged from, later winning: the declared defaults, {@code
 * /etc/hyprstream/config.toml} (when present), {@code --config FILE}, environment variables, then
 * command-line flags. Every key and value is checked; a wrong one is a {@link ConfigException}
 * naming the key, the value, where it came from and what to write instead.
 *
 * <p>Each key is declared once, in {@link ConfigKeys}: its name ({@code section.name}), type,
 * default, flag, secrecy, check and doc line; the environment variable is {@code HYPRSTREAM_} and
 * the key in upper case with {@code _} for the dot, except {@code engine.engine}, which is {@code
 * HYPRSTREAM_ENGINE}. {@code engine.options} is a TOML table, {@code k=v,k=v} in the environment,
 * and merges option by option across sources. The constants below are the keys' names.
 *
 * <p>The forms Hyprstream (Rust) documented ({@code [storage]}, {@code [adbc]}, {@code
 * [adbc.pool]}, {@code [cache] duration_secs}, {@code ADBC_*} and {@code HYPRSTREAM_ADBC_*}
 * variables, {@code --db-*} flags) are {@linkplain ConfigLoader.Alias aliases} of these keys;
 * {@link #sourceOf} says which alias set a value.
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
  public static final String SERVER_HTTP_PORT = "server.http_port";
  public static final String SERVER_SHUTDOWN_GRACE = "server.shutdown_grace";
  public static final String SERVER_CONSOLE = "server.console";
  public static final String PUBLISH_WINDOWS = "publish.windows";
  public static final String PUBLISH_CLOSED_WINDOWS = "publish.closed_windows";
  public static final String PUBLISH_KEY_PREFIX = "publish.key_prefix";
  public static final String CLUSTER_KAFKA = "cluster.kafka";
  public static final String CLUSTER_NAME = "cluster.name";
  public static final String CLUSTER_PARTITIONS = "cluster.partitions";
  public static final String CLUSTER_CHECKPOINT_INTERVAL = "cluster.checkpoint_interval";
  public static final String CLUSTER_DIRECT_READS = "cluster.direct_reads";
  public static final String CLUSTER_ADVERTISE = "cluster.advertise";
  public static final String CLUSTER_PEER_USER = "cluster.peer_user";
  public static final String CLUSTER_PEER_PASSWORD = "cluster.peer_password";
  public static final String TLS_CERT = "tls.cert";
  public static final String TLS_KEY = "tls.key";
  public static final String TLS_CLIENT_CA = "tls.client_ca";
  public static final String AUTH_ENABLED = "auth.enabled";
  public static final String AUTH_TOKEN_TTL = "auth.token_ttl";
  public static final String AUTH_USERS = "auth.users";
  public static final String LIMITS_MAX_BATCH_BYTES = "limits.max_batch_bytes";
  public static final String LIMITS_MAX_REQUEST_ROWS = "limits.max_request_rows";
  public static final String LIMITS_INGEST_IDS_REMEMBERED = "limits.ingest_ids_remembered";
  public static final String LIMITS_MAX_CONCURRENT_QUERIES = "limits.max_concurrent_queries";
  public static final String LIMITS_QUERY_QUEUE = "limits.query_queue";
  public static final String LIMITS_QUERY_QUEUE_TIMEOUT = "limits.query_queue_timeout";
  public static final String LIMITS_QUERY_TIMEOUT = "limits.query_timeout";
  public static final String LIMITS_STREAM_IDLE_TIMEOUT = "limits.stream_idle_timeout";
  public static final String LIMITS_MAX_MEMORY_BYTES = "limits.max_memory_bytes";
  public static final String LIMITS_DUCKDB_MEMORY_LIMIT_BYTES = "limits.duckdb_memory_limit_bytes";

  /** The system-wide configuration file, read when it exists. */
  public static final Path SYSTEM_FILE = Path.of("/etc/hyprstream/config.toml");

  /** The declared keys, by name (see {@link ConfigKeys}). */
  static final Map<String, ConfigKey> KEYS = ConfigKeys.BY_NAME;

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
  static ConfigKey.Type typeOf(String key) {
    return Objects.requireNonNull(KEYS.get(key), key).type();
  }

  /** The flag that sets {@code key}, without {@code --}; null when only files and env set it. */
  static @Nullable String flagName(String key) {
    return Objects.requireNonNull(KEYS.get(key), key).flag();
  }

  /** Every key's declaration, in documentation order. */
  static List<ConfigKey> declared() {
    return ConfigKeys.ALL;
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
    return ConfigLoader.load(systemFile, configFile, env, flags, warnings);
  }

  /** A configuration of merged {@code values}, checked. */
  static Config validated(
      Map<String, Object> values, Map<String, String> sources, List<AggregationSpec> aggregations) {
    Config config = new Config(values, sources, aggregations);
    ConfigRules.check(config);
    return config;
  }

  /** {@code scheme://user:secret@host} becomes {@code scheme://user:(hidden)@host}. */
  static String hidePassword(String uri) {
    if (uri.toLowerCase(Locale.ROOT).startsWith("redis")) {
      uri = RedisConnection.masked(uri); // redis://SECRET@host: a lone name is a password
    }
    return uri.replaceAll("(://[^:/@]*):[^@/]*@", "$1:(hidden)@")
        .replaceAll("(?i)(password=)[^&;]*", "$1(hidden)");
  }

  /** A wrong value: the source, the key and its value (hidden when secret), the problem. */
  ConfigException bad(String key, String problem) {
    Object value = values.get(key);
    String shown =
        Objects.requireNonNull(KEYS.get(key)).secret()
            ? "(hidden)"
            : "'" + (value instanceof String ? hidePassword((String) value) : value) + "'";
    return new ConfigException(sourceOf(key) + ": " + key + " = " + shown + " " + problem);
  }

  /** A wrong engine option: the source, the option and its value, the problem. */
  ConfigException badOption(String option, String problem) {
    String key = ENGINE_OPTIONS + "." + option;
    return new ConfigException(
        sourceOf(key) + ": " + key + " = '" + engineOptions().get(option) + "': " + problem);
  }

  /** The merged value of {@code key}, of its declared type. */
  Object value(String key) {
    return Objects.requireNonNull(values.get(key), key);
  }

  /** The value of {@code key}, for the rules that read keys without an accessor. */
  String string(String key) {
    return (String) Objects.requireNonNull(values.get(key), key);
  }

  int intValue(String key) {
    return (Integer) Objects.requireNonNull(values.get(key), key);
  }

  long longValue(String key) {
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

  /** Whether the HTTP port serves the web console at {@code /} and its API under {@code /api/}. */
  public boolean console() {
    return (Boolean) Objects.requireNonNull(values.get(SERVER_CONSOLE));
  }

  /** The Redis URI window views are published to; empty when publication is off. */
  public String publishWindows() {
    return string(PUBLISH_WINDOWS);
  }

  /** The Kafka bootstrap servers of the cluster's ingest log; empty for a single instance. */
  public String clusterKafka() {
    return string(CLUSTER_KAFKA);
  }

  /** The cluster's name: its Kafka topic and consumer group are named after it. */
  public String clusterName() {
    return string(CLUSTER_NAME);
  }

  /** The cluster's key partitions. */
  public int clusterPartitions() {
    return intValue(CLUSTER_PARTITIONS);
  }

  /** Whether key lookups another instance owns send the client to that instance. */
  public boolean clusterDirectReads() {
    return (Boolean) Objects.requireNonNull(values.get(CLUSTER_DIRECT_READS));
  }

  /** Seconds between partition checkpoints; 0 takes none. */
  public int clusterCheckpointIntervalSeconds() {
    return intValue(CLUSTER_CHECKPOINT_INTERVAL);
  }

  /** The Flight location other instances reach this one at; empty: the server's bound address. */
  public String clusterAdvertise() {
    return string(CLUSTER_ADVERTISE);
  }

  /** The user this instance signs in as to read the other instances; empty: anonymously. */
  public String clusterPeerUser() {
    return string(CLUSTER_PEER_USER);
  }

  public String clusterPeerPassword() {
    return string(CLUSTER_PEER_PASSWORD);
  }

  /** How many windows before the newest each published hash holds. */
  public int publishClosedWindows() {
    return intValue(PUBLISH_CLOSED_WINDOWS);
  }

  /** Put before every published key. */
  public String publishKeyPrefix() {
    return string(PUBLISH_KEY_PREFIX);
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
    ServerLimits.Builder limits =
        ServerLimits.builder()
            .maxBatchBytes(longValue(LIMITS_MAX_BATCH_BYTES))
            .maxRequestRows(longValue(LIMITS_MAX_REQUEST_ROWS))
            .maxConcurrentQueries(intValue(LIMITS_MAX_CONCURRENT_QUERIES))
            .queryQueue(intValue(LIMITS_QUERY_QUEUE))
            .queryQueueTimeout(Duration.ofSeconds(intValue(LIMITS_QUERY_QUEUE_TIMEOUT)))
            .queryTimeout(Duration.ofSeconds(intValue(LIMITS_QUERY_TIMEOUT)))
            .streamIdleTimeout(Duration.ofSeconds(intValue(LIMITS_STREAM_IDLE_TIMEOUT)));
    long arrowBytes = longValue(LIMITS_MAX_MEMORY_BYTES);
    if (arrowBytes != 0) {
      limits.maxMemoryBytes(arrowBytes);
    }
    return limits.build();
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
      throw bad(METRICS_WINDOWS, "names no window; " + AggregationsToml.WINDOW_FORM);
    }
    List<WindowSpec> out = new ArrayList<>();
    Set<Duration> sizes = new HashSet<>();
    for (String spec : specs) {
      WindowSpec w;
      try {
        w = AggregationsToml.parseWindow(spec);
      } catch (IllegalArgumentException e) {
        throw bad(
            METRICS_WINDOWS,
            "has '" + spec + "': " + e.getMessage() + "; " + AggregationsToml.WINDOW_FORM);
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
  /** How many client ingest ids each table remembers (see Hyprstream.ingest with an id). */
  public int ingestIdsRemembered() {
    return intValue(LIMITS_INGEST_IDS_REMEMBERED);
  }

  public long maxLogBytes() {
    return longValue(ENGINE_MAX_LOG_BYTES);
  }

  /** How far write-through may fall behind before the server is unready. */
  public Duration maxLag() {
    return Duration.ofSeconds(intValue(ENGINE_MAX_LAG));
  }

  /** How often window state is snapshotted (with a backend); zero takes none. */
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
    for (ConfigKey key : KEYS.values()) {
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
      if (name.equals(AUTH_USERS)) {
        text = users() + " (password hashes hidden)";
      } else if (key.secret()) {
        text = string(name).isEmpty() ? "" : "(hidden)";
      } else if (name.equals(ENGINE_CONNECTION) || name.equals(PUBLISH_WINDOWS)) {
        text = hidePassword(string(name));
      } else if (name.equals(METRICS_WINDOWS)) {
        List<String> windows = new ArrayList<>();
        metricsWindows().forEach(w -> windows.add(AggregationsToml.windowText(w)));
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
