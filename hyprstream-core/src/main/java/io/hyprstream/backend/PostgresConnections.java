package io.hyprstream.backend;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.SqlIdentifier;
import io.hyprstream.internal.arrow.Closeables;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.postgresql.PGConnection;

/**
 * The PostgreSQL connections of a {@link PostgresBackendStore}: a HikariCP pool whose connections
 * have the store's schema first on the search path and UTC as time zone, borrowed per call and
 * evicted rather than returned when they broke; the deadline that cuts a call hearing nothing for
 * {@code socket_timeout}; and which failures a retry can cure. Messages never carry the password.
 */
final class PostgresConnections implements AutoCloseable {
  /** Cuts calls past their deadline; one daemon thread for every store. */
  private static final ScheduledThreadPoolExecutor WATCHDOG = newWatchdog();

  private final HikariDataSource pool;
  private final String describe;
  private final String schema;
  private final @Nullable String password;
  private final Duration callTimeout;
  private final AtomicBoolean closed = new AtomicBoolean();

  private PostgresConnections(
      HikariDataSource pool,
      String describe,
      String schema,
      @Nullable String password,
      Duration callTimeout) {
    this.pool = pool;
    this.describe = describe;
    this.schema = schema;
    this.password = password;
    this.callTimeout = callTimeout;
  }

  /**
   * Connects once to learn {@code current_schema()} (which also proves the server is reachable
   * before a pool starts retrying in the background), then starts the pool.
   *
   * @param schema the schema for every table; null for {@code current_schema()}
   * @throws BackendUnavailableException when PostgreSQL cannot be reached
   */
  static PostgresConnections open(
      String jdbcUrl,
      Properties properties,
      String describe,
      @Nullable String schema,
      PoolSettings settings) {
    String password = properties.getProperty("password");
    String current = currentSchema(jdbcUrl, properties, describe, password);
    String chosen = schema == null ? current : schema;
    return new PostgresConnections(
        pool(jdbcUrl, properties, chosen, settings),
        describe,
        chosen,
        password,
        settings.socketTimeout());
  }

  private static HikariDataSource pool(
      String jdbcUrl, Properties properties, String schema, PoolSettings settings) {
    HikariConfig config = new HikariConfig();
    config.setPoolName("hyprstream-postgresql");
    config.setJdbcUrl(jdbcUrl);
    Properties driver = new Properties();
    driver.putAll(properties);
    // pgjdbc's own connect timeout, in seconds, matches the pool's borrow timeout.
    driver.setProperty("connectTimeout", String.valueOf(settings.connectTimeout().getSeconds()));
    // socket_timeout bounds a silent read; pgjdbc's own socketTimeout, when set, still wins there.
    driver.putIfAbsent("socketTimeout", String.valueOf(settings.socketTimeout().getSeconds()));
    config.setDataSourceProperties(driver);
    config.setMaximumPoolSize(settings.maxSize());
    config.setMinimumIdle(settings.minIdle());
    config.setConnectionTimeout(settings.connectTimeout().toMillis());
    config.setAutoCommit(true);
    // Queries name tables bare: this store's schema comes first; timestamps are read as UTC.
    config.setConnectionInitSql(
        "SET TIME ZONE 'UTC'; SET search_path TO " + SqlIdentifier.quote(schema) + ", public");
    // The caller has just connected once; an outage after that is reported per borrow.
    config.setInitializationFailTimeout(-1);
    return new HikariDataSource(config);
  }

  private static String currentSchema(
      String jdbcUrl, Properties properties, String describe, @Nullable String password) {
    try (Connection c = DriverManager.getConnection(jdbcUrl, properties);
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT current_schema()")) {
      String current = rs.next() ? rs.getString(1) : null;
      return current == null ? "public" : current;
    } catch (SQLException e) {
      String m = e.getMessage() == null ? e.toString() : e.getMessage();
      throw new BackendUnavailableException(
          "cannot connect to PostgreSQL at " + describe + ": " + scrub(m, password), e);
    }
  }

