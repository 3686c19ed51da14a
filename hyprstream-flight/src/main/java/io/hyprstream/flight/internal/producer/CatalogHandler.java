package io.hyprstream.flight.internal.producer;

import static io.hyprstream.flight.internal.FlightErrors.toFlight;

import io.hyprstream.Hyprstream;
import io.hyprstream.api.SqlIdentifier;
import io.hyprstream.api.TableNotFoundException;
import io.hyprstream.flight.internal.DuckDbCatalog;
import io.hyprstream.flight.internal.Metadata;
import io.hyprstream.flight.internal.ServerSqlInfo;
import io.hyprstream.flight.internal.StatementTickets;
import java.util.List;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightProducer.CallContext;
import org.apache.arrow.flight.FlightProducer.ServerStreamListener;
import org.apache.arrow.flight.FlightProducer.StreamListener;
import org.apache.arrow.flight.sql.FlightSqlProducer.Schemas;
import org.apache.arrow.flight.sql.SqlInfoBuilder;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetCrossReference;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetDbSchemas;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetExportedKeys;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetImportedKeys;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetPrimaryKeys;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetSqlInfo;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetTables;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetXdbcTypeInfo;
import org.apache.arrow.flight.sql.impl.FlightSql.TicketStatementQuery;
import org.apache.arrow.memory.BufferAllocator;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the server holds, as clients browse it: the metadata streams JDBC and ADBC clients ask for
 * (over {@link Metadata}), and plain Flight's view of every table and view as a flight.
 */
public final class CatalogHandler {
  private static final Logger LOG = LoggerFactory.getLogger(CatalogHandler.class);

  private final Hyprstream hyprstream;
  private final BufferAllocator allocator;
  private final StatementTickets tickets;
  private final SqlInfoBuilder sqlInfo;
  private final String catalog;

  CatalogHandler(
      Hyprstream hyprstream, BufferAllocator allocator, StatementTickets tickets, String version) {
    this.hyprstream = hyprstream;
    this.allocator = allocator;
    this.tickets = tickets;
    this.sqlInfo = ServerSqlInfo.build(version);
    this.catalog = currentCatalog(hyprstream, allocator);
  }

  /** The cache database's catalog name ({@code memory} in memory), asked once at start. */
  private static String currentCatalog(Hyprstream hyprstream, BufferAllocator allocator) {
    try (var reader =
        hyprstream.query("SELECT current_database() AS catalog", List.of(), allocator)) {
      if (reader.loadNextBatch() && reader.getVectorSchemaRoot().getRowCount() == 1) {
        Object name = reader.getVectorSchemaRoot().getVector(0).getObject(0);
        if (name != null) {
          return name.toString();
        }
      }
    } catch (Exception e) {
      LOG.debug("cannot ask the cache for its catalog name; reporting 'memory'", e);
    }
    return "memory";
  }

  /** The one catalog's name. */
  String catalogName() {
    return catalog;
  }

  // ---------------------------------------------------------------------------------------------
  // Plain Flight: tables as flights

  /** Lists every table and view as a flight whose ticket reads the whole table. */
  public void listFlights(CallContext context, StreamListener<FlightInfo> listener) {
    try {
      for (Hyprstream.TableInfo t : hyprstream.tables()) {
        listener.onNext(tableInfo(t, context));
      }
      listener.onCompleted();
    } catch (RuntimeException e) {
      listener.onError(toFlight(e));
    }
  }

  /** The flight of the table a path descriptor names. */
  public FlightInfo pathInfo(CallContext context, FlightDescriptor descriptor) {
    String table = Replies.pathTable(descriptor);
    Hyprstream.@Nullable TableInfo t = findTable(table);
    if (t == null) {
      throw toFlight(new TableNotFoundException(table));
    }
    return tableInfo(t, context);
  }

  private FlightInfo tableInfo(Hyprstream.TableInfo t, CallContext context) {
    String sql = "SELECT * FROM " + SqlIdentifier.quote(t.name());
    TicketStatementQuery ticket =
        TicketStatementQuery.newBuilder().setStatementHandle(tickets.issue(sql, context)).build();
    return Replies.info(t.schema(), FlightDescriptor.path(t.name()), ticket);
  }

