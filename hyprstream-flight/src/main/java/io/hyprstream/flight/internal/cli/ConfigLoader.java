package io.hyprstream.flight.internal.cli;

import static io.hyprstream.flight.internal.cli.Config.CACHE_DURATION;
import static io.hyprstream.flight.internal.cli.Config.ENGINE_CONNECTION;
import static io.hyprstream.flight.internal.cli.Config.ENGINE_DATABASE;
import static io.hyprstream.flight.internal.cli.Config.ENGINE_ENGINE;
import static io.hyprstream.flight.internal.cli.Config.ENGINE_OPTIONS;
import static io.hyprstream.flight.internal.cli.Config.ENGINE_PASSWORD;
import static io.hyprstream.flight.internal.cli.Config.ENGINE_USERNAME;

import io.hyprstream.api.AggregationSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.tomlj.Toml;
import org.tomlj.TomlArray;
import org.tomlj.TomlParseResult;
import org.tomlj.TomlTable;

/**
 * Reads a {@link Config} from its sources, later winning: every key's declared default, the system
 * file, {@code --config FILE}, the environment, then flags; each value remembers where it came
 * from. Unknown and removed keys stop start-up; the Hyprstream (Rust) forms are read as {@linkplain
 * Alias aliases} of the keys.
 */
final class ConfigLoader {
  private ConfigLoader() {}

  private static final String ENV_PREFIX = "HYPRSTREAM_";

  /** The declared keys, by name. */
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
   * @param systemFile read when it exists ({@link Config#SYSTEM_FILE} outside tests)
   * @param configFile {@code --config FILE}, which must exist, or null
   * @param env the environment ({@link System#getenv()} outside tests)
   * @param flags values from command-line flags, already typed (String, Integer, Boolean, List or
   *     Map): by configuration key, or by alias flag name with its {@code --} ({@code --db-url})
   * @param warnings receives notes that do not stop start-up (unknown HYPRSTREAM_ variables)
   * @throws ConfigException naming the first wrong key or value
   */
  static Config load(
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
    return Config.validated(m.values, m.sources, List.copyOf(m.aggregations));
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
        String canonical = alias.option() == null ? "--" + Config.flagName(alias.key()) : null;
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
          m.put(key, ConfigValues.fromToml(key, k.type(), raw, where), where);
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
                : ConfigValues.fromToml(alias.form(), type, raw, where);
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
                + ConfigValues.tomlText(raw));
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

  private static void applyEnv(Map<String, String> env, Merge m, List<String> warnings) {
    for (Alias alias : ENV_ALIASES) {
      String text = env.get(alias.form());
      if (text != null) {
        ConfigKey.Type type =
            alias.option() != null
                ? ConfigKey.Type.STRING
                : Objects.requireNonNull(KEYS.get(alias.key())).type();
        String where = "alias environment variable " + alias.form();
        m.alias(alias, ConfigValues.fromText(alias.key(), type, text, where), where);
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
      m.put(key.name(), ConfigValues.fromText(key.name(), key.type(), e.getValue(), where), where);
    }
  }
}
