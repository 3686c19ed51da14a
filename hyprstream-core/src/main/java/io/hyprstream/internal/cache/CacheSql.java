package io.hyprstream.internal.cache;

import static io.hyprstream.api.SqlIdentifier.quote;

import io.hyprstream.api.CacheStore;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.api.SqlIdentifier;
import io.hyprstream.api.TableNotFoundException;
import io.hyprstream.internal.arrow.ArrowCopy;
import io.hyprstream.internal.arrow.Closeables;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * The DuckDB-dialect operations the engine builds on a {@link CacheStore}, written with the store's
 * interface methods only, so that any store that runs DuckDB SQL (the default, or one decorating
 * it) serves them: the parse and plan trees for the SQL analyser, catalog facts, and the queries
 * that read rows the store does not hold together with those it does ({@link #queryWithRows},
 * {@link #queryWithPartials}, {@link #evaluateRows}), each on a session of its own ({@link
 * CacheStore#queryInSession}).
 */
public final class CacheSql {
  private final CacheStore store;
  private final BufferAllocator allocator;
  private final AtomicInteger names = new AtomicInteger();

  /** Operations on {@code store}; small results are read with buffers from {@code allocator}. */
  public CacheSql(CacheStore store, BufferAllocator allocator) {
    this.store = store;
    this.allocator = allocator;
  }

  /** The store these operations run on. */
  public CacheStore store() {
    return store;
  }

  /** {@link CacheStore#querySchema}. */
  public Schema querySchema(String sql) {
    return store.querySchema(sql);
  }

  /** {@link CacheStore#tableSchema}. */
  public @Nullable Schema tableSchema(String table) {
    return store.tableSchema(table);
  }

  // ------------------------------------------------------------------ parser and catalog

  /**
   * DuckDB's parse tree of {@code sql} as JSON ({@code json_serialize_sql}), for the SQL analyser.
   * Only SELECT statements serialise; for others the JSON carries DuckDB's error.
   */
  public String parseTree(String sql) {
    return serialize("SELECT json_serialize_sql(?::VARCHAR)", sql, "parse");
  }

  /**
   * DuckDB's bound logical plan of {@code sql} as JSON ({@code json_serialize_plan}): every
   * statement bound against the store's catalog, as executing it would, but not run. Names come out
   * resolved (catalog, schema, name); a statement that cannot be bound gives {@code
   * {"error":true,...}} with DuckDB's reason.
   */
  public String planTree(String sql) {
    return serialize(
        "SELECT json_serialize_plan(?::VARCHAR, skip_null := true, skip_empty := true)",
        sql,
        "bind");
  }

  private String serialize(String call, String sql, String what) {
    try {
      String json = firstRow(call, List.of(sql), 0, String.class);
      if (json == null) {
        throw new QueryRejectedException("DuckDB cannot " + what + " the statement", null);
      }
      return json;
    } catch (QueryRejectedException | TableNotFoundException e) {
      throw new QueryRejectedException(
          "DuckDB cannot " + what + " the statement: " + e.getMessage(), e);
    }
  }

  /**
   * What DuckDB's parser makes of {@code sql} as a query, read from {@code json_serialize_sql}
   * (which serialises SELECT statements only, so anything else is reported as an error).
   *
   * @param error DuckDB's parser error, or null when {@code sql} parsed as SELECT statements
   * @param statements how many statements {@code sql} holds
   * @param valuesWidth for a bare {@code VALUES (...), ...} list, the number of values in its first
   *     row; otherwise -1
   */
  public record ParsedQuery(@Nullable String error, int statements, int valuesWidth) {}

  /** Parses {@code sql} with DuckDB's own parser, without binding or running it. */
  public ParsedQuery parseQuery(String sql) {
    String probe =
        "SELECT j->>'$.error_message' AS error,"
            + " coalesce(json_array_length(j, '$.statements'), 0)::INTEGER AS statements,"
            + " CASE WHEN j->>'$.statements[0].node.type' = 'SELECT_NODE'"
            + " AND j->>'$.statements[0].node.from_table.type' = 'EXPRESSION_LIST'"
            + " AND json_array_length(j, '$.statements[0].node.select_list') = 1"
            + " AND j->>'$.statements[0].node.select_list[0].class' = 'STAR'"
            + " THEN json_array_length(j, '$.statements[0].node.from_table.values[0]')::INTEGER"
            + " ELSE -1 END AS values_width"
            + " FROM (SELECT json_serialize_sql(?::VARCHAR) AS j)";
    List<List<@Nullable Object>> rows = rows(probe, List.of(sql));
    List<@Nullable Object> row = rows.get(0);
    return new ParsedQuery(
        (String) row.get(0),
        (Integer) Objects.requireNonNull(row.get(1)),
        (Integer) Objects.requireNonNull(row.get(2)));
  }

  /**
   * The columns of {@code table} in table order, each as {@code {name, DuckDB type}} (the type as
   * DuckDB spells it, fit for a cast or a column definition); empty when there is no such table.
   */
  public List<String[]> columnTypes(String table) {
    List<String[]> out = new ArrayList<>();
    for (List<@Nullable Object> row :
        rows(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name ="
                + " current_database() AND schema_name = 'main' AND lower(table_name) = lower(?)"
                + " ORDER BY column_index",
            List.of(table))) {
      out.add(new String[] {(String) row.get(0), (String) row.get(1)});
    }
    return out;
  }

  /** The name of the store's database ({@code memory} in memory), as catalogs call it. */
  public String catalogName() {
    String name = firstRow("SELECT current_database()", List.of(), 0, String.class);
    return name == null ? "memory" : name;
  }

  /** Column {@code column} of the first row of {@code sql}'s result, or null without rows. */
  private <T> @Nullable T firstRow(
      String sql, List<@Nullable Object> parameters, int column, Class<T> type) {
    List<List<@Nullable Object>> rows = rows(sql, parameters);
    return rows.isEmpty() ? null : type.cast(rows.get(0).get(column));
  }

  /** The rows of a small result of VARCHAR, INTEGER and BIGINT columns, as Java values. */
  private List<List<@Nullable Object>> rows(String sql, List<@Nullable Object> parameters) {
    List<List<@Nullable Object>> out = new ArrayList<>();
    try (ArrowReader reader = store.query(sql, parameters, allocator)) {
      while (reader.loadNextBatch()) {
        VectorSchemaRoot root = reader.getVectorSchemaRoot();
        for (int r = 0; r < root.getRowCount(); r++) {
          List<@Nullable Object> row = new ArrayList<>(root.getFieldVectors().size());
          for (FieldVector v : root.getFieldVectors()) {
            row.add(valueOf(v, r));
          }
          out.add(row);
        }
      }
      return out;
    } catch (IOException e) {
      throw new HyprstreamException("cannot read the cache's answer: " + e.getMessage(), e);
    }
  }

  private static @Nullable Object valueOf(FieldVector v, int row) {
    if (v.isNull(row)) {
      return null;
    }
    if (v instanceof VarCharVector s) {
      return new String(s.get(row), StandardCharsets.UTF_8);
    }
    if (v instanceof IntVector i) {
      return i.get(row);
    }
    if (v instanceof BigIntVector b) {
      return b.get(row);
    }
    throw new IllegalStateException("unexpected column type " + v.getField());
  }

  // ------------------------------------------------------------------ rows held elsewhere

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

    /** Closes every reader; for paths where they were not handed to the store. */
    public void closeQuietly() {
      Closeables.closeQuietly(rows);
      moreRows.forEach(Closeables::closeQuietly);
    }
  }

  /**
   * Runs {@code sql} unchanged where each table of {@code extra} reads as the union of its extra
   * rows and its cached rows matching the hot predicate: in a session of its own, a temporary table
   * of that name shadows the cached one for unqualified and {@code main.}-qualified names. Extra
   * columns the cache lacks are dropped; cached columns the extra rows lack read as NULL.
   * Ownership: the caller closes the returned reader (allocated from {@code alloc}); the extra
   * readers are closed here.
   */
  public ArrowReader queryWithRows(
      String sql, List<@Nullable Object> parameters, List<ExtraRows> extra, BufferAllocator alloc) {
    Map<String, ArrowReader> inputs = new LinkedHashMap<>();
    List<String> setup = new ArrayList<>();
    int next = 0; // extra rows from here on are not yet in inputs
    try {
      while (next < extra.size()) {
        ExtraRows x = extra.get(next++);
        List<ArrowReader> readers = new ArrayList<>(1 + x.moreRows().size());
        readers.add(x.rows());
        readers.addAll(x.moreRows());
        Schema cached = store.tableSchema(x.table());
        if (cached == null) {
          readers.forEach(Closeables::closeQuietly);
          throw new TableNotFoundException(x.table());
        }
        List<String> readerNames = new ArrayList<>(readers.size());
        List<String> readerColumns = new ArrayList<>(readers.size());
        for (ArrowReader r : readers) {
          String columns;
          try {
            columns = sharedColumns(cached, r, x.table());
          } catch (RuntimeException e) {
            readers.forEach(Closeables::closeQuietly);
            throw e;
          }
          if (columns.isEmpty()) {
            // No rows to add (a reader of no columns, which DuckDB refuses to scan): the cached
            // share alone.
            Closeables.closeQuietly(r);
            readerNames.add(null);
          } else {
            String name = "_hs_extra_" + names.incrementAndGet();
            inputs.put(name, r);
            readerNames.add(name);
          }
          readerColumns.add(columns);
        }
        String table = quote(x.table());
        setup.add(
            "CREATE TEMPORARY TABLE "
                + table
                + " AS SELECT * FROM main."
                + table
                + " WHERE "
                + x.hotPredicate());
        for (int i = 0; i < readers.size(); i++) {
          String columns = readerColumns.get(i);
          if (columns.isEmpty()) {
            continue;
          }
          setup.add(
              "INSERT INTO temp.main."
                  + table
                  + " ("
                  + columns
                  + ") SELECT "
                  + columns
                  + " FROM "
                  + readerNames.get(i)
                  + " WHERE "
                  + (i == 0 ? "true" : x.morePredicate()));
        }
      }
    } catch (RuntimeException e) {
      inputs.values().forEach(Closeables::closeQuietly);
      extra.subList(next, extra.size()).forEach(ExtraRows::closeQuietly);
      throw e;
    }
    return store.queryInSession(inputs, setup, sql, parameters, alloc);
  }

  /** The quoted columns of {@code cached} that {@code rows} has too, comma-separated. */
  private String sharedColumns(Schema cached, ArrowReader rows, String table) {
    Schema arriving;
    try {
      arriving = rows.getVectorSchemaRoot().getSchema();
    } catch (IOException e) {
      throw new HyprstreamException(
          "cannot read the rows of '" + table + "' to query: " + e.getMessage(), e);
    }
    List<String> shared = new ArrayList<>();
    for (Field f : cached.getFields()) {
      if (arriving.getFields().stream().anyMatch(a -> a.getName().equalsIgnoreCase(f.getName()))) {
        shared.add(quote(f.getName()));
      }
    }
    return String.join(", ", shared);
  }

  /**
   * Runs {@code sql}, which reads the cached tables and the relation {@code name}: the rows of
   * {@code partials}, held in a temporary table of a session of its own for this query only.
   * Ownership: the caller closes the returned reader (allocated from {@code alloc}); {@code
   * partials} is closed here.
   */
  public ArrowReader queryWithPartials(
      String sql, String name, ArrowReader partials, BufferAllocator alloc) {
    return queryWithPartials(sql, name, List.of(partials), alloc);
  }

  /**
   * {@link #queryWithPartials(String, String, ArrowReader, BufferAllocator)} where {@code name}
   * holds the rows of every reader of {@code partials}, which share one schema.
   */
  public ArrowReader queryWithPartials(
      String sql, String name, List<ArrowReader> partials, BufferAllocator alloc) {
    Map<String, ArrowReader> inputs = new LinkedHashMap<>();
    List<String> setup = new ArrayList<>();
    for (ArrowReader r : partials) {
      String input = "_hs_stream_" + names.incrementAndGet();
      inputs.put(input, r);
      setup.add(
          setup.isEmpty()
              ? "CREATE TEMPORARY TABLE " + name + " AS SELECT * FROM " + input
              : "INSERT INTO " + name + " SELECT * FROM " + input);
    }
    return store.queryInSession(inputs, setup, sql, List.of(), alloc);
  }

  // ------------------------------------------------------------------ INSERT evaluation

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
    String staging = "_hs_insert_" + names.incrementAndGet();
    List<VectorSchemaRoot> out = new ArrayList<>();
    try (ArrowReader reader =
        store.queryInSession(
            Map.of(),
            List.of(staging(staging, columns, types, -1)),
            stagingInsert(staging, filled, source),
            parameters,
            alloc)) {
      while (reader.loadNextBatch()) {
        out.add(ArrowCopy.deepCopy(reader.getVectorSchemaRoot(), alloc));
      }
      return out;
    } catch (HyprstreamException e) {
      out.forEach(VectorSchemaRoot::close);
      String message = storeMessage(e).replace(staging, quote(table));
      if (message.startsWith("Conversion Error")) {
        String column = castCulprit(filled, types, source, parameters, alloc);
        if (column != null) {
          throw new SchemaMismatchException(
              table, column, "a value of the INSERT does not fit the column: " + message);
        }
      }
      throw new QueryRejectedException(message + " (in the rows inserted into '" + table + "')", e);
    } catch (IOException | RuntimeException e) {
      out.forEach(VectorSchemaRoot::close);
      throw new HyprstreamException(
          "cannot read the rows inserted into '" + table + "': " + e.getMessage(), e);
    }
  }

  /**
   * The column whose cast fails in {@link #evaluateRows}, found by evaluating the source again with
   * every other column held as VARCHAR (to which any value casts), or null when no single column
   * fails alone. Runs only after a conversion error, so the repeat costs nothing normally.
   */
  private @Nullable String castCulprit(
      List<String> columns,
      List<String> types,
      String source,
      List<@Nullable Object> parameters,
      BufferAllocator alloc) {
    for (int i = 0; i < columns.size(); i++) {
      String probe = "_hs_insert_probe_" + names.incrementAndGet();
      try (ArrowReader reader =
          store.queryInSession(
              Map.of(),
              List.of(staging(probe, columns, types, i)),
              stagingInsert(probe, columns, source),
              parameters,
              alloc)) {
        while (reader.loadNextBatch()) {
          // drained: the rows are not needed, only whether they cast
        }
      } catch (HyprstreamException e) {
        if (storeMessage(e).startsWith("Conversion Error")) {
          return columns.get(i);
        }
      } catch (IOException e) {
        // not a cast failure of this column
      }
    }
    return null;
  }

  /** A temporary table of {@code columns}; only column {@code typed} is typed when it is >= 0. */
  private String staging(String name, List<String> columns, List<String> types, int typed) {
    StringBuilder ddl = new StringBuilder("CREATE TEMP TABLE ").append(name).append(" (");
    for (int i = 0; i < columns.size(); i++) {
      ddl.append(i == 0 ? "" : ", ")
          .append(quote(columns.get(i)))
          .append(' ')
          .append(typed < 0 || typed == i ? types.get(i) : "VARCHAR");
    }
    return ddl.append(')').toString();
  }

  /** The INSERT into the staging table, returning every column of the rows it adds. */
  private String stagingInsert(String staging, List<String> columns, String source) {
    String s = source.strip();
    while (s.endsWith(";")) {
      s = s.substring(0, s.length() - 1).strip();
    }
    return "INSERT INTO "
        + staging
        + " ("
        + columns.stream().map(SqlIdentifier::quote).collect(Collectors.joining(", "))
        + ") "
        + s
        + " RETURNING *";
  }

  /** The first line of the store's own message: the cause's, where it wraps one. */
  private static String storeMessage(HyprstreamException e) {
    Throwable t = e.getCause() != null ? e.getCause() : e;
    String m = t.getMessage() == null ? t.toString() : t.getMessage().strip();
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl).strip();
  }
}
