package io.hyprstream.flight;

import static io.hyprstream.flight.internal.FlightErrors.invalid;
import static io.hyprstream.flight.internal.FlightErrors.toFlight;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import io.hyprstream.Hyprstream;
import io.hyprstream.QueryResult;
import io.hyprstream.api.TableNotFoundException;
import io.hyprstream.flight.internal.ArrowValues;
import io.hyprstream.flight.internal.DuckDbCatalog;
import io.hyprstream.flight.internal.Health;
import io.hyprstream.flight.internal.IngestReader;
import io.hyprstream.flight.internal.LimitExceededException;
import io.hyprstream.flight.internal.Metadata;
import io.hyprstream.flight.internal.ParameterTypes;
import io.hyprstream.flight.internal.PreparedStatementState;
import io.hyprstream.flight.internal.QuarantineActions;
import io.hyprstream.flight.internal.QueryGate;
import io.hyprstream.flight.internal.ServerPolicy;
import io.hyprstream.flight.internal.SqlText;
import io.hyprstream.flight.internal.StatementTickets;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.Action;
import org.apache.arrow.flight.ActionType;
import org.apache.arrow.flight.BackpressureStrategy;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.Criteria;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.PutResult;
import org.apache.arrow.flight.Result;
import org.apache.arrow.flight.SchemaResult;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.flight.sql.FlightSqlProducer;
import org.apache.arrow.flight.sql.FlightSqlUtils;
import org.apache.arrow.flight.sql.SqlInfoBuilder;
import org.apache.arrow.flight.sql.impl.FlightSql.ActionClosePreparedStatementRequest;
import org.apache.arrow.flight.sql.impl.FlightSql.ActionCreatePreparedStatementRequest;
import org.apache.arrow.flight.sql.impl.FlightSql.ActionCreatePreparedStatementResult;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetCatalogs;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetCrossReference;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetDbSchemas;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetExportedKeys;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetImportedKeys;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetPrimaryKeys;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetSqlInfo;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetTableTypes;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetTables;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetXdbcTypeInfo;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandPreparedStatementQuery;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandPreparedStatementUpdate;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest.TableDefinitionOptions;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementQuery;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementUpdate;
import org.apache.arrow.flight.sql.impl.FlightSql.DoPutPreparedStatementResult;
import org.apache.arrow.flight.sql.impl.FlightSql.DoPutUpdateResult;
import org.apache.arrow.flight.sql.impl.FlightSql.TicketStatementQuery;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorLoader;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers Arrow Flight SQL over an embedded {@link Hyprstream}: statements, prepared statements
 * with bound Arrow parameters, bulk ingest ({@code CommandStatementIngest}, plain {@code DoPut} to
 * {@code FlightDescriptor.path(table)}, and prepared {@code INSERT ... VALUES (?, ...)} with a
 * bound batch), and the metadata calls JDBC and ADBC clients make.
 *
 * <p>Every ingest path ends in {@link Hyprstream#ingest(String, ArrowReader)}: one call per DoPut,
 * so a batch of N parameter rows is one vectorised insert, all or nothing, visible to queries once
 * the DoPut is acknowledged. Results stream batch by batch, waiting for the client whenever gRPC's
 * outbound buffer is full.
 *
 * <p>Prepared-statement handles are held for {@code statementIdleTimeout} after their last use and
 * at most {@code maxPreparedStatements} at once (clients such as the JDBC driver drop handles
 * without closing them). Use through {@link HyprstreamServer}, or register with your own {@code
 * FlightServer}. The producer takes a child of the given allocator and closes only that child; the
 * {@link Hyprstream} instance stays the caller's.
 */
public final class HyprstreamFlightSqlProducer implements FlightSqlProducer {
  private static final Logger LOG = LoggerFactory.getLogger(HyprstreamFlightSqlProducer.class);

  /** How long an unused prepared statement is kept by default. */
  public static final Duration DEFAULT_STATEMENT_IDLE_TIMEOUT = Duration.ofMinutes(10);

  /** How many prepared statements are held at most by default. */
  public static final long DEFAULT_MAX_PREPARED_STATEMENTS = 10_000;

  private static final Schema EMPTY_SCHEMA = new Schema(List.of());

  /** Rows per ingest call when a client streams many batches (16 batches of 64 Ki rows). */
  static final long INGEST_CHUNK_ROWS = 1L << 20;

  private static final String VERSION =
      Objects.requireNonNullElse(
          HyprstreamFlightSqlProducer.class.getPackage().getImplementationVersion(),
          "0.1.0-SNAPSHOT");

  private final Hyprstream hyprstream;
  private final BufferAllocator allocator;
  private final Cache<ByteString, PreparedStatementState> prepared;
  private final StatementTickets tickets;
  private final SqlInfoBuilder sqlInfo = Metadata.sqlInfo(VERSION);
  private final SecureRandom random = new SecureRandom();
  private final String catalog;
  private final ServerPolicy policy;
  private final Health health;

  /**
   * Result streams run here, not on the gRPC thread that called {@code getStream}: waiting for a
   * slow client blocks the thread, and gRPC delivers the client's "ready for more" signal on the
   * very thread the call came in on, so a wait there would never end.
   */
  private final ExecutorService streams =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "hyprstream-result-stream");
            t.setDaemon(true);
            return t;
          });

  /** The Flight action answering a small JSON health report. */
  public static final String HEALTH_ACTION = "health";

  /**
   * Table schemas for adapting incoming batches, kept a second: a stream of small DoPuts must not
   * pay a catalog lookup each. Dropped after DDL through this server and after a rejected ingest.
   */
  private final Cache<String, Schema> tableSchemas =
      Caffeine.newBuilder().expireAfterWrite(Duration.ofSeconds(1)).maximumSize(10_000).build();

  /** A producer with the default statement limits. */
  public HyprstreamFlightSqlProducer(Hyprstream hyprstream, BufferAllocator allocator) {
    this(hyprstream, allocator, DEFAULT_STATEMENT_IDLE_TIMEOUT, DEFAULT_MAX_PREPARED_STATEMENTS);
  }

  /**
   * A producer over {@code hyprstream}; buffers come from a child of {@code allocator}.
   *
   * @param statementIdleTimeout how long an unused prepared statement is kept
   * @param maxPreparedStatements how many prepared statements are kept at most
   */
  public HyprstreamFlightSqlProducer(
      Hyprstream hyprstream,
      BufferAllocator allocator,
      Duration statementIdleTimeout,
      long maxPreparedStatements) {
    this(
        hyprstream,
        allocator,
        statementIdleTimeout,
        maxPreparedStatements,
        ServerPolicy.defaults(hyprstream));
  }

  /** A producer enforcing {@code policy}, which it owns and closes. */
  HyprstreamFlightSqlProducer(
      Hyprstream hyprstream,
      BufferAllocator allocator,
      Duration statementIdleTimeout,
      long maxPreparedStatements,
      ServerPolicy policy) {
    this.policy = policy;
    this.health = new Health();
    if (statementIdleTimeout.isNegative() || statementIdleTimeout.isZero()) {
      throw new IllegalArgumentException(
          "statementIdleTimeout must be positive, got " + statementIdleTimeout);
    }
    if (maxPreparedStatements < 1) {
      throw new IllegalArgumentException(
          "maxPreparedStatements must be at least 1, got " + maxPreparedStatements);
    }
    this.hyprstream = Objects.requireNonNull(hyprstream, "hyprstream");
    this.allocator = allocator.newChildAllocator("flight-sql-producer", 0, Long.MAX_VALUE);
    this.prepared =
        Caffeine.newBuilder()
            .expireAfterAccess(statementIdleTimeout)
            .maximumSize(maxPreparedStatements)
            .scheduler(Scheduler.systemScheduler())
            // Evict on the calling thread, so the bound holds as soon as a statement is added.
            .executor(Runnable::run)
            .build();
    this.tickets = new StatementTickets(statementIdleTimeout, maxPreparedStatements);
    this.catalog = currentCatalog(hyprstream, this.allocator);
    health.serving(hyprstream);
  }

  /** The cache database's catalog name ({@code memory} in memory), asked once at start. */
  private static String currentCatalog(Hyprstream hyprstream, BufferAllocator allocator) {
    try (ArrowReader reader =
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

  /** The health this producer reports ({@value #HEALTH_ACTION}; the server's {@code /ready}). */
  public Health health() {
    return health;
  }

  /** Prepared statements currently held (for tests and monitoring). */
  public long preparedStatementCount() {
    prepared.cleanUp();
    return prepared.estimatedSize();
  }

  /** Queries holding a query slot now (for tests and monitoring). */
  public int runningQueries() {
    return policy.gate().running();
  }

  // ---------------------------------------------------------------------------------------------
  // Statements

  @Override
  public FlightInfo getFlightInfoStatement(
      CommandStatementQuery command, CallContext context, FlightDescriptor descriptor) {
    rejectTransaction(command.hasTransactionId());
    String sql = command.getQuery();
    policy.access().requireQuery(context, sql);
    Schema schema = querySchema(sql);
    TicketStatementQuery ticket =
        TicketStatementQuery.newBuilder().setStatementHandle(tickets.issue(sql, context)).build();
    return info(schema, descriptor, ticket);
  }

  @Override
  public SchemaResult getSchemaStatement(
      CommandStatementQuery command, CallContext context, FlightDescriptor descriptor) {
    rejectTransaction(command.hasTransactionId());
    return new SchemaResult(querySchema(command.getQuery()));
  }

  /**
   * A ticket that is not even a protobuf {@code Any} was never issued here: INVALID_ARGUMENT, where
   * Flight's default answers INTERNAL.
   */
  @Override
  public void getStream(CallContext context, Ticket ticket, ServerStreamListener listener) {
    try {
      com.google.protobuf.Any.parseFrom(ticket.getBytes());
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      listener.error(
          CallStatus.INVALID_ARGUMENT
              .withDescription("the ticket was not issued by this server: " + e.getMessage())
              .toRuntimeException());
      return;
    }
    FlightSqlProducer.super.getStream(context, ticket, listener);
  }

  @Override
  public void getStreamStatement(
      TicketStatementQuery ticket, CallContext context, ServerStreamListener listener) {
    String sql;
    try {
      sql = tickets.redeem(ticket.getStatementHandle(), context);
      // Checked when the handle was issued; checked again, since roles may change.
      policy.access().requireQuery(context, sql);
    } catch (RuntimeException e) {
      listener.error(toFlight(e));
      return;
    }
    streams.execute(() -> stream(sql, List.of(List.of()), listener));
  }

  @Override
  public Runnable acceptPutStatement(
      CommandStatementUpdate command,
      CallContext context,
      FlightStream flightStream,
      StreamListener<PutResult> ackStream) {
    return () -> {
      try {
        rejectTransaction(command.hasTransactionId());
        policy.access().requireWrite(context, "run statements that change data");
        long count = hyprstream.execute(command.getQuery(), List.of());
        tableSchemas.invalidateAll(); // DDL may have changed a table
        ackUpdate(ackStream, count);
      } catch (RuntimeException e) {
        ackStream.onError(toFlight(e));
      }
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Prepared statements

  @Override
  public void createPreparedStatement(
      ActionCreatePreparedStatementRequest request,
      CallContext context,
      StreamListener<Result> listener) {
    try {
      rejectTransaction(request.hasTransactionId());
      String sql = request.getQuery();
      SqlText text = SqlText.parse(sql);
      boolean query = text.isQuery();
      if (query) {
        policy.access().requireQuery(context, sql);
      } else {
        policy.access().requireWrite(context, "prepare statements that change data");
      }
      Schema dataset = query ? querySchema(sql) : EMPTY_SCHEMA;
      SqlText.Insert insert = text.asParameterisedInsert();
      if (insert != null && hyprstream.tableSchema(insert.table()) == null) {
        throw new TableNotFoundException(insert.table());
      }
      Schema parameters = ParameterTypes.of(text, hyprstream);
      ByteString handle = newHandle();
      prepared.put(handle, new PreparedStatementState(sql, query, dataset, parameters, insert));
      ActionCreatePreparedStatementResult result =
          ActionCreatePreparedStatementResult.newBuilder()
              .setPreparedStatementHandle(handle)
              .setDatasetSchema(ByteString.copyFrom(dataset.serializeAsMessage()))
              .setParameterSchema(ByteString.copyFrom(parameters.serializeAsMessage()))
              .build();
      listener.onNext(new Result(Any.pack(result).toByteArray()));
      listener.onCompleted();
    } catch (RuntimeException e) {
      listener.onError(toFlight(e));
    }
  }

  @Override
  public void closePreparedStatement(
      ActionClosePreparedStatementRequest request,
      CallContext context,
      StreamListener<Result> listener) {
    prepared.invalidate(request.getPreparedStatementHandle());
    listener.onCompleted();
  }

  @Override
  public FlightInfo getFlightInfoPreparedStatement(
      CommandPreparedStatementQuery command, CallContext context, FlightDescriptor descriptor) {
    PreparedStatementState state = preparedStatement(command.getPreparedStatementHandle());
    if (!state.isQuery()) {
      throw invalid("the prepared statement returns no rows; execute it as an update");
    }
    return info(state.datasetSchema(), descriptor, command);
  }

  @Override
  public SchemaResult getSchemaPreparedStatement(
      CommandPreparedStatementQuery command, CallContext context, FlightDescriptor descriptor) {
    return new SchemaResult(
        preparedStatement(command.getPreparedStatementHandle()).datasetSchema());
  }

  @Override
  public void getStreamPreparedStatement(
      CommandPreparedStatementQuery command, CallContext context, ServerStreamListener listener) {
    PreparedStatementState state;
    try {
      state = preparedStatement(command.getPreparedStatementHandle());
    } catch (RuntimeException e) {
      listener.error(toFlight(e));
      return;
    }
    List<List<@Nullable Object>> rows = state.boundRows();
    streams.execute(
        () -> stream(state.sql(), rows.isEmpty() ? List.of(List.of()) : rows, listener));
  }

  @Override
  public Runnable acceptPutPreparedStatementQuery(
      CommandPreparedStatementQuery command,
      CallContext context,
      FlightStream flightStream,
      StreamListener<PutResult> ackStream) {
    return () -> {
      try {
        ByteString handle = command.getPreparedStatementHandle();
        PreparedStatementState state = preparedStatement(handle);
        List<List<@Nullable Object>> rows = new ArrayList<>();
        while (flightStream.next()) {
          rows.addAll(ArrowValues.rows(flightStream.getRoot()));
        }
        state.bind(rows);
        // Newer clients replace their handle with the one returned; it stays the same here.
        byte[] result =
            DoPutPreparedStatementResult.newBuilder()
                .setPreparedStatementHandle(handle)
                .build()
                .toByteArray();
        sendAck(ackStream, result);
        ackStream.onCompleted();
      } catch (RuntimeException e) {
        ackStream.onError(toFlight(e));
      }
    };
  }

  @Override
  public Runnable acceptPutPreparedStatementUpdate(
      CommandPreparedStatementUpdate command,
      CallContext context,
      FlightStream flightStream,
      StreamListener<PutResult> ackStream) {
    return () -> {
      try {
        policy.access().requireWrite(context, "run statements that change data");
        PreparedStatementState state = preparedStatement(command.getPreparedStatementHandle());
        SqlText.Insert insert = state.insert();
        long count;
        if (insert != null) {
          count = ingestPreparedInsert(insert, flightStream);
        } else {
          count = executeForEachRow(state.sql(), flightStream);
          tableSchemas.invalidateAll(); // DDL may have changed a table
        }
        ackUpdate(ackStream, count);
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
  private long ingestPreparedInsert(SqlText.Insert insert, FlightStream flightStream) {
    return ingestStream(
        insert.table(), flightStream, tableSchema(insert.table()), insert.columns());
  }

  /** Runs a non-insert statement once per bound row (once when nothing is bound). */
  private long executeForEachRow(String sql, FlightStream flightStream) {
    long count = 0;
    boolean any = false;
    while (flightStream.next()) {
      for (List<@Nullable Object> row : ArrowValues.rows(flightStream.getRoot())) {
        count += hyprstream.execute(sql, row);
        any = true;
      }
    }
    if (!any) {
      count = hyprstream.execute(sql, List.of());
    }
    return count;
  }

  // ---------------------------------------------------------------------------------------------
  // Bulk ingest

  @Override
  public Runnable acceptPutStatementBulkIngest(
      CommandStatementIngest command,
      CallContext context,
      FlightStream flightStream,
      StreamListener<PutResult> ackStream) {
    return () -> {
      try {
        policy.access().requireWrite(context, "ingest into '" + command.getTable() + "'");
        ackUpdate(ackStream, bulkIngest(command, flightStream));
      } catch (RuntimeException e) {
        ackStream.onError(toFlight(e));
      }
    };
  }

  private long bulkIngest(CommandStatementIngest command, FlightStream flightStream) {
    rejectTransaction(command.hasTransactionId());
    if (command.getTemporary()) {
      throw invalid("temporary tables are not supported");
    }
    if (command.hasCatalog()
        && !command.getCatalog().isEmpty()
        && !command.getCatalog().equals(catalog)) {
      throw invalid(
          "catalog '" + command.getCatalog() + "': the only catalog is '" + catalog + "'");
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
    Schema existing = tableSchema(table);
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
          if (hasWindowViews(table)) {
            throw invalid(
                "'" + table + "' has window aggregates and cannot be replaced; append to it");
          }
          // Replaces the rows and keeps the table's columns. Not atomic with the ingest below: a
          // rejected batch leaves the table empty.
          hyprstream.execute("DELETE FROM " + SqlText.quoteIdentifier(table), List.of());
          tableSchemas.invalidate(table);
          break;
        default:
          throw invalid(
              "the ingest command must say what to do when the table exists"
                  + " (if_exists APPEND, REPLACE or FAIL), got "
                  + options.getIfExists());
      }
    }
    return ingestStream(table, flightStream, existing, null);
  }

  /**
   * Ingests a client's stream in chunks of about {@link #INGEST_CHUNK_ROWS} rows, each one {@code
   * Hyprstream.ingest} call (all or nothing), so a stream of any length needs bounded memory and
   * the core can write one chunk while the next arrives. A stream that fits one chunk is stored all
   * or nothing; when a later chunk is rejected, the error says how many rows were stored.
   */
  private long ingestStream(
      String table,
      FlightStream flightStream,
      @Nullable Schema tableSchema,
      @Nullable List<String> names) {
    long start = System.nanoTime();
    try (IngestReader reader =
        new IngestReader(allocator, flightStream, tableSchema, names)
            .limits(policy.limits().maxBatchBytes(), policy.limits().maxRequestRows())) {
      long stored = 0;
      while (reader.hasMore()) {
        reader.startChunk(INGEST_CHUNK_ROWS);
        try {
          hyprstream.ingest(table, reader);
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
      return stored;
    } catch (java.io.IOException e) {
      throw toFlight(e); // closing the reader of the client's stream
    }
  }

  /**
   * Plain Flight: {@code DoPut} with {@code FlightDescriptor.path(table)} ingests the stream into
   * that table (created from the first batch when missing); Flight SQL commands go to their
   * handlers.
   */
  @Override
  public Runnable acceptPut(
      CallContext context, FlightStream flightStream, StreamListener<PutResult> ackStream) {
    FlightDescriptor descriptor = flightStream.getDescriptor();
    if (descriptor.isCommand()) {
      return FlightSqlProducer.super.acceptPut(context, flightStream, ackStream);
    }
    return () -> {
      try {
        String table = pathTable(descriptor);
        policy.access().requireWrite(context, "ingest into '" + table + "'");
        // Window views are refused by the core's ingest (INVALID_ARGUMENT).
        ingestStream(table, flightStream, tableSchema(table), null);
        ackStream.onCompleted();
      } catch (RuntimeException e) {
        ackStream.onError(toFlight(e));
      }
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Plain Flight: tables as flights

  /** Lists every table and view as a flight whose ticket reads the whole table. */
  @Override
  public void listFlights(
      CallContext context, Criteria criteria, StreamListener<FlightInfo> listener) {
    try {
      for (Hyprstream.TableInfo t : hyprstream.tables()) {
        listener.onNext(tableInfo(t, context));
      }
      listener.onCompleted();
    } catch (RuntimeException e) {
      listener.onError(toFlight(e));
    }
  }

  @Override
  public FlightInfo getFlightInfo(CallContext context, FlightDescriptor descriptor) {
    if (descriptor.isCommand()) {
      return FlightSqlProducer.super.getFlightInfo(context, descriptor);
    }
    String table = pathTable(descriptor);
    Hyprstream.@Nullable TableInfo t = findTable(table);
    if (t == null) {
      throw toFlight(new TableNotFoundException(table));
    }
    return tableInfo(t, context);
  }

  @Override
  public SchemaResult getSchema(CallContext context, FlightDescriptor descriptor) {
    if (descriptor.isCommand()) {
      return FlightSqlProducer.super.getSchema(context, descriptor);
    }
    return new SchemaResult(getFlightInfo(context, descriptor).getSchema());
  }

  private FlightInfo tableInfo(Hyprstream.TableInfo t, CallContext context) {
    String sql = "SELECT * FROM " + SqlText.quoteIdentifier(t.name());
    TicketStatementQuery ticket =
        TicketStatementQuery.newBuilder().setStatementHandle(tickets.issue(sql, context)).build();
    return info(t.schema(), FlightDescriptor.path(t.name()), ticket);
  }

  private static String pathTable(FlightDescriptor descriptor) {
    List<String> path = descriptor.getPath();
    if (path.size() != 1 || path.get(0).isEmpty()) {
      throw invalid("a path descriptor names one table, got " + path);
    }
    return path.get(0);
  }

  // ---------------------------------------------------------------------------------------------
  // Metadata

  @Override
  public FlightInfo getFlightInfoSqlInfo(
      CommandGetSqlInfo request, CallContext context, FlightDescriptor descriptor) {
    return info(Schemas.GET_SQL_INFO_SCHEMA, descriptor, request);
  }

  @Override
  public void getStreamSqlInfo(
      CommandGetSqlInfo command, CallContext context, ServerStreamListener listener) {
    sqlInfo.send(command.getInfoList(), listener);
  }

  @Override
  public FlightInfo getFlightInfoTypeInfo(
      CommandGetXdbcTypeInfo request, CallContext context, FlightDescriptor descriptor) {
    return info(Schemas.GET_TYPE_INFO_SCHEMA, descriptor, request);
  }

  @Override
  public void getStreamTypeInfo(
      CommandGetXdbcTypeInfo request, CallContext context, ServerStreamListener listener) {
    send(
        () -> Metadata.typeInfo(request.hasDataType() ? request.getDataType() : null, allocator),
        listener);
  }

  @Override
  public FlightInfo getFlightInfoCatalogs(
      CommandGetCatalogs request, CallContext context, FlightDescriptor descriptor) {
    return info(Schemas.GET_CATALOGS_SCHEMA, descriptor, request);
  }

  @Override
  public void getStreamCatalogs(CallContext context, ServerStreamListener listener) {
    send(() -> Metadata.catalogs(catalog, allocator), listener);
  }

  @Override
  public FlightInfo getFlightInfoSchemas(
      CommandGetDbSchemas request, CallContext context, FlightDescriptor descriptor) {
    return info(Schemas.GET_SCHEMAS_SCHEMA, descriptor, request);
  }

  @Override
  public void getStreamSchemas(
      CommandGetDbSchemas command, CallContext context, ServerStreamListener listener) {
    send(() -> Metadata.schemas(catalog, command, allocator), listener);
  }

  @Override
  public FlightInfo getFlightInfoTables(
      CommandGetTables request, CallContext context, FlightDescriptor descriptor) {
    Schema schema =
        request.getIncludeSchema()
            ? Schemas.GET_TABLES_SCHEMA
            : Schemas.GET_TABLES_SCHEMA_NO_SCHEMA;
    return info(schema, descriptor, request);
  }

  @Override
  public void getStreamTables(
      CommandGetTables command, CallContext context, ServerStreamListener listener) {
    send(
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

  @Override
  public FlightInfo getFlightInfoTableTypes(
      CommandGetTableTypes request, CallContext context, FlightDescriptor descriptor) {
    return info(Schemas.GET_TABLE_TYPES_SCHEMA, descriptor, request);
  }

  @Override
  public void getStreamTableTypes(CallContext context, ServerStreamListener listener) {
    send(() -> Metadata.tableTypes(allocator), listener);
  }

  @Override
  public FlightInfo getFlightInfoPrimaryKeys(
      CommandGetPrimaryKeys request, CallContext context, FlightDescriptor descriptor) {
    return info(Schemas.GET_PRIMARY_KEYS_SCHEMA, descriptor, request);
  }

  @Override
  public void getStreamPrimaryKeys(
      CommandGetPrimaryKeys command, CallContext context, ServerStreamListener listener) {
    send(() -> Metadata.primaryKeys(catalog, command, keys(), allocator), listener);
  }

  @Override
  public FlightInfo getFlightInfoExportedKeys(
      CommandGetExportedKeys request, CallContext context, FlightDescriptor descriptor) {
    return info(Schemas.GET_EXPORTED_KEYS_SCHEMA, descriptor, request);
  }

  @Override
  public FlightInfo getFlightInfoImportedKeys(
      CommandGetImportedKeys request, CallContext context, FlightDescriptor descriptor) {
    return info(Schemas.GET_IMPORTED_KEYS_SCHEMA, descriptor, request);
  }

  @Override
  public FlightInfo getFlightInfoCrossReference(
      CommandGetCrossReference request, CallContext context, FlightDescriptor descriptor) {
    return info(Schemas.GET_CROSS_REFERENCE_SCHEMA, descriptor, request);
  }

  @Override
  public void getStreamExportedKeys(
      CommandGetExportedKeys command, CallContext context, ServerStreamListener listener) {
    Metadata.TableFilter table =
        new Metadata.TableFilter(
            command.hasCatalog() ? command.getCatalog() : null,
            command.hasDbSchema() ? command.getDbSchema() : null,
            command.getTable());
    send(
        () ->
            Metadata.foreignKeys(
                catalog, table, null, keys(), Schemas.GET_EXPORTED_KEYS_SCHEMA, allocator),
        listener);
  }

  @Override
  public void getStreamImportedKeys(
      CommandGetImportedKeys command, CallContext context, ServerStreamListener listener) {
    Metadata.TableFilter table =
        new Metadata.TableFilter(
            command.hasCatalog() ? command.getCatalog() : null,
            command.hasDbSchema() ? command.getDbSchema() : null,
            command.getTable());
    send(
        () ->
            Metadata.foreignKeys(
                catalog, null, table, keys(), Schemas.GET_IMPORTED_KEYS_SCHEMA, allocator),
        listener);
  }

  @Override
  public void getStreamCrossReference(
      CommandGetCrossReference command, CallContext context, ServerStreamListener listener) {
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
    send(
        () ->
            Metadata.foreignKeys(
                catalog, pk, fk, keys(), Schemas.GET_CROSS_REFERENCE_SCHEMA, allocator),
        listener);
  }

  /** DuckDB's declared columns and keys, read for one metadata call. */
  private DuckDbCatalog keys() {
    return DuckDbCatalog.read(hyprstream, true, allocator);
  }

  // ---------------------------------------------------------------------------------------------
  // Plumbing

  /**
   * Streams the result of {@code sql} run once per parameter row, batch by batch, into one
   * response. At most one batch waits in gRPC's outbound buffer: the next is sent only once the
   * client has taken it. A query slot is held while DuckDB works, not while the stream waits for
   * its reader; a reader that takes nothing for {@code limits.stream_idle_timeout} loses the stream
   * (CANCELLED) and its result is closed. The whole stream is cancelled at the query time limit.
   * The first batch of each run carries the answer's {@link io.hyprstream.api.Freshness} as JSON
   * app metadata (an empty batch when the run has no rows).
   */
  private void stream(
      String sql, List<List<@Nullable Object>> parameterRows, ServerStreamListener listener) {
    long start = System.nanoTime();
    QuerySlot slot = new QuerySlot();
    try {
      slot.take();
    } catch (FlightRuntimeException e) {
      listener.error(e);
      return;
    }
    try (slot;
        ServerPolicy.Deadline deadline = policy.startDeadline()) {
      if (streamRows(sql, parameterRows, listener, deadline, slot)) {
        policy.metrics().queried(System.nanoTime() - start);
      }
    }
  }

  /**
   * One result stream's hold on a query slot: taken while the stream runs its query and reads
   * batches from DuckDB, let go while it waits for its reader, so readers that stall cannot keep
   * other clients' queries out.
   */
  private final class QuerySlot implements AutoCloseable {
    private QueryGate.@Nullable Permit permit;

    /** Takes a slot unless one is held, queueing like any query. */
    void take() {
      if (permit == null) {
        try {
          permit = policy.gate().enter();
        } catch (FlightRuntimeException e) {
          policy.metrics().rejected("limits.max_concurrent_queries");
          throw e;
        }
      }
    }

    @Override
    public void close() {
      if (permit != null) {
        permit.close();
        permit = null;
      }
    }
  }

  /** The body of {@link #stream}; true when the whole result was sent. */
  private boolean streamRows(
      String sql,
      List<List<@Nullable Object>> parameterRows,
      ServerStreamListener listener,
      ServerPolicy.Deadline deadline,
      QuerySlot slot) {
    BackpressureStrategy backpressure = new BackpressureStrategy.CallbackBackpressureStrategy();
    backpressure.register(listener);
    long idleMillis = policy.limits().streamIdleTimeout().toMillis();
    VectorSchemaRoot out = null;
    try {
      for (List<@Nullable Object> params : parameterRows) {
        slot.take();
        try (QueryResult reader = hyprstream.query(sql, params, allocator)) {
          VectorSchemaRoot in = reader.getVectorSchemaRoot();
          if (out == null) {
            out = VectorSchemaRoot.create(in.getSchema(), allocator);
            listener.start(out);
          }
          VectorUnloader unloader = new VectorUnloader(in);
          VectorLoader loader = new VectorLoader(out);
          boolean freshnessSent = false;
          while (reader.loadNextBatch()) {
            if (deadline.expired()) {
              throw timedOut(deadline);
            }
            if (!listener.isReady()) {
              slot.close(); // waiting for the reader takes no query slot
              BackpressureStrategy.WaitResult ready = backpressure.waitForListener(idleMillis);
              if (ready == BackpressureStrategy.WaitResult.CANCELLED) {
                LOG.debug("client cancelled the result stream of {}", sql);
                return false;
              } else if (ready != BackpressureStrategy.WaitResult.READY) {
                policy.metrics().rejected("limits.stream_idle_timeout");
                listener.error(idle());
                return false;
              }
              slot.take();
            }
            try (ArrowRecordBatch batch = unloader.getRecordBatch()) {
              loader.load(batch);
            }
            if (freshnessSent) {
              listener.putNext();
            } else {
              listener.putNext(freshnessMetadata(reader));
              freshnessSent = true;
            }
          }
          if (!freshnessSent) {
            out.setRowCount(0); // no rows: an empty batch still carries the freshness
            listener.putNext(freshnessMetadata(reader));
          }
        }
      }
      if (deadline.expired()) {
        throw timedOut(deadline);
      }
      if (out == null) {
        out = VectorSchemaRoot.create(EMPTY_SCHEMA, allocator);
        listener.start(out);
      }
      listener.completed();
      return true;
    } catch (Exception | OutOfMemoryError e) {
      // OutOfMemoryError: the JVM's direct memory ran out under the Arrow bound (gRPC's buffers
      // share it); the client is told, and this thread lives on.
      listener.error(deadline.expired() ? timedOut(deadline) : toFlight(e));
      return false;
    } finally {
      if (out != null) {
        out.close();
      }
    }
  }

  /** The CANCELLED status of a stream whose reader stopped reading. */
  private FlightRuntimeException idle() {
    return CallStatus.CANCELLED
        .withDescription(
            "the client read nothing for limits.stream_idle_timeout = "
                + policy.limits().streamIdleTimeout().toMillis()
                + " ms; the result stream was cancelled and its query slot and memory freed")
        .toRuntimeException();
  }

  /** The answer's freshness as JSON in a buffer whose ownership passes to Flight. */
  private ArrowBuf freshnessMetadata(QueryResult result) {
    byte[] json = result.freshness().toJson().getBytes(StandardCharsets.UTF_8);
    ArrowBuf buf = allocator.buffer(json.length);
    buf.writeBytes(json);
    return buf;
  }

  private FlightRuntimeException timedOut(ServerPolicy.Deadline deadline) {
    policy.metrics().rejected("limits.query_timeout");
    return CallStatus.TIMED_OUT.withDescription(deadline.message()).toRuntimeException();
  }

  // ---------------------------------------------------------------------------------------------
  // Actions

  /** Flight SQL's actions and {@value #HEALTH_ACTION}. */
  @Override
  public void listActions(CallContext context, StreamListener<ActionType> listener) {
    for (ActionType type : FlightSqlUtils.FLIGHT_SQL_ACTIONS) {
      listener.onNext(type);
    }
    listener.onNext(new ActionType(HEALTH_ACTION, "A JSON health report: status, ready, problems"));
    listener.onNext(new ActionType(QuarantineActions.REQUEUE, QuarantineActions.DESCRIPTION));
    listener.onCompleted();
  }

  /**
   * {@value #HEALTH_ACTION} answers the health report, {@code requeue_quarantine} re-sends
   * quarantined batches; other actions are Flight SQL's.
   */
  @Override
  public void doAction(CallContext context, Action action, StreamListener<Result> listener) {
    if (action.getType().equals(HEALTH_ACTION)) {
      listener.onNext(new Result(health.check().json().getBytes(StandardCharsets.UTF_8)));
      listener.onCompleted();
      return;
    }
    if (action.getType().equals(QuarantineActions.REQUEUE)) {
      try {
        policy.access().requireWrite(context, "requeue quarantined batches");
        listener.onNext(new Result(QuarantineActions.requeue(hyprstream, action.getBody())));
        listener.onCompleted();
      } catch (RuntimeException e) {
        listener.onError(toFlight(e));
      }
      return;
    }
    FlightSqlProducer.super.doAction(context, action, listener);
  }

  /** A source of one metadata answer. */
  private interface RootSupplier {
    VectorSchemaRoot get();
  }

  private static void send(RootSupplier rows, ServerStreamListener listener) {
    VectorSchemaRoot root;
    try {
      root = rows.get();
    } catch (RuntimeException e) {
      listener.error(toFlight(e));
      return;
    }
    Metadata.send(root, listener);
  }

  private static FlightInfo info(Schema schema, FlightDescriptor descriptor, Message ticket) {
    FlightEndpoint endpoint = new FlightEndpoint(new Ticket(Any.pack(ticket).toByteArray()));
    return new FlightInfo(schema, descriptor, List.of(endpoint), -1, -1);
  }

  private Schema querySchema(String sql) {
    try {
      return hyprstream.querySchema(sql);
    } catch (RuntimeException e) {
      throw toFlight(e);
    }
  }

  private PreparedStatementState preparedStatement(ByteString handle) {
    PreparedStatementState state = prepared.getIfPresent(handle);
    if (state == null) {
      throw CallStatus.NOT_FOUND
          .withDescription(
              "unknown prepared statement (closed, or expired after being unused); prepare it"
                  + " again")
          .toRuntimeException();
    }
    return state;
  }

  /** The schema of {@code table} as recently seen, or null when it does not exist. */
  private @Nullable Schema tableSchema(String table) {
    Schema schema = tableSchemas.getIfPresent(table);
    if (schema == null) {
      schema = hyprstream.tableSchema(table);
      if (schema != null) {
        tableSchemas.put(table, schema);
      }
    }
    return schema;
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
  private boolean hasWindowViews(String table) {
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

  private ByteString newHandle() {
    byte[] bytes = new byte[16];
    random.nextBytes(bytes);
    return ByteString.copyFrom(bytes);
  }

  private static void rejectTransaction(boolean hasTransaction) {
    if (hasTransaction) {
      throw invalid("transactions are not supported: each statement commits on its own");
    }
  }

  private void ackUpdate(StreamListener<PutResult> ackStream, long count) {
    sendAck(ackStream, DoPutUpdateResult.newBuilder().setRecordCount(count).build().toByteArray());
    ackStream.onCompleted();
  }

  private void sendAck(StreamListener<PutResult> ackStream, byte[] metadata) {
    try (ArrowBuf buffer = allocator.buffer(metadata.length)) {
      buffer.writeBytes(metadata);
      ackStream.onNext(PutResult.metadata(buffer));
    }
  }

  /** Forgets every prepared statement and closes this producer's allocator. */
  @Override
  public void close() {
    streams.shutdown();
    try {
      // The server stopped taking calls; streams still running end at their deadline or cancel.
      if (!streams.awaitTermination(10, TimeUnit.SECONDS)) {
        LOG.warn("result streams still running at close; their buffers may be reported leaked");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    prepared.invalidateAll();
    prepared.cleanUp();
    policy.close();
    allocator.close();
  }
}
