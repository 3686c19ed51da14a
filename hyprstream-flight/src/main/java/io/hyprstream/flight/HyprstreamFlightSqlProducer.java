package io.hyprstream.flight;

import com.google.protobuf.Message;
import io.hyprstream.ClusterMember;
import io.hyprstream.Hyprstream;
import io.hyprstream.flight.internal.Health;
import io.hyprstream.flight.internal.ServerPolicy;
import io.hyprstream.flight.internal.producer.Handlers;
import io.hyprstream.flight.internal.producer.OpsActions;
import io.hyprstream.flight.internal.producer.Replies;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.apache.arrow.flight.Action;
import org.apache.arrow.flight.ActionType;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.Criteria;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.PutResult;
import org.apache.arrow.flight.Result;
import org.apache.arrow.flight.SchemaResult;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.flight.sql.BasicFlightSqlProducer;
import org.apache.arrow.flight.sql.FlightSqlUtils;
import org.apache.arrow.flight.sql.impl.FlightSql.ActionClosePreparedStatementRequest;
import org.apache.arrow.flight.sql.impl.FlightSql.ActionCreatePreparedStatementRequest;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetCrossReference;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetDbSchemas;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetExportedKeys;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetImportedKeys;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetPrimaryKeys;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetSqlInfo;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetTables;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandGetXdbcTypeInfo;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandPreparedStatementQuery;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandPreparedStatementUpdate;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementQuery;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementUpdate;
import org.apache.arrow.flight.sql.impl.FlightSql.TicketStatementQuery;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.util.AutoCloseables;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * Answers Arrow Flight SQL over an embedded {@link Hyprstream}: statements, prepared statements
 * with bound Arrow parameters, bulk ingest ({@code CommandStatementIngest}, plain {@code DoPut} to
 * {@code FlightDescriptor.path(table)}, and prepared {@code INSERT ... VALUES (?, ...)} with a
 * bound batch), and the metadata calls JDBC and ADBC clients make.
 *
 * <p>Every ingest path ends in {@link Hyprstream#ingest(String,
 * org.apache.arrow.vector.ipc.ArrowReader)}: one call per DoPut, so a batch of N parameter rows is
 * one vectorised insert, all or nothing, visible to queries once the DoPut is acknowledged. Results
 * stream batch by batch, waiting for the client whenever gRPC's outbound buffer is full.
 *
 * <p>Prepared-statement handles are held for {@code statementIdleTimeout} after their last use and
 * at most {@code maxPreparedStatements} at once (clients such as the JDBC driver drop handles
 * without closing them). Use through {@link HyprstreamServer}, or register with your own {@code
 * FlightServer}. The producer takes a child of the given allocator and closes only that child; the
 * {@link Hyprstream} instance stays the caller's.
 *
 * <p>This class only dispatches: Arrow's {@link BasicFlightSqlProducer} builds the metadata
 * FlightInfos (through {@link #determineEndpoints}), and each concern is a handler in {@code
 * io.hyprstream.flight.internal.producer}.
 */
public final class HyprstreamFlightSqlProducer extends BasicFlightSqlProducer {
  /** How long an unused prepared statement is kept by default. */
  public static final Duration DEFAULT_STATEMENT_IDLE_TIMEOUT = Duration.ofMinutes(10);

  /** How many prepared statements are held at most by default. */
  public static final long DEFAULT_MAX_PREPARED_STATEMENTS = 10_000;

  /** The Flight action answering a small JSON health report. */
  public static final String HEALTH_ACTION = OpsActions.HEALTH;

  private static final String VERSION =
      Objects.requireNonNullElse(
          HyprstreamFlightSqlProducer.class.getPackage().getImplementationVersion(),
          "0.1.0-SNAPSHOT");

  private final BufferAllocator allocator;
  private final ServerPolicy policy;
  private final Health health;
  private final Handlers handlers;
  private final @Nullable ClusterMember cluster;

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
    Objects.requireNonNull(hyprstream, "hyprstream");
    this.allocator = allocator.newChildAllocator("flight-sql-producer", 0, Long.MAX_VALUE);
    this.handlers =
        Handlers.create(
            hyprstream,
            this.allocator,
            policy,
            health,
            statementIdleTimeout,
            maxPreparedStatements,
            VERSION);
    health.serving(hyprstream);
    this.cluster = hyprstream.operations().cluster();
  }

  /** The health this producer reports ({@value #HEALTH_ACTION}; the server's {@code /ready}). */
  public Health health() {
    return health;
  }

  /** Prepared statements currently held (for tests and monitoring). */
  public long preparedStatementCount() {
    return handlers.prepared().count();
  }

  /** Queries holding a query slot now (for tests and monitoring). */
  public int runningQueries() {
    return policy.gate().running();
  }

  /**
   * Every FlightInfo of a metadata command has one endpoint here whose ticket is the command
   * itself, which {@code getStream} dispatches back to the matching {@code getStream*} method.
   */
  @Override
  protected <T extends Message> List<FlightEndpoint> determineEndpoints(
      T request, FlightDescriptor flightDescriptor, Schema schema) {
    return Replies.endpoints(request);
  }

  // ---------------------------------------------------------------------------------------------
  // Plain Flight. Arrow's defaults understand only Flight SQL commands; these also serve path
  // descriptors (a table as a flight) and answer malformed tickets as the client's error.

  /**
   * A ticket that is not even a protobuf {@code Any} was never issued here: INVALID_ARGUMENT, where
   * Flight's default answers INTERNAL.
   */
  @Override
  public void getStream(CallContext context, Ticket ticket, ServerStreamListener listener) {
    ClusterMember member = cluster;
    if (member != null && ClusterMember.isPeerTicket(ticket.getBytes())) {
      // Another instance of the cluster reads the partitions this one owns.
      handlers.streamer().submitPeer(member, ticket.getBytes(), listener);
      return;
    }
    try {
      com.google.protobuf.Any.parseFrom(ticket.getBytes());
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      listener.error(
          CallStatus.INVALID_ARGUMENT
              .withDescription("the ticket was not issued by this server: " + e.getMessage())
              .toRuntimeException());
      return;
    }
    super.getStream(context, ticket, listener);
  }

  /** Lists every table and view as a flight (Arrow's default answers UNIMPLEMENTED). */
  @Override
  public void listFlights(
      CallContext context, Criteria criteria, StreamListener<FlightInfo> listener) {
    handlers.catalog().listFlights(context, listener);
  }

  /** A path descriptor names a table, whose flight reads it whole. */
  @Override
  public FlightInfo getFlightInfo(CallContext context, FlightDescriptor descriptor) {
    if (descriptor.isCommand()) {
      return super.getFlightInfo(context, descriptor);
    }
    return handlers.catalog().pathInfo(context, descriptor);
  }

  /** A path descriptor's schema is its table's. */
  @Override
  public SchemaResult getSchema(CallContext context, FlightDescriptor descriptor) {
    if (descriptor.isCommand()) {
      return super.getSchema(context, descriptor);
    }
    return new SchemaResult(handlers.catalog().pathInfo(context, descriptor).getSchema());
  }

  /** {@code DoPut} to a path descriptor ingests into that table. */
  @Override
  public Runnable acceptPut(
      CallContext context, FlightStream flightStream, StreamListener<PutResult> ackStream) {
    if (flightStream.getDescriptor().isCommand()) {
      return super.acceptPut(context, flightStream, ackStream);
    }
    return handlers.ingest().pathPut(context, flightStream, ackStream);
  }

  // ---------------------------------------------------------------------------------------------
  // Statements

  @Override
  public FlightInfo getFlightInfoStatement(
      CommandStatementQuery command, CallContext context, FlightDescriptor descriptor) {
    return handlers.statements().info(command, context, descriptor);
  }

  @Override
  public SchemaResult getSchemaStatement(
      CommandStatementQuery command, CallContext context, FlightDescriptor descriptor) {
    return handlers.statements().schema(command);
  }

  @Override
  public void getStreamStatement(
      TicketStatementQuery ticket, CallContext context, ServerStreamListener listener) {
    handlers.statements().stream(ticket, context, listener);
  }

  @Override
  public Runnable acceptPutStatement(
      CommandStatementUpdate command,
      CallContext context,
      FlightStream flightStream,
      StreamListener<PutResult> ackStream) {
    return handlers.statements().update(command, context, ackStream);
  }

  // ---------------------------------------------------------------------------------------------
  // Prepared statements

  @Override
  public void createPreparedStatement(
      ActionCreatePreparedStatementRequest request,
      CallContext context,
      StreamListener<Result> listener) {
    handlers.prepared().create(request, context, listener);
  }

  @Override
  public void closePreparedStatement(
      ActionClosePreparedStatementRequest request,
      CallContext context,
      StreamListener<Result> listener) {
    handlers.prepared().close(request, listener);
  }

  @Override
  public FlightInfo getFlightInfoPreparedStatement(
      CommandPreparedStatementQuery command, CallContext context, FlightDescriptor descriptor) {
    return handlers.prepared().info(command, descriptor);
  }

  @Override
  public SchemaResult getSchemaPreparedStatement(
      CommandPreparedStatementQuery command, CallContext context, FlightDescriptor descriptor) {
    return handlers.prepared().schema(command);
  }

  @Override
  public void getStreamPreparedStatement(
      CommandPreparedStatementQuery command, CallContext context, ServerStreamListener listener) {
    handlers.prepared().stream(command, listener);
  }

  @Override
  public Runnable acceptPutPreparedStatementQuery(
      CommandPreparedStatementQuery command,
      CallContext context,
      FlightStream flightStream,
      StreamListener<PutResult> ackStream) {
    return handlers.prepared().bind(command, flightStream, ackStream);
  }

  @Override
  public Runnable acceptPutPreparedStatementUpdate(
      CommandPreparedStatementUpdate command,
      CallContext context,
      FlightStream flightStream,
      StreamListener<PutResult> ackStream) {
    return handlers.prepared().update(command, context, flightStream, ackStream);
  }

  // ---------------------------------------------------------------------------------------------
  // Bulk ingest

  @Override
  public Runnable acceptPutStatementBulkIngest(
      CommandStatementIngest command,
      CallContext context,
      FlightStream flightStream,
      StreamListener<PutResult> ackStream) {
    return handlers.ingest().bulkIngest(command, context, flightStream, ackStream);
  }

  // ---------------------------------------------------------------------------------------------
  // Metadata streams (their FlightInfos come from BasicFlightSqlProducer)

  @Override
  public void getStreamSqlInfo(
      CommandGetSqlInfo command, CallContext context, ServerStreamListener listener) {
    handlers.catalog().sqlInfo(command, listener);
  }

  @Override
  public void getStreamTypeInfo(
      CommandGetXdbcTypeInfo request, CallContext context, ServerStreamListener listener) {
    handlers.catalog().typeInfo(request, listener);
  }

  @Override
  public void getStreamCatalogs(CallContext context, ServerStreamListener listener) {
    handlers.catalog().catalogs(listener);
  }

  @Override
  public void getStreamSchemas(
      CommandGetDbSchemas command, CallContext context, ServerStreamListener listener) {
    handlers.catalog().schemas(command, listener);
  }

  @Override
  public void getStreamTables(
      CommandGetTables command, CallContext context, ServerStreamListener listener) {
    handlers.catalog().tables(command, listener);
  }

  @Override
  public void getStreamTableTypes(CallContext context, ServerStreamListener listener) {
    handlers.catalog().tableTypes(listener);
  }

  @Override
  public void getStreamPrimaryKeys(
      CommandGetPrimaryKeys command, CallContext context, ServerStreamListener listener) {
    handlers.catalog().primaryKeys(command, listener);
  }

  @Override
  public void getStreamExportedKeys(
      CommandGetExportedKeys command, CallContext context, ServerStreamListener listener) {
    handlers.catalog().exportedKeys(command, listener);
  }

  @Override
  public void getStreamImportedKeys(
      CommandGetImportedKeys command, CallContext context, ServerStreamListener listener) {
    handlers.catalog().importedKeys(command, listener);
  }

  @Override
  public void getStreamCrossReference(
      CommandGetCrossReference command, CallContext context, ServerStreamListener listener) {
    handlers.catalog().crossReference(command, listener);
  }

  // ---------------------------------------------------------------------------------------------
  // Actions

  /** Flight SQL's actions, then {@value #HEALTH_ACTION} and {@code requeue_quarantine}. */
  @Override
  public void listActions(CallContext context, StreamListener<ActionType> listener) {
    for (ActionType type : FlightSqlUtils.FLIGHT_SQL_ACTIONS) {
      listener.onNext(type);
    }
    handlers.ops().list(listener);
    listener.onCompleted();
  }

  /**
   * {@value #HEALTH_ACTION} answers the health report, {@code requeue_quarantine} re-sends
   * quarantined batches; other actions are Flight SQL's.
   */
  @Override
  public void doAction(CallContext context, Action action, StreamListener<Result> listener) {
    if (handlers.ops().handles(action)) {
      handlers.ops().run(context, action, listener);
      return;
    }
    super.doAction(context, action, listener);
  }

  /**
   * Waits for running result streams, forgets every prepared statement, then closes the policy and
   * this producer's allocator (Arrow's default closes nothing).
   */
  /**
   * How long closing waits for gRPC to release the buffers of answers already sent: it releases a
   * message's buffers once it has written them, on its own threads, which may be just after the
   * call itself has ended (seen as a 512 KiB "leak" of a metadata answer when a test closed the
   * server at once).
   */
  private static final java.time.Duration RELEASE_WAIT = java.time.Duration.ofSeconds(2);

  /**
   * Waits up to {@code timeout} until {@code allocator} holds nothing; closing then says the rest.
   */
  private static void awaitReleased(BufferAllocator allocator, java.time.Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (allocator.getAllocatedMemory() > 0 && System.nanoTime() < deadline) {
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  @Override
  public void close() {
    try {
      AutoCloseables.close(handlers, policy);
      awaitReleased(allocator, RELEASE_WAIT);
      AutoCloseables.close(allocator);
    } catch (Exception e) {
      throw new IllegalStateException("closing the Flight SQL producer failed: " + e, e);
    }
  }
}
