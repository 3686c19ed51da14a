package io.hyprstream.internal.query;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.api.TableNotFoundException;
import io.hyprstream.internal.arrow.ArrowConform;
import io.hyprstream.internal.cache.CacheSql;
import io.hyprstream.internal.ingest.IngestMode;
import io.hyprstream.internal.ingest.IngestPipeline;
import io.hyprstream.internal.sql.InsertStatement;
import io.hyprstream.internal.sql.SqlAnalyser;
import io.hyprstream.internal.sql.StatementAnalysis;
import io.hyprstream.internal.sql.TimeLiterals;
import io.hyprstream.internal.table.TableState;
import io.hyprstream.internal.table.Tables;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * SQL {@code INSERT} into a table whose rows arrive through ingest: DuckDB evaluates the rows the
 * statement supplies and they are ingested like any batch, so windows, running columns, the log and
 * write-through see them.
 */
public final class InsertAsIngest {
  private final Tables tables;
  private final CacheSql cache;
  private final BufferAllocator allocator;
  private final SqlAnalyser analyser;
  private final Router router;
  private final ReadPreparation preparation;
  private final IngestPipeline ingest;
  private final InstantSource clock;
  private final String catalog;

  public InsertAsIngest(
      Tables tables,
      CacheSql cache,
      BufferAllocator allocator,
      SqlAnalyser analyser,
      Router router,
      ReadPreparation preparation,
      IngestPipeline ingest,
      InstantSource clock,
      String catalog) {
    this.tables = tables;
    this.cache = cache;
    this.allocator = allocator;
    this.analyser = analyser;
    this.router = router;
    this.preparation = preparation;
    this.ingest = ingest;
    this.clock = clock;
    this.catalog = catalog;
  }

  /**
   * True when an INSERT targets a table whose rows arrive through ingest (one with window
   * aggregates, or one ingest created or has written to), in the cache's own catalog and schema.
   */
  public boolean isIngested(InsertStatement insert) {
    if (insert.schema != null && !insert.schema.equalsIgnoreCase("main")) {
      return false;
    }
    if (insert.catalog != null && !insert.catalog.equalsIgnoreCase(catalog)) {
      return false;
    }
    if ((tables.spec(insert.table) != null)) {
      return true;
    }
    TableState ts = tables.get(insert.table);
    return ts != null && ts.isManaged();
  }

  /**
   * Runs an SQL INSERT into an ingested table as an ingest: DuckDB evaluates the rows the statement
   * supplies (cast to the target columns' types, matched by the column list, by name, or to the
   * table's first columns in order), and those rows are ingested like any batch, so windows,
   * running columns, the write-ahead log and write-through see them. All or nothing. Returns the
   * number of rows ingested.
   */
  public long executeInsert(InsertStatement insert, List<@Nullable Object> parameters) {
    String table = insert.table;
    if (InsertStatement.MORE_STATEMENTS.equals(insert.unsupported)) {
      throw new QueryRejectedException(
          "one statement at a time: this INSERT into '" + table + "' is followed by another", null);
    }
    if (insert.unsupported != null) {
      throw new QueryRejectedException(
          insert.unsupported
              + " is not supported for '"
              + table
              + "': its rows arrive through ingest, which only adds rows; use a plain INSERT INTO "
              + table
              + " [(columns)] VALUES ... or SELECT ...",
          null);
    }
    StatementAnalysis parsed = analyser.analyse(insert.source);
    if (parsed.kind() != StatementAnalysis.Kind.QUERY) {
      throw new QueryRejectedException(
          "the rows of this INSERT into '"
              + table
              + "' must be VALUES or a query: "
              + (parsed.error() == null ? "it changes something" : parsed.error())
              + " (in: "
              + insert.source
              + ")",
          null);
    }
    if (parsed.statements() != 1) {
      throw new QueryRejectedException(
          "one statement at a time: this INSERT into '" + table + "' is followed by another", null);
    }
    Set<String> words = parsed.names();
    Router.Route route = router.route(parsed, parameters, clock.instant());
    String routed = route.backendWhy();
    if (routed == null && !route.cold().isEmpty()) {
      Router.ColdRead c = route.cold().get(0);
      routed =
          "rows of '"
              + c.table().name
              + "' before "
              + TimeLiterals.instantOfMicros(c.boundaryMicros())
              + " are only in the backend";
    }
    if (routed != null) {
      throw new QueryRejectedException(
          "the rows of this INSERT into '"
              + table
              + "' would be read from the backend ("
              + routed
              + "); INSERT ... SELECT reads the cache only: read them with a query and ingest"
              + " them",
          null);
    }
    preparation.prepareFor(words);
    List<String[]> columns = targetColumns(insert, parsed.valuesWidth());
    int supplied = columns.size();
    columns.addAll(omittedValueColumns(table, columns));
    List<String> names = new ArrayList<>(columns.size());
    List<String> types = new ArrayList<>(columns.size());
    columns.forEach(
        c -> {
          names.add(c[0]);
          types.add(c[1]);
        });
    List<VectorSchemaRoot> rows =
        cache.evaluateRows(table, names, supplied, types, insert.source, parameters, allocator);
    TableState ts = tables.get(table);
    Schema ingested = null;
    if (ts != null) {
      ts.lock.lock();
      try {
        ingested = ts.schema; // the Arrow types ingest compares with
      } finally {
        ts.lock.unlock();
      }
    }
    List<VectorSchemaRoot> batches = new ArrayList<>(rows.size());
    long count = 0;
    int i = 0;
    try {
      for (; i < rows.size(); i++) {
        VectorSchemaRoot r = rows.get(i);
        count += r.getRowCount();
        batches.add(ingested == null ? r : ArrowConform.toTable(r, ingested, allocator));
      }
    } catch (RuntimeException e) {
      batches.forEach(VectorSchemaRoot::close);
      rows.subList(i + 1, rows.size()).forEach(VectorSchemaRoot::close); // toTable closed row i
      throw e;
    }
    ingest.ingestOwned(table, batches, IngestMode.LIVE);
    return count;
  }

