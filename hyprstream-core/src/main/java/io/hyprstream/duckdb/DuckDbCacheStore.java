package io.hyprstream.duckdb;

import static io.hyprstream.api.SqlIdentifier.quote;

import io.hyprstream.api.CacheStore;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.api.SqlIdentifier;
import io.hyprstream.api.TableNotFoundException;
import io.hyprstream.internal.arrow.ArrowCopy;
import io.hyprstream.internal.arrow.BatchListReader;
import io.hyprstream.internal.arrow.Closeables;
import io.hyprstream.internal.arrow.ForwardingReader;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.arrow.c.ArrowArrayStream;
import org.apache.arrow.c.Data;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.duckdb.DuckDBConnection;
import org.duckdb.DuckDBResultSet;
import org.jspecify.annotations.Nullable;

/**
 * A {@link CacheStore} in DuckDB: in memory by default, or in a file.
 *
 * <p>Batches enter through DuckDB's Arrow scan ({@code registerArrowStream} + one {@code INSERT ...
 * SELECT} per group of batches), never row by row; results leave through {@code arrowExportStream},
 * streamed batch by batch. The database is locked down once set up: SQL cannot read or write files,
 * reach the network, attach databases or install and load extensions, and cannot change that
 * configuration.
 *
 * <p>Every connection is a {@link DuckDBConnection#duplicate()} of one database, pooled so that
 * concurrent callers each get their own.
 */
public final class DuckDbCacheStore implements CacheStore {
  /** Rows per batch of a query result. */
  static final int RESULT_BATCH_ROWS = 64 * 1024;

  private static final int MAX_IDLE_CONNECTIONS = 8;
  private static final Pattern MISSING_TABLE =
      Pattern.compile("Table with name (\\S+) does not exist");

  private final BufferAllocator allocator;
  private final DuckDBConnection database;
  private final ConcurrentLinkedQueue<DuckDBConnection> idle = new ConcurrentLinkedQueue<>();
  private final AtomicInteger streamNames = new AtomicInteger();
  private final Object ddlLock = new Object();
  private final AtomicBoolean closed = new AtomicBoolean();

  /**
   * The statement each thread is executing in {@link #query}, so that a server enforcing a time
   * limit can cancel it from another thread ({@link #cancelQueryOf}).
   */
  private final ConcurrentHashMap<Thread, PreparedStatement> running = new ConcurrentHashMap<>();

  private DuckDbCacheStore(BufferAllocator allocator, DuckDBConnection database) {
    this.allocator = allocator;
    this.database = database;
  }

  /**
   * Opens DuckDB in memory, or in {@code file} when it is not null, with UTC as its time zone.
   * Buffers come from a child of {@code parent}, closed with the store.
   */
  public static DuckDbCacheStore open(@Nullable Path file, BufferAllocator parent) {
    return open(file, parent, 0);
  }

  /**
   * DuckDB's {@code max_expression_depth} for every connection: expressions nested deeper are
   * refused by its parser. Above the analyser's nesting limit, so that limit's message comes first
   * where both apply.
   */
  public static final int MAX_EXPRESSION_DEPTH = 250;

  /**
   * Opens DuckDB as {@link #open(Path, BufferAllocator)} does, with DuckDB's {@code memory_limit}
   * set to {@code memoryLimitBytes} when it is positive (0: DuckDB's default, 80% of RAM). The
   * limit is set before the configuration is locked; a query that needs more fails with DuckDB's
   * out-of-memory error instead of taking the process down.
   */
  public static DuckDbCacheStore open(
      @Nullable Path file, BufferAllocator parent, long memoryLimitBytes) {
    if (memoryLimitBytes < 0) {
      throw new IllegalArgumentException(
          "memoryLimitBytes must not be negative, got " + memoryLimitBytes);
    }
    BufferAllocator allocator = parent.newChildAllocator("duckdb-cache", 0, Long.MAX_VALUE);
    try {
      Properties props = new Properties();
      String url = "jdbc:duckdb:" + (file == null ? "" : file.toAbsolutePath().toString());
      DuckDBConnection conn = (DuckDBConnection) DriverManager.getConnection(url, props);
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
      return new DuckDbCacheStore(allocator, conn);
    } catch (SQLException e) {
      allocator.close();
      throw new HyprstreamException("cannot open DuckDB cache: " + e.getMessage(), e);
    }
  }

