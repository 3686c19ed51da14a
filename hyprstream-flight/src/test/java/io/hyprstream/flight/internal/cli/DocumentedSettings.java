package io.hyprstream.flight.internal.cli;

import at.favre.lib.crypto.bcrypt.BCrypt;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The settings {@code docs/server.md} documents, read from its tables (the Flags table and the
 * Hyprstream (Rust) compatibility table), with a valid sample value for each and the files,
 * environments and command lines that set them all at once. Tests use it so that the documentation
 * and the code cannot drift apart.
 */
public final class DocumentedSettings {
  private DocumentedSettings() {}

  /** A row of the Flags table; any cell but one may be empty. */
  public record FlagRow(
      @Nullable String flag, boolean negatable, @Nullable String key, @Nullable String env) {}

  /** Where a Hyprstream (Rust) form is written. */
  public enum Kind {
    TOML,
    ENV,
    FLAG
  }

  /**
   * A row of the compatibility table: the form ({@code [adbc] url}, {@code ADBC_URL}, {@code
   * --db-url}), and the key it is read as ({@code engine.connection}, {@code
   * engine.options.pool_max}, or {@code engine.options} for a whole table).
   */
  public record AliasRow(String form, Kind kind, String target) {}

  private static final Pattern CODE = Pattern.compile("`([^`]*)`");

