package io.hyprstream.flight.internal.cli;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.EvictionPolicy;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.backend.BackendStores;
import io.hyprstream.backend.PoolSettings;
import io.hyprstream.flight.Authentication;
import io.hyprstream.flight.ServerLimits;
import java.io.IOException;
import java.nio.file.Files;
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
import org.tomlj.Toml;
import org.tomlj.TomlArray;
import org.tomlj.TomlParseResult;
import org.tomlj.TomlTable;

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

  /** The declared keys, by name (see {@link ConfigKeys}). */
  private static final Map<String, ConfigKey> KEYS = ConfigKeys.BY_NAME;

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

  /** The values being merged, where each came from, and the aggregations. */
  private static final class Merge {
    final Map<String, Object> values = new LinkedHashMap<>();
    final Map<String, String> sources = new LinkedHashMap<>();
    final List<AggregationSpec> aggregations = new ArrayList<>();

    /** Starts from every key's declared default, which names no source. */
    Merge() {
      for (ConfigKey key : KEYS.values()) {
        Object value = key.defaultValue();
        values.put(
            key.name(), value instanceof Map ? new LinkedHashMap<>((Map<?, ?>) value) : value);
      }
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
      ConfigKey key = KEYS.get(name);
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
        m.aggregations.addAll(AggregationsToml.parse((TomlArray) sectionValue, origin));
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
        ConfigKey k = KEYS.get(key);
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
        ConfigKey.Type type =
            alias.option() != null
                ? ConfigKey.Type.STRING
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

  private static Object fromToml(String key, ConfigKey.Type type, Object raw, String where) {
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

  private static String describe(ConfigKey.Type type) {
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
        ConfigKey.Type type =
            alias.option() != null
                ? ConfigKey.Type.STRING
                : Objects.requireNonNull(KEYS.get(alias.key())).type();
        String where = "alias environment variable " + alias.form();
        m.alias(alias, fromText(alias.key(), type, text, where), where);
      }
    }
    Map<String, ConfigKey> byEnvName = new LinkedHashMap<>();
    for (ConfigKey key : KEYS.values()) {
      byEnvName.put(key.env(), key);
    }
    Set<String> aliasNames = new HashSet<>();
    ENV_ALIASES.forEach(a -> aliasNames.add(a.form()));
    for (Map.Entry<String, String> e : env.entrySet()) {
      if (!e.getKey().startsWith(ENV_PREFIX) || aliasNames.contains(e.getKey())) {
        continue;
      }
      ConfigKey key = byEnvName.get(e.getKey());
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
  static Object fromText(String key, ConfigKey.Type type, String text, String where) {
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
              AggregationsToml.requiredString(t, "name", at),
              AggregationsToml.requiredString(t, "password_hash", at),
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

  /** Checks each value against its key's rule, then the rules between keys. */
  private void validate() {
    for (ConfigKey key : KEYS.values()) {
      String problem = key.check().problem(Objects.requireNonNull(values.get(key.name())));
      if (problem != null) {
        throw bad(key.name(), problem);
      }
    }
    long memory = longValue(CACHE_MEMORY_BYTES);
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
    metricsWindows();
    String engine = engine();
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
              + " (a DuckDB file for duckdb; postgresql://, jdbc:... or grpc://... for adbc)");
    }
    boolean cert = !string(TLS_CERT).isBlank();
    boolean key = !string(TLS_KEY).isBlank();
    if (cert != key) {
      throw bad(cert ? TLS_KEY : TLS_CERT, "is required with " + (cert ? TLS_CERT : TLS_KEY));
    }
    if (!string(TLS_CLIENT_CA).isBlank() && !cert) {
      throw bad(TLS_CLIENT_CA, "needs tls.cert and tls.key (mutual TLS is TLS first)");
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
  }

  /** {@code scheme://user:secret@host} becomes {@code scheme://user:(hidden)@host}. */
  static String hidePassword(String uri) {
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
      if (name.equals(ENGINE_PASSWORD)) {
        text = string(name).isEmpty() ? "" : "(hidden)";
      } else if (name.equals(AUTH_USERS)) {
        text = users() + " (password hashes hidden)";
      } else if (name.equals(ENGINE_CONNECTION)) {
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
