package io.hyprstream.backend;

import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.backend.redis.RedisBackendStore;
import io.hyprstream.backend.redis.RedisConnection;
import io.hyprstream.internal.classpath.OptionalClients;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.apache.arrow.memory.BufferAllocator;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Opens the {@link BackendStore} an engine name and a connection string select. */
public final class BackendStores {
  private static final Logger LOG = LoggerFactory.getLogger(BackendStores.class);

  private BackendStores() {}

  /**
   * A native ADBC driver that Hyprstream reaches from Java instead: {@code driver_path} naming one
   * selects the Java path for that database, since ADBC Java 0.20.0 cannot load native drivers.
   */
  public enum NativeDriver {
    POSTGRESQL("libadbc_driver_postgresql", "PostgreSQL through pgjdbc (binary COPY)"),
    SQLITE("libadbc_driver_sqlite", "SQLite through sqlite-jdbc and ADBC's JDBC adapter"),
    DUCKDB("libduckdb", "DuckDB through duckdb_jdbc (a DuckDB file)"),
    FLIGHT_SQL("libadbc_driver_flightsql", "Flight SQL through ADBC's Java Flight SQL driver");

    private final String library;
    private final String javaPath;

    NativeDriver(String library, String javaPath) {
      this.library = library;
      this.javaPath = javaPath;
    }

    /** The native library's usual name, without extension. */
    public String library() {
      return library;
    }

    /** What is used instead, in words. */
    public String javaPath() {
      return javaPath;
    }

    /**
     * The driver a {@code driver_path} (or a bare name: {@code postgresql}, {@code sqlite}, {@code
     * duckdb}, {@code flightsql}) names. Only the file name counts: the file need not exist.
     *
     * @throws IllegalArgumentException naming the path and the drivers that can be used
     */
    public static NativeDriver of(String driverPath) {
      String name = driverPath.trim().replace('\\', '/');
      name = name.substring(name.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT);
      // libadbc_driver_postgresql.so, .so.1.2, .dylib, adbc_driver_postgresql.dll
      name = name.replaceFirst("\\.(so(\\.[0-9]+)*|dylib|dll)$", "");
      if (name.startsWith("lib")) {
        name = name.substring(3);
      }
      if (name.startsWith("adbc_driver_")) {
        name = name.substring("adbc_driver_".length());
      }
      switch (name) {
        case "postgresql":
        case "postgres":
          return POSTGRESQL;
        case "sqlite":
        case "sqlite3":
          return SQLITE;
        case "duckdb":
          return DUCKDB;
        case "flightsql":
        case "flight_sql":
          return FLIGHT_SQL;
        default:
          throw new IllegalArgumentException(
              "driver_path '"
                  + driverPath
                  + "' is not a driver Hyprstream can use: it reaches PostgreSQL"
                  + " (libadbc_driver_postgresql.so), SQLite (libadbc_driver_sqlite.so), DuckDB"
                  + " (libduckdb.so or libadbc_driver_duckdb.so) and Flight SQL"
                  + " (libadbc_driver_flightsql.so) from Java (also .dylib/.dll); for any other"
                  + " database use a jdbc: connection with its JDBC driver on the class path");
      }
    }
  }

  /**
   * {@code connection} with {@code database} as its database: a {@code postgresql://} or {@code
   * jdbc:postgresql://} URL without one gets {@code /database}; one naming the same database is
   * returned as it is.
   *
   * @throws IllegalArgumentException when the URL names another database, or is not a URL that
   *     names databases
   */
  public static String withDatabase(String connection, String database) {
    if (database.isEmpty()) {
      return connection;
    }
    String lower = connection.toLowerCase(Locale.ROOT);
    String prefix =
        lower.startsWith("jdbc:postgresql://")
            ? "jdbc:"
            : lower.startsWith("postgresql://") || lower.startsWith("postgres://") ? "" : null;
    if (prefix == null) {
      throw new IllegalArgumentException(
          "a database name applies to postgresql://HOST[:PORT] URLs, not to '"
              + masked(connection)
              + "'; name the database in the connection itself");
    }
    URI uri = parseUri(connection.substring(prefix.length()));
    String path = uri.getRawPath() == null ? "" : uri.getRawPath();
    String named = path.startsWith("/") ? path.substring(1) : path;
    if (named.equals(database)) {
      return connection;
    }
    if (!named.isEmpty()) {
      throw new IllegalArgumentException(
          "the connection '"
              + masked(connection)
              + "' names database '"
              + named
              + "' and the database name says '"
              + database
              + "'; give one of them");
    }
    String rest = connection.substring(prefix.length());
    int q = rest.indexOf('?');
    String head = q < 0 ? rest : rest.substring(0, q);
    String query = q < 0 ? "" : rest.substring(q);
    if (head.endsWith("/")) {
      head = head.substring(0, head.length() - 1);
    }
    return prefix + head + "/" + database + query;
  }

