package io.hyprstream.duckdb;

import io.hyprstream.api.HyprstreamException;
import io.hyprstream.internal.arrow.Closeables;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.duckdb.DuckDBConnection;
import org.jspecify.annotations.Nullable;

/**
 * The connections of one locked-down DuckDB database: a pool of {@link
 * DuckDBConnection#duplicate()} connections so that concurrent callers each get their own, fresh
 * connections for sessions whose temporary tables must die with them, and the statement each thread
 * is executing so that another thread can cancel it.
 */
final class DuckDbConnections implements AutoCloseable {
  /**
   * DuckDB's {@code max_expression_depth} for every connection: expressions nested deeper are
   * refused by its parser. Above the analyser's nesting limit, so that limit's message comes first
   * where both apply.
   */
  static final int MAX_EXPRESSION_DEPTH = 250;

  private static final int MAX_IDLE_CONNECTIONS = 8;

  private final DuckDBConnection database;
  private final ConcurrentLinkedQueue<DuckDBConnection> idle = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean closed = new AtomicBoolean();

  /**
   * At most this many prepared statements are kept per pooled connection, the least recently used
   * closed first.
   */
  static final int MAX_KEPT_STATEMENTS = 32;

  /**
   * Prepared statements kept per pooled connection, by SQL text ({@link #prepared}). Each map is
   * used only by the caller holding its connection.
   */
  private final ConcurrentHashMap<DuckDBConnection, Map<String, PreparedStatement>> kept =
      new ConcurrentHashMap<>();

  /** The statement each thread is executing, so that {@link #cancel} can reach it. */
  private final ConcurrentHashMap<Thread, PreparedStatement> running = new ConcurrentHashMap<>();

  private DuckDbConnections(DuckDBConnection database) {
    this.database = database;
  }

  /**
   * Opens DuckDB in memory, or in {@code file} when it is not null, with UTC as its time zone and
   * {@code memory_limit} set to {@code memoryLimitBytes} when it is positive (0: DuckDB's default,
   * 80% of RAM). The database is then locked down: SQL cannot read or write files, reach the
   * network, attach databases, install or load extensions, or change that configuration. The limit
   * is set before the lock; a query that needs more fails with DuckDB's out-of-memory error instead
   * of taking the process down.
   */
  static DuckDbConnections open(@Nullable Path file, long memoryLimitBytes) throws SQLException {
    String url = "jdbc:duckdb:" + (file == null ? "" : file.toAbsolutePath().toString());
    DuckDBConnection conn = (DuckDBConnection) DriverManager.getConnection(url, new Properties());
    try (Statement st = conn.createStatement()) {
      // Naive timestamps are UTC: NOW(), time_bucket and clients everywhere agree.
      st.execute("SET GLOBAL TimeZone = 'UTC'");
      if (memoryLimitBytes > 0) {
        st.execute("SET GLOBAL memory_limit = '" + memoryLimitBytes + "B'");
      }
      // Deeper expressions fail with DuckDB's clear parser error instead of recursing until
      // the native stack runs out (which kills the whole process).
      st.execute("SET GLOBAL max_expression_depth = " + MAX_EXPRESSION_DEPTH);
      st.execute("SET GLOBAL autoinstall_known_extensions = false");
      st.execute("SET GLOBAL autoload_known_extensions = false");
      st.execute("SET GLOBAL allow_community_extensions = false");
      st.execute("SET GLOBAL enable_external_access = false");
      st.execute("SET GLOBAL lock_configuration = true");
    } catch (SQLException e) {
      conn.close();
      throw e;
    }
    return new DuckDbConnections(conn);
  }

  /** A pooled connection; give it back with {@link #release}. */
  DuckDBConnection borrow() {
    if (closed.get()) {
      throw new IllegalStateException("the DuckDB cache is closed");
    }
    DuckDBConnection c = idle.poll();
    if (c != null) {
      return c;
    }
    return fresh();
  }

  /** A connection of its own, never pooled: the caller closes it. */
  DuckDBConnection fresh() {
    if (closed.get()) {
      throw new IllegalStateException("the DuckDB cache is closed");
    }
    try {
      return database.duplicate();
    } catch (SQLException e) {
      throw new HyprstreamException("cannot open a DuckDB connection: " + e.getMessage(), e);
    }
  }

  /**
   * A prepared statement of {@code sql} on the borrowed {@code conn}: the one kept from an earlier
   * borrower when there is one, else a new one that is kept. DuckDB's prepare (parse, bind, plan)
   * costs 0.3 ms to 1 ms, and the same texts come back: the SQL analyser's parse call for every new
   * statement, a client's kept prepared statement on each execution. DuckDB binds a kept statement
   * again when the catalog changed since. Close only its result set; {@link #forget} a statement
   * that failed.
   */
  PreparedStatement prepared(DuckDBConnection conn, String sql) throws SQLException {
    Map<String, PreparedStatement> statements =
        kept.computeIfAbsent(
            conn,
            c ->
                new LinkedHashMap<>(16, 0.75f, true) {
                  @Override
                  protected boolean removeEldestEntry(Map.Entry<String, PreparedStatement> e) {
                    if (size() > MAX_KEPT_STATEMENTS) {
                      Closeables.closeQuietly(e.getValue());
                      return true;
                    }
                    return false;
                  }
                });
    PreparedStatement ps = statements.get(sql);
    if (ps == null) {
      ps = conn.prepareStatement(sql);
      statements.put(sql, ps);
    }
    return ps;
  }

  /** Closes and drops the kept statement of {@code sql} on {@code conn}, if any. */
  void forget(DuckDBConnection conn, String sql) {
    Map<String, PreparedStatement> statements = kept.get(conn);
    PreparedStatement ps = statements == null ? null : statements.remove(sql);
    Closeables.closeQuietly(ps);
  }

  /** Closes {@code conn} with the statements kept on it. */
  private void closeWithStatements(DuckDBConnection conn) {
    Map<String, PreparedStatement> statements = kept.remove(conn);
    if (statements != null) {
      statements.values().forEach(Closeables::closeQuietly);
    }
    Closeables.closeQuietly(conn);
  }

  /** Returns a borrowed connection to the pool, or closes it when the pool is full or closed. */
  void release(DuckDBConnection conn) {
    try {
      if (closed.get() || conn.isClosed() || idle.size() >= MAX_IDLE_CONNECTIONS) {
        closeWithStatements(conn);
      } else {
        idle.offer(conn);
      }
    } catch (SQLException e) {
      // A connection that cannot report its state is dropped rather than reused.
      closeWithStatements(conn);
    }
  }

  /** Executes {@code ps} as the current thread's cancellable statement. */
  ResultSet executeCancellable(PreparedStatement ps) throws SQLException {
    running.put(Thread.currentThread(), ps);
    try {
      return ps.executeQuery();
    } finally {
      // Atomic with cancel: once removed, no cancel can reach this statement.
      running.remove(Thread.currentThread());
    }
  }

  /** Cancels the statement {@code thread} is executing, if any; returns whether one was. */
  boolean cancel(Thread thread) {
    boolean[] cancelled = {false};
    running.computeIfPresent(
        thread,
        (t, ps) -> {
          try {
            ps.cancel();
            cancelled[0] = true;
          } catch (SQLException e) {
            // Already finished or closed: nothing to cancel.
          }
          return ps;
        });
    return cancelled[0];
  }

  /** Closes the pool and the database; safe to call twice. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    DuckDBConnection c;
    while ((c = idle.poll()) != null) {
      closeWithStatements(c);
    }
    // Borrowed connections are closed by their holders; their statements die with the database.
    Closeables.closeQuietly(database);
  }
}