  /** The schema that holds the store's tables. */
  String schema() {
    return schema;
  }

  /** Where the store connects, for messages: the URL without its options, and the user. */
  String describe() {
    return describe;
  }

  /** How long a call may hear nothing before it is cut ({@code socket_timeout}). */
  Duration callTimeout() {
    return callTimeout;
  }

  Connection borrow() {
    if (closed.get()) {
      throw new IllegalStateException("the PostgreSQL backend is closed");
    }
    try {
      return pool.getConnection();
    } catch (SQLException e) {
      throw unavailable("cannot connect to PostgreSQL at " + describe, e);
    }
  }

  /** Hands a healthy connection back to the pool (which resets auto-commit). */
  static void release(Connection c) {
    Closeables.closeQuietly(c);
  }

  /** Drops a connection that failed from the pool, so the next borrow opens a fresh one. */
  void discard(Connection c) {
    try {
      pool.evictConnection(c);
    } catch (RuntimeException e) {
      Closeables.closeQuietly(c);
    }
  }

  /**
   * Schedules the cut of {@code c}'s call after {@link #callTimeout}: its socket is closed, so a
   * reader or writer blocked on it fails, and {@code cut} is set. The caller cancels the returned
   * future when the call ends in time.
   */
  ScheduledFuture<?> cutAfterTimeout(Connection c, AtomicBoolean cut) {
    return WATCHDOG.schedule(() -> abort(c, cut), callTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static ScheduledThreadPoolExecutor newWatchdog() {
    ScheduledThreadPoolExecutor watchdog =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "hyprstream-postgresql-watchdog");
              t.setDaemon(true);
              return t;
            });
    // Every call schedules a cut and nearly every one cancels it; a cancelled cut must not stay
    // queued for the whole socket_timeout, holding its connection.
    watchdog.setRemoveOnCancelPolicy(true);
    return watchdog;
  }

  /** Cuts scheduled and neither cancelled nor run, for every store in this JVM. */
  static int pendingCuts() {
    return WATCHDOG.getQueue().size();
  }

  /** Closes the socket of a call past its deadline; the blocked reader or writer then fails. */
  private static void abort(Connection c, AtomicBoolean cut) {
    cut.set(true);
    try {
      // Hikari's proxy would only mark itself closed; the driver's abort closes the socket.
      ((Connection) c.unwrap(PGConnection.class)).abort(Runnable::run);
    } catch (SQLException | RuntimeException e) {
      Closeables.closeQuietly(c);
    }
  }

  /** True when pgjdbc gave up waiting on the socket ({@code socketTimeout}). */
  static boolean isTimeout(SQLException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.net.SocketTimeoutException) {
        return true;
      }
    }
    return false;
  }

  /**
   * True for failures a retry can cure: the connection broke or was refused, the server is shutting
   * down or short of resources, a serialization failure or deadlock.
   */
  static boolean isConnectionProblem(SQLException e) {
    String state = e.getSQLState();
    if (state == null) {
      return true;
    }
    return state.startsWith("08")
        || state.startsWith("53")
        || state.startsWith("57P")
        || state.startsWith("28")
        || state.equals("3D000")
        || state.equals("40001")
        || state.equals("40P01");
  }

  BackendUnavailableException unavailable(String what, SQLException e) {
    return new BackendUnavailableException(what + ": " + scrub(e.getMessage()), e);
  }

  /** The message with the password, should a driver ever echo it, masked. */
  String scrub(@Nullable String message) {
    return scrub(message, password);
  }

  private static String scrub(@Nullable String message, @Nullable String password) {
    String m = message == null ? "(no message)" : message;
    return password == null || password.isEmpty() ? m : m.replace(password, "***");
  }

  static void rollbackQuietly(Connection c) {
    try {
      if (!c.isClosed() && !c.getAutoCommit()) {
        c.rollback();
      }
    } catch (SQLException ignored) {
      // The connection is dropped next; the server rolls back on disconnect.
    }
  }

  /** Closes the pool, once; a later borrow fails. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      pool.close();
    }
  }
}