  /**
   * Opens a backend.
   *
   * <ul>
   *   <li>{@code engine = "duckdb"}: {@code connection} is a file path; a {@link
   *       DuckDbBackendStore} (parent directories are created).
   *   <li>{@code engine = "adbc"}: {@code postgresql://[user[:password]@]host[:port]/db[?params]}
   *       (or {@code postgres://}) opens a {@link PostgresBackendStore} (binary COPY); {@code
   *       jdbc:...} an {@link AdbcBackendStore} over ADBC's JDBC adapter; {@code grpc://} or {@code
   *       grpc+tls://} an {@link AdbcBackendStore} over ADBC's Flight SQL driver.
   *   <li>{@code engine = "redis"}: {@code redis://[user[:password]@]host[:port][/db]} ({@code
   *       rediss://} for TLS) opens a {@link RedisBackendStore}; options {@code key_prefix}, {@code
   *       stream_maxlen}, {@code stream_retention} (seconds), {@code connect_timeout} and {@code
   *       socket_timeout} (seconds, the command time-out).
   * </ul>
   *
   * <p>{@code username} and {@code password}, when not null, override those in the URI. Options:
   * {@code schema}, {@code copy_format} ({@code binary}|{@code text}) and {@code copy_parallelism}
   * (connections a group is appended over at once, default 1) for PostgreSQL, {@code dialect} for
   * ADBC, {@code pool_max}, {@code pool_min} and {@code connect_timeout} for the JDBC connection
   * pool ({@link PoolSettings}); the rest go to the driver (pgjdbc/JDBC properties, Flight SQL
   * options). {@code driver_path} naming a native ADBC driver for PostgreSQL, SQLite, DuckDB or
   * Flight SQL selects the Java path for that database ({@link NativeDriver}), logged in one line;
   * a connection without a scheme is then read as that database's (a file for SQLite and DuckDB,
   * {@code host:port} for Flight SQL). See {@code docs/backends.md}.
   *
   * @throws BackendUnavailableException when the connection string is malformed, the backend cannot
   *     be reached or the credentials are refused; the message says which, and never contains the
   *     password
   * @throws IllegalArgumentException when {@code engine}, the {@code driver_path} or an option
   *     value is unknown
   */
  public static BackendStore open(
      String engine,
      String connection,
      Map<String, String> options,
      @Nullable String username,
      @Nullable String password,
      BufferAllocator allocator) {
    Map<String, String> rest = new LinkedHashMap<>(options);
    String driverPath = rest.remove("driver_path");
    PoolSettings pool = PoolSettings.fromOptions(rest);
    PoolSettings.OPTIONS.forEach(rest::remove);
    switch (engine.toLowerCase(Locale.ROOT)) {
      case "duckdb":
        return openDuckDb(connection, allocator);
      case "redis":
        {
          OptionalClients.LETTUCE.require("a Redis backend");
          RedisBackendStore.Settings settings = RedisBackendStore.Settings.fromOptions(rest);
          RedisBackendStore.Settings.OPTIONS.forEach(rest::remove);
          if (!rest.isEmpty()) {
            throw new IllegalArgumentException(
                "the redis engine takes the options "
                    + RedisBackendStore.Settings.OPTIONS
                    + ", connect_timeout and socket_timeout, not "
                    + rest.keySet());
          }
          return RedisBackendStore.open(
              RedisConnection.open(
                  connection, username, password, pool.connectTimeout(), pool.socketTimeout()),
              settings,
              allocator);
        }
      case "adbc":
        if (driverPath != null) {
          NativeDriver driver = NativeDriver.of(driverPath);
          LOG.info(
              "event=native_driver_mapped driver_path={} uses=\"{}\" : ADBC Java cannot load"
                  + " native drivers; the Java path reaches the same database",
              driverPath,
              driver.javaPath());
          return openNative(driver, connection, rest, pool, username, password, allocator);
        }
        return openAdbc(connection, rest, pool, username, password, allocator);
      default:
        throw new IllegalArgumentException(
            "engine must be 'duckdb', 'adbc' or 'redis', not '" + engine + "'");
    }
  }

