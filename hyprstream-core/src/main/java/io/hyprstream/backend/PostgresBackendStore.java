package io.hyprstream.backend;

import static io.hyprstream.api.SqlIdentifier.quote;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.api.TableNotFoundException;
import io.hyprstream.internal.arrow.Closeables;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;

/**
 * A {@link BackendStore} in PostgreSQL. Batches go in with {@code COPY ... FROM STDIN} in the
 * binary format (or text, see {@link PgCopyEncoder.Format}), encoded straight from the Arrow
 * buffers; queries come back through a streaming cursor ({@code fetchSize}) converted batch by
 * batch.
 *
 * <p>Exactly once: {@link #append} inserts the batch id into {@code hyprstream_ledger} with {@code
 * ON CONFLICT DO NOTHING} first, then copies the rows, then commits, all in one transaction. When
 * the id is already there (or a concurrent append of the same id commits first, which the primary
 * key makes this one wait for) nothing is written. A failure anywhere before the commit rolls back
 * both, so a retry can neither lose nor duplicate rows.
 *
 * <p>All tables, the ledger included, live in one schema: {@code current_schema()} unless the
 * {@code schema} option names another, which is created when missing.
 *
 * <p>Connections come from a HikariCP pool sized by {@link PoolSettings}: appends, queries (the
 * read-through path) and catalog reads borrow one each, so concurrent queries run in parallel up to
 * {@code pool_max}; a connection that broke is evicted rather than returned.
 *
 * <p>Time-outs ({@link PoolSettings#socketTimeout}): pgjdbc's {@code socketTimeout} ends a read
 * that hears nothing for that long, and an append that has not finished within it is aborted (its
 * socket closed), which also ends a COPY blocked writing to a stalled server. Either way the
 * transaction never committed, or committed and its ledger row makes the retry a no-op.
 */