  @Override
  public void ensureTable(String table, Schema schema) {
    synchronized (ddlLock) {
      Schema existing = tableSchema(table);
      if (existing == null) {
        createTable(table, schema);
        return;
      }
      List<Field> missing = new ArrayList<>();
      for (Field f : schema.getFields()) {
        if (findField(existing, f.getName()) == null) {
          missing.add(f);
        }
      }
      if (missing.isEmpty()) {
        return;
      }
      List<String> types = duckDbTypes(table, missing);
      StringBuilder sql = new StringBuilder();
      for (int i = 0; i < missing.size(); i++) {
        sql.append("ALTER TABLE ")
            .append(quote(table))
            .append(" ADD COLUMN ")
            .append(quote(missing.get(i).getName()))
            .append(' ')
            .append(types.get(i))
            .append(";\n");
      }
      executeInternal(sql.toString());
    }
  }

  private void createTable(String table, Schema schema) {
    List<String> types = duckDbTypes(table, schema.getFields());
    StringBuilder sql = new StringBuilder("CREATE TABLE ").append(quote(table)).append(" (");
    for (int i = 0; i < types.size(); i++) {
      Field f = schema.getFields().get(i);
      sql.append(i == 0 ? "" : ", ").append(quote(f.getName())).append(' ').append(types.get(i));
      if (!f.isNullable()) {
        sql.append(" NOT NULL");
      }
    }
    executeInternal(sql.append(')').toString());
  }

  /**
   * The DuckDB column types for Arrow fields, as DuckDB's own Arrow scan maps them: an empty stream
   * of those fields is scanned into a temporary table whose column types are read back.
   */
  private List<String> duckDbTypes(String table, List<Field> fields) {
    Schema probeSchema = new Schema(fields);
    String probe = "_hs_probe_" + streamNames.incrementAndGet();
    DuckDBConnection conn = borrow();
    try {
      try (ArrowArrayStream stream = ArrowArrayStream.allocateNew(allocator);
          Statement st = conn.createStatement()) {
        Data.exportArrayStream(
            allocator, new BatchListReader(allocator, probeSchema, List.of()), stream);
        conn.registerArrowStream(probe, stream);
        st.execute("CREATE TEMP TABLE " + probe + "_t AS SELECT * FROM " + probe);
      }
      List<String> types = new ArrayList<>();
      try (Statement st = conn.createStatement();
          ResultSet rs =
              st.executeQuery(
                  "SELECT data_type FROM duckdb_columns() WHERE table_name = '"
                      + probe
                      + "_t' ORDER BY column_index")) {
        while (rs.next()) {
          types.add(rs.getString(1));
        }
      }
      try (Statement st = conn.createStatement()) {
        st.execute("DROP TABLE " + probe + "_t; DROP VIEW IF EXISTS " + probe);
      }
      if (types.size() != fields.size()) {
        throw new HyprstreamException(
            "DuckDB mapped " + fields.size() + " Arrow fields to " + types.size() + " columns");
      }
      return types;
    } catch (SQLException | RuntimeException e) {
      String column = fields.size() == 1 ? fields.get(0).getName() : describe(fields);
      throw new SchemaMismatchException(
          table, column, "DuckDB cannot store this Arrow type: " + e.getMessage());
    } finally {
      release(conn);
    }
  }

  @Override
  public void append(String table, List<VectorSchemaRoot> batches) {
    int start = 0;
    try {
      while (start < batches.size()) {
        Schema schema = batches.get(start).getSchema();
        int end = start + 1;
        while (end < batches.size() && batches.get(end).getSchema().equals(schema)) {
          end++;
        }
        List<VectorSchemaRoot> group = batches.subList(start, end);
        start = end;
        insertGroup(table, schema, new ArrayList<>(group));
      }
    } finally {
      for (int i = start; i < batches.size(); i++) {
        batches.get(i).close();
      }
    }
  }

  /** Inserts batches of one schema with one statement. Takes ownership of the batches. */
  private void insertGroup(String table, Schema schema, List<VectorSchemaRoot> group) {
    String columns =
        schema.getFields().stream().map(f -> quote(f.getName())).collect(Collectors.joining(", "));
    String name = "_hs_in_" + streamNames.incrementAndGet();
    DuckDBConnection conn = borrow();
    try (ArrowArrayStream stream = ArrowArrayStream.allocateNew(allocator);
        Statement st = conn.createStatement()) {
      Data.exportArrayStream(allocator, new BatchListReader(allocator, schema, group), stream);
      conn.registerArrowStream(name, stream);
      st.execute(
          "INSERT INTO "
              + quote(table)
              + " ("
              + columns
              + ") SELECT "
              + columns
              + " FROM "
              + name
              + "; DROP VIEW IF EXISTS "
              + name);
    } catch (SQLException e) {
      throw new HyprstreamException("append to '" + table + "' failed: " + e.getMessage(), e);
    } finally {
      release(conn);
    }
  }

