package io.hyprstream.backend;

import static io.hyprstream.api.SqlIdentifier.quote;

import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.api.SqlIdentifier;
import io.hyprstream.api.TimeSlice;
import io.hyprstream.backend.AdbcSessions.Session;
import io.hyprstream.internal.arrow.Closeables;
import io.hyprstream.internal.arrow.ForwardingReader;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.arrow.adbc.core.AdbcConnection;
import org.apache.arrow.adbc.core.AdbcException;
import org.apache.arrow.adbc.core.AdbcStatement;
import org.apache.arrow.adbc.core.AdbcStatusCode;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.util.AutoCloseables;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.ipc.ArrowReader;
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
 * <p>Sessions ({@link AdbcSessions}): one for writes and metadata (serialised, reopened after a
 * connection failure) and one per query, closed with its reader. Over JDBC, the sessions' JDBC
 * connections come from a HikariCP pool sized by {@link PoolSettings}, so a query (the read-through
 * path) reuses an open connection instead of connecting anew. Values the adapter cannot bind
 * unchanged are converted first ({@link AdbcBinding}).
 */
public final class AdbcBackendStore implements BackendStore {
  private final BufferAllocator allocator;
  private final AdbcSessions sessions;
  private final SqlTypes dialect;

  /** Creates and grows tables; a batch's column matches a stored one whatever its case. */
  private final BackendTables tables;

  private final Object writeLock = new Object();
  private volatile @Nullable Runnable beforeCommit;

  private AdbcBackendStore(BufferAllocator allocator, AdbcSessions sessions, SqlTypes dialect) {
    this.allocator = allocator;
    this.sessions = sessions;
    this.dialect = dialect;
    // Plain ADD COLUMN: SQLite and generic JDBC know no ADD COLUMN IF NOT EXISTS.
    this.tables = new BackendTables(dialect, SqlIdentifier::quote, false, true);
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
    SqlTypes dialect = SqlTypes.fromOption(options).orElse(SqlTypes.forJdbcUrl(jdbcUrl));
    return open(
        "adbc-jdbc",
        parent,
        dialect,
        allocator ->
            AdbcSessions.jdbc(jdbcUrl, username, password, options, pool, dialect, allocator));
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
    SqlTypes dialect = SqlTypes.fromOption(options).orElse(SqlTypes.DUCKDB);
    return open(
        "adbc-flight-sql",
        parent,
        dialect,
        allocator -> AdbcSessions.flightSql(uri, username, password, options, allocator));
  }

  private static AdbcBackendStore open(
      String name,
      BufferAllocator parent,
      SqlTypes dialect,
      java.util.function.Function<BufferAllocator, AdbcSessions> sessions) {
    BufferAllocator allocator = parent.newChildAllocator(name, 0, Long.MAX_VALUE);
    AdbcSessions opened;
    try {
      opened = sessions.apply(allocator);
    } catch (RuntimeException e) {
      allocator.close();
      throw e;
    }
    AdbcBackendStore store = new AdbcBackendStore(allocator, opened, dialect);
    try {
      store.createLedger();
      return store;
    } catch (RuntimeException e) {
      store.close();
      throw e;
    }
  }

  @Override
  public String name() {
    return sessions.name();
  }

  /** PostgreSQL through JDBC: the dialect the split aggregates are tested against. */
  @Override
  public boolean computesPartialAggregates() {
    return dialect == SqlTypes.POSTGRES && sessions.transactional();
  }

