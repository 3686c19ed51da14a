package io.hyprstream.backend;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.internal.arrow.Closeables;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.apache.arrow.adbc.core.AdbcConnection;
import org.apache.arrow.adbc.core.AdbcDatabase;
import org.apache.arrow.adbc.core.AdbcDriver;
import org.apache.arrow.adbc.core.AdbcException;
import org.apache.arrow.adbc.core.AdbcStatement;
import org.apache.arrow.adbc.core.AdbcStatusCode;
import org.apache.arrow.adbc.driver.flightsql.FlightSqlDriver;
import org.apache.arrow.adbc.driver.jdbc.JdbcDriver;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.util.AutoCloseables;
import org.jspecify.annotations.Nullable;

/**
 * The ADBC sessions of an {@link AdbcBackendStore}: how they are opened (JDBC adapter over a
 * HikariCP pool, or the Flight SQL driver), the one write session kept open between appends, its
 * transactions, and which failures are the connection's (retryable) rather than the statement's.
 *
 * <p>A {@code JdbcDataSourceDatabase} hands every ADBC connection the same JDBC connection, so each
 * session is an ADBC database with its one connection. The write session is used under the store's
 * write lock only; {@link #open()} sessions (one per query) are the caller's to close.
 */
final class AdbcSessions implements AutoCloseable {
  /** Opens one ADBC database and a connection on it. */
  @FunctionalInterface
  interface SessionFactory {
    Session open(BufferAllocator allocator) throws AdbcException;
  }

  /** An ADBC database and its one connection. */
  static final class Session implements AutoCloseable {
    final AdbcDatabase database;
    final AdbcConnection connection;

    Session(AdbcDatabase database, AdbcConnection connection) {
      this.database = database;
      this.connection = connection;
    }

    @Override
    public void close() {
      try {
        AutoCloseables.close(connection, database);
      } catch (Exception ignored) {
        // A broken session is dropped either way.
      }
    }
  }

  private final String name;
  private final BufferAllocator allocator;
  private final SessionFactory factory;
  private final boolean sqlite;
  private final boolean transactional;
  private final String describe;
  private final @Nullable String password;
  private final @Nullable HikariDataSource pool;
  private final AtomicBoolean closed = new AtomicBoolean();
  private @Nullable Session writer;

  private AdbcSessions(
      String name,
      BufferAllocator allocator,
      SessionFactory factory,
      boolean sqlite,
      boolean transactional,
      String describe,
      @Nullable String password,
      @Nullable HikariDataSource pool) {
    this.name = name;
    this.allocator = allocator;
    this.factory = factory;
    this.sqlite = sqlite;
    this.transactional = transactional;
    this.describe = describe;
    this.password = password;
    this.pool = pool;
  }

  /**
   * Sessions of ADBC's JDBC adapter at {@code jdbcUrl}, their JDBC connections from a HikariCP pool
   * sized by {@code settings}; {@code options} other than {@code dialect} and the pool's own go to
   * the JDBC driver. Transactional: auto-commit off on the write session.
   */
  static AdbcSessions jdbc(
      String jdbcUrl,
      @Nullable String username,
      @Nullable String password,
      Map<String, String> options,
      PoolSettings settings,
      SqlTypes dialect,
      BufferAllocator allocator) {
    Properties props = new Properties();
    options.forEach(
        (k, v) -> {
          if (!k.equals("dialect") && !PoolSettings.OPTIONS.contains(k)) {
            props.setProperty(k, v);
          }
        });
    if (username != null) {
      props.setProperty("user", username);
    }
    if (password != null) {
      props.setProperty("password", password);
    }
    if (jdbcUrl.toLowerCase(Locale.ROOT).startsWith("jdbc:postgresql:")) {
      // Text parameters go untyped, so PostgreSQL reads a timestamp bound as text (see
      // AdbcBinding) as the column's type instead of refusing varchar for a timestamp column.
      props.putIfAbsent("stringtype", "unspecified");
    }
    HikariConfig config = new HikariConfig();
    config.setPoolName("hyprstream-adbc-jdbc");
    config.setJdbcUrl(jdbcUrl);
    config.setDataSourceProperties(props);
    config.setMaximumPoolSize(settings.maxSize());
    config.setMinimumIdle(settings.minIdle());
    config.setConnectionTimeout(settings.connectTimeout().toMillis());
    // The ledger is created right after; a database that cannot be reached fails there, named.
    config.setInitializationFailTimeout(-1);
    HikariDataSource hikari = new HikariDataSource(config);
    ForwardOnlyDataSource source =
        new ForwardOnlyDataSource(hikari, jdbcUrl, settings.socketTimeout());
    SessionFactory factory =
        alloc -> {
          Map<String, Object> params = new HashMap<>();
          params.put(JdbcDriver.PARAM_DATASOURCE, source);
          return connect(new JdbcDriver(alloc).open(params));
        };
    String where = jdbcUrl.replaceFirst("\\?.*$", "") + (username == null ? "" : " as " + username);
    return new AdbcSessions(
        "adbc-jdbc", allocator, factory, dialect == SqlTypes.SQLITE, true, where, password, hikari);
  }