  private static BackendStore openDuckDb(String connection, BufferAllocator allocator) {
    if (connection.isBlank() || connection.contains("://")) {
      throw new BackendUnavailableException(
          "the duckdb engine takes a file path as its connection, not '" + masked(connection) + "'",
          null);
    }
    Path file =
        Path.of(connection.startsWith("jdbc:duckdb:") ? connection.substring(12) : connection);
    Path parent = file.toAbsolutePath().getParent();
    try {
      if (parent != null) {
        Files.createDirectories(parent);
      }
    } catch (IOException e) {
      throw new BackendUnavailableException(
          "cannot create the directory of DuckDB file " + file + ": " + e.getMessage(), e);
    }
    return DuckDbBackendStore.open(file, allocator);
  }

  /** Opens the Java path that stands in for {@code driver}, reading {@code connection} as its. */
  private static BackendStore openNative(
      NativeDriver driver,
      String connection,
      Map<String, String> options,
      PoolSettings pool,
      @Nullable String username,
      @Nullable String password,
      BufferAllocator allocator) {
    String lower = connection.toLowerCase(Locale.ROOT);
    boolean scheme = lower.startsWith("jdbc:") || lower.contains("://");
    switch (driver) {
      case POSTGRESQL:
        if (!(lower.startsWith("postgresql://")
            || lower.startsWith("postgres://")
            || lower.startsWith("jdbc:postgresql:"))) {
          throw new BackendUnavailableException(
              "driver_path names the PostgreSQL driver but the connection '"
                  + masked(connection)
                  + "' is not postgresql://HOST[:PORT]/DB",
              null);
        }
        break;
      case SQLITE:
        if (!scheme) {
          String file = connection.startsWith("file:") ? connection.substring(5) : connection;
          connection = "jdbc:sqlite:" + file;
        }
        break;
      case DUCKDB:
        if (!scheme || lower.startsWith("jdbc:duckdb:")) {
          return openDuckDb(connection, allocator);
        }
        break;
      case FLIGHT_SQL:
        if (!scheme) {
          connection = "grpc://" + connection;
        }
        break;
    }
    return openAdbc(connection, options, pool, username, password, allocator);
  }

  private static BackendStore openAdbc(
      String connection,
      Map<String, String> options,
      PoolSettings pool,
      @Nullable String username,
      @Nullable String password,
      BufferAllocator allocator) {
    String lower = connection.toLowerCase(Locale.ROOT);
    if (lower.startsWith("postgresql://") || lower.startsWith("postgres://")) {
      OptionalClients.POSTGRESQL.require("a PostgreSQL backend");
      OptionalClients.HIKARI.require("a PostgreSQL backend");
      return openPostgres(connection, options, pool, username, password);
    }
    if (lower.startsWith("jdbc:")) {
      OptionalClients.ADBC_JDBC.require("an ADBC JDBC backend");
      OptionalClients.HIKARI.require("an ADBC JDBC backend");
      if (lower.startsWith("jdbc:postgresql:")) {
        OptionalClients.POSTGRESQL.require("a jdbc:postgresql: backend");
      } else if (lower.startsWith("jdbc:sqlite:")) {
        OptionalClients.SQLITE.require("a jdbc:sqlite: backend");
      }
      return AdbcBackendStore.jdbc(connection, username, password, options, pool, allocator);
    }
    if (lower.startsWith("grpc://") || lower.startsWith("grpc+tls://")) {
      OptionalClients.ADBC_FLIGHT_SQL.require("a Flight SQL backend");
      Credentials c = parse(connection).credentials(username, password);
      String uri = stripUserInfo(connection);
      return AdbcBackendStore.flightSql(uri, c.user, c.password, options, allocator);
    }
    throw new BackendUnavailableException(
        "unsupported backend connection '"
            + masked(connection)
            + "': expected postgresql://, jdbc:, grpc:// or grpc+tls://",
        null);
  }