  private void createLedger() {
    String text = dialect == SqlTypes.GENERIC ? "VARCHAR(512)" : "TEXT";
    String time = dialect == SqlTypes.POSTGRES ? "TIMESTAMPTZ" : "TIMESTAMP";
    synchronized (writeLock) {
      Session s = sessions.writer();
      try {
        AdbcSessions.execute(
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
        sessions.commitIfTransactional(s);
      } catch (AdbcException e) {
        throw sessions.failed(s, "cannot create the ledger table", e);
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
      Session s = sessions.writer();
      try {
        if (ledgerHas(s, batchId)) {
          sessions.commitIfTransactional(s);
          return;
        }
        if (sessions.transactional()) {
          insertLedger(s, table, batchId, batch.getRowCount());
        }
        if (batch.getRowCount() > 0) {
          insertRows(s, table, columns, batch);
        }
        if (!sessions.transactional()) {
          insertLedger(s, table, batchId, batch.getRowCount());
        }
        Runnable hook = beforeCommit;
        if (hook != null) {
          hook.run();
        }
        sessions.commitIfTransactional(s);
      } catch (AdbcException | RuntimeException e) {
        sessions.rollbackQuietly(s);
        if (sessions.transactional()
            && e instanceof AdbcException
            && containsAfterFailure(batchId)) {
          return; // a concurrent append of the same batch committed first
        }
        if (e instanceof HyprstreamException) {
          throw (HyprstreamException) e;
        }
        throw sessions.failed(s, "append of batch " + batchId + " to '" + table + "' failed", e);
      }
    }
  }

  @Override
  public boolean contains(String batchId) {
    synchronized (writeLock) {
      Session s = sessions.writer();
      try {
        boolean found = ledgerHas(s, batchId);
        sessions.commitIfTransactional(s);
        return found;
      } catch (AdbcException e) {
        throw sessions.failed(s, "cannot read the ledger", e);
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
    AdbcSessions.execute(
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
      st.bind(AdbcBinding.bindable(batch, converted, allocator, dialect == SqlTypes.SQLITE));
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

  /** Creates or grows {@code table}; returns the batch's column names. Holds the write lock. */
  private List<String> ensureTable(String table, Schema arrow) {
    Session s = sessions.writer();
    try {
      return tables.ensure(
          table,
          arrow,
          t -> {
            Schema existing = tableSchema(s, t);
            sessions.commitIfTransactional(s);
            Set<String> names = new HashSet<>();
            if (existing != null) {
              existing.getFields().forEach(f -> names.add(f.getName()));
            }
            return names;
          },
          ddl -> {
            for (String statement : ddl) {
              AdbcSessions.execute(s, statement);
            }
            sessions.commitIfTransactional(s);
          });
    } catch (AdbcException e) {
      sessions.rollbackQuietly(s);
      throw sessions.failed(s, "cannot create or alter '" + table + "'", e);
    }
  }

  /**
   * Runs {@code sql} on a connection of its own. Ownership: the caller closes the returned reader,
   * which closes that connection.
   */
  @Override
  public ArrowReader query(String sql, BufferAllocator allocator) {
    javax.sql.DataSource pool = sessions.jdbcPool();
    if ((dialect == SqlTypes.POSTGRES || dialect == SqlTypes.SQLITE) && pool != null) {
      return queryJdbc(pool, sql, allocator);
    }
    Session s = sessions.open();
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
      throw queryFailed(sql, e, AdbcSessions.isConnectionProblem(e));
    }
  }

  /**
   * SQLite holds timestamps as epoch microseconds (see {@link AdbcBinding#bindable}): the slice's
   * bounds are compared as those numbers.
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
      throw queryFailed(sql, e, sessions.isConnectionProblem(e));
    }
  }

  /** A query's failure: retryable when the connection failed, else the statement's refusal. */
  private HyprstreamException queryFailed(String sql, Exception e, boolean connectionProblem) {
    if (connectionProblem) {
      return sessions.unavailable("query failed", e);
    }
    return new QueryRejectedException(
        sessions.describe()
            + " rejected the query: "
            + sessions.scrub(e.getMessage())
            + " (in: "
            + sql
            + ")",
        e);
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
        throw sessions.unavailable("cannot list tables", e);
      }
    }
    synchronized (writeLock) {
      Session s = sessions.writer();
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
        sessions.commitIfTransactional(s);
        out.sort(null);
        return out;
      } catch (AdbcException e) {
        throw sessions.failed(s, "cannot list tables", e);
      } catch (IOException e) {
        throw sessions.unavailable("cannot list tables", e);
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
      Session s = sessions.writer();
      try {
        Schema schema = tableSchema(s, table);
        sessions.commitIfTransactional(s);
        return schema;
      } catch (AdbcException e) {
        throw sessions.failed(s, "cannot read the schema of '" + table + "'", e);
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
      if (AdbcSessions.isConnectionProblem(e)) {
        throw e;
      }
      // The statement failed inside the transaction: start over before the next statement.
      sessions.rollbackQuietly(s);
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
    synchronized (writeLock) {
      sessions.close();
    }
  }

  /** Installs a hook run after the inserts and before the commit; null removes it. For tests. */
  void beforeCommit(@Nullable Runnable hook) {
    this.beforeCommit = hook;
  }
}