  @Override
  public void upsert(String table, List<String> keyColumns, VectorSchemaRoot rows) {
    if (rows.getRowCount() == 0) {
      return;
    }
    VectorSchemaRoot shared = ArrowCopy.share(rows, allocator);
    String name = "_hs_up_" + streamNames.incrementAndGet();
    String match =
        keyColumns.stream()
            .map(k -> "t." + quote(k) + " IS NOT DISTINCT FROM d." + quote(k))
            .collect(Collectors.joining(" AND "));
    String columns =
        rows.getSchema().getFields().stream()
            .map(f -> quote(f.getName()))
            .collect(Collectors.joining(", "));
    DuckDBConnection conn = borrow();
    try (ArrowArrayStream stream = ArrowArrayStream.allocateNew(allocator);
        Statement st = conn.createStatement()) {
      Data.exportArrayStream(
          allocator, new BatchListReader(allocator, rows.getSchema(), List.of(shared)), stream);
      conn.registerArrowStream(name, stream);
      // One transaction: a concurrent query sees the view before or after, never half-updated.
      st.execute(
          "BEGIN; CREATE TEMP TABLE "
              + name
              + "_d AS SELECT * FROM "
              + name
              + "; DELETE FROM "
              + quote(table)
              + " t USING "
              + name
              + "_d d WHERE "
              + match
              + "; INSERT INTO "
              + quote(table)
              + " ("
              + columns
              + ") SELECT "
              + columns
              + " FROM "
              + name
              + "_d; DROP TABLE "
              + name
              + "_d; DROP VIEW IF EXISTS "
              + name
              + "; COMMIT");
    } catch (SQLException e) {
      rollbackQuietly(conn);
      throw new HyprstreamException("upsert into '" + table + "' failed: " + e.getMessage(), e);
    } finally {
      release(conn);
    }
  }

  @Override
  public long delete(String table, String whereSql) {
    DuckDBConnection conn = borrow();
    try (Statement st = conn.createStatement()) {
      return st.executeUpdate("DELETE FROM " + quote(table) + " WHERE " + whereSql);
    } catch (SQLException e) {
      throw new HyprstreamException("delete from '" + table + "' failed: " + e.getMessage(), e);
    } finally {
      release(conn);
    }
  }

  @Override
  public ArrowReader query(String sql, BufferAllocator allocator) {
    return query(sql, List.of(), allocator);
  }

  /**
   * Runs {@code sql} with {@code ?} parameters bound in order. {@link Instant} parameters bind as
   * UTC timestamps. Ownership: the caller closes the returned reader.
   */
  public ArrowReader query(String sql, List<@Nullable Object> parameters, BufferAllocator alloc) {
    DuckDBConnection conn = borrow();
    PreparedStatement ps = null;
    ResultSet rs = null;
    try {
      ps = conn.prepareStatement(sql);
      bind(ps, parameters);
      running.put(Thread.currentThread(), ps);
      try {
        rs = ps.executeQuery();
      } finally {
        // Atomic with cancelQueryOf: once removed, no cancel can reach this statement.
        running.remove(Thread.currentThread());
      }
      ArrowReader reader =
          (ArrowReader) ((DuckDBResultSet) rs).arrowExportStream(alloc, RESULT_BATCH_ROWS);
      ResultSet heldRs = rs;
      PreparedStatement heldPs = ps;
      return new ForwardingReader(
          alloc,
          reader,
          () -> {
            try {
              heldRs.close();
              heldPs.close();
            } finally {
              release(conn);
            }
          });
    } catch (SQLException | RuntimeException e) {
      Closeables.closeQuietly(rs);
      Closeables.closeQuietly(ps);
      release(conn);
      throw rejected(sql, e);
    }
  }

