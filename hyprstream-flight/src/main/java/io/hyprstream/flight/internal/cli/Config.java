package io.hyprstream.flight.internal.cli;

import io.hyprstream.api.AggregateFunction;
import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.EvictionPolicy;
import io.hyprstream.api.WindowSpec;
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
 * /etc/hyprstream/config.toml} (when present), {@code --config FILE}, {@code HYPRSTREAM_*}
 * environment variables, then command-line flags. Every key and value is checked; a wrong one is a
 * {@link ConfigException} naming the key, the value and where it came from.
 *
 * <p>Keys are {@code section.name}; the environment variable of a key is {@code HYPRSTREAM_} and
 * the key in upper case with {@code _} for the dot ({@code server.port} is {@code
 * HYPRSTREAM_SERVER_PORT}), except {@code engine.engine}, which is {@code HYPRSTREAM_ENGINE}.
 * {@code engine.options} is a TOML table, or {@code k=v,k=v} in the environment.
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
  public static final String ENGINE_ENGINE = "engine.engine";
  public static final String ENGINE_CONNECTION = "engine.connection";
  public static final String ENGINE_USERNAME = "engine.username";
  public static final String ENGINE_PASSWORD = "engine.password";
  public static final String ENGINE_OPTIONS = "engine.options";
  public static final String ENGINE_DATA_DIR = "engine.data_dir";
  public static final String ENGINE_SYNCHRONOUS = "engine.synchronous";
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
  public static final String LIMITS_MAX_MEMORY_BYTES = "limits.max_memory_bytes";
  public static final String LIMITS_DUCKDB_MEMORY_LIMIT_BYTES = "limits.duckdb_memory_limit_bytes";

  private static final Set<String> SECTIONS =
      Set.of("server", "cache", "engine", "tls", "auth", "limits");

  /** The system-wide configuration file, read when it exists. */
  public static final Path SYSTEM_FILE = Path.of("/etc/hyprstream/config.toml");

  private static final String ENV_PREFIX = "HYPRSTREAM_";
  private static final Set<String> LOG_LEVELS =
      Set.of("trace", "debug", "info", "warn", "error", "off");
  private static final Set<String> ENGINES = Set.of("none", "duckdb", "adbc");

  /** The type of a key's value. */
  enum Type {
    STRING,
    INT,
    LONG,
    BOOL,
    MAP,
    /** Users: TOML {@code [[auth.users]]} tables, or {@code name:hash:role,...} as text. */
    USERS
  }

  private static final Map<String, Type> KEYS = new LinkedHashMap<>();

  static {
    KEYS.put(SERVER_HOST, Type.STRING);
    KEYS.put(SERVER_PORT, Type.INT);
    KEYS.put(SERVER_LOG_LEVEL, Type.STRING);
    KEYS.put(CACHE_ENABLED, Type.BOOL);
    KEYS.put(CACHE_ENGINE, Type.STRING);
    KEYS.put(CACHE_CONNECTION, Type.STRING);
    KEYS.put(CACHE_DURATION, Type.INT);
    KEYS.put(CACHE_RESULT_BYTES, Type.LONG);
    KEYS.put(CACHE_RESULT_TTL, Type.INT);
    KEYS.put(CACHE_MEMORY_BYTES, Type.LONG);
    KEYS.put(CACHE_EVICTION, Type.STRING);
    KEYS.put(CACHE_MAX_STALENESS, Type.MAP);
    KEYS.put(ENGINE_ENGINE, Type.STRING);
    KEYS.put(ENGINE_CONNECTION, Type.STRING);
    KEYS.put(ENGINE_USERNAME, Type.STRING);
    KEYS.put(ENGINE_PASSWORD, Type.STRING);
    KEYS.put(ENGINE_OPTIONS, Type.MAP);
    KEYS.put(ENGINE_DATA_DIR, Type.STRING);
    KEYS.put(ENGINE_SYNCHRONOUS, Type.BOOL);
    KEYS.put(SERVER_HTTP_PORT, Type.INT);
    KEYS.put(SERVER_SHUTDOWN_GRACE, Type.INT);
    KEYS.put(TLS_CERT, Type.STRING);
    KEYS.put(TLS_KEY, Type.STRING);
    KEYS.put(TLS_CLIENT_CA, Type.STRING);
    KEYS.put(AUTH_ENABLED, Type.BOOL);
    KEYS.put(AUTH_TOKEN_TTL, Type.INT);
    KEYS.put(AUTH_USERS, Type.USERS);
    KEYS.put(LIMITS_MAX_BATCH_BYTES, Type.LONG);
    KEYS.put(LIMITS_MAX_REQUEST_ROWS, Type.LONG);
    KEYS.put(LIMITS_MAX_CONCURRENT_QUERIES, Type.INT);
    KEYS.put(LIMITS_QUERY_QUEUE, Type.INT);
    KEYS.put(LIMITS_QUERY_QUEUE_TIMEOUT, Type.INT);
    KEYS.put(LIMITS_QUERY_TIMEOUT, Type.INT);
    KEYS.put(LIMITS_MAX_MEMORY_BYTES, Type.LONG);
    KEYS.put(LIMITS_DUCKDB_MEMORY_LIMIT_BYTES, Type.LONG);
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
    if (key.equals(ENGINE_ENGINE)) {
      return ENV_PREFIX + "ENGINE";
    }
    return ENV_PREFIX + key.replace('.', '_').toUpperCase(Locale.ROOT);
  }

  /**
   * Merges every source and checks the result.
   *
   * @param systemFile read when it exists ({@link #SYSTEM_FILE} outside tests)
   * @param configFile {@code --config FILE}, which must exist, or null
   * @param env the environment ({@link System#getenv()} outside tests)
   * @param flags values from command-line flags by key, already typed (String, Integer, Boolean or
   *     Map)
   * @param warnings receives notes that do not stop start-up (unknown HYPRSTREAM_ variables)
   * @throws ConfigException naming the first wrong key or value
   */
  public static Config load(
      Path systemFile,
      @Nullable Path configFile,
      Map<String, String> env,
      Map<String, Object> flags,
      List<String> warnings) {
    Map<String, Object> values = new LinkedHashMap<>();
    Map<String, String> sources = new LinkedHashMap<>();
    List<AggregationSpec> aggregations = new ArrayList<>();

    try (InputStream in = Config.class.getResourceAsStream("defaults.toml")) {
      if (in == null) {
        throw new IllegalStateException("defaults.toml is missing from the jar");
      }
      applyToml(Toml.parse(in), "built-in defaults", values, sources, aggregations);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the built-in defaults", e);
    }
    if (Files.isRegularFile(systemFile)) {
      applyFile(systemFile, values, sources, aggregations);
    }
    if (configFile != null) {
      if (!Files.isRegularFile(configFile)) {
        throw new ConfigException("--config " + configFile + ": no such file");
      }
      applyFile(configFile, values, sources, aggregations);
    }
    applyEnv(env, values, sources, warnings);
    for (Map.Entry<String, Object> flag : flags.entrySet()) {
      if (!KEYS.containsKey(flag.getKey())) {
        throw new IllegalArgumentException("no such key: " + flag.getKey());
      }
      values.put(flag.getKey(), flag.getValue());
      sources.put(flag.getKey(), "flag --" + flagName(flag.getKey()));
    }
    Config config = new Config(values, sources, List.copyOf(aggregations));
    config.validate();
    return config;
  }

  /** The flag that sets {@code key}. */
  static String flagName(String key) {
    switch (key) {
      case SERVER_HOST:
        return "host";
      case SERVER_PORT:
        return "port";
      case SERVER_LOG_LEVEL:
        return "log-level";
      case CACHE_ENABLED:
        return "enable-cache";
      case CACHE_DURATION:
        return "cache-duration";
      case ENGINE_ENGINE:
        return "engine";
      case SERVER_HTTP_PORT:
        return "http-port";
      case SERVER_SHUTDOWN_GRACE:
        return "shutdown-grace";
      case AUTH_ENABLED:
        return "auth";
      case AUTH_USERS:
        return "auth-user";
      default:
        if (key.startsWith("limits.")) {
          return key.substring("limits.".length()).replace('_', '-');
        }
        return key.replace('.', '-').replace('_', '-');
    }
  }

  private static void applyFile(
      Path file,
      Map<String, Object> values,
      Map<String, String> sources,
      List<AggregationSpec> aggregations) {
    TomlParseResult toml;
    try {
      toml = Toml.parse(file);
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot read: " + e.getMessage(), e);
    }
    applyToml(toml, file.toString(), values, sources, aggregations);
  }

  private static void applyToml(
      TomlParseResult toml,
      String origin,
      Map<String, Object> values,
      Map<String, String> sources,
      List<AggregationSpec> aggregations) {
    if (toml.hasErrors()) {
      throw new ConfigException(origin + ": " + toml.errors().get(0).toString());
    }
    for (String section : toml.keySet()) {
      Object sectionValue = toml.get(List.of(section));
      if (section.equals("aggregations")) {
        if (!(sectionValue instanceof TomlArray)) {
          throw new ConfigException(
              origin + ": aggregations must be an array of tables ([[aggregations]])");
        }
        // A later file's aggregations replace an earlier file's.
        aggregations.clear();
        aggregations.addAll(parseAggregations((TomlArray) sectionValue, origin));
        continue;
      }
      if (!(sectionValue instanceof TomlTable) || !SECTIONS.contains(section)) {
        throw new ConfigException(
            origin
                + ": unknown key '"
                + section
                + "' (sections are [server], [cache], [engine], [tls], [auth], [limits] and"
                + " [[aggregations]])");
      }
      TomlTable table = (TomlTable) sectionValue;
      for (String name : table.keySet()) {
        String key = section + "." + name;
        Type type = KEYS.get(key);
        String where = origin + " (line " + table.inputPositionOf(List.of(name)).line() + ")";
        if (type == null) {
          throw new ConfigException(
              where
                  + ": unknown key '"
                  + key
                  + "'; known keys: "
                  + String.join(", ", KEYS.keySet()));
        }
        Object raw = Objects.requireNonNull(table.get(List.of(name)));
        values.put(key, fromToml(key, type, raw, where));
        sources.put(key, where);
      }
    }
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
        return "a string";
      case INT:
      case LONG:
        return "an integer";
      case USERS:
        return "an array of [[auth.users]] tables (name, password_hash, role)";
      case BOOL:
        return "true or false";
      case MAP:
        return "a table of options";
    }
    throw new AssertionError(type);
  }

  private static void applyEnv(
      Map<String, String> env,
      Map<String, Object> values,
      Map<String, String> sources,
      List<String> warnings) {
    Map<String, String> byEnvName = new LinkedHashMap<>();
    for (String key : KEYS.keySet()) {
      byEnvName.put(envName(key), key);
    }
    for (Map.Entry<String, String> e : env.entrySet()) {
      if (!e.getKey().startsWith(ENV_PREFIX)) {
        continue;
      }
      String key = byEnvName.get(e.getKey());
      if (key == null) {
        warnings.add("ignoring unknown environment variable " + e.getKey());
        continue;
      }
      String where = "environment variable " + e.getKey();
      values.put(key, fromText(key, Objects.requireNonNull(KEYS.get(key)), e.getValue(), where));
      sources.put(key, where);
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
    }
    throw new AssertionError(type);
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
            specs.add(WindowSpec.parse(w));
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
    String engine = engine();
    if (!ENGINES.contains(engine)) {
      throw bad(ENGINE_ENGINE, "must be one of none, duckdb, adbc");
    }
    if (!engine.equals("none") && engineConnection().isBlank()) {
      throw bad(
          ENGINE_CONNECTION,
          "is required with engine = "
              + engine
              + " (a DuckDB file for duckdb; postgresql://, jdbc:... or grpc://... for adbc)");
    }
    if (string(ENGINE_DATA_DIR).isBlank()) {
      throw bad(ENGINE_DATA_DIR, "must name a directory for the write-ahead log");
    }
    int httpPort = intValue(SERVER_HTTP_PORT);
    if (httpPort < -1 || httpPort > 65535) {
      throw bad(SERVER_HTTP_PORT, "must be between 0 and 65535, or -1 to turn HTTP off");
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
    java.util.Set<String> names = new java.util.HashSet<>();
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
        List.of(LIMITS_MAX_CONCURRENT_QUERIES, LIMITS_QUERY_QUEUE_TIMEOUT, LIMITS_QUERY_TIMEOUT)) {
      if (intValue(k) <= 0) {
        throw bad(k, "must be positive");
      }
    }
    if (intValue(LIMITS_QUERY_QUEUE) < 0) {
      throw bad(LIMITS_QUERY_QUEUE, "must be 0 or more");
    }
    for (String k : List.of(LIMITS_MAX_MEMORY_BYTES, LIMITS_DUCKDB_MEMORY_LIMIT_BYTES)) {
      if (longValue(k) < 0) {
        throw bad(k, "must be 0 (no bound) or a number of bytes");
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
    return uri.replaceAll("(://[^:/@]*):[^@/]*@", "$1:(hidden)@")
        .replaceAll("(?i)(password=)[^&;]*", "$1(hidden)");
  }

  private ConfigException bad(String key, String problem) {
    Object value = values.get(key);
    String shown =
        key.equals(ENGINE_PASSWORD) || key.equals(AUTH_USERS)
            ? "(hidden)"
            : "'" + (value instanceof String ? hidePassword((String) value) : value) + "'";
    return new ConfigException(
        sources.getOrDefault(key, "configuration") + ": " + key + " = " + shown + " " + problem);
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

  /** The request limits. */
  public ServerLimits limits() {
    return ServerLimits.defaults()
        .withMaxBatchBytes(longValue(LIMITS_MAX_BATCH_BYTES))
        .withMaxRequestRows(longValue(LIMITS_MAX_REQUEST_ROWS))
        .withMaxConcurrentQueries(intValue(LIMITS_MAX_CONCURRENT_QUERIES))
        .withQueryQueue(intValue(LIMITS_QUERY_QUEUE))
        .withQueryQueueTimeout(Duration.ofSeconds(intValue(LIMITS_QUERY_QUEUE_TIMEOUT)))
        .withQueryTimeout(Duration.ofSeconds(intValue(LIMITS_QUERY_TIMEOUT)))
        .withMaxMemoryBytes(longValue(LIMITS_MAX_MEMORY_BYTES));
  }

  /** DuckDB's memory_limit in bytes; 0 keeps DuckDB's default. */
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

  /** Where the value of {@code key} came from: a file and line, a variable, a flag, defaults. */
  public String sourceOf(String key) {
    return sources.getOrDefault(key, "built-in defaults");
  }

  /** Every key and value, with the password hidden. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("Config{");
    for (String key : KEYS.keySet()) {
      Object v = values.get(key);
      if (key.equals(ENGINE_PASSWORD)) {
        v = string(key).isEmpty() ? "" : "(hidden)";
      } else if (key.equals(AUTH_USERS)) {
        v = users() + " (password hashes hidden)";
      } else if (key.equals(ENGINE_CONNECTION)) {
        v = hidePassword(string(key));
      }
      sb.append(key).append('=').append(v).append(", ");
    }
    return sb.append("aggregations=").append(aggregations).append('}').toString();
  }
}
