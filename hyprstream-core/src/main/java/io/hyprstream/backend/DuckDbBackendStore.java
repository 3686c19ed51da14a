package io.hyprstream.backend;

import static io.hyprstream.api.SqlIdentifier.quote;

import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.SqlIdentifier;
import io.hyprstream.internal.arrow.ArrowCopy;
import io.hyprstream.internal.arrow.BatchListReader;
import io.hyprstream.internal.arrow.Closeables;
import io.hyprstream.internal.arrow.DuckDbExport;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.arrow.c.ArrowArrayStream;
import org.apache.arrow.c.Data;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;
import org.duckdb.DuckDBConnection;
import org.jspecify.annotations.Nullable;

/**
 * A {@link BackendStore} in a DuckDB file: the embedded, durable default that survives restarts
 * with no server.
 *
 * <p>It uses DuckDB's JDBC driver directly rather than ADBC's JDBC adapter: batches enter through
 * DuckDB's Arrow scan ({@code registerArrowStream} + {@code INSERT ... SELECT}, millions of rows/s)
 * where ADBC binds them row by row as a JDBC batch, and results leave through {@code
 * arrowExportStream} with DuckDB's own types (microsecond timestamps, decimals, arrays) where ADBC
 * converts through JDBC. {@link AdbcBackendStore} over {@code jdbc:duckdb:} works too.
 *
 * <p>Exactly once: {@code BEGIN; INSERT INTO hyprstream_ledger ... ON CONFLICT DO NOTHING;}
 * (nothing more when the id is there) {@code INSERT INTO t ...; COMMIT} on one connection.
 */
public final class DuckDbBackendStore implements BackendStore {
  static final int RESULT_BATCH_ROWS = 64 * 1024;

  private final BufferAllocator allocator;
  private final DuckDBConnection database;
  private final String describe;
  private final BackendTables tables =
      new BackendTables(SqlTypes.DUCKDB, SqlIdentifier::quote, true, true);
  private final AtomicInteger streamNames = new AtomicInteger();
  private final Object writeLock = new Object();
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile @Nullable Runnable beforeCommit;

  private DuckDbBackendStore(
      BufferAllocator allocator, DuckDBConnection database, String describe) {
    this.allocator = allocator;
    this.database = database;
    this.describe = describe;
  }