  private static BackendStore openPostgres(
      String connection,
      Map<String, String> options,
      PoolSettings pool,
      @Nullable String username,
      @Nullable String password) {
    URI uri = parseUri(connection);
    String host = uri.getHost();
    if (host == null || host.isEmpty()) {
      throw new BackendUnavailableException(
          "bad PostgreSQL URI '" + masked(connection) + "': no host", null);
    }
    String path = uri.getRawPath() == null ? "" : uri.getRawPath();
    String db = path.startsWith("/") ? path.substring(1) : path;
    if (db.isEmpty() || db.contains("/")) {
      throw new BackendUnavailableException(
          "bad PostgreSQL URI '" + masked(connection) + "': it must name one database (/db)", null);
    }
    int port = uri.getPort() < 0 ? 5432 : uri.getPort();
    String jdbc =
        "jdbc:postgresql://"
            + (host.contains(":") ? "[" + host + "]" : host)
            + ":"
            + port
            + "/"
            + db
            + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
    Properties props = new Properties();
    props.setProperty("tcpKeepAlive", "true");
    props.setProperty("ApplicationName", "hyprstream");
    Map<String, String> rest = new HashMap<>(options);
    String schema = rest.remove("schema");
    String copyFormat = rest.remove("copy_format");
    String parallelism = rest.remove("copy_parallelism");
    int copyParallelism = PostgresBackendStore.DEFAULT_COPY_PARALLELISM;
    if (parallelism != null) {
      try {
        copyParallelism = Integer.parseInt(parallelism.trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "copy_parallelism must be a whole number, got '" + parallelism + "'", e);
      }
    }
    rest.forEach(props::setProperty);
    Credentials c = parse(connection).credentials(username, password);
    if (c.user != null) {
      props.setProperty("user", c.user);
    }
    if (c.password != null) {
      props.setProperty("password", c.password);
    }
    return PostgresBackendStore.open(jdbc, props, schema, copyFormat, pool, copyParallelism);
  }

  /** A user and password, either possibly absent. */
  private static final class Credentials {
    final @Nullable String user;
    final @Nullable String password;

    Credentials(@Nullable String user, @Nullable String password) {
      this.user = user;
      this.password = password;
    }
  }

  private static final class ParsedUri {
    final URI uri;

    ParsedUri(URI uri) {
      this.uri = uri;
    }

    /** The URI's credentials, each overridden by the explicit one when that is not null. */
    Credentials credentials(@Nullable String user, @Nullable String password) {
      String info = uri.getRawUserInfo();
      String u = null;
      String p = null;
      if (info != null) {
        int colon = info.indexOf(':');
        u = decode(colon < 0 ? info : info.substring(0, colon));
        p = colon < 0 ? null : decode(info.substring(colon + 1));
      }
      return new Credentials(user != null ? user : u, password != null ? password : p);
    }
  }

  private static ParsedUri parse(String connection) {
    try {
      return new ParsedUri(new URI(connection));
    } catch (URISyntaxException e) {
      throw new BackendUnavailableException(
          "bad backend URI '" + masked(connection) + "': " + e.getReason(), null);
    }
  }

  private static URI parseUri(String connection) {
    return parse(connection).uri;
  }

  private static String stripUserInfo(String connection) {
    URI u = parseUri(connection);
    if (u.getRawUserInfo() == null) {
      return connection;
    }
    return connection.replaceFirst("//[^@/]*@", "//");
  }

  private static String decode(String s) {
    return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
  }

  /** The connection string with any password in its user info replaced by {@code ***}. */
  static String masked(String connection) {
    return connection.replaceFirst("(//[^:/@]*:)[^@/]*@", "$1***@");
  }
}