  /**
   * The value columns of {@code table}'s windows that an INSERT filling {@code columns} leaves out,
   * as {@code {name, DuckDB type}}: SQL makes an omitted column NULL, whereas an ingested batch
   * must carry every value column, so they are added as NULL (such rows are stored, not
   * aggregated). None when the statement fills a value's running count instead (the pre-aggregated
   * form of a seed).
   */
  private List<String[]> omittedValueColumns(String table, List<String[]> columns) {
    AggregationSpec spec = tables.spec(table);
    if (spec == null) {
      return List.of();
    }
    Set<String> filled = new HashSet<>();
    columns.forEach(c -> filled.add(Tables.key(c[0])));
    List<String[]> out = new ArrayList<>();
    for (String v : spec.valueColumns()) {
      if (filled.contains(Tables.key(v))
          || filled.contains(Tables.key(v + "_running_window_count"))) {
        continue;
      }
      for (String[] c : cache.columnTypes(table)) {
        if (c[0].equalsIgnoreCase(v)) {
          out.add(c);
        }
      }
    }
    return out;
  }

  /**
   * The columns an INSERT fills, each as {@code {name, DuckDB type}} of the target table: its
   * column list; with {@code BY NAME}, the source's column names; otherwise the table's first
   * columns, as many as each source row has ({@code valuesWidth} for a bare VALUES list, else the
   * source query's width), as PostgreSQL does.
   *
   * @throws SchemaMismatchException naming a column the table does not have, or one named twice
   */
  private List<String[]> targetColumns(InsertStatement insert, int valuesWidth) {
    String table = insert.table;
    List<String[]> tableColumns = cache.columnTypes(table);
    if (tableColumns.isEmpty()) {
      throw new TableNotFoundException(table);
    }
    List<String> names = insert.columns;
    if (names == null) {
      Schema source = valuesWidth < 0 || insert.byName ? cache.querySchema(insert.source) : null;
      int width =
          valuesWidth >= 0 ? valuesWidth : Objects.requireNonNull(source).getFields().size();
      names = new ArrayList<>();
      if (insert.byName) {
        for (Field f : Objects.requireNonNull(source).getFields()) {
          names.add(f.getName());
        }
      } else if (width > tableColumns.size()) {
        throw new QueryRejectedException(
            "'"
                + table
                + "' has "
                + tableColumns.size()
                + " columns but this INSERT supplies "
                + width
                + " values per row",
            null);
      } else {
        for (int i = 0; i < width; i++) {
          names.add(tableColumns.get(i)[0]);
        }
      }
    }
    List<String[]> out = new ArrayList<>(names.size());
    Set<String> seen = new HashSet<>();
    for (String n : names) {
      String[] column = null;
      for (String[] c : tableColumns) {
        if (c[0].equalsIgnoreCase(n)) {
          column = c;
        }
      }
      if (column == null) {
        List<String> known = new ArrayList<>();
        tableColumns.forEach(c -> known.add(c[0]));
        throw new SchemaMismatchException(
            table,
            n,
            "no such column; the table has "
                + String.join(", ", known)
                + " (a new column arrives with an ingested batch that carries it)");
      }
      if (!seen.add(Tables.key(column[0]))) {
        throw new SchemaMismatchException(table, column[0], "named twice in the INSERT");
      }
      out.add(column);
    }
    return out;
  }
}
