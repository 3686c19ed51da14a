package io.hyprstream.backend;

import static io.hyprstream.api.SqlIdentifier.quote;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.api.SqlIdentifier;
import io.hyprstream.api.TimeSlice;
import io.hyprstream.internal.arrow.Closeables;
import io.hyprstream.internal.arrow.ForwardingReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
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
import org.apache.arrow.vector.BaseIntVector;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.SmallIntVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * A {@link BackendStore} over ADBC Java: the JDBC adapter (any JDBC URL; tested with DuckDB files,
 * SQLite files and PostgreSQL) or the Flight SQL driver ({@code grpc://}, {@code grpc+tls://}).
 *
 * <p>Batches are inserted with a prepared {@code INSERT INTO t (columns) VALUES (?, ...)} whose
 * parameters are the bound Arrow batch (ADBC binds it as a JDBC batch). ADBC's own bulk ingest is
 * not used: it inserts by position, which breaks once a table has grown columns, and its CREATE
 * mode maps few types, so this store creates and grows tables itself.
 *
 * <p>Exactly once, JDBC: the ADBC connection runs with auto-commit off, and the ledger check, the
 * ledger row and the rows are one database transaction committed by {@link AdbcConnection#commit}.
 * Flight SQL: ADBC's Flight SQL driver (0.20.0) has no transactions, so the rows are inserted and
 * then the ledger row; a crash between the two can make a retry insert the batch again. That window
 * is documented in {@code docs/backends.md}.
 *
 * <p>A {@code JdbcDataSourceDatabase} hands every ADBC connection the same JDBC connection, so this
 * store opens one database per session: one for writes and metadata (serialised, reopened after a
 * connection failure) and one per query, closed with its reader. Over JDBC, the sessions' JDBC
 * connections come from a HikariCP pool sized by {@link PoolSettings}, so a query (the read-through
 * path) reuses an open connection instead of connecting anew.
 */
public final class AdbcBackendStore implements BackendStore {
  private final String name;
  private final BufferAllocator allocator;
  private final SessionFactory factory;
  private final SqlTypes dialect;
  private final boolean transactional;
  private final String describe;
  private final @Nullable String password;
  private final @Nullable AutoCloseable pool;
  private final Map<String, Set<String>> knownColumns = new ConcurrentHashMap<>();
  private final Object writeLock = new Object();
  private final AtomicBoolean closed = new AtomicBoolean();
  private @Nullable Session writer;
  private volatile @Nullable Runnable beforeCommit;

  /** Opens one ADBC database and a connection on it. */
  @FunctionalInterface
  private interface SessionFactory {
    Session open(BufferAllocator allocator) throws AdbcException;
  }

  /** An ADBC database and its one connection. */
  private static final class Session implements AutoCloseable {
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

  private AdbcBackendStore(
      String name,
      BufferAllocator allocator,
      SessionFactory factory,
      SqlTypes dialect,
      boolean transactional,
      String describe,
      @Nullable String password,
      @Nullable AutoCloseable pool) {
    this.pool = pool;
    this.name = name;
    this.allocator = allocator;
    this.factory = factory;
    this.dialect = dialect;
    this.transactional = transactional;
    this.describe = describe;
    this.password = password;
  }

  /**
   * Opens a backend over ADBC's JDBC adapter at {@code jdbcUrl} and creates the ledger table.
   * Buffers come from a child of {@code parent}, closed with the store.
   *
   * @throws BackendUnavailableException when the database cannot be reached or refuses the
   *     credentials; the message never contains the password
   */
  public static AdbcBackendStore jdbc(
      String jdbcUrl,
      @Nullable String username,
      @Nullable String password,
      Map<String, String> options,
      BufferAllocator parent) {
    return jdbc(jdbcUrl, username, password, options, PoolSettings.DEFAULTS, parent);
  }

  /**
   * As {@link #jdbc(String, String, String, Map, BufferAllocator)}, pooled as {@code pool} says.
   */
  public static AdbcBackendStore jdbc(
      String jdbcUrl,
      @Nullable String username,
      @Nullable String password,
      Map<String, String> options,
      PoolSettings pool,
      BufferAllocator parent) {
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
      // Text parameters go untyped, so PostgreSQL reads a timestamp bound as text (see bindable)
      // as the column's type instead of refusing varchar for a timestamp column.
      props.putIfAbsent("stringtype", "unspecified");
    }
    HikariConfig config = new HikariConfig();
    config.setPoolName("hyprstream-adbc-jdbc");
    config.setJdbcUrl(jdbcUrl);
    config.setDataSourceProperties(props);
    config.setMaximumPoolSize(pool.maxSize());
    config.setMinimumIdle(pool.minIdle());
    config.setConnectionTimeout(pool.connectTimeout().toMillis());
    // The ledger is created right after; a database that cannot be reached fails there, named.
    config.setInitializationFailTimeout(-1);
    HikariDataSource hikari = new HikariDataSource(config);
    ForwardOnlyDataSource source = new ForwardOnlyDataSource(hikari, jdbcUrl, pool.socketTimeout());
    SessionFactory factory =
        alloc -> {
          Map<String, Object> params = new HashMap<>();
          params.put(JdbcDriver.PARAM_DATASOURCE, source);
          AdbcDatabase db = new JdbcDriver(alloc).open(params);
          try {
            return new Session(db, db.connect());
          } catch (AdbcException | RuntimeException e) {
            Closeables.closeQuietly(db);
            throw e;
          }
        };
    String lower = jdbcUrl.toLowerCase(Locale.ROOT);
    SqlTypes dialect =
        dialectOption(options)
            .orElse(
                lower.startsWith("jdbc:duckdb:")
                    ? SqlTypes.DUCKDB
                    : lower.startsWith("jdbc:sqlite:")
                        ? SqlTypes.SQLITE
                        : lower.startsWith("jdbc:postgresql:")
                            ? SqlTypes.POSTGRES
                            : SqlTypes.GENERIC);
    String where = jdbcUrl.replaceFirst("\\?.*$", "") + (username == null ? "" : " as " + username);
    return open("adbc-jdbc", parent, factory, dialect, true, where, password, hikari);
  }

  /**
   * Opens a backend over ADBC's Flight SQL driver at {@code uri} ({@code grpc://host:port} or
   * {@code grpc+tls://host:port}). {@code options} are passed to the driver (e.g. {@code
   * adbc.flight.sql.rpc.call_header.*}); {@code dialect} picks the SQL types of CREATE TABLE
   * ({@code duckdb} by default, which a Hyprstream server speaks).
   *
   * @throws BackendUnavailableException when the server cannot be reached
   */
  public static AdbcBackendStore flightSql(
      String uri,
      @Nullable String username,
      @Nullable String password,
      Map<String, String> options,
      BufferAllocator parent) {
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
          AdbcDatabase db = new FlightSqlDriver(alloc).open(params);
          try {
            return new Session(db, db.connect());
          } catch (AdbcException | RuntimeException e) {
            Closeables.closeQuietly(db);
            throw e;
          }
        };
    SqlTypes dialect = dialectOption(options).orElse(SqlTypes.DUCKDB);
    String where = uri + (username == null ? "" : " as " + username);
    return open("adbc-flight-sql", parent, factory, dialect, false, where, password, null);
  }

  private static AdbcBackendStore open(
      String name,
      BufferAllocator parent,
      SessionFactory factory,
      SqlTypes dialect,
      boolean transactional,
      String describe,
      @Nullable String password,
      @Nullable AutoCloseable pool) {
    BufferAllocator allocator = parent.newChildAllocator(name, 0, Long.MAX_VALUE);
    AdbcBackendStore store =
        new AdbcBackendStore(
            name, allocator, factory, dialect, transactional, describe, password, pool);
    try {
      store.createLedger();
      return store;
    } catch (RuntimeException e) {
      store.close();
      throw e;
    }
  }

  private static java.util.Optional<SqlTypes> dialectOption(Map<String, String> options) {
    String d = options.get("dialect");
    if (d == null) {
      return java.util.Optional.empty();
    }
    try {
      return java.util.Optional.of(SqlTypes.valueOf(d.toUpperCase(Locale.ROOT)));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "dialect must be one of postgres, duckdb, sqlite, generic; not '" + d + "'", e);
    }
  }

  @Override
  public String name() {
    return name;
  }

  /** PostgreSQL through JDBC: the dialect the split aggregates are tested against. */
  @Override
  public boolean computesPartialAggregates() {
    return dialect == SqlTypes.POSTGRES && transactional;
  }

  private void createLedger() {
    String text = dialect == SqlTypes.GENERIC ? "VARCHAR(512)" : "TEXT";
    String time = dialect == SqlTypes.POSTGRES ? "TIMESTAMPTZ" : "TIMESTAMP";
    synchronized (writeLock) {
      Session s = writer();
      try {
        execute(
            s,
            "CREATE TABLE IF NOT EXISTS "
                + quote(PostgresBackendStore.LEDGER)
                + " (batch_id "
                + text
                + " PRIMARY KEY, table_name "
                + text
                + " NOT NULL, row_count BIGINT NOT NULL, committed_at "
                + time
                + ")");
        commitIfTransactional(s);
      } catch (AdbcException e) {
        throw failed(s, "cannot create the ledger table", e);
      }
    }
  }

  @Override
  public void append(String table, String batchId, VectorSchemaRoot batch) {
    for (FieldVector v : batch.getFieldVectors()) {
      if (v instanceof FixedSizeListVector) {
        throw new SchemaMismatchException(
            table, v.getName(), "fixed-size lists cannot be bound through ADBC's JDBC adapter");
      }
    }
    synchronized (writeLock) {
      List<String> columns = ensureTable(table, batch.getSchema());
      Session s = writer();
      try {
        if (ledgerHas(s, batchId)) {
          commitIfTransactional(s);
          return;
        }
        if (transactional) {
          insertLedger(s, table, batchId, batch.getRowCount());
        }
        if (batch.getRowCount() > 0) {
          insertRows(s, table, columns, batch);
        }
        if (!transactional) {
          insertLedger(s, table, batchId, batch.getRowCount());
        }
        Runnable hook = beforeCommit;
        if (hook != null) {
          hook.run();
        }
        commitIfTransactional(s);
      } catch (AdbcException | RuntimeException e) {
        rollbackQuietly(s);
        if (transactional && e instanceof AdbcException && containsAfterFailure(batchId)) {
          return; // a concurrent append of the same batch committed first
        }
        if (e instanceof HyprstreamException) {
          throw (HyprstreamException) e;
        }
        throw failed(s, "append of batch " + batchId + " to '" + table + "' failed", e);
      }
    }
  }

  @Override
  public boolean contains(String batchId) {
    synchronized (writeLock) {
      Session s = writer();
      try {
        boolean found = ledgerHas(s, batchId);
        commitIfTransactional(s);
        return found;
      } catch (AdbcException e) {
        throw failed(s, "cannot read the ledger", e);
      }
    }
  }

  private boolean containsAfterFailure(String batchId) {
    try {
      return contains(batchId);
    } catch (RuntimeException e) {
      return false;
    }
  }

  private boolean ledgerHas(Session s, String batchId) throws AdbcException {
    String sql =
        "SELECT batch_id FROM "
            + quote(PostgresBackendStore.LEDGER)
            + " WHERE batch_id = "
            + SqlTypes.literal(batchId);
    try (AdbcStatement st = s.connection.createStatement()) {
      st.setSqlQuery(sql);
      try (ArrowReader r = st.executeQuery().getReader()) {
        while (r.loadNextBatch()) {
          if (r.getVectorSchemaRoot().getRowCount() > 0) {
            return true;
          }
        }
        return false;
      }
    } catch (AdbcException e) {
      throw e;
    } catch (Exception e) {
      throw new AdbcException(e.getMessage(), e, AdbcStatusCode.IO, null, 0);
    }
  }

  private void insertLedger(Session s, String table, String batchId, long rows)
      throws AdbcException {
    execute(
        s,
        "INSERT INTO "
            + quote(PostgresBackendStore.LEDGER)
            + " (batch_id, table_name, row_count, committed_at) VALUES ("
            + SqlTypes.literal(batchId)
            + ", "
            + SqlTypes.literal(table)
            + ", "
            + rows
            + ", CURRENT_TIMESTAMP)");
  }

  private void insertRows(Session s, String table, List<String> columns, VectorSchemaRoot batch)
      throws AdbcException {
    String sql =
        "INSERT INTO "
            + quote(table)
            + " ("
            + columns.stream().map(SqlIdentifier::quote).collect(Collectors.joining(", "))
            + ") VALUES ("
            + columns.stream().map(c -> "?").collect(Collectors.joining(", "))
            + ")";
    List<FieldVector> converted = new ArrayList<>();
    try (AdbcStatement st = s.connection.createStatement()) {
      st.setSqlQuery(sql);
      st.prepare();
      st.bind(bindable(batch, converted));
      st.executeUpdate();
    } catch (AdbcException e) {
      throw e;
    } catch (RuntimeException e) {
      // The adapter could not bind a value: the batch's fault, not the connection's, so it is
      // quarantined instead of retried for ever.
      throw new AdbcException(e.getMessage(), e, AdbcStatusCode.INVALID_ARGUMENT, null, 0);
    } catch (Exception e) {
      throw new AdbcException(e.getMessage(), e, AdbcStatusCode.IO, null, 0);
    } finally {
      converted.forEach(FieldVector::close);
    }
  }

  /**
   * {@code batch} as ADBC's JDBC adapter can bind it, the columns it takes as they are shared:
   *
   * <ul>
   *   <li>unsigned integers widened to the next signed type (the adapter has no binder for them,
   *       and the column is created one size up: {@link SqlTypes});
   *   <li>timestamps before 1970, and nanosecond ones, as text ({@code 1969-12-31 23:59:59.999999},
   *       {@code +00} when zoned), which the database casts to the column's type: the adapter's
   *       timestamp binder splits a negative value into a negative nanosecond part, which {@link
   *       java.sql.Timestamp#setNanos} refuses, and would leave the rounding of nanoseconds to the
   *       database (see {@link SqlTypes#toMicros});
   *   <li>for SQLite, timestamps as epoch microseconds ({@code BIGINT}) and dates as epoch days
   *       ({@code INTEGER}): SQLite has no time types, and its JDBC driver would store a bound
   *       timestamp as epoch milliseconds, dropping the microseconds. {@link ResultSetReader} reads
   *       such columns back by their declared names.
   * </ul>
   *
   * The new vectors go into {@code converted}, which the caller closes; the returned root must not
   * be closed.
   */
  private VectorSchemaRoot bindable(VectorSchemaRoot batch, List<FieldVector> converted) {
    List<FieldVector> vectors = new ArrayList<>();
    boolean sqlite = dialect == SqlTypes.SQLITE;
    for (FieldVector v : batch.getFieldVectors()) {
      ArrowType type = v.getField().getType();
      FieldVector out;
      RowCopy copy;
      if (type instanceof ArrowType.Int && !((ArrowType.Int) type).getIsSigned()) {
        int bits = ((ArrowType.Int) type).getBitWidth();
        out =
            bits == 8
                ? new SmallIntVector(v.getName(), allocator)
                : bits == 16
                    ? new IntVector(v.getName(), allocator)
                    : new BigIntVector(v.getName(), allocator);
        BaseIntVector from = (BaseIntVector) v;
        BaseIntVector to = (BaseIntVector) out;
        // getValueAsLong reads an unsigned vector's value without its sign.
        copy = r -> to.setWithPossibleTruncate(r, from.getValueAsLong(r));
      } else if (v instanceof TimeStampVector
          && (sqlite
              || ((ArrowType.Timestamp) type).getUnit() == TimeUnit.NANOSECOND
              || beforeEpoch((TimeStampVector) v))) {
        TimeStampVector from = (TimeStampVector) v;
        ArrowType.Timestamp ts = (ArrowType.Timestamp) type;
        if (sqlite) {
          BigIntVector to = new BigIntVector(v.getName(), allocator);
          out = to;
          copy = r -> to.setSafe(r, SqlTypes.toMicros(from.get(r), ts.getUnit()));
        } else {
          VarCharVector to = new VarCharVector(v.getName(), allocator);
          out = to;
          String zone = ts.getTimezone() == null ? "" : "+00";
          copy =
              r ->
                  to.setSafe(
                      r,
                      (timestampText(SqlTypes.toMicros(from.get(r), ts.getUnit())) + zone)
                          .getBytes(StandardCharsets.UTF_8));
        }
      } else if (sqlite && v instanceof DateDayVector) {
        DateDayVector from = (DateDayVector) v;
        IntVector to = new IntVector(v.getName(), allocator);
        out = to;
        copy = r -> to.setSafe(r, from.get(r));
      } else {
        vectors.add(v);
        continue;
      }
      converted.add(out);
      int rows = batch.getRowCount();
      out.setInitialCapacity(rows);
      out.allocateNew();
      for (int r = 0; r < rows; r++) {
        if (v.isNull(r)) {
          out.setNull(r);
        } else {
          copy.row(r);
        }
      }
      out.setValueCount(rows);
      vectors.add(out);
    }
    return new VectorSchemaRoot(vectors);
  }

  /** Copies one non-null row into a converted vector. */
  @FunctionalInterface
  private interface RowCopy {
    void row(int row);
  }

  /** {@code micros} since the epoch as UTC text a database casts to its timestamp types. */
  private static String timestampText(long micros) {
    return LocalDateTime.ofEpochSecond(
            Math.floorDiv(micros, 1_000_000L),
            (int) Math.floorMod(micros, 1_000_000L) * 1000,
            ZoneOffset.UTC)
        .format(TIMESTAMP_TEXT);
  }

  private static final DateTimeFormatter TIMESTAMP_TEXT =
      DateTimeFormatter.ofPattern("uuuu-MM-dd HH:mm:ss.SSSSSS", Locale.ROOT);

  private static boolean beforeEpoch(TimeStampVector v) {
    for (int r = 0; r < v.getValueCount(); r++) {
      if (!v.isNull(r) && v.get(r) < 0) {
        return true;
      }
    }
    return false;
  }

  /** Creates or grows {@code table}; returns the batch's column names. Holds the write lock. */
  private List<String> ensureTable(String table, Schema arrow) {
    List<String> names = new ArrayList<>();
    for (Field f : arrow.getFields()) {
      names.add(f.getName());
    }
    Set<String> known = knownColumns.get(table);
    if (known != null && known.containsAll(lower(names))) {
      return names;
    }
    Session s = writer();
    try {
      Schema existing = tableSchema(s, table);
      if (existing == null) {
        StringBuilder ddl =
            new StringBuilder("CREATE TABLE IF NOT EXISTS ").append(quote(table)).append(" (");
        for (int i = 0; i < arrow.getFields().size(); i++) {
          Field f = arrow.getFields().get(i);
          ddl.append(i == 0 ? "" : ", ")
              .append(quote(f.getName()))
              .append(' ')
              .append(dialect.columnType(table, f))
              .append(f.isNullable() ? "" : " NOT NULL");
        }
        execute(s, ddl.append(')').toString());
        for (String index : dialect.timeIndexes(quote(table), table, arrow)) {
          execute(s, index);
        }
      } else {
        Set<String> have =
            lower(existing.getFields().stream().map(Field::getName).collect(Collectors.toList()));
        for (Field f : arrow.getFields()) {
          if (!have.contains(f.getName().toLowerCase(Locale.ROOT))) {
            execute(
                s,
                "ALTER TABLE "
                    + quote(table)
                    + " ADD COLUMN "
                    + quote(f.getName())
                    + ' '
                    + dialect.columnType(table, f));
          }
        }
      }
      commitIfTransactional(s);
      Schema now = tableSchema(s, table);
      commitIfTransactional(s);
      if (now == null) {
        throw new HyprstreamException("table '" + table + "' is missing after CREATE TABLE");
      }
      knownColumns.put(
          table, lower(now.getFields().stream().map(Field::getName).collect(Collectors.toList())));
      return names;
    } catch (AdbcException e) {
      rollbackQuietly(s);
      throw failed(s, "cannot create or alter '" + table + "'", e);
    }
  }

  private static Set<String> lower(List<String> names) {
    Set<String> out = new HashSet<>();
    for (String n : names) {
      out.add(n.toLowerCase(Locale.ROOT));
    }
    return out;
  }

  /**
   * Runs {@code sql} on a connection of its own. Ownership: the caller closes the returned reader,
   * which closes that connection.
   */
  @Override
  public ArrowReader query(String sql, BufferAllocator allocator) {
    if ((dialect == SqlTypes.POSTGRES || dialect == SqlTypes.SQLITE)
        && pool instanceof javax.sql.DataSource) {
      return queryJdbc((javax.sql.DataSource) pool, sql, allocator);
    }
    Session s = openSession();
    AdbcStatement st = null;
    try {
      st = s.connection.createStatement();
      st.setSqlQuery(sql);
      ArrowReader reader = st.executeQuery().getReader();
      AdbcStatement held = st;
      return new ForwardingReader(allocator, reader, () -> AutoCloseables.close(held, s));
    } catch (AdbcException e) {
      Closeables.closeQuietly(st);
      s.close();
      if (isConnectionProblem(e)) {
        throw unavailable("query failed", e);
      }
      throw new QueryRejectedException(
          describe + " rejected the query: " + scrub(e.getMessage()) + " (in: " + sql + ")", e);
    }
  }

  /**
   * SQLite holds timestamps as epoch microseconds (see {@link #epochNumbers}): the slice's bounds
   * are compared as those numbers.
   */
  @Override
  public ArrowReader read(TimeSlice slice, BufferAllocator allocator) {
    if (dialect != SqlTypes.SQLITE) {
      return BackendStore.super.read(slice, allocator);
    }
    return query("SELECT * FROM " + quote(slice.table()) + slice.where(Long::toString), allocator);
  }

  /**
   * PostgreSQL's and SQLite's answers are read with {@link ResultSetReader}, as {@link
   * PostgresBackendStore} reads them, not through ADBC: ADBC's JDBC adapter reads a {@code
   * timestamp} as milliseconds, which would drop the microseconds of every row read back from the
   * backend, and a SQLite {@code REAL} as a 32-bit float.
   */
  private ArrowReader queryJdbc(
      javax.sql.DataSource source, String sql, BufferAllocator allocator) {
    java.sql.Connection c = null;
    try {
      c = source.getConnection();
      java.sql.Connection heldConnection = c;
      return ResultSetReader.openCursor(
          c,
          sql,
          allocator,
          PostgresBackendStore.RESULT_BATCH_ROWS,
          dialect == SqlTypes.SQLITE,
          usable -> heldConnection.close()); // back to the pool; Hikari checks it
    } catch (java.sql.SQLException e) {
      Closeables.closeQuietly(c);
      if (isConnectionProblem(e)) {
        throw unavailable("query failed", e);
      }
      throw new QueryRejectedException(
          describe + " rejected the query: " + scrub(e.getMessage()) + " (in: " + sql + ")", e);
    }
  }

  @Override
  public List<String> tables() {
    if (dialect == SqlTypes.SQLITE) {
      // ADBC 0.20.0's getObjects fails on sqlite-jdbc ("No or unknown error"): ask the catalog.
      List<String> out = new ArrayList<>();
      try (ArrowReader r =
          query(
              "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
                  + " AND name NOT LIKE 'sqlite_%' AND name <> '"
                  + PostgresBackendStore.LEDGER
                  + "' ORDER BY name",
              allocator)) {
        while (r.loadNextBatch()) {
          FieldVector v = r.getVectorSchemaRoot().getVector(0);
          for (int i = 0; i < r.getVectorSchemaRoot().getRowCount(); i++) {
            out.add(String.valueOf(v.getObject(i)));
          }
        }
        return out;
      } catch (IOException e) {
        throw unavailable("cannot list tables", e);
      }
    }
    synchronized (writeLock) {
      Session s = writer();
      try (ArrowReader r =
          s.connection.getObjects(
              AdbcConnection.GetObjectsDepth.TABLES, null, null, null, null, null)) {
        List<String> out = new ArrayList<>();
        while (r.loadNextBatch()) {
          VectorSchemaRoot root = r.getVectorSchemaRoot();
          FieldVector schemas = root.getVector("catalog_db_schemas");
          for (int i = 0; i < root.getRowCount(); i++) {
            Object dbSchemas = schemas.getObject(i);
            if (dbSchemas instanceof List) {
              for (Object dbSchema : (List<?>) dbSchemas) {
                collectTables((Map<?, ?>) dbSchema, out);
              }
            }
          }
        }
        commitIfTransactional(s);
        out.sort(null);
        return out;
      } catch (AdbcException e) {
        throw failed(s, "cannot list tables", e);
      } catch (IOException e) {
        throw unavailable("cannot list tables", e);
      }
    }
  }

  private static void collectTables(Map<?, ?> dbSchema, List<String> out) {
    Object schemaName = dbSchema.get("db_schema_name");
    String sn = schemaName == null ? "" : schemaName.toString().toLowerCase(Locale.ROOT);
    if (sn.equals("information_schema") || sn.equals("pg_catalog")) {
      return;
    }
    Object tables = dbSchema.get("db_schema_tables");
    if (!(tables instanceof List)) {
      return;
    }
    for (Object t : (List<?>) tables) {
      Map<?, ?> table = (Map<?, ?>) t;
      Object name = table.get("table_name");
      Object type = table.get("table_type");
      String n = name == null ? "" : name.toString();
      String ty = type == null ? "" : type.toString().toUpperCase(Locale.ROOT);
      if (n.isEmpty()
          || n.equals(PostgresBackendStore.LEDGER)
          || n.startsWith("sqlite_")
          || !(ty.contains("TABLE") || ty.equals("VIEW"))
          || ty.contains("SYSTEM")
          || ty.contains("TEMP")) {
        continue;
      }
      out.add(n);
    }
  }

  @Override
  public @Nullable Schema tableSchema(String table) {
    synchronized (writeLock) {
      Session s = writer();
      try {
        Schema schema = tableSchema(s, table);
        commitIfTransactional(s);
        return schema;
      } catch (AdbcException e) {
        throw failed(s, "cannot read the schema of '" + table + "'", e);
      }
    }
  }

  /** The schema a query of {@code table} returns, or null when the table does not exist. */
  private @Nullable Schema tableSchema(Session s, String table) throws AdbcException {
    try (AdbcStatement st = s.connection.createStatement()) {
      st.setSqlQuery("SELECT * FROM " + quote(table) + " WHERE 1 = 0");
      try (ArrowReader r = st.executeQuery().getReader()) {
        return r.getVectorSchemaRoot().getSchema();
      }
    } catch (AdbcException e) {
      if (isConnectionProblem(e)) {
        throw e;
      }
      // The statement failed inside the transaction: start over before the next statement.
      rollbackQuietly(s);
      return null;
    } catch (Exception e) {
      throw new AdbcException(e.getMessage(), e, AdbcStatusCode.IO, null, 0);
    }
  }

  @Override
  public void checkWritable(String table, Schema schema) {
    dialect.checkWritable(table, schema);
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    synchronized (writeLock) {
      Session s = writer;
      writer = null;
      if (s != null) {
        s.close();
      }
    }
    Closeables.closeQuietly(pool);
    allocator.close();
  }

  /** Installs a hook run after the inserts and before the commit; null removes it. For tests. */
  void beforeCommit(@Nullable Runnable hook) {
    this.beforeCommit = hook;
  }

  private Session writer() {
    if (closed.get()) {
      throw new IllegalStateException("the " + name + " backend is closed");
    }
    Session s = writer;
    if (s == null) {
      s = openSession();
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

  private Session openSession() {
    try {
      return factory.open(allocator);
    } catch (AdbcException | RuntimeException e) {
      throw new BackendUnavailableException(
          "cannot connect to " + describe + ": " + scrub(messageOf(e)), e);
    }
  }

  private void commitIfTransactional(Session s) throws AdbcException {
    if (transactional) {
      s.connection.commit();
    }
  }

  private void rollbackQuietly(Session s) {
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
  private HyprstreamException failed(Session s, String what, Exception e) {
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
  private boolean isConnectionProblem(java.sql.SQLException e) {
    if (dialect != SqlTypes.SQLITE) {
      return PostgresBackendStore.isConnectionProblem(e);
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

  private static boolean isConnectionProblem(Exception e) {
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

  private BackendUnavailableException unavailable(String what, Exception e) {
    return new BackendUnavailableException(describe + ": " + what + ": " + scrub(messageOf(e)), e);
  }

  private static String messageOf(Exception e) {
    return e.getMessage() == null ? e.toString() : e.getMessage();
  }

  private String scrub(@Nullable String message) {
    String m = message == null ? "(no message)" : message;
    String p = password;
    return p == null || p.isEmpty() ? m : m.replace(p, "***");
  }

  private static void execute(Session s, String sql) throws AdbcException {
    try (AdbcStatement st = s.connection.createStatement()) {
      st.setSqlQuery(sql);
      st.executeUpdate();
    } catch (AdbcException e) {
      throw e;
    } catch (Exception e) {
      throw new AdbcException(e.getMessage(), e, AdbcStatusCode.IO, null, 0);
    }
  }
}
