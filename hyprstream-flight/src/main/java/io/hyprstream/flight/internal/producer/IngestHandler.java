package io.hyprstream.flight.internal.producer;

import static io.hyprstream.flight.internal.FlightErrors.invalid;
import static io.hyprstream.flight.internal.FlightErrors.toFlight;

import io.hyprstream.Hyprstream;
import io.hyprstream.StatementInfo;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.api.SqlIdentifier;
import io.hyprstream.api.TableNotFoundException;
import io.hyprstream.flight.internal.IngestIdHeader;
import io.hyprstream.flight.internal.IngestReader;
import io.hyprstream.flight.internal.LimitExceededException;
import io.hyprstream.flight.internal.Metadata;
import io.hyprstream.flight.internal.ServerPolicy;
import java.io.IOException;
import java.util.List;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightProducer.CallContext;
import org.apache.arrow.flight.FlightProducer.StreamListener;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.PutResult;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest.TableDefinitionOptions;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * Ingest: Flight SQL bulk ingest ({@code CommandStatementIngest}), plain {@code DoPut} to {@code
 * FlightDescriptor.path(table)}, and prepared {@code INSERT ... VALUES (?, ...)} with bound
 * batches. Every path ends in {@link Hyprstream#ingest}, in chunks of {@link #INGEST_CHUNK_ROWS}.
 */
public final class IngestHandler {
  /** Rows per ingest call when a client streams many batches (16 batches of 64 Ki rows). */
  static final long INGEST_CHUNK_ROWS = 1L << 20;

  private final Hyprstream hyprstream;
  private final BufferAllocator allocator;
  private final ServerPolicy policy;
  private final TableSchemas tableSchemas;
  private final CatalogHandler catalog;

  IngestHandler(
      Hyprstream hyprstream,
      BufferAllocator allocator,
      ServerPolicy policy,
      TableSchemas tableSchemas,
      CatalogHandler catalog) {
    this.hyprstream = hyprstream;
    this.allocator = allocator;
    this.policy = policy;
    this.tableSchemas = tableSchemas;
    this.catalog = catalog;
  }

  /** Flight SQL bulk ingest, acknowledged with the number of rows stored. */
  public Runnable bulkIngest(
      CommandStatementIngest command,
      CallContext context,
      FlightStream flightStream,
      StreamListener<PutResult> ackStream) {
    return () -> {
      try {
        policy.access().requireWrite(context, "ingest into '" + command.getTable() + "'");
        Replies.ackUpdate(
            ackStream, bulkIngest(command, flightStream, IngestIdHeader.of(context)), allocator);
      } catch (RuntimeException e) {
        ackStream.onError(toFlight(e));
      }
    };
  }

  private long bulkIngest(
      CommandStatementIngest command, FlightStream flightStream, @Nullable String ingestId) {
    Replies.rejectTransaction(command.hasTransactionId());
    if (command.getTemporary()) {
      throw invalid("temporary tables are not supported");
    }
    String catalogName = catalog.catalogName();
    if (command.hasCatalog()
        && !command.getCatalog().isEmpty()
        && !command.getCatalog().equals(catalogName)) {
      throw invalid(
          "catalog '" + command.getCatalog() + "': the only catalog is '" + catalogName + "'");
    }
    if (command.hasSchema()
        && !command.getSchema().isEmpty()
        && !command.getSchema().equals(Metadata.SCHEMA)) {
      throw invalid(
          "schema '" + command.getSchema() + "': the only schema is '" + Metadata.SCHEMA + "'");
    }
    if (!command.getOptionsMap().isEmpty()) {
      throw invalid("ingest options are not supported, got " + command.getOptionsMap().keySet());
    }
    String table = command.getTable();
    if (table.isEmpty()) {
      throw invalid("the ingest command names no table");
    }
    TableDefinitionOptions options = command.getTableDefinitionOptions();
    Schema existing = tableSchemas.get(table);
    if (existing == null) {
      switch (options.getIfNotExist()) {
        case TABLE_NOT_EXIST_OPTION_CREATE:
          break;
        case TABLE_NOT_EXIST_OPTION_FAIL:
          throw new TableNotFoundException(table);
        default:
          throw invalid(
              "the ingest command must say what to do when the table does not exist"
                  + " (if_not_exist CREATE or FAIL), got "
                  + options.getIfNotExist());
      }
    } else {
      // Window views are refused by the core's ingest (INVALID_ARGUMENT).
      switch (options.getIfExists()) {
        case TABLE_EXISTS_OPTION_APPEND:
          break;
        case TABLE_EXISTS_OPTION_FAIL:
          throw CallStatus.ALREADY_EXISTS
              .withDescription("table '" + table + "' already exists")
              .toRuntimeException();
        case TABLE_EXISTS_OPTION_REPLACE:
          if (ingestId != null) {
            // The retry would empty the table and then store nothing, as a repeat.
            throw invalid(
                "header "
                    + IngestIdHeader.NAME
                    + " cannot be used with if_exists REPLACE: a retry would replace the rows with"
                    + " none");
          }
          if (catalog.hasWindowViews(table)) {
            throw invalid(
                "'" + table + "' has window aggregates and cannot be replaced; append to it");
          }
          // Replaces the rows and keeps the table's columns. Not atomic with the ingest below: a
          // rejected batch leaves the table empty.
          hyprstream.execute("DELETE FROM " + SqlIdentifier.quote(table), List.of());
          tableSchemas.invalidate(table);
          break;
        default:
          throw invalid(
              "the ingest command must say what to do when the table exists"
                  + " (if_exists APPEND, REPLACE or FAIL), got "
                  + options.getIfExists());
      }
    }
    return ingestStream(table, flightStream, existing, null, ingestId);
  }

  /**
   * Plain Flight: {@code DoPut} with {@code FlightDescriptor.path(table)} ingests the stream into
   * that table (created from the first batch when missing).
   */
  public Runnable pathPut(
      CallContext context, FlightStream flightStream, StreamListener<PutResult> ackStream) {
    FlightDescriptor descriptor = flightStream.getDescriptor();
    return () -> {
      try {
        String table = Replies.pathTable(descriptor);
        policy.access().requireWrite(context, "ingest into '" + table + "'");
        // Window views are refused by the core's ingest (INVALID_ARGUMENT).
        ingestStream(
            table, flightStream, tableSchemas.get(table), null, IngestIdHeader.of(context));
        ackStream.onCompleted();
      } catch (RuntimeException e) {
        ackStream.onError(toFlight(e));
      }
    };
  }

  /**
   * Runs a prepared {@code INSERT INTO t [(cols)] VALUES (?, ...)} as one ingest of every bound
   * batch, matching columns by the batch's field names (or the statement's column list). A
   * statement with nothing bound inserts nothing.
   */
  long preparedInsert(
      StatementInfo.PlainInsert insert, FlightStream flightStream, @Nullable String ingestId) {
    return ingestStream(
        insert.table(), flightStream, tableSchemas.get(insert.table()), insert.columns(), ingestId);
  }

  /**
   * Ingests a client's stream in chunks of about {@link #INGEST_CHUNK_ROWS} rows, each one {@code
   * Hyprstream.ingest} call (all or nothing), so a stream of any length needs bounded memory and
   * the core can write one chunk while the next arrives. A stream that fits one chunk is stored all
   * or nothing; when a later chunk is rejected, the error says how many rows were stored. Returns
   * the rows this call stored: a chunk that repeats an ingest id counts none.
   */
  private static List<VectorSchemaRoot> readChunk(IngestReader reader, String table) {
    try {
      return reader.takeChunk(INGEST_CHUNK_ROWS);
    } catch (IOException e) {
      throw new HyprstreamException("cannot read the batches for '" + table + "': " + e, e);
    }
  }

  private long ingestStream(
      String table,
      FlightStream flightStream,
      @Nullable Schema tableSchema,
      @Nullable List<String> names,
      @Nullable String ingestId) {
    long start = System.nanoTime();
    try (IngestReader reader =
        new IngestReader(allocator, flightStream, tableSchema, names)
            .limits(policy.limits().maxBatchBytes(), policy.limits().maxRequestRows())) {
      long stored = 0;
      long repeated = 0; // rows of chunks whose ingest id was a repeat: stored by an earlier call
      int chunk = 0;
      while (reader.hasMore()) {
        try {
          // Hands the chunk's buffers over: the core keeps them without copying.
          List<VectorSchemaRoot> batches = readChunk(reader, table);
          if (ingestId == null) {
            hyprstream.ingestTransferred(table, batches);
          } else if (hyprstream
              .ingestTransferred(table, batches, IngestIdHeader.ofChunk(ingestId, chunk))
              .repeated()) {
            repeated += reader.rows() - stored;
          }
          chunk++;
        } catch (RuntimeException e) {
          // The table may have changed since its schema was cached.
          tableSchemas.invalidate(table);
          if (e instanceof LimitExceededException) {
            policy.metrics().rejected(((LimitExceededException) e).limit());
          }
          if (stored == 0) {
            throw e;
          }
          CallStatus status = toFlight(e).status();
          throw status
              .withDescription(
                  status.description()
                      + " ("
                      + stored
                      + " earlier rows of this stream were stored; the rest were not)")
              .withCause(e)
              .toRuntimeException();
        }
        stored = reader.rows();
      }
      policy
          .metrics()
          .ingested(table, stored, reader.bytes(), reader.batches(), System.nanoTime() - start);
      return stored - repeated;
    } catch (IOException e) {
      throw toFlight(e); // closing the reader of the client's stream
    }
  }
}