  /**
   * Sessions of ADBC's Flight SQL driver at {@code uri}; {@code options} other than {@code dialect}
   * go to the driver. Not transactional: the driver (0.20.0) has none.
   */
  static AdbcSessions flightSql(
      String uri,
      @Nullable String username,
      @Nullable String password,
      Map<String, String> options,
      BufferAllocator allocator) {
    SessionFactory factory =
        alloc -> {
          Map<String, Object> params = new HashMap<>();
          options.forEach(
              (k, v) -> {
                if (!k.equals("dialect")) {
                  params.put(k, v);
                }
              });
          params.put(AdbcDriver.PARAM_URI.getKey(), uri);
          if (username != null) {
            params.put(AdbcDriver.PARAM_USERNAME.getKey(), username);
          }
          if (password != null) {
            params.put(AdbcDriver.PARAM_PASSWORD.getKey(), password);
          }
          return connect(new FlightSqlDriver(alloc).open(params));
        };
    String where = uri + (username == null ? "" : " as " + username);
    return new AdbcSessions(
        "adbc-flight-sql", allocator, factory, false, false, where, password, null);
  }

  private static Session connect(AdbcDatabase db) throws AdbcException {
    try {
      return new Session(db, db.connect());
    } catch (AdbcException | RuntimeException e) {
      Closeables.closeQuietly(db);
      throw e;
    }
  }

  /** The store's name: {@code adbc-jdbc} or {@code adbc-flight-sql}. */
  String name() {
    return name;
  }

  /** Where the sessions connect, for messages: the URL without its options, and the user. */
  String describe() {
    return describe;
  }

  /** Whether the ledger row and the rows commit as one transaction (JDBC, not Flight SQL). */
  boolean transactional() {
    return transactional;
  }

  /** The pool of JDBC connections behind the sessions; null over Flight SQL. */
  @Nullable DataSource jdbcPool() {
    return pool;
  }

  /**
   * The write session, opened (auto-commit off when transactional) when there is none. The caller
   * holds the store's write lock.
   */
  Session writer() {
    if (closed.get()) {
      throw new IllegalStateException("the " + name + " backend is closed");
    }
    Session s = writer;
    if (s == null) {
      s = open();
      if (transactional) {
        try {
          s.connection.setAutoCommit(false);
        } catch (AdbcException e) {
          s.close();
          throw unavailable("cannot start a transaction on " + describe, e);
        }
      }
      writer = s;
    }
    return s;
  }

  /** A session of its own (for one query); the caller closes it. */
  Session open() {
    try {
      return factory.open(allocator);
    } catch (AdbcException | RuntimeException e) {
      throw new BackendUnavailableException(
          "cannot connect to " + describe + ": " + scrub(messageOf(e)), e);
    }
  }

  void commitIfTransactional(Session s) throws AdbcException {
    if (transactional) {
      s.connection.commit();
    }
  }

  void rollbackQuietly(Session s) {
    if (!transactional) {
      return;
    }
    try {
      s.connection.rollback();
    } catch (Exception ignored) {
      // The session is dropped if it is broken.
    }
  }

  /**
   * The exception for a failed write-session operation: a connection problem drops the session (the
   * next call reconnects) and is retryable; anything else is a refusal.
   */
  HyprstreamException failed(Session s, String what, Exception e) {
    if (isConnectionProblem(e)) {
      if (writer == s) {
        writer = null;
      }
      s.close();
      return unavailable(what, e);
    }
    return new HyprstreamException(describe + ": " + what + ": " + scrub(messageOf(e)), e);
  }

  /**
   * SQLite reports no SQL state, only its result code: busy, locked, out of memory, I/O error, disk
   * full and cannot open are what a retry can cure; anything else is the statement's fault.
   */
  boolean isConnectionProblem(java.sql.SQLException e) {
    if (!sqlite) {
      return PostgresConnections.isConnectionProblem(e);
    }
    switch (e.getErrorCode() & 0xff) {
      case 5: // SQLITE_BUSY
      case 6: // SQLITE_LOCKED
      case 7: // SQLITE_NOMEM
      case 10: // SQLITE_IOERR
      case 13: // SQLITE_FULL
      case 14: // SQLITE_CANTOPEN
        return true;
      default:
        return false;
    }
  }

  static boolean isConnectionProblem(Exception e) {
    if (!(e instanceof AdbcException)) {
      return true;
    }
    AdbcException a = (AdbcException) e;
    String state = a.getSqlState();
    if (state != null
        && (state.startsWith("08") || state.startsWith("57P") || state.startsWith("53"))) {
      return true;
    }
    switch (a.getStatus()) {
      case IO:
      case UNAUTHENTICATED:
      case UNAUTHORIZED:
      case TIMEOUT:
      case CANCELLED:
        return true;
      default:
        return false;
    }
  }

  BackendUnavailableException unavailable(String what, Exception e) {
    return new BackendUnavailableException(describe + ": " + what + ": " + scrub(messageOf(e)), e);
  }

  private static String messageOf(Exception e) {
    return e.getMessage() == null ? e.toString() : e.getMessage();
  }

  /** The message with the password, should a driver ever echo it, masked. */
  String scrub(@Nullable String message) {
    String m = message == null ? "(no message)" : message;
    String p = password;
    return p == null || p.isEmpty() ? m : m.replace(p, "***");
  }

  static void execute(Session s, String sql) throws AdbcException {
    try (AdbcStatement st = s.connection.createStatement()) {
      st.setSqlQuery(sql);
      st.executeUpdate();
    } catch (AdbcException e) {
      throw e;
    } catch (Exception e) {
      throw new AdbcException(e.getMessage(), e, AdbcStatusCode.IO, null, 0);
    }
  }

  /** Whether {@link #close} ran. */
  boolean isClosed() {
    return closed.get();
  }

  /**
   * Closes the write session, the pool and the allocator, once. The caller holds the store's write
   * lock.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    Session s = writer;
    writer = null;
    if (s != null) {
      s.close();
    }
    Closeables.closeQuietly(pool);
    allocator.close();
  }
}