  private Hyprstream.@Nullable TableInfo findTable(String name) {
    for (Hyprstream.TableInfo t : hyprstream.tables()) {
      if (t.name().equals(name)) {
        return t;
      }
    }
    return null;
  }

  /** True when some window view aggregates {@code table} (views are named {@code table_<w>}). */
  boolean hasWindowViews(String table) {
    if (table.equals(Hyprstream.METRICS_TABLE)) {
      return true;
    }
    for (Hyprstream.TableInfo t : hyprstream.tables()) {
      if (t.kind() == Hyprstream.TableInfo.Kind.WINDOW_VIEW && t.name().startsWith(table + "_")) {
        return true;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------------------------------------
  // Flight SQL metadata

  public void sqlInfo(CommandGetSqlInfo command, ServerStreamListener listener) {
    sqlInfo.send(command.getInfoList(), listener);
  }

  public void typeInfo(CommandGetXdbcTypeInfo request, ServerStreamListener listener) {
    Replies.send(
        () -> Metadata.typeInfo(request.hasDataType() ? request.getDataType() : null, allocator),
        listener);
  }

  public void catalogs(ServerStreamListener listener) {
    Replies.send(() -> Metadata.catalogs(catalog, allocator), listener);
  }

  public void schemas(CommandGetDbSchemas command, ServerStreamListener listener) {
    Replies.send(() -> Metadata.schemas(catalog, command, allocator), listener);
  }

  public void tables(CommandGetTables command, ServerStreamListener listener) {
    Replies.send(
        () ->
            Metadata.tables(
                catalog,
                command,
                hyprstream.tables(),
                command.getIncludeSchema()
                    ? DuckDbCatalog.read(hyprstream, false, allocator)
                    : DuckDbCatalog.empty(),
                allocator),
        listener);
  }

  public void tableTypes(ServerStreamListener listener) {
    Replies.send(() -> Metadata.tableTypes(allocator), listener);
  }

  public void primaryKeys(CommandGetPrimaryKeys command, ServerStreamListener listener) {
    Replies.send(() -> Metadata.primaryKeys(catalog, command, keys(), allocator), listener);
  }

  public void exportedKeys(CommandGetExportedKeys command, ServerStreamListener listener) {
    Metadata.TableFilter table =
        new Metadata.TableFilter(
            command.hasCatalog() ? command.getCatalog() : null,
            command.hasDbSchema() ? command.getDbSchema() : null,
            command.getTable());
    Replies.send(
        () ->
            Metadata.foreignKeys(
                catalog, table, null, keys(), Schemas.GET_EXPORTED_KEYS_SCHEMA, allocator),
        listener);
  }

  public void importedKeys(CommandGetImportedKeys command, ServerStreamListener listener) {
    Metadata.TableFilter table =
        new Metadata.TableFilter(
            command.hasCatalog() ? command.getCatalog() : null,
            command.hasDbSchema() ? command.getDbSchema() : null,
            command.getTable());
    Replies.send(
        () ->
            Metadata.foreignKeys(
                catalog, null, table, keys(), Schemas.GET_IMPORTED_KEYS_SCHEMA, allocator),
        listener);
  }

  public void crossReference(CommandGetCrossReference command, ServerStreamListener listener) {
    Metadata.TableFilter pk =
        new Metadata.TableFilter(
            command.hasPkCatalog() ? command.getPkCatalog() : null,
            command.hasPkDbSchema() ? command.getPkDbSchema() : null,
            command.getPkTable());
    Metadata.TableFilter fk =
        new Metadata.TableFilter(
            command.hasFkCatalog() ? command.getFkCatalog() : null,
            command.hasFkDbSchema() ? command.getFkDbSchema() : null,
            command.getFkTable());
    Replies.send(
        () ->
            Metadata.foreignKeys(
                catalog, pk, fk, keys(), Schemas.GET_CROSS_REFERENCE_SCHEMA, allocator),
        listener);
  }

  /** DuckDB's declared columns and keys, read for one metadata call. */
  private DuckDbCatalog keys() {
    return DuckDbCatalog.read(hyprstream, true, allocator);
  }
}
