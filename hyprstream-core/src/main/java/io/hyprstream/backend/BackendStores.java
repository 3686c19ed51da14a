package io.hyprstream.backend;

import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.apache.arrow.memory.BufferAllocator;
import org.jspecify.annotations.Nullable;

/** Opens the {@link BackendStore} an engine name and a connection string select. */
public final class BackendStores {
  private BackendStores() {}

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
   * </ul>
   *
   * <p>{@code username} and {@code password}, when not null, override those in the URI. Options:
   * {@code schema} and {@code copy_format} ({@code binary}|{@code text}) for PostgreSQL, {@code
   * dialect} for ADBC; the rest go to the driver (pgjdbc/JDBC properties, Flight SQL options).
   * {@code driver_path} (a native ADBC driver) is refused: ADBC Java 0.20.0 cannot load one (see
   * {@code docs/backends.md}).
   *
   * @throws BackendUnavailableException when the connection string is malformed, the backend cannot
   *     be reached or the credentials are refused; the message says which, and never contains the
   *     password
   * @throws IllegalArgumentException when {@code engine} or an option value is unknown
   */
  public static BackendStore open(
      String engine,
      String connection,
      Map<String, String> options,
      @Nullable String username,
      @Nullable String password,
      BufferAllocator allocator) {
    if (options.containsKey("driver_path")) {
      throw new BackendUnavailableException(
          "driver_path is not supported: ADBC Java 0.20.0 has no JNI driver (adbc-driver-jni is"
              + " not published for it), so native ADBC drivers cannot be loaded; use a jdbc:,"
              + " postgresql:// or grpc:// connection instead",
          null);
    }
    switch (engine.toLowerCase(Locale.ROOT)) {
      case "duckdb":
        return openDuckDb(connection, allocator);
      case "adbc":
        return openAdbc(connection, options, username, password, allocator);
      default:
        throw new IllegalArgumentException(
            "engine must be 'duckdb' or 'adbc', not '" + engine + "'");
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

  private static BackendStore openAdbc(
      String connection,
      Map<String, String> options,
      @Nullable String username,
      @Nullable String password,
      BufferAllocator allocator) {
    String lower = connection.toLowerCase(Locale.ROOT);
    if (lower.startsWith("postgresql://") || lower.startsWith("postgres://")) {
      return openPostgres(connection, options, username, password);
    }
    if (lower.startsWith("jdbc:")) {
      return AdbcBackendStore.jdbc(connection, username, password, options, allocator);
    }
    if (lower.startsWith("grpc://") || lower.startsWith("grpc+tls://")) {
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
    props.setProperty("connectTimeout", "10");
    props.setProperty("tcpKeepAlive", "true");
    props.setProperty("ApplicationName", "hyprstream");
    Map<String, String> rest = new HashMap<>(options);
    String schema = rest.remove("schema");
    String copyFormat = rest.remove("copy_format");
    rest.forEach(props::setProperty);
    Credentials c = parse(connection).credentials(username, password);
    if (c.user != null) {
      props.setProperty("user", c.user);
    }
    if (c.password != null) {
      props.setProperty("password", c.password);
    }
    return PostgresBackendStore.open(jdbc, props, schema, copyFormat);
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