  /**
   * DuckDB's parse tree of {@code sql} as JSON ({@code json_serialize_sql}), for the SQL analyser.
   * Only SELECT statements serialise; for others the JSON carries DuckDB's error.
   */
  public String parseTree(String sql) {
    return serialize("SELECT json_serialize_sql(?)", sql, "parse");
  }

  /**
   * DuckDB's bound logical plan of {@code sql} as JSON ({@code json_serialize_plan}): every
   * statement bound against this cache's catalog, as executing it would, but not run. Names come
   * out resolved (catalog, schema, name); a statement that cannot be bound gives {@code
   * {"error":true,...}} with DuckDB's reason.
   */
  public String planTree(String sql) {
    return serialize(
        "SELECT json_serialize_plan(?, skip_null := true, skip_empty := true)", sql, "bind");
  }

  private String serialize(String call, String sql, String what) {
    DuckDBConnection conn = borrow();
    try (PreparedStatement ps = conn.prepareStatement(call)) {
      ps.setString(1, sql);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getString(1);
      }
    } catch (SQLException e) {
      throw new QueryRejectedException(
          "DuckDB cannot " + what + " the statement: " + e.getMessage(), e);
    } finally {
      release(conn);
    }
  }

  /**
   * Rows of a cached table that live elsewhere (the backend), to be read together with the cache's
   * own rows of that table that match {@code hotPredicate}.
   *
   * @param table the cached table's name
   * @param rows the other rows; {@link #queryWithRows} takes ownership and closes it
   * @param hotPredicate a DuckDB condition over the table's columns selecting the cache's share
   * @param moreRows further rows held nowhere else (batches the backend refused, kept in
   *     quarantine), of which those matching {@code morePredicate} are added; taken like {@code
   *     rows}
   * @param morePredicate a DuckDB condition over their columns
   */
  public record ExtraRows(
      String table,
      ArrowReader rows,
      String hotPredicate,
      List<ArrowReader> moreRows,
      String morePredicate) {
    /** Extra rows with nothing beyond {@code rows}. */
    public ExtraRows(String table, ArrowReader rows, String hotPredicate) {
      this(table, rows, hotPredicate, List.of(), "true");
    }

    /** Closes every reader; for paths where they were not handed to DuckDB. */
    public void closeQuietly() {
      Closeables.closeQuietly(rows);
      moreRows.forEach(Closeables::closeQuietly);
    }
  }

  /**
   * Runs {@code sql} unchanged where each table of {@code extra} reads as the union of its extra
   * rows and its cached rows matching the hot predicate: on a connection of its own, a temporary
   * table of that name shadows the cached one for unqualified and {@code main.}-qualified names.
   * Extra columns the cache lacks are dropped; cached columns the extra rows lack read as NULL.
   * Ownership: the caller closes the returned reader (allocated from {@code alloc}); the extra
   * readers are closed here.
   */
  public ArrowReader queryWithRows(
      String sql, List<@Nullable Object> parameters, List<ExtraRows> extra, BufferAllocator alloc) {
    return queryOnOwnConnection(
        sql,
        parameters,
        alloc,
        conn -> {
          int next = 0; // extra readers from here on are not yet handed over
          try {
            while (next < extra.size()) {
              shadow(conn, extra.get(next++));
            }
          } catch (SQLException | RuntimeException e) {
            extra.subList(next, extra.size()).forEach(ExtraRows::closeQuietly);
            throw e;
          }
        },
        () -> extra.forEach(ExtraRows::closeQuietly));
  }

  /**
   * Runs {@code sql}, which reads the cached tables and the relation {@code name}: the rows of
   * {@code partials}, held in a temporary table of a connection of its own for this query only.
   * Ownership: the caller closes the returned reader (allocated from {@code alloc}); {@code
   * partials} is closed here.
   */
  public ArrowReader queryWithPartials(
      String sql, String name, ArrowReader partials, BufferAllocator alloc) {
    return queryOnOwnConnection(
        sql,
        List.of(),
        alloc,
        conn -> {
          String stream = "_hs_stream_" + streamNames.incrementAndGet();
          boolean exported = false;
          try (ArrowArrayStream exportedStream = ArrowArrayStream.allocateNew(allocator);
              Statement st = conn.createStatement()) {
            Data.exportArrayStream(allocator, partials, exportedStream);
            exported = true;
            conn.registerArrowStream(stream, exportedStream);
            st.execute(
                "CREATE TEMPORARY TABLE "
                    + name
                    + " AS SELECT * FROM "
                    + stream
                    + "; DROP VIEW IF EXISTS "
                    + stream);
          } finally {
            if (!exported) {
              Closeables.closeQuietly(partials);
            }
          }
        },
        () -> Closeables.closeQuietly(partials));
  }

  /** Prepares a query's own connection; it closes what it was handed when it fails. */
  @FunctionalInterface
  private interface ConnectionSetup {
    void prepare(DuckDBConnection conn) throws SQLException;
  }

  /**
   * Runs {@code sql} on a connection of its own, after {@code setup} created what the query reads
   * there (temporary tables, which must not outlive it); the connection closes with the returned
   * reader. {@code release} frees what {@code setup} would have taken when no connection opens.
   */
  private ArrowReader queryOnOwnConnection(
      String sql,
      List<@Nullable Object> parameters,
      BufferAllocator alloc,
      ConnectionSetup setup,
      Runnable release) {
    DuckDBConnection conn;
    try {
      conn = database.duplicate();
    } catch (SQLException e) {
      release.run();
      throw new HyprstreamException("cannot open a DuckDB connection: " + e.getMessage(), e);
    }
    PreparedStatement ps = null;
    ResultSet rs = null;
    try {
      setup.prepare(conn);
      ps = conn.prepareStatement(sql);
      bind(ps, parameters);
      running.put(Thread.currentThread(), ps);
      try {
        rs = ps.executeQuery();
      } finally {
        running.remove(Thread.currentThread());
      }
      ArrowReader reader =
          (ArrowReader) ((DuckDBResultSet) rs).arrowExportStream(alloc, RESULT_BATCH_ROWS);
      ResultSet heldRs = rs;
      PreparedStatement heldPs = ps;
      return new ForwardingReader(
          alloc,
          reader,
          () -> {
            try {
              heldRs.close();
              heldPs.close();
            } finally {
              conn.close();
            }
          });
    } catch (SQLException | RuntimeException e) {
      Closeables.closeQuietly(rs);
      Closeables.closeQuietly(ps);
      Closeables.closeQuietly(conn);
      throw rejected(sql, e);
    }
  }

  /**
   * Creates the temporary table {@code x.table()}: cached rows matching, then the extra rows, then
   * the further rows matching their predicate. Takes ownership of every reader of {@code x}: DuckDB
   * releases one once exported, else it is closed here.
   */
  private void shadow(DuckDBConnection conn, ExtraRows x) throws SQLException {
    List<ArrowReader> readers = new ArrayList<>(1 + x.moreRows().size());
    readers.add(x.rows());
    readers.addAll(x.moreRows());
    int handed = 0; // readers whose ownership has passed to insertFrom
    try {
      Schema cached = tableSchema(x.table());
      if (cached == null) {
        throw new TableNotFoundException(x.table());
      }
      String table = quote(x.table());
      try (Statement st = conn.createStatement()) {
        st.execute(
            "CREATE TEMPORARY TABLE "
                + table
                + " AS SELECT * FROM main."
                + table
                + " WHERE "
                + x.hotPredicate());
      }
      while (handed < readers.size()) {
        String predicate = handed == 0 ? "true" : x.morePredicate();
        insertFrom(conn, x.table(), cached, readers.get(handed++), predicate);
      }
    } finally {
      for (int i = handed; i < readers.size(); i++) {
        Closeables.closeQuietly(readers.get(i));
      }
    }
  }

  /**
   * Appends the rows of {@code rows} matching {@code predicate} to the temporary table {@code
   * table}, by the names of the cached table's columns ({@code cached}); columns the rows lack stay
   * NULL, columns the cache lacks are dropped. Takes ownership of {@code rows}.
   */
  private void insertFrom(
      DuckDBConnection conn, String table, Schema cached, ArrowReader rows, String predicate)
      throws SQLException {
    boolean exported = false;
    String name = "_hs_extra_" + streamNames.incrementAndGet();
    try (ArrowArrayStream stream = ArrowArrayStream.allocateNew(allocator);
        Statement st = conn.createStatement()) {
      Schema arriving = rows.getVectorSchemaRoot().getSchema();
      List<String> shared = new ArrayList<>();
      for (Field f : cached.getFields()) {
        if (findField(arriving, f.getName()) != null) {
          shared.add(quote(f.getName()));
        }
      }
      Data.exportArrayStream(allocator, rows, stream);
      exported = true;
      conn.registerArrowStream(name, stream);
      String columns = String.join(", ", shared);
      st.execute(
          "INSERT INTO temp.main."
              + quote(table)
              + " ("
              + columns
              + ") SELECT "
              + columns
              + " FROM "
              + name
              + " WHERE "
              + predicate
              + "; DROP VIEW IF EXISTS "
              + name);
    } catch (IOException e) {
      throw new HyprstreamException(
          "cannot read the rows of '" + table + "' to query: " + e.getMessage(), e);
    } finally {
      if (!exported) {
        Closeables.closeQuietly(rows);
      }
    }
  }

  /**
   * Bytes DuckDB reports in use ({@code duckdb_memory()}): one cheap query, for a metrics scrape.
   *
   * @throws RuntimeException when DuckDB cannot answer
   */
  public long memoryBytes() {
    try (ArrowReader r =
        query(
            "SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT AS bytes FROM duckdb_memory()",
            allocator)) {
      if (r.loadNextBatch() && r.getVectorSchemaRoot().getRowCount() == 1) {
        return ((org.apache.arrow.vector.BigIntVector) r.getVectorSchemaRoot().getVector(0)).get(0);
      }
      return 0;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * Cancels the statement {@code thread} is executing in {@link #query}, if any; the query then
   * fails with DuckDB's "interrupted" error. Returns whether a statement was cancelled.
   */
  public boolean cancelQueryOf(Thread thread) {
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

  /** Runs a statement returning no rows and returns its update count (0 for DDL). */
  public long execute(String sql, List<@Nullable Object> parameters) {
    DuckDBConnection conn = borrow();
    try (PreparedStatement ps = conn.prepareStatement(sql)) {
      bind(ps, parameters);
      if (ps.execute()) {
        return 0;
      }
      long n = ps.getLargeUpdateCount();
      return Math.max(n, 0);
    } catch (SQLException | RuntimeException e) {
      throw rejected(sql, e);
    } finally {
      release(conn);
    }
  }

  /**
   * The schema of {@code sql}'s result, found by running it with {@code LIMIT 0} and every
   * parameter NULL, so no rows are read.
   */
  public Schema querySchema(String sql) {
    DuckDBConnection conn = borrow();
    String probe = "SELECT * FROM (" + stripTrailingSemicolon(sql) + ") AS _hs_q LIMIT 0";
    try (PreparedStatement ps = conn.prepareStatement(probe)) {
      int n = ps.getParameterMetaData().getParameterCount();
      for (int i = 1; i <= n; i++) {
        ps.setObject(i, null);
      }
      try (ResultSet rs = ps.executeQuery();
          ArrowReader reader =
              (ArrowReader) ((DuckDBResultSet) rs).arrowExportStream(allocator, 1)) {
        return reader.getVectorSchemaRoot().getSchema();
      }
    } catch (SQLException | IOException | RuntimeException e) {
      throw rejected(sql, e);
    } finally {
      release(conn);
    }
  }

  /**
   * The columns of {@code table} in table order, each as {@code {name, DuckDB type}} (the type as
   * DuckDB spells it, fit for a cast or a column definition).
   */
  public List<String[]> columnTypes(String table) {
    DuckDBConnection conn = borrow();
    try (PreparedStatement ps =
        conn.prepareStatement(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name ="
                + " current_database() AND schema_name = 'main' AND lower(table_name) = lower(?)"
                + " ORDER BY column_index")) {
      ps.setString(1, table);
      List<String[]> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new String[] {rs.getString(1), rs.getString(2)});
        }
      }
      return out;
    } catch (SQLException e) {
      throw new HyprstreamException(
          "cannot read the columns of '" + table + "': " + e.getMessage(), e);
    } finally {
      release(conn);
    }
  }

  /** The name of the cache's database ({@code memory} in memory), as catalogs call it. */
  public String catalogName() {
    DuckDBConnection conn = borrow();
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT current_database()")) {
      rs.next();
      return rs.getString(1);
    } catch (SQLException e) {
      throw new HyprstreamException("cannot read the database name: " + e.getMessage(), e);
    } finally {
      release(conn);
    }
  }

  /**
   * Evaluates the rows an {@code INSERT INTO table (columns) <source>} would add, without adding
   * them: DuckDB inserts them into a temporary table of the given column types (so {@code VALUES}
   * are cast per column and a query's columns are matched by position, exactly as its INSERT does)
   * and the rows are read back as Arrow. {@code table} only names the target in errors. Ownership:
   * the caller closes the returned batches, allocated from {@code alloc}.
   *
   * @param columns the columns of the rows read back; the source fills the first {@code supplied}
   *     of them, the rest are NULL
   * @param types DuckDB types, one per column
   * @throws SchemaMismatchException naming the column when a value cannot be cast to its type
   * @throws QueryRejectedException when DuckDB refuses the source for any other reason
   */
  public List<VectorSchemaRoot> evaluateRows(
      String table,
      List<String> columns,
      int supplied,
      List<String> types,
      String source,
      List<@Nullable Object> parameters,
      BufferAllocator alloc) {
    List<String> filled = columns.subList(0, supplied);
    String staging = "_hs_insert_" + streamNames.incrementAndGet();
    DuckDBConnection conn = borrow();
    try {
      try {
        createStaging(conn, staging, columns, types, -1);
        try (PreparedStatement ps = conn.prepareStatement(stagingInsert(staging, filled, source))) {
          bind(ps, parameters);
          ps.execute();
        }
      } catch (SQLException e) {
        String message = firstLine(e).replace(staging, quote(table));
        if (message.startsWith("Conversion Error")) {
          String column = castCulprit(conn, filled, types, source, parameters);
          if (column != null) {
            throw new SchemaMismatchException(
                table, column, "a value of the INSERT does not fit the column: " + message);
          }
        }
        throw new QueryRejectedException(
            message + " (in the rows inserted into '" + table + "')", e);
      }
      List<VectorSchemaRoot> out = new ArrayList<>();
      try (Statement st = conn.createStatement();
          ResultSet rs = st.executeQuery("SELECT * FROM " + staging);
          ArrowReader reader =
              (ArrowReader) ((DuckDBResultSet) rs).arrowExportStream(alloc, RESULT_BATCH_ROWS)) {
        while (reader.loadNextBatch()) {
          out.add(ArrowCopy.deepCopy(reader.getVectorSchemaRoot(), alloc));
        }
      } catch (SQLException | IOException | RuntimeException e) {
        out.forEach(VectorSchemaRoot::close);
        throw new HyprstreamException(
            "cannot read the rows inserted into '" + table + "': " + e.getMessage(), e);
      }
      return out;
    } finally {
      dropQuietly(conn, staging);
      release(conn);
    }
  }

  /**
   * The column whose cast fails in {@link #evaluateRows}, found by evaluating the source again with
   * every other column held as VARCHAR (to which any value casts), or null when no single column
   * fails alone. Runs only after a conversion error, so the repeat costs nothing normally.
   */
  private @Nullable String castCulprit(
      DuckDBConnection conn,
      List<String> columns,
      List<String> types,
      String source,
      List<@Nullable Object> parameters) {
    for (int i = 0; i < columns.size(); i++) {
      String probe = "_hs_insert_probe_" + streamNames.incrementAndGet();
      try {
        createStaging(conn, probe, columns, types, i);
        try (PreparedStatement ps = conn.prepareStatement(stagingInsert(probe, columns, source))) {
          bind(ps, parameters);
          ps.execute();
        }
      } catch (SQLException e) {
        if (firstLine(e).startsWith("Conversion Error")) {
          return columns.get(i);
        }
      } finally {
        dropQuietly(conn, probe);
      }
    }
    return null;
  }

  /** A temporary table of {@code columns}; only column {@code typed} is typed when it is >= 0. */
  private static void createStaging(
      DuckDBConnection conn, String name, List<String> columns, List<String> types, int typed)
      throws SQLException {
    StringBuilder ddl = new StringBuilder("CREATE TEMP TABLE ").append(name).append(" (");
    for (int i = 0; i < columns.size(); i++) {
      ddl.append(i == 0 ? "" : ", ")
          .append(quote(columns.get(i)))
          .append(' ')
          .append(typed < 0 || typed == i ? types.get(i) : "VARCHAR");
    }
    try (Statement st = conn.createStatement()) {
      st.execute(ddl.append(')').toString());
    }
  }

  private static String stagingInsert(String staging, List<String> columns, String source) {
    return "INSERT INTO "
        + staging
        + " ("
        + columns.stream().map(SqlIdentifier::quote).collect(Collectors.joining(", "))
        + ") "
        + source;
  }

  private static void dropQuietly(DuckDBConnection conn, String table) {
    try (Statement st = conn.createStatement()) {
      st.execute("DROP TABLE IF EXISTS " + table);
    } catch (SQLException e) {
      // The connection is broken; release() drops it.
    }
  }

  private static String firstLine(SQLException e) {
    String m = e.getMessage() == null ? e.toString() : e.getMessage().strip();
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl).strip();
  }

  @Override
  public @Nullable Schema tableSchema(String table) {
    if (!tables().stream().anyMatch(t -> t.equalsIgnoreCase(table))) {
      return null;
    }
    return querySchema("SELECT * FROM " + quote(table));
  }

  @Override
  public List<String> tables() {
    List<String> out = new ArrayList<>();
    DuckDBConnection conn = borrow();
    try (Statement st = conn.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND schema_name = 'main'"
                    + " ORDER BY table_name")) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
      return out;
    } catch (SQLException e) {
      throw new HyprstreamException("cannot list tables: " + e.getMessage(), e);
    } finally {
      release(conn);
    }
  }

  @Override
  public long sizeBytes() {
    DuckDBConnection conn = borrow();
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT SUM(memory_usage_bytes) FROM duckdb_memory()")) {
      return rs.next() ? rs.getLong(1) : 0;
    } catch (SQLException e) {
      throw new HyprstreamException("cannot read DuckDB memory use: " + e.getMessage(), e);
    } finally {
      release(conn);
    }
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    DuckDBConnection c;
    while ((c = idle.poll()) != null) {
      Closeables.closeQuietly(c);
    }
    Closeables.closeQuietly(database);
    allocator.close();
  }

  private void executeInternal(String sql) {
    DuckDBConnection conn = borrow();
    try (Statement st = conn.createStatement()) {
      st.execute(sql);
    } catch (SQLException e) {
      throw new HyprstreamException("DuckDB refused '" + sql + "': " + e.getMessage(), e);
    } finally {
      release(conn);
    }
  }

  private DuckDBConnection borrow() {
    if (closed.get()) {
      throw new IllegalStateException("the DuckDB cache is closed");
    }
    DuckDBConnection c = idle.poll();
    if (c != null) {
      return c;
    }
    try {
      return database.duplicate();
    } catch (SQLException e) {
      throw new HyprstreamException("cannot open a DuckDB connection: " + e.getMessage(), e);
    }
  }

  private void release(DuckDBConnection conn) {
    try {
      if (closed.get() || conn.isClosed() || idle.size() >= MAX_IDLE_CONNECTIONS) {
        conn.close();
      } else {
        idle.offer(conn);
      }
    } catch (SQLException e) {
      // A connection that cannot report its state is dropped rather than reused.
      Closeables.closeQuietly(conn);
    }
  }

  private static void bind(PreparedStatement ps, List<@Nullable Object> parameters)
      throws SQLException {
    for (int i = 0; i < parameters.size(); i++) {
      Object p = parameters.get(i);
      if (p instanceof Instant) {
        p = LocalDateTime.ofInstant((Instant) p, ZoneOffset.UTC);
      }
      ps.setObject(i + 1, p);
    }
  }

  private static HyprstreamException rejected(String sql, Exception e) {
    String message = e.getMessage() == null ? e.toString() : e.getMessage();
    Matcher m = MISSING_TABLE.matcher(message);
    if (m.find()) {
      return new TableNotFoundException(m.group(1));
    }
    return new QueryRejectedException(message.trim() + " (in: " + abbreviate(sql) + ")", e);
  }

  private static void rollbackQuietly(Connection conn) {
    try (Statement st = conn.createStatement()) {
      st.execute("ROLLBACK");
    } catch (SQLException ignored) {
      // No transaction was open.
    }
  }

  private static String stripTrailingSemicolon(String sql) {
    String s = sql.strip();
    while (s.endsWith(";")) {
      s = s.substring(0, s.length() - 1).strip();
    }
    return s;
  }

  private static @Nullable Field findField(Schema schema, String name) {
    for (Field f : schema.getFields()) {
      if (f.getName().equalsIgnoreCase(name)) {
        return f;
      }
    }
    return null;
  }

  private static String describe(List<Field> fields) {
    return fields.stream().map(Field::getName).collect(Collectors.joining(", "));
  }

  private static String abbreviate(String sql) {
    String s = sql.strip().replaceAll("\\s+", " ");
    return s.length() > 200 ? s.substring(0, 200) + "..." : s;
  }
}