  /**
   * Opens (or creates) the DuckDB database in {@code file} and its ledger table. Buffers come from
   * a child of {@code parent}, closed with the store.
   *
   * @throws BackendUnavailableException when the file cannot be opened (missing directory, locked
   *     by another process, not a DuckDB file)
   */
  public static DuckDbBackendStore open(Path file, BufferAllocator parent) {
    String describe = "DuckDB file " + file.toAbsolutePath();
    BufferAllocator allocator = parent.newChildAllocator("duckdb-backend", 0, Long.MAX_VALUE);
    try {
      DuckDBConnection conn =
          (DuckDBConnection) DriverManager.getConnection("jdbc:duckdb:" + file.toAbsolutePath());
      try (Statement st = conn.createStatement()) {
        st.execute("SET TimeZone = 'UTC'");
        st.execute(
            "CREATE TABLE IF NOT EXISTS "
                + quote(PostgresBackendStore.LEDGER)
                + " (batch_id VARCHAR PRIMARY KEY, table_name VARCHAR NOT NULL,"
                + " row_count BIGINT NOT NULL, committed_at TIMESTAMPTZ DEFAULT now())");
      } catch (SQLException e) {
        conn.close();
        throw e;
      }
      return new DuckDbBackendStore(allocator, conn, describe);
    } catch (SQLException e) {
      allocator.close();
      throw new BackendUnavailableException("cannot open " + describe + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String name() {
    return "duckdb";
  }

  @Override
  public void append(String table, String batchId, VectorSchemaRoot batch) {
    synchronized (writeLock) {
      List<String> columns = ensureTable(table, batch.getSchema());
      String cols = columns.stream().map(SqlIdentifier::quote).collect(Collectors.joining(", "));
      String stream = "_hs_bk_" + streamNames.incrementAndGet();
      DuckDBConnection c = database;
      try (Statement st = c.createStatement()) {
        st.execute("BEGIN TRANSACTION");
        try {
          int inserted;
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO "
                      + quote(PostgresBackendStore.LEDGER)
                      + " (batch_id, table_name, row_count) VALUES (?, ?, ?)"
                      + " ON CONFLICT DO NOTHING")) {
            ps.setString(1, batchId);
            ps.setString(2, table);
            ps.setLong(3, batch.getRowCount());
            inserted = ps.executeUpdate();
          }
          if (inserted == 0) {
            st.execute("ROLLBACK");
            return;
          }
          if (batch.getRowCount() > 0) {
            try (ArrowArrayStream s = ArrowArrayStream.allocateNew(allocator)) {
              Data.exportArrayStream(
                  allocator,
                  new BatchListReader(
                      allocator, batch.getSchema(), List.of(ArrowCopy.share(batch, allocator))),
                  s);
              c.registerArrowStream(stream, s);
              st.execute(
                  "INSERT INTO "
                      + quote(table)
                      + " ("
                      + cols
                      + ") SELECT "
                      + cols
                      + " FROM "
                      + stream);
              st.execute("DROP VIEW IF EXISTS " + stream);
            }
          }
          Runnable hook = beforeCommit;
          if (hook != null) {
            hook.run();
          }
          st.execute("COMMIT");
        } catch (SQLException | RuntimeException e) {
          rollbackQuietly();
          throw e;
        }
      } catch (SQLException e) {
        throw new HyprstreamException(
            describe + " rejected batch " + batchId + " for '" + table + "': " + e.getMessage(), e);
      }
    }
  }

  @Override
  public boolean contains(String batchId) {
    try (PreparedStatement ps =
        database.prepareStatement(
            "SELECT 1 FROM " + quote(PostgresBackendStore.LEDGER) + " WHERE batch_id = ?")) {
      ps.setString(1, batchId);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    } catch (SQLException e) {
      throw new HyprstreamException("cannot read the ledger: " + e.getMessage(), e);
    }
  }

  private List<String> ensureTable(String table, Schema arrow) {
    try {
      return tables.ensure(
          table,
          arrow,
          this::columnsOf,
          ddl -> {
            try (Statement st = database.createStatement()) {
              for (String statement : ddl) {
                st.execute(statement);
              }
            }
          });
    } catch (SQLException e) {
      throw new HyprstreamException(
          describe + " refused to create or alter '" + table + "': " + e.getMessage(), e);
    }
  }

  private Set<String> columnsOf(String table) throws SQLException {
    Set<String> out = new java.util.HashSet<>();
    try (PreparedStatement ps =
        database.prepareStatement(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main'"
                + " AND table_name = ?")) {
      ps.setString(1, table);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1).toLowerCase(Locale.ROOT));
        }
      }
    }
    return out;
  }

  /**
   * Runs {@code sql} on a connection of its own. Ownership: the caller closes the returned reader.
   */
  @Override
  public ArrowReader query(String sql, BufferAllocator alloc) {
    DuckDBConnection c;
    try {
      c = (DuckDBConnection) database.duplicate();
    } catch (SQLException e) {
      throw new BackendUnavailableException(describe + ": " + e.getMessage(), e);
    }
    Statement st = null;
    ResultSet rs = null;
    try {
      st = c.createStatement();
      rs = st.executeQuery(sql);
      return DuckDbExport.stream(rs, st, c, alloc, RESULT_BATCH_ROWS);
    } catch (SQLException | RuntimeException e) {
      Closeables.closeQuietly(rs);
      Closeables.closeQuietly(st);
      Closeables.closeQuietly(c);
      throw new QueryRejectedException(
          describe + " rejected the query: " + e.getMessage() + " (in: " + sql + ")", e);
    }
  }

  @Override
  public List<String> tables() {
    // The shared connection may be inside an append's transaction on the writer's thread: wait
    // for it rather than interleave statements on one connection.
    synchronized (writeLock) {
      return tablesLocked();
    }
  }

  private List<String> tablesLocked() {
    List<String> out = new ArrayList<>();
    try (Statement st = database.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND schema_name ="
                    + " 'main' AND table_name <> '"
                    + PostgresBackendStore.LEDGER
                    + "' UNION SELECT view_name FROM duckdb_views() WHERE NOT internal AND NOT"
                    + " temporary AND schema_name = 'main' ORDER BY 1")) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
      return out;
    } catch (SQLException e) {
      throw new HyprstreamException("cannot list tables: " + e.getMessage(), e);
    }
  }

  @Override
  public @Nullable Schema tableSchema(String table) {
    synchronized (writeLock) {
      return tableSchemaLocked(table);
    }
  }

  private @Nullable Schema tableSchemaLocked(String table) {
    try {
      if (columnsOf(table).isEmpty()) {
        return null;
      }
    } catch (SQLException e) {
      throw new HyprstreamException("cannot read the schema of '" + table + "'", e);
    }
    try (ArrowReader r = query("SELECT * FROM " + quote(table) + " LIMIT 0", allocator)) {
      return r.getVectorSchemaRoot().getSchema();
    } catch (java.io.IOException e) {
      throw new HyprstreamException("cannot read the schema of '" + table + "'", e);
    }
  }

  @Override
  public void checkWritable(String table, Schema schema) {
    SqlTypes.DUCKDB.checkWritable(table, schema);
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    synchronized (writeLock) {
      Closeables.closeQuietly(database);
    }
    allocator.close();
  }

  /** Installs a hook run after the inserts and before the commit; null removes it. For tests. */
  void beforeCommit(@Nullable Runnable hook) {
    this.beforeCommit = hook;
  }

  private void rollbackQuietly() {
    try (Statement st = database.createStatement()) {
      st.execute("ROLLBACK");
    } catch (SQLException ignored) {
      // No transaction was open.
    }
  }
}
