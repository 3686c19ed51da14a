package io.hyprstream.backend;

import static io.hyprstream.api.SqlIdentifier.quote;

import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.TableNotFoundException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
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
 * <p>Parallel COPY ({@code copy_parallelism}, default {@value #DEFAULT_COPY_PARALLELISM}): a group
 * of batches is cut, at batch boundaries, into up to that many slices of at least {@value
 * #MIN_SLICE_ROWS} rows, and each slice is appended as above on a connection of its own, at the
 * same time, so PostgreSQL parses and stores them on as many backend processes. Each slice is its
 * own transaction with its batches' ledger rows, so exactly-once holds per batch: when one slice
 * fails after another committed, {@link #appendAll} throws and a re-send of the group skips the
 * committed batches. {@link #appendAll} returns only once every slice has committed or failed.
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
  /** The ledger table's name. */
  public static final String LEDGER = "hyprstream_ledger";

  static final int RESULT_BATCH_ROWS = 64 * 1024;

  /**
   * Connections a group is appended over at once, unless {@code copy_parallelism} says. One: with
   * PostgreSQL on the same few cores as ingest, a second COPY only takes CPU from ingest (see
   * docs/backends.md); a PostgreSQL with cores to spare drains faster with more.
   */
  static final int DEFAULT_COPY_PARALLELISM = 1;

  /** A slice of a group sent on a connection of its own holds at least this many rows. */
  static final long MIN_SLICE_ROWS = 64 * 1024;

  private static final AtomicInteger SENDER_THREADS = new AtomicInteger();
  private static final Pattern MISSING_RELATION = Pattern.compile("relation \"([^\"]+)\"");

  private final PostgresConnections connections;
  private final String schema;
  private final PgCopyEncoder.Format format;
  private final int copyParallelism;

  /** Threads sending a group's slices after the first (the caller sends that); null when 1. */
  private final @Nullable ExecutorService senders;

  /** Creates and grows tables; column names compare as PostgreSQL stores them (exactly). */
  private final BackendTables tables =
      new BackendTables(SqlTypes.POSTGRES, this::qualified, true, false);

  private volatile @Nullable FailureHook beforeCommit;

  /** A test hook run inside {@link #append} after the COPY and before the commit. */
  @FunctionalInterface
  interface FailureHook {
    void run(Connection connection) throws SQLException;
  }

  private PostgresBackendStore(
      PostgresConnections connections, PgCopyEncoder.Format format, int copyParallelism) {
    this.connections = connections;
    this.schema = connections.schema();
    this.format = format;
    this.copyParallelism = copyParallelism;
    Connection c = connections.borrow();
    try (Statement st = c.createStatement()) {
      st.execute("CREATE SCHEMA IF NOT EXISTS " + quote(this.schema));
      st.execute(
          "CREATE TABLE IF NOT EXISTS "
              + qualified(LEDGER)
              + " (batch_id TEXT PRIMARY KEY, table_name TEXT NOT NULL,"
              + " row_count BIGINT NOT NULL, committed_at TIMESTAMPTZ NOT NULL DEFAULT now())");
    } catch (SQLException e) {
      connections.discard(c);
      connections.close();
      throw connections.unavailable(
          "cannot set up PostgreSQL backend at " + connections.describe(), e);
    }
    PostgresConnections.release(c);
    this.senders =
        copyParallelism == 1
            ? null
            : Executors.newFixedThreadPool(
                copyParallelism - 1,
                r -> {
                  Thread t =
                      new Thread(r, "hyprstream-pg-copy-" + SENDER_THREADS.incrementAndGet());
                  t.setDaemon(true);
                  return t;
                });
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
    return open(jdbcUrl, properties, schema, copyFormat, pool, DEFAULT_COPY_PARALLELISM);
  }

  /**
   * As {@link #open(String, Properties, String, String, PoolSettings)}, appending a group over up
   * to {@code copyParallelism} connections at once.
   *
   * @throws IllegalArgumentException when {@code copyParallelism} is below 1 or above the pool's
   *     {@code pool_max}
   */
  public static PostgresBackendStore open(
      String jdbcUrl,
      Properties properties,
      @Nullable String schema,
      @Nullable String copyFormat,
      PoolSettings pool,
      int copyParallelism) {
    if (copyParallelism < 1 || copyParallelism > pool.maxSize()) {
      throw new IllegalArgumentException(
          "copy_parallelism must be between 1 and pool_max ("
              + pool.maxSize()
              + "), got "
              + copyParallelism);
    }
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
    return new PostgresBackendStore(
        PostgresConnections.open(jdbcUrl, properties, where, schema, pool),
        format,
        copyParallelism);
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

  /**
   * The group in one transaction per slice (see the class comment): each batch's ledger row, then
   * its rows by COPY when new. Returns once every slice committed; throws the first failure (the
   * others suppressed) after every slice has finished.
   */
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
    int[] bounds = slices(batches, senders == null ? 1 : copyParallelism);
    List<Future<?>> others = new ArrayList<>(bounds.length - 2);
    ExecutorService pool = senders;
    List<Runnable> here = new ArrayList<>(1);
    for (int s = 0; s < bounds.length - 1; s++) {
      int from = bounds[s];
      int to = bounds[s + 1];
      Runnable slice =
          () ->
              appendSlice(
                  table,
                  batchIds.subList(from, to),
                  batches.subList(from, to),
                  columnsOf.subList(from, to));
      if (s == 0 || pool == null) {
        here.add(slice);
        continue;
      }
      try {
        others.add(pool.submit(slice));
      } catch (RejectedExecutionException e) {
        here.add(slice); // closing: the caller sends it
      }
    }
    RuntimeException failure = null;
    for (Runnable slice : here) {
      try {
        slice.run();
      } catch (RuntimeException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    // Every slice is waited for, interrupted or not: the caller closes the batches on return.
    boolean interrupted = false;
    for (Future<?> f : others) {
      while (true) {
        try {
          f.get();
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        } catch (ExecutionException e) {
          RuntimeException cause =
              e.getCause() instanceof RuntimeException
                  ? (RuntimeException) e.getCause()
                  : new HyprstreamException("append to '" + table + "' failed", e.getCause());
          if (failure == null) {
            failure = cause;
          } else {
            failure.addSuppressed(cause);
          }
          break;
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    if (failure != null) {
      throw failure;
    }
  }

  /**
   * Where each slice of {@code batches} starts, then its size: up to {@code parallelism} runs of
   * whole batches, each of at least {@value #MIN_SLICE_ROWS} rows, of about equal rows.
   */
  static int[] slices(List<VectorSchemaRoot> batches, int parallelism) {
    long total = 0;
    for (VectorSchemaRoot b : batches) {
      total += b.getRowCount();
    }
    int n =
        (int) Math.max(1, Math.min(Math.min(parallelism, batches.size()), total / MIN_SLICE_ROWS));
    int[] bounds = new int[n + 1];
    long seen = 0;
    int slice = 1;
    for (int b = 0; b < batches.size() && slice < n; b++) {
      seen += batches.get(b).getRowCount();
      if (seen * n >= total * slice) {
        bounds[slice++] = b + 1;
      }
    }
    bounds[n] = batches.size();
    return bounds;
  }

  /** One transaction on one connection: each batch's ledger row, then its rows when new. */
  private void appendSlice(
      String table,
      List<String> batchIds,
      List<VectorSchemaRoot> batches,
      List<List<String>> columnsOf) {
    String described = batchIds.size() == 1 ? batchIds.get(0) : batchIds.size() + " batches";
    Connection c = connections.borrow();
    boolean ok = false;
    AtomicBoolean cut = new AtomicBoolean();
    ScheduledFuture<?> deadline = connections.cutAfterTimeout(c, cut);
    try {
      c.setAutoCommit(false);
      try (PreparedStatement ps =
          c.prepareStatement(
              "INSERT INTO "
                  + qualified(LEDGER)
                  + " (batch_id, table_name, row_count) VALUES (?, ?, ?)"
                  + " ON CONFLICT (batch_id) DO NOTHING")) {
        List<VectorSchemaRoot> run = new ArrayList<>(batches.size());
        List<String> runColumns = List.of();
        for (int b = 0; b < batches.size(); b++) {
          VectorSchemaRoot batch = batches.get(b);
          ps.setString(1, batchIds.get(b));
          ps.setString(2, table);
          ps.setLong(3, batch.getRowCount());
          if (ps.executeUpdate() == 0 || batch.getRowCount() == 0) {
            continue; // committed before (a re-send), or nothing to copy
          }
          if (!run.isEmpty() && !runColumns.equals(columnsOf.get(b))) {
            copy(c, table, runColumns, run);
            run.clear();
          }
          run.add(batch);
          runColumns = columnsOf.get(b);
        }
        if (!run.isEmpty()) {
          copy(c, table, runColumns, run);
        }
      }
      FailureHook hook = beforeCommit;
      if (hook != null) {
        hook.run(c);
      }
      c.commit();
      ok = true;
    } catch (SQLException e) {
      PostgresConnections.rollbackQuietly(c);
      if (cut.get() || PostgresConnections.isTimeout(e)) {
        throw new BackendUnavailableException(
            "append of "
                + described
                + " to '"
                + table
                + "' had no answer within socket_timeout of "
                + connections.callTimeout().getSeconds()
                + " s; the connection was cut and the batch is retried: "
                + connections.scrub(e.getMessage()),
            e);
      }
      if (PostgresConnections.isConnectionProblem(e)) {
        throw connections.unavailable("append of " + described + " to '" + table + "' failed", e);
      }
      throw new HyprstreamException(
          "PostgreSQL rejected "
              + described
              + " for '"
              + table
              + "': "
              + connections.scrub(e.getMessage()),
          e);
    } finally {
      deadline.cancel(false);
      if (ok && !cut.get()) {
        PostgresConnections.release(c);
      } else {
        connections.discard(c);
      }
    }
  }

  /**
   * One {@code COPY} of every row of {@code batches}, which share {@code columns}: one statement
   * and one stream instead of one per batch, so PostgreSQL is not left idle between batches while
   * the next statement starts and its first chunk is encoded.
   */
  private void copy(
      Connection c, String table, List<String> columns, List<VectorSchemaRoot> batches)
      throws SQLException {
    List<PgCopyEncoder> encoders = new ArrayList<>(batches.size());
    for (VectorSchemaRoot batch : batches) {
      encoders.add(new PgCopyEncoder(table, batch, columns, format)); // refuses before COPY starts
    }
    StringBuilder sql = new StringBuilder("COPY ").append(qualified(table)).append(" (");
    for (int i = 0; i < columns.size(); i++) {
      sql.append(i == 0 ? "" : ", ").append(quote(columns.get(i)));
    }
    sql.append(
        format == PgCopyEncoder.Format.BINARY ? ") FROM STDIN (FORMAT binary)" : ") FROM STDIN");
    CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
    CopyIn in = copy.copyIn(sql.toString());
    try {
      for (int i = 0; i < encoders.size(); i++) {
        encoders.get(i).writeTo(in, batches.get(i).getRowCount(), i == 0, i == encoders.size() - 1);
      }
      in.endCopy();
    } finally {
      if (in.isActive()) {
        in.cancelCopy();
      }
    }
  }

  @Override
  public boolean contains(String batchId) {
    Connection c = connections.borrow();
    try (PreparedStatement ps =
        c.prepareStatement("SELECT 1 FROM " + qualified(LEDGER) + " WHERE batch_id = ?")) {
      ps.setString(1, batchId);
      try (ResultSet rs = ps.executeQuery()) {
        boolean found = rs.next();
        PostgresConnections.release(c);
        return found;
      }
    } catch (SQLException e) {
      connections.discard(c);
      throw connections.unavailable("cannot read the ledger", e);
    }
  }

  /**
   * Creates {@code table} from {@code arrow} when missing, adds the fields it lacks as nullable
   * columns, and returns the batch's column names in batch order. The DDL runs as one statement.
   */
  private List<String> ensureTable(String table, Schema arrow) {
    List<String> known = tables.knownNames(table, arrow);
    if (known != null) {
      return known;
    }
    Connection c = connections.borrow();
    try {
      List<String> names =
          tables.ensure(
              table,
              arrow,
              t -> columnsOf(c, t),
              ddl -> {
                try (Statement st = c.createStatement()) {
                  st.execute(String.join(";\n", ddl));
                }
              });
      PostgresConnections.release(c);
      return names;
    } catch (SQLException e) {
      connections.discard(c);
      if (PostgresConnections.isConnectionProblem(e)) {
        throw connections.unavailable("cannot create or alter '" + table + "'", e);
      }
      throw new HyprstreamException(
          "PostgreSQL refused to create or alter '"
              + table
              + "': "
              + connections.scrub(e.getMessage()),
          e);
    } catch (RuntimeException e) {
      PostgresConnections.release(c);
      throw e;
    }
  }

  /** The column names of {@code table} in this store's schema; empty when it is missing. */
  private Set<String> columnsOf(Connection c, String table) throws SQLException {
    Set<String> out = new HashSet<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT column_name FROM information_schema.columns"
                + " WHERE table_schema = ? AND table_name = ?")) {
      ps.setString(1, schema);
      ps.setString(2, table);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
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
    Connection c = connections.borrow();
    try {
      return ResultSetReader.openCursor(
          c,
          sql,
          allocator,
          RESULT_BATCH_ROWS,
          false,
          usable -> {
            if (usable) {
              PostgresConnections.release(c);
            } else {
              connections.discard(c);
            }
          });
    } catch (SQLException e) {
      if (PostgresConnections.isConnectionProblem(e)) {
        connections.discard(c);
        throw connections.unavailable("query failed", e);
      }
      PostgresConnections.rollbackQuietly(c);
      PostgresConnections.release(c);
      if ("42P01".equals(e.getSQLState())) {
        String m = connections.scrub(e.getMessage());
        Matcher name = MISSING_RELATION.matcher(m);
        if (name.find()) {
          throw new TableNotFoundException(name.group(1));
        }
      }
      throw new QueryRejectedException(
          "PostgreSQL rejected the query: "
              + connections.scrub(e.getMessage())
              + " (in: "
              + sql
              + ")",
          e);
    }
  }

  @Override
  public List<String> tables() {
    Connection c = connections.borrow();
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
      PostgresConnections.release(c);
      return out;
    } catch (SQLException e) {
      connections.discard(c);
      throw connections.unavailable("cannot list tables", e);
    }
  }

  @Override
  public @Nullable Schema tableSchema(String table) {
    Connection c = connections.borrow();
    try {
      if (columnsOf(c, table).isEmpty()) {
        PostgresConnections.release(c);
        return null;
      }
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT * FROM " + qualified(table) + " LIMIT 0")) {
        Schema s = ResultSetReader.schemaOf(rs.getMetaData(), false);
        PostgresConnections.release(c);
        return s;
      }
    } catch (SQLException e) {
      connections.discard(c);
      throw connections.unavailable("cannot read the schema of '" + table + "'", e);
    }
  }

  @Override
  public void checkWritable(String table, Schema schema) {
    SqlTypes.POSTGRES.checkWritable(table, schema);
  }

  @Override
  public void close() {
    if (senders != null) {
      senders.shutdown();
    }
    connections.close();
  }

  /** Installs a hook run after the COPY and before the commit; null removes it. For tests. */
  void beforeCommit(@Nullable FailureHook hook) {
    this.beforeCommit = hook;
  }

  private String qualified(String table) {
    return quote(schema) + "." + quote(table);
  }
}