public final class PostgresBackendStore implements BackendStore {
  /** Cuts appends past their deadline; one daemon thread for every store. */
  private static final ScheduledExecutorService WATCHDOG =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "hyprstream-postgresql-watchdog");
            t.setDaemon(true);
            return t;
          });

  /** The ledger table's name. */
  public static final String LEDGER = "hyprstream_ledger";

  static final int RESULT_BATCH_ROWS = 64 * 1024;
  private static final Pattern MISSING_RELATION = Pattern.compile("relation \"([^\"]+)\"");

  private final String jdbcUrl;
  private final Properties properties;
  private final String describe;
  private final String schema;
  private final PgCopyEncoder.Format format;
  private final HikariDataSource pool;
  private final Duration callTimeout;

  /** Column names (lower-cased) of tables known to exist, so most appends skip the catalog. */
  private final Map<String, Map<String, String>> knownColumns = new ConcurrentHashMap<>();

  private final Object ddlLock = new Object();
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile @Nullable FailureHook beforeCommit;

  /** A test hook run inside {@link #append} after the COPY and before the commit. */
  @FunctionalInterface
  interface FailureHook {
    void run(Connection connection) throws SQLException;
  }

  private PostgresBackendStore(
      String jdbcUrl,
      Properties properties,
      String describe,
      @Nullable String schema,
      PgCopyEncoder.Format format,
      PoolSettings poolSettings) {
    this.jdbcUrl = jdbcUrl;
    this.properties = properties;
    this.describe = describe;
    this.format = format;
    // Also proves the server is reachable before a pool starts retrying in the background.
    String current = currentSchema(jdbcUrl, properties, describe);
    this.schema = schema == null ? current : schema;
    this.pool = pool(jdbcUrl, properties, this.schema, poolSettings);
    this.callTimeout = poolSettings.socketTimeout();
    Connection c = borrow();
    try (Statement st = c.createStatement()) {
      st.execute("CREATE SCHEMA IF NOT EXISTS " + quote(this.schema));
      st.execute(
          "CREATE TABLE IF NOT EXISTS "
              + qualified(LEDGER)
              + " (batch_id TEXT PRIMARY KEY, table_name TEXT NOT NULL,"
              + " row_count BIGINT NOT NULL, committed_at TIMESTAMPTZ NOT NULL DEFAULT now())");
    } catch (SQLException e) {
      discard(c);
      pool.close();
      throw unavailable("cannot set up PostgreSQL backend at " + describe, e);
    }
    release(c);
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
        "SET TIME ZONE 'UTC'; SET search_path TO " + quote(schema) + ", public");
    // The caller has just connected once; an outage after that is reported per borrow.
    config.setInitializationFailTimeout(-1);
    return new HikariDataSource(config);
  }

  private static String currentSchema(String jdbcUrl, Properties properties, String describe) {
    try (Connection c = DriverManager.getConnection(jdbcUrl, properties);
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT current_schema()")) {
      String current = rs.next() ? rs.getString(1) : null;
      return current == null ? "public" : current;
    } catch (SQLException e) {
      String m = e.getMessage() == null ? e.toString() : e.getMessage();
      String password = properties.getProperty("password");
      if (password != null && !password.isEmpty()) {
        m = m.replace(password, "***");
      }
      throw new BackendUnavailableException(
          "cannot connect to PostgreSQL at " + describe + ": " + m, e);
    }
  }

  /**
   * Connects to PostgreSQL at {@code jdbcUrl} ({@code jdbc:postgresql://host:port/db?...}) with
   * {@code properties} (user, password and pgjdbc options) and creates the ledger table.
   *
   * @param schema the schema for every table, created when missing; null for {@code
   *     current_schema()}
   * @param copyFormat {@code "binary"} (default) or {@code "text"}
   * @throws BackendUnavailableException when PostgreSQL cannot be reached or refuses the
   *     credentials; the message names host, database and user, never the password
   */
  public static PostgresBackendStore open(
      String jdbcUrl, Properties properties, @Nullable String schema, @Nullable String copyFormat) {
    return open(jdbcUrl, properties, schema, copyFormat, PoolSettings.DEFAULTS);
  }

  /** As {@link #open(String, Properties, String, String)}, with a pool of {@code pool}'s size. */
  public static PostgresBackendStore open(
      String jdbcUrl,
      Properties properties,
      @Nullable String schema,
      @Nullable String copyFormat,
      PoolSettings pool) {
    PgCopyEncoder.Format format;
    if (copyFormat == null || copyFormat.equalsIgnoreCase("binary")) {
      format = PgCopyEncoder.Format.BINARY;
    } else if (copyFormat.equalsIgnoreCase("text")) {
      format = PgCopyEncoder.Format.TEXT;
    } else {
      throw new IllegalArgumentException(
          "copy_format must be 'binary' or 'text', not '" + copyFormat + "'");
    }
    String user = properties.getProperty("user");
    String where = jdbcUrl.replaceFirst("\\?.*$", "") + (user == null ? "" : " as user " + user);
    return new PostgresBackendStore(jdbcUrl, properties, where, schema, format, pool);
  }

  @Override
  public String name() {
    return "postgresql";
  }

  @Override
  public boolean computesPartialAggregates() {
    return true;
  }

  /** The schema that holds this store's tables. */
  public String schema() {
    return schema;
  }

  @Override
  public void append(String table, String batchId, VectorSchemaRoot batch) {
    appendAll(table, List.of(batchId), List.of(batch));
  }

  /** One transaction for the group: each batch's ledger row, then its rows by COPY when new. */
  @Override
  public void appendAll(String table, List<String> batchIds, List<VectorSchemaRoot> batches) {
    if (batchIds.size() != batches.size()) {
      throw new IllegalArgumentException(
          batchIds.size() + " batch ids for " + batches.size() + " batches");
    }
    List<List<String>> columnsOf = new ArrayList<>(batches.size());
    for (VectorSchemaRoot batch : batches) {
      columnsOf.add(ensureTable(table, batch.getSchema()));
    }
    String described = batchIds.size() == 1 ? batchIds.get(0) : batchIds.size() + " batches";
    Connection c = borrow();
    boolean ok = false;
    AtomicBoolean cut = new AtomicBoolean();
    ScheduledFuture<?> deadline =
        WATCHDOG.schedule(() -> abort(c, cut), callTimeout.toMillis(), TimeUnit.MILLISECONDS);
    try {
      c.setAutoCommit(false);
      try (PreparedStatement ps =
          c.prepareStatement(
              "INSERT INTO "
                  + qualified(LEDGER)
                  + " (batch_id, table_name, row_count) VALUES (?, ?, ?)"
                  + " ON CONFLICT (batch_id) DO NOTHING")) {
        for (int b = 0; b < batches.size(); b++) {
          VectorSchemaRoot batch = batches.get(b);
          ps.setString(1, batchIds.get(b));
          ps.setString(2, table);
          ps.setLong(3, batch.getRowCount());
          if (ps.executeUpdate() == 0 || batch.getRowCount() == 0) {
            continue; // committed before (a re-send), or nothing to copy
          }
          copy(c, table, columnsOf.get(b), batch);
        }
      }
      FailureHook hook = beforeCommit;
      if (hook != null) {
        hook.run(c);
      }
      c.commit();
      ok = true;
    } catch (SQLException e) {
      rollbackQuietly(c);
      if (cut.get() || isTimeout(e)) {
        throw new BackendUnavailableException(
            "append of "
                + described
                + " to '"
                + table
                + "' had no answer within socket_timeout of "
                + callTimeout.getSeconds()
                + " s; the connection was cut and the batch is retried: "
                + scrub(e.getMessage()),
            e);
      }
      if (isConnectionProblem(e)) {
        throw unavailable("append of " + described + " to '" + table + "' failed", e);
      }
      throw new HyprstreamException(
          "PostgreSQL rejected " + described + " for '" + table + "': " + scrub(e.getMessage()), e);
    } finally {
      deadline.cancel(false);
      if (ok && !cut.get()) {
        release(c);
      } else {
        discard(c);
      }
    }
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
  private static boolean isTimeout(SQLException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.net.SocketTimeoutException) {
        return true;
      }
    }
    return false;
  }

  private void copy(Connection c, String table, List<String> columns, VectorSchemaRoot batch)
      throws SQLException {
    PgCopyEncoder encoder = new PgCopyEncoder(table, batch, columns, format);
    StringBuilder sql = new StringBuilder("COPY ").append(qualified(table)).append(" (");
    for (int i = 0; i < columns.size(); i++) {
      sql.append(i == 0 ? "" : ", ").append(quote(columns.get(i)));
    }
    sql.append(
        format == PgCopyEncoder.Format.BINARY ? ") FROM STDIN (FORMAT binary)" : ") FROM STDIN");
    CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
    CopyIn in = copy.copyIn(sql.toString());
    try {
      encoder.writeTo(in, batch.getRowCount());
      in.endCopy();
    } finally {
      if (in.isActive()) {
        in.cancelCopy();
      }
    }
  }

  @Override
  public boolean contains(String batchId) {
    Connection c = borrow();
    try (PreparedStatement ps =
        c.prepareStatement("SELECT 1 FROM " + qualified(LEDGER) + " WHERE batch_id = ?")) {
      ps.setString(1, batchId);
      try (ResultSet rs = ps.executeQuery()) {
        boolean found = rs.next();
        release(c);
        return found;
      }
    } catch (SQLException e) {
      discard(c);
      throw unavailable("cannot read the ledger", e);
    }
  }

  /**
   * Creates {@code table} from {@code arrow} when missing, adds the fields it lacks as nullable
   * columns, and returns the batch's column names in batch order.
   */
  private List<String> ensureTable(String table, Schema arrow) {
    List<String> names = new ArrayList<>();
    for (Field f : arrow.getFields()) {
      names.add(f.getName());
    }
    Map<String, String> known = knownColumns.get(table);
    if (known != null && knownAll(known, names)) {
      return names;
    }
    synchronized (ddlLock) {
      Connection c = borrow();
      try {
        Map<String, String> existing = columnsOf(c, table);
        StringBuilder ddl = new StringBuilder();
        if (existing.isEmpty()) {
          ddl.append("CREATE TABLE IF NOT EXISTS ").append(qualified(table)).append(" (");
          for (int i = 0; i < arrow.getFields().size(); i++) {
            Field f = arrow.getFields().get(i);
            ddl.append(i == 0 ? "" : ", ")
                .append(quote(f.getName()))
                .append(' ')
                .append(SqlTypes.POSTGRES.columnType(table, f))
                .append(f.isNullable() ? "" : " NOT NULL");
          }
          ddl.append(')');
          for (String index : SqlTypes.POSTGRES.timeIndexes(qualified(table), table, arrow)) {
            ddl.append(";\n").append(index);
          }
        } else {
          for (Field f : arrow.getFields()) {
            if (!existing.containsKey(f.getName())) {
              ddl.append(ddl.length() == 0 ? "" : ";\n")
                  .append("ALTER TABLE ")
                  .append(qualified(table))
                  .append(" ADD COLUMN IF NOT EXISTS ")
                  .append(quote(f.getName()))
                  .append(' ')
                  .append(SqlTypes.POSTGRES.columnType(table, f));
            }
          }
        }
        if (ddl.length() > 0) {
          try (Statement st = c.createStatement()) {
            st.execute(ddl.toString());
          }
          existing = columnsOf(c, table);
        }
        for (String n : names) {
          if (!existing.containsKey(n)) {
            throw new SchemaMismatchException(table, n, "column is missing after ALTER TABLE");
          }
        }
        knownColumns.put(table, existing);
        release(c);
        return names;
      } catch (SQLException e) {
        discard(c);
        if (isConnectionProblem(e)) {
          throw unavailable("cannot create or alter '" + table + "'", e);
        }
        throw new HyprstreamException(
            "PostgreSQL refused to create or alter '" + table + "': " + scrub(e.getMessage()), e);
      } catch (RuntimeException e) {
        release(c);
        throw e;
      }
    }
  }

  private static boolean knownAll(Map<String, String> known, List<String> names) {
    for (String n : names) {
      if (!known.containsKey(n)) {
        return false;
      }
    }
    return true;
  }

  /** The columns of {@code table} in this store's schema, name to type; empty when missing. */
  private Map<String, String> columnsOf(Connection c, String table) throws SQLException {
    Map<String, String> out = new LinkedHashMap<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT column_name, data_type FROM information_schema.columns"
                + " WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position")) {
      ps.setString(1, schema);
      ps.setString(2, table);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.put(rs.getString(1), rs.getString(2));
        }
      }
    }
    return out;
  }

  /**
   * Runs {@code sql} with this store's schema first on the search path. Rows stream from a cursor,
   * {@value #RESULT_BATCH_ROWS} per batch. Ownership: the caller closes the returned reader, which
   * returns the connection.
   */
  @Override
  public ArrowReader query(String sql, BufferAllocator allocator) {
    Connection c = borrow();
    try {
      return ResultSetReader.openCursor(
          c,
          sql,
          allocator,
          RESULT_BATCH_ROWS,
          false,
          usable -> {
            if (usable) {
              release(c);
            } else {
              discard(c);
            }
          });
    } catch (SQLException e) {
      if (isConnectionProblem(e)) {
        discard(c);
        throw unavailable("query failed", e);
      }
      rollbackQuietly(c);
      release(c);
      if ("42P01".equals(e.getSQLState())) {
        String m = scrub(e.getMessage());
        Matcher name = MISSING_RELATION.matcher(m);
        if (name.find()) {
          throw new TableNotFoundException(name.group(1));
        }
      }
      throw new QueryRejectedException(
          "PostgreSQL rejected the query: " + scrub(e.getMessage()) + " (in: " + sql + ")", e);
    }
  }

  @Override
  public List<String> tables() {
    Connection c = borrow();
    List<String> out = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?"
                + " AND table_type IN ('BASE TABLE', 'VIEW') AND table_name <> ?"
                + " ORDER BY table_name")) {
      ps.setString(1, schema);
      ps.setString(2, LEDGER);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
      release(c);
      return out;
    } catch (SQLException e) {
      discard(c);
      throw unavailable("cannot list tables", e);
    }
  }

  @Override
  public @Nullable Schema tableSchema(String table) {
    Connection c = borrow();
    try {
      if (columnsOf(c, table).isEmpty()) {
        release(c);
        return null;
      }
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT * FROM " + qualified(table) + " LIMIT 0")) {
        Schema s = ResultSetReader.schemaOf(rs.getMetaData(), false);
        release(c);
        return s;
      }
    } catch (SQLException e) {
      discard(c);
      throw unavailable("cannot read the schema of '" + table + "'", e);
    }
  }

  @Override
  public void checkWritable(String table, Schema schema) {
    SqlTypes.POSTGRES.checkWritable(table, schema);
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    pool.close();
  }

  /** Installs a hook run after the COPY and before the commit; null removes it. For tests. */
  void beforeCommit(@Nullable FailureHook hook) {
    this.beforeCommit = hook;
  }

  private String qualified(String table) {
    return quote(schema) + "." + quote(table);
  }

  private Connection borrow() {
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
  private static void release(Connection c) {
    Closeables.closeQuietly(c);
  }

  /** Drops a connection that failed from the pool, so the next borrow opens a fresh one. */
  private void discard(Connection c) {
    try {
      pool.evictConnection(c);
    } catch (RuntimeException e) {
      Closeables.closeQuietly(c);
    }
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

  private BackendUnavailableException unavailable(String what, SQLException e) {
    return new BackendUnavailableException(what + ": " + scrub(e.getMessage()), e);
  }

  /** The message with the password, should a driver ever echo it, masked. */
  private String scrub(@Nullable String message) {
    String m = message == null ? "(no message)" : message;
    String password = properties.getProperty("password");
    if (password != null && !password.isEmpty()) {
      m = m.replace(password, "***");
    }
    return m;
  }

  private static void rollbackQuietly(Connection c) {
    try {
      if (!c.isClosed() && !c.getAutoCommit()) {
        c.rollback();
      }
    } catch (SQLException ignored) {
      // The connection is dropped next; the server rolls back on disconnect.
    }
  }
}
