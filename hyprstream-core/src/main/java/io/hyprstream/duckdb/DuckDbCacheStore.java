package io.hyprstream.duckdb;

import static io.hyprstream.api.SqlIdentifier.quote;

import io.hyprstream.api.CacheStore;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.api.TableNotFoundException;
import io.hyprstream.internal.arrow.ArrowCopy;
import io.hyprstream.internal.arrow.BatchListReader;
import io.hyprstream.internal.arrow.Closeables;
import io.hyprstream.internal.arrow.DuckDbExport;
import io.hyprstream.internal.arrow.ForwardingReader;
import io.hyprstream.internal.arrow.SmallBatches;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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

  private static final Pattern MISSING_TABLE =
      Pattern.compile("Table with name (\\S+) does not exist");

  private final BufferAllocator allocator;
  private final DuckDbConnections connections;
  private final AtomicInteger streamNames = new AtomicInteger();
  private final Object ddlLock = new Object();
  private final AtomicBoolean closed = new AtomicBoolean();

  private DuckDbCacheStore(BufferAllocator allocator, DuckDbConnections connections) {
    this.allocator = allocator;
    this.connections = connections;
  }

  /**
   * Opens DuckDB in memory, or in {@code file} when it is not null, with UTC as its time zone.
   * Buffers come from a child of {@code parent}, closed with the store.
   */
  public static DuckDbCacheStore open(@Nullable Path file, BufferAllocator parent) {
    return open(file, parent, 0);
  }

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
      return new DuckDbCacheStore(allocator, DuckDbConnections.open(file, memoryLimitBytes));
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
      dropViewsQuietly(conn, probe);
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
        // Few, larger batches: DuckDB's scan threads attach to the JVM once per batch they read.
        insertGroup(table, schema, SmallBatches.coalesce(new ArrayList<>(group), allocator));
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
      dropViewsQuietly(conn, name);
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
    String match =
        keyColumns.stream().map(k -> keyMatch(rows, k)).collect(Collectors.joining(" AND "));
    String columns =
        rows.getSchema().getFields().stream()
            .map(f -> quote(f.getName()))
            .collect(Collectors.joining(", "));
    // Two streams over the same buffers (shared, not copied): an Arrow stream is read once, and the
    // DELETE reads the keys while the INSERT reads the rows. Copying the delta into a temporary
    // table first would cost a full copy of every changed window on each pass.
    String keysName = "_hs_upk_" + streamNames.incrementAndGet();
    String rowsName = "_hs_upr_" + streamNames.incrementAndGet();
    DuckDBConnection conn = borrow();
    try (ArrowArrayStream keysStream = ArrowArrayStream.allocateNew(allocator);
        ArrowArrayStream rowsStream = ArrowArrayStream.allocateNew(allocator);
        Statement st = conn.createStatement()) {
      export(rows, keysStream);
      export(rows, rowsStream);
      conn.registerArrowStream(keysName, keysStream);
      conn.registerArrowStream(rowsName, rowsStream);
      // One transaction: a concurrent query sees the view before or after, never half-updated.
      st.execute(
          "BEGIN; DELETE FROM "
              + quote(table)
              + " t USING "
              + keysName
              + " d WHERE "
              + match
              + "; INSERT INTO "
              + quote(table)
              + " ("
              + columns
              + ") SELECT "
              + columns
              + " FROM "
              + rowsName
              + "; DROP VIEW IF EXISTS "
              + keysName
              + "; DROP VIEW IF EXISTS "
              + rowsName
              + "; COMMIT");
    } catch (SQLException e) {
      rollbackQuietly(conn);
      dropViewsQuietly(conn, keysName, rowsName);
      throw new HyprstreamException("upsert into '" + table + "' failed: " + e.getMessage(), e);
    } finally {
      release(conn);
    }
  }

  /**
   * Exports a second root over {@code rows}' buffers into {@code stream}; the caller keeps rows.
   */
  private void export(VectorSchemaRoot rows, ArrowArrayStream stream) {
    BatchListReader reader =
        new BatchListReader(allocator, rows.getSchema(), List.of(ArrowCopy.share(rows, allocator)));
    try {
      Data.exportArrayStream(allocator, reader, stream);
    } catch (RuntimeException e) {
      Closeables.closeQuietly(reader); // not exported, so nobody else releases the buffers
      throw e;
    }
  }

  /**
   * The upsert's condition on one key column. NULL keys match each other ({@code IS NOT DISTINCT
   * FROM}), but when the delta holds no NULL in that column, {@code =} matches exactly the same
   * rows and lets DuckDB push the delta's min/max of the key into the view table's scan as a
   * filter, so zone maps skip the row groups of windows the delta does not touch (the view's rows
   * arrive roughly in window order). Measured on a 2 M-row view: a 400 k-row delta's DELETE took
   * 201 ms with {@code IS NOT DISTINCT FROM} and 78 ms with {@code =}; a 20 k-row one 67 ms and 8
   * ms.
   */
  private static String keyMatch(VectorSchemaRoot rows, String key) {
    String op =
        rows.getVector(key) != null && rows.getVector(key).getNullCount() == 0
            ? " = "
            : " IS NOT DISTINCT FROM ";
    return "t." + quote(key) + op + "d." + quote(key);
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
  public ArrowReader query(String sql, List<@Nullable Object> parameters, BufferAllocator alloc) {
    DuckDBConnection conn = borrow();
    ResultSet rs = null;
    try {
      // A kept statement: DuckDB binds it again itself when the catalog changed since
      // (CacheStoreContract.sameText_answersForTheCatalogAsItIsNow); one that fails is forgotten.
      PreparedStatement ps = connections.prepared(conn, sql);
      bind(ps, parameters);
      rs = connections.executeCancellable(ps);
      ArrowReader reader =
          (ArrowReader) ((DuckDBResultSet) rs).arrowExportStream(alloc, RESULT_BATCH_ROWS);
      ResultSet heldRs = rs;
      return new ForwardingReader(
          alloc,
          reader,
          () -> {
            try {
              heldRs.close(); // the statement stays kept for the next execution
            } finally {
              release(conn);
            }
          });
    } catch (SQLException | RuntimeException e) {
      Closeables.closeQuietly(rs);
      connections.forget(conn, sql);
      release(conn);
      throw rejected(sql, e);
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>The session is a connection of its own (a {@link DuckDBConnection#duplicate()}, not a pooled
   * one, so its temporary tables die with it); each input is registered as an Arrow stream view and
   * dropped once {@code setup} has run.
   */
  @Override
  public ArrowReader queryInSession(
      Map<String, ArrowReader> inputs,
      List<String> setup,
      String sql,
      List<@Nullable Object> parameters,
      BufferAllocator alloc) {
    DuckDBConnection conn;
    try {
      conn = connections.fresh();
    } catch (RuntimeException e) {
      inputs.values().forEach(Closeables::closeQuietly);
      throw e;
    }
    PreparedStatement ps = null;
    ResultSet rs = null;
    try {
      prepareSession(conn, inputs, setup);
      ps = conn.prepareStatement(sql);
      bind(ps, parameters);
      rs = connections.executeCancellable(ps);
      return DuckDbExport.stream(rs, ps, conn, alloc, RESULT_BATCH_ROWS);
    } catch (SQLException | RuntimeException e) {
      Closeables.closeQuietly(rs);
      Closeables.closeQuietly(ps);
      Closeables.closeQuietly(conn);
      throw rejected(sql, e);
    }
  }

  /**
   * Registers every input as an Arrow stream view of {@code conn}, runs {@code setup}, then drops
   * the views. Takes every reader: DuckDB releases one once exported, else it is closed here.
   */
  private void prepareSession(
      DuckDBConnection conn, Map<String, ArrowReader> inputs, List<String> setup)
      throws SQLException {
    List<ArrowArrayStream> streams = new ArrayList<>(inputs.size());
    List<ArrowReader> pending = new ArrayList<>(inputs.values());
    try {
      for (Map.Entry<String, ArrowReader> in : inputs.entrySet()) {
        ArrowArrayStream stream = ArrowArrayStream.allocateNew(allocator);
        streams.add(stream);
        Data.exportArrayStream(allocator, in.getValue(), stream);
        pending.remove(in.getValue());
        conn.registerArrowStream(in.getKey(), stream);
      }
      try (Statement st = conn.createStatement()) {
        for (String statement : setup) {
          st.execute(statement);
        }
        for (String name : inputs.keySet()) {
          st.execute("DROP VIEW IF EXISTS " + name);
        }
      }
    } finally {
      pending.forEach(Closeables::closeQuietly);
      streams.forEach(Closeables::closeQuietly);
    }
  }

  /**
   * Cancels the statement {@code thread} is executing in {@link #query}, if any; the query then
   * fails with DuckDB's "interrupted" error. Returns whether a statement was cancelled.
   */
  @Override
  public boolean cancelQueryOf(Thread thread) {
    return connections.cancel(thread);
  }

  @Override
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
   * {@inheritDoc}
   *
   * <p>Found by running it with {@code LIMIT 0} and every parameter NULL, so no rows are read.
   */
  @Override
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
    connections.close();
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
    return connections.borrow();
  }

  private void release(DuckDBConnection conn) {
    connections.release(conn);
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

  /**
   * Drops the Arrow stream views a failed statement registered: they are the pooled connection's
   * own and would otherwise stay in its catalog, over streams already closed, until it closes.
   */
  private static void dropViewsQuietly(Connection conn, String... views) {
    for (String view : views) {
      try (Statement st = conn.createStatement()) {
        st.execute("DROP VIEW IF EXISTS " + view);
      } catch (SQLException ignored) {
        // Nothing more to do here: a view goes with its connection when that closes.
      }
    }
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