  /** {@code docs/server.md}, found from the working directory up. */
  public static Path serverMd() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null) {
      Path md = dir.resolve("docs/server.md");
      if (Files.isRegularFile(md)) {
        return md;
      }
      dir = dir.getParent();
    }
    throw new IllegalStateException(
        "docs/server.md not found above " + Path.of("").toAbsolutePath());
  }

  /**
   * The body rows of the first table under {@code heading}, cells trimmed, {@code \|} kept as |.
   */
  static List<List<String>> table(Path md, String heading) {
    List<String> lines;
    try {
      lines = Files.readAllLines(md, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int at = lines.indexOf(heading);
    if (at < 0) {
      throw new IllegalStateException(md + " has no heading '" + heading + "'");
    }
    int i = at + 1;
    while (i < lines.size() && !lines.get(i).startsWith("|")) {
      i++;
    }
    i += 2; // the header and the |---| line
    List<List<String>> rows = new ArrayList<>();
    for (; i < lines.size() && lines.get(i).startsWith("|"); i++) {
      String line = lines.get(i).replace("\\|", "\u0000");
      String[] cells = line.substring(1, line.length() - 1).split("\\|", -1);
      List<String> row = new ArrayList<>();
      for (String c : cells) {
        row.add(c.replace('\u0000', '|').trim());
      }
      rows.add(row);
    }
    if (rows.isEmpty()) {
      throw new IllegalStateException(md + ": no table rows under '" + heading + "'");
    }
    return rows;
  }

  private static @Nullable String code(String cell) {
    Matcher m = CODE.matcher(cell);
    return m.find() ? m.group(1) : null;
  }

  /** The Flags table of {@code md}. */
  public static List<FlagRow> flags(Path md) {
    List<FlagRow> out = new ArrayList<>();
    for (List<String> row : table(md, "## Flags")) {
      String flag = code(row.get(0));
      boolean negatable = false;
      if (flag != null) {
        flag = flag.split(" ")[0];
        if (flag.startsWith("--[no-]")) {
          negatable = true;
          flag = "--" + flag.substring("--[no-]".length());
        }
      }
      String key = code(row.get(1));
      if (key != null) {
        key = key.replace("[", "").replace("]", "");
      }
      String env = code(row.get(2));
      if (env != null) {
        env = env.split("=")[0];
      }
      out.add(new FlagRow(flag, negatable, key, env));
    }
    return out;
  }

  /** The compatibility table of {@code md}. */
  public static List<AliasRow> aliases(Path md) {
    List<AliasRow> out = new ArrayList<>();
    for (List<String> row : table(md, "## Compatibility with Hyprstream (Rust) configuration")) {
      String form = code(row.get(0));
      String target = code(row.get(1));
      if (form == null || target == null) {
        throw new IllegalStateException("a compatibility row without `form` or `key`: " + row);
      }
      Kind kind = form.startsWith("[") ? Kind.TOML : form.startsWith("--") ? Kind.FLAG : Kind.ENV;
      out.add(new AliasRow(form, kind, target));
    }
    return out;
  }

  private static final String HASH =
      BCrypt.withDefaults().hashToString(4, "documented".toCharArray());

  /** A valid value for {@code key} (or {@code engine.options.NAME}), as text (flag, variable). */
  public static String sample(String key) {
    switch (key) {
      case Config.SERVER_HOST:
        return "127.0.0.1";
      case Config.SERVER_PORT:
      case Config.SERVER_HTTP_PORT:
        return "0";
      case Config.SERVER_LOG_LEVEL:
        return "info";
      case Config.CACHE_ENABLED:
        return "true";
      case Config.CACHE_ENGINE:
        return "duckdb";
      case Config.CACHE_CONNECTION:
        return ":memory:";
      case Config.CACHE_DURATION:
        return "7200";
      case Config.CACHE_RESULT_BYTES:
        return "1048576";
      case Config.CACHE_RESULT_TTL:
        return "60";
      case Config.CACHE_MEMORY_BYTES:
        return "67108864";
      case Config.CACHE_EVICTION:
        return "lru";
      case Config.CACHE_MAX_STALENESS:
        return "metrics=5";
      case Config.METRICS_WINDOWS:
        return "5m:10d,1h";
      case Config.ENGINE_ENGINE:
        return "none";
      case Config.ENGINE_CONNECTION:
        return "postgresql://127.0.0.1:5432/test";
      case Config.ENGINE_DATABASE:
        return "test";
      case Config.ENGINE_USERNAME:
        return "postgres";
      case Config.ENGINE_PASSWORD:
        return "documented-secret";
      case Config.ENGINE_OPTIONS:
        return "sslmode=disable";
      case "engine.options.driver_path":
        return "/usr/local/lib/libadbc_driver_postgresql.so";
      case "engine.options.pool_max":
        return "5";
      case "engine.options.pool_min":
        return "2";
      case "engine.options.connect_timeout":
        return "7";
      case Config.ENGINE_DATA_DIR:
        return "documented-data";
      case Config.ENGINE_SYNCHRONOUS:
      case Config.AUTH_ENABLED:
      case Config.SERVER_CONSOLE:
        return "false";
      case Config.SERVER_SHUTDOWN_GRACE:
        return "3";
      case Config.ENGINE_MAX_BACKLOG_BYTES:
        return "33554432";
      case Config.ENGINE_MAX_LOG_BYTES:
        return "67108864";
      case Config.ENGINE_MAX_LAG:
        return "15";
      case Config.ENGINE_SNAPSHOT_INTERVAL:
        return "30";
      case Config.PUBLISH_WINDOWS:
        return "redis://127.0.0.1:6379/15";
      case Config.PUBLISH_CLOSED_WINDOWS:
        return "2";
      case Config.PUBLISH_KEY_PREFIX:
        return "documented:";
      case Config.CLUSTER_KAFKA:
        return ""; // off: a documented start needs no Kafka (ClusterIT runs one)
      case Config.CLUSTER_NAME:
        return "documented";
      case Config.CLUSTER_PARTITIONS:
        return "12";
      case Config.CLUSTER_CHECKPOINT_INTERVAL:
        return "120";
      case Config.CLUSTER_DIRECT_READS:
        return "true";
      case Config.CLUSTER_ADVERTISE:
        return "grpc://documented.example:50051";
      case Config.CLUSTER_PEER_USER:
        return "peer";
      case Config.CLUSTER_PEER_PASSWORD:
        return "peer-secret";
      case Config.TLS_CERT:
      case Config.TLS_KEY:
      case Config.TLS_CLIENT_CA:
        return "";
      case Config.AUTH_TOKEN_TTL:
        return "600";
      case Config.AUTH_USERS:
        return "documented:" + HASH + ":read_only";
      case Config.LIMITS_MAX_BATCH_BYTES:
        return "16777216";
      case Config.LIMITS_MAX_REQUEST_ROWS:
        return "1000000";
      case Config.LIMITS_INGEST_IDS_REMEMBERED:
        return "5000";
      case Config.LIMITS_MAX_CONCURRENT_QUERIES:
        return "4";
      case Config.LIMITS_QUERY_QUEUE:
        return "8";
      case Config.LIMITS_QUERY_QUEUE_TIMEOUT:
        return "5";
      case Config.LIMITS_QUERY_TIMEOUT:
        return "60";
      case Config.LIMITS_STREAM_IDLE_TIMEOUT:
        return "45";
      case Config.LIMITS_MAX_MEMORY_BYTES:
      case Config.LIMITS_DUCKDB_MEMORY_LIMIT_BYTES:
        return "0";
      default:
        throw new IllegalArgumentException(
            "no sample value for documented key '" + key + "': add one to DocumentedSettings");
    }
  }

  /**
   * The banner key that shows {@code key} once set with its sample: an engine option per line
   * ({@code engine.options.sslmode}).
   */
  public static String bannerKey(String key) {
    if (key.equals(Config.ENGINE_OPTIONS)) {
      return key + "." + sample(key).split("=")[0];
    }
    return key;
  }

  /** The value the banner shows for {@code key} set with its sample (null: not compared). */
  public static @Nullable String bannerValue(String key) {
    switch (Config.typeOf(key.startsWith("engine.options.") ? Config.ENGINE_OPTIONS : key)) {
      case MAP:
      case USERS:
        return null;
      default:
        ConfigKey declared = Config.KEYS.get(key);
        if (declared != null && declared.secret()) {
          return "(hidden)";
        }
        if (key.equals(Config.METRICS_WINDOWS)) {
          return "5m:10d,1h:31d";
        }
        return sample(key);
    }
  }

  /** A TOML file setting each of {@code keys} to its sample. */
  public static String toml(List<String> keys) {
    Map<String, StringBuilder> sections = new LinkedHashMap<>();
    StringBuilder tables = new StringBuilder();
    for (String key : keys) {
      String section = key.substring(0, key.indexOf('.'));
      String name = key.substring(key.indexOf('.') + 1);
      String v = sample(key);
      StringBuilder sb = sections.computeIfAbsent(section, s -> new StringBuilder());
      switch (Config.typeOf(key)) {
        case STRING:
          sb.append(name).append(" = ").append(quote(v)).append('\n');
          break;
        case INT:
        case LONG:
        case BOOL:
          sb.append(name).append(" = ").append(v).append('\n');
          break;
        case LIST:
          List<String> items = new ArrayList<>();
          for (String item : v.split(",")) {
            items.add(quote(item));
          }
          sb.append(name).append(" = [").append(String.join(", ", items)).append("]\n");
          break;
        case MAP:
          tables.append('[').append(key).append("]\n");
          for (String pair : v.split(",")) {
            String[] kv = pair.split("=", 2);
            tables.append(kv[0]).append(" = ").append(quote(kv[1])).append('\n');
          }
          break;
        case USERS:
          String[] u = v.split(":");
          tables
              .append("[[")
              .append(key)
              .append("]]\nname = ")
              .append(quote(u[0]))
              .append("\npassword_hash = ")
              .append(quote(u[1]))
              .append("\nrole = ")
              .append(quote(u[2]))
              .append('\n');
          break;
      }
    }
    StringBuilder out = new StringBuilder();
    sections.forEach((s, body) -> out.append('[').append(s).append("]\n").append(body));
    return out.append(tables).toString();
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  /** The command-line arguments that set each documented flag's key to its sample. */
  public static List<String> args(List<FlagRow> rows) {
    List<String> args = new ArrayList<>();
    for (FlagRow r : rows) {
      if (r.flag() == null || r.key() == null) {
        continue;
      }
      if (r.negatable()) {
        args.add(
            Boolean.parseBoolean(sample(r.key())) ? r.flag() : "--no-" + r.flag().substring(2));
      } else {
        args.add(r.flag());
        args.add(sample(r.key()));
      }
    }
    return args;
  }

  /** The environment that sets each documented variable's key to its sample. */
  public static Map<String, String> env(List<FlagRow> rows) {
    Map<String, String> env = new TreeMap<>();
    for (FlagRow r : rows) {
      if (r.env() != null && r.key() != null) {
        env.put(r.env(), sample(r.key()));
      }
    }
    return env;
  }

  /**
   * The compatibility rows split so that no two in a group set the same key, or a flag and the
   * alias of that flag (which are refused together).
   */
  public static List<List<AliasRow>> groups(List<AliasRow> rows) {
    List<List<AliasRow>> groups = new ArrayList<>();
    for (AliasRow r : rows) {
      List<AliasRow> home = null;
      for (List<AliasRow> g : groups) {
        boolean clash = false;
        for (AliasRow other : g) {
          clash |= other.kind() != r.kind() || overlaps(other.target(), r.target());
        }
        if (!clash) {
          home = g;
          break;
        }
      }
      if (home == null) {
        home = new ArrayList<>();
        groups.add(home);
      }
      home.add(r);
    }
    return groups;
  }

  private static boolean overlaps(String a, String b) {
    return a.equals(b) || a.startsWith(b + ".") || b.startsWith(a + ".");
  }

  /** The banner key showing {@code row}'s value: a whole options table shows as its option. */
  public static String bannerKey(AliasRow row) {
    return row.target().equals(Config.ENGINE_OPTIONS)
        ? bannerKey(Config.ENGINE_OPTIONS)
        : row.target();
  }

  /** The source the banner names for {@code row} set in {@code file} (TOML) or directly. */
  public static String aliasSource(AliasRow row) {
    switch (row.kind()) {
      case TOML:
        String form = row.form();
        if (!form.contains(" ")) { // [adbc.options] is the options key of [adbc]
          String inner = form.substring(1, form.length() - 1);
          int dot = inner.lastIndexOf('.');
          form = "[" + inner.substring(0, dot) + "] " + inner.substring(dot + 1);
        }
        return "alias " + form + " in ";
      case ENV:
        return "alias environment variable " + row.form();
      case FLAG:
        return row.form().startsWith("--engine-options")
            ? "flag --engine-options"
            : "alias flag " + row.form().split(" ")[0];
    }
    throw new AssertionError(row);
  }

  private static String sample(String key, Map<String, String> overrides) {
    String v = overrides.get(key);
    return v != null ? v : sample(key);
  }

  /**
   * The canonical keys an alias group leaves unset that a backend needs (engine, connection, user),
   * with {@code overrides} over the samples; for a group to start a server with.
   */
  public static Map<String, String> baseline(List<AliasRow> group, Map<String, String> overrides) {
    Map<String, String> out = new LinkedHashMap<>();
    out.put(Config.ENGINE_ENGINE, "adbc");
    out.put(Config.ENGINE_CONNECTION, sample(Config.ENGINE_CONNECTION, overrides));
    out.put(Config.ENGINE_USERNAME, sample(Config.ENGINE_USERNAME, overrides));
    for (AliasRow r : group) {
      out.remove(r.target());
      if (r.target().equals(Config.ENGINE_CONNECTION)) {
        out.remove(Config.ENGINE_ENGINE); // the alias selects adbc itself
      }
    }
    return out;
  }

  /** A TOML file writing each TOML row of {@code rows} with its target's sample. */
  public static String aliasToml(List<AliasRow> rows, Map<String, String> overrides) {
    Map<String, StringBuilder> sections = new LinkedHashMap<>();
    for (AliasRow r : rows) {
      if (r.kind() != Kind.TOML) {
        continue;
      }
      String form = r.form();
      if (!form.contains(" ")) { // a whole table: [adbc.options]
        String section = form.substring(1, form.length() - 1);
        String[] kv = sample(Config.ENGINE_OPTIONS).split("=", 2);
        sections
            .computeIfAbsent(section, s -> new StringBuilder())
            .append(kv[0])
            .append(" = ")
            .append(quote(kv[1]))
            .append('\n');
        continue;
      }
      String section = form.substring(1, form.indexOf(']'));
      String name = form.substring(form.indexOf(' ') + 1);
      String value;
      if (r.target().equals(Config.ENGINE_OPTIONS)) {
        String[] kv = sample(Config.ENGINE_OPTIONS).split("=", 2);
        value = "{ " + kv[0] + " = " + quote(kv[1]) + " }";
      } else if (section.equals("adbc.pool")
          || (!r.target().startsWith("engine.options.")
              && Config.typeOf(r.target()) != ConfigKey.Type.STRING)) {
        value = sample(r.target(), overrides);
      } else {
        value = quote(sample(r.target(), overrides));
      }
      sections
          .computeIfAbsent(section, s -> new StringBuilder())
          .append(name)
          .append(" = ")
          .append(value)
          .append('\n');
    }
    StringBuilder out = new StringBuilder();
    sections.forEach((s, body) -> out.append('[').append(s).append("]\n").append(body));
    return out.toString();
  }

  /** The environment setting each ENV row of {@code rows} to its target's sample. */
  public static Map<String, String> aliasEnv(List<AliasRow> rows, Map<String, String> overrides) {
    Map<String, String> env = new TreeMap<>();
    for (AliasRow r : rows) {
      if (r.kind() == Kind.ENV) {
        env.put(r.form(), sample(r.target(), overrides));
      }
    }
    return env;
  }

  /** The arguments giving each FLAG row of {@code rows} its target's sample. */
  public static List<String> aliasArgs(List<AliasRow> rows, Map<String, String> overrides) {
    List<String> args = new ArrayList<>();
    for (AliasRow r : rows) {
      if (r.kind() != Kind.FLAG) {
        continue;
      }
      String flag = r.form().split(" ")[0];
      args.add(flag);
      if (flag.equals("--engine-options")) {
        String option = r.target().substring("engine.options.".length());
        args.add(option + "=" + sample(r.target(), overrides));
      } else {
        args.add(sample(r.target(), overrides));
      }
    }
    return args;
  }
}
