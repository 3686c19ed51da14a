package io.hyprstream.flight.internal.producer;

import static io.hyprstream.flight.internal.FlightErrors.invalid;
import static io.hyprstream.flight.internal.FlightErrors.toFlight;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import io.hyprstream.Hyprstream;
import io.hyprstream.StatementInfo;
import io.hyprstream.api.TableNotFoundException;
import io.hyprstream.flight.internal.ArrowValues;
import io.hyprstream.flight.internal.IngestIdHeader;
import io.hyprstream.flight.internal.ParameterTypes;
import io.hyprstream.flight.internal.PreparedStatementState;
import io.hyprstream.flight.internal.ServerPolicy;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightProducer.CallContext;
import org.apache.arrow.flight.FlightProducer.ServerStreamListener;
import org.apache.arrow.flight.FlightProducer.StreamListener;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.PutResult;
import org.apache.arrow.flight.Result;
import org.apache.arrow.flight.SchemaResult;
import org.apache.arrow.flight.sql.impl.FlightSql.ActionClosePreparedStatementRequest;
import org.apache.arrow.flight.sql.impl.FlightSql.ActionCreatePreparedStatementRequest;
import org.apache.arrow.flight.sql.impl.FlightSql.ActionCreatePreparedStatementResult;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandPreparedStatementQuery;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandPreparedStatementUpdate;
import org.apache.arrow.flight.sql.impl.FlightSql.DoPutPreparedStatementResult;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * Prepared statements: random handles to {@link PreparedStatementState}s, held for the idle timeout
 * after their last use and at most a maximum at once (clients such as the JDBC driver drop handles
 * without closing them). A prepared {@code INSERT ... VALUES (?, ...)} runs as one ingest of every
 * bound batch; other updates run once per bound row.
 */
public final class PreparedStatements implements AutoCloseable {
  private static final Schema EMPTY_SCHEMA = new Schema(List.of());

  private final Hyprstream hyprstream;
  private final BufferAllocator allocator;
  private final ServerPolicy policy;
  private final StatementHandler statements;
  private final ResultStreamer streamer;
  private final IngestHandler ingest;
  private final TableSchemas tableSchemas;
  private final Cache<ByteString, PreparedStatementState> prepared;
  private final SecureRandom random = new SecureRandom();

  PreparedStatements(
      Hyprstream hyprstream,
      BufferAllocator allocator,
      ServerPolicy policy,
      StatementHandler statements,
      ResultStreamer streamer,
      IngestHandler ingest,
      TableSchemas tableSchemas,
      Duration idleTimeout,
      long maxStatements) {
    this.hyprstream = hyprstream;
    this.allocator = allocator;
    this.policy = policy;
    this.statements = statements;
    this.streamer = streamer;
    this.ingest = ingest;
    this.tableSchemas = tableSchemas;
    this.prepared =
        Caffeine.newBuilder()
            .expireAfterAccess(idleTimeout)
            .maximumSize(maxStatements)
            .scheduler(Scheduler.systemScheduler())
            // Evict on the calling thread, so the bound holds as soon as a statement is added.
            .executor(Runnable::run)
            .build();
  }

  /** Prepared statements currently held. */
  public long count() {
    prepared.cleanUp();
    return prepared.estimatedSize();
  }

  /** Prepares a statement: its result and parameter schemas and a new handle. */
  public void create(
      ActionCreatePreparedStatementRequest request,
      CallContext context,
      StreamListener<Result> listener) {
    try {
      Replies.rejectTransaction(request.hasTransactionId());
      String sql = request.getQuery();
      StatementInfo statement = hyprstream.describe(sql);
      boolean query = statement.query();
      if (query) {
        policy.access().requireQuery(context, sql, hyprstream);
      } else {
        policy.access().requireWrite(context, "prepare statements that change data");
      }
      Schema dataset = query ? statements.querySchema(sql) : EMPTY_SCHEMA;
      StatementInfo.PlainInsert insert = statement.insert();
      if (insert != null && hyprstream.tableSchema(insert.table()) == null) {
        throw new TableNotFoundException(insert.table());
      }
      Schema parameters = ParameterTypes.of(statement, hyprstream);
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

  /** Forgets a handle. */
  public void close(ActionClosePreparedStatementRequest request, StreamListener<Result> listener) {
    prepared.invalidate(request.getPreparedStatementHandle());
    listener.onCompleted();
  }

  /** The result schema and a ticket of a prepared query. */
  public FlightInfo info(CommandPreparedStatementQuery command, FlightDescriptor descriptor) {
    PreparedStatementState state = get(command.getPreparedStatementHandle());
    if (!state.isQuery()) {
      throw invalid("the prepared statement returns no rows; execute it as an update");
    }
    List<List<@Nullable Object>> bound = state.boundRows();
    if (bound.size() <= 1) {
      FlightInfo direct =
          Replies.direct(
              hyprstream.operations().cluster(),
              state.sql(),
              bound.isEmpty() ? List.of() : bound.get(0),
              state.datasetSchema(),
              descriptor);
      if (direct != null) {
        return direct; // the key's owner answers it: the client reads it there
      }
    }
    return Replies.info(state.datasetSchema(), descriptor, command);
  }

  /** The result schema of a prepared query. */
  public SchemaResult schema(CommandPreparedStatementQuery command) {
    return new SchemaResult(get(command.getPreparedStatementHandle()).datasetSchema());
  }

  /** Streams a prepared query's result, once per bound parameter row. */
  public void stream(CommandPreparedStatementQuery command, ServerStreamListener listener) {
    PreparedStatementState state;
    try {
      state = get(command.getPreparedStatementHandle());
    } catch (RuntimeException e) {
      listener.error(toFlight(e));
      return;
    }
    streamer.submit(state.sql(), state.boundRows(), listener);
  }

  /** Binds the client's parameter rows to a prepared query. */
  public Runnable bind(
      CommandPreparedStatementQuery command,
      FlightStream flightStream,
      StreamListener<PutResult> ackStream) {
    return () -> {
      try {
        ByteString handle = command.getPreparedStatementHandle();
        PreparedStatementState state = get(handle);
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
        Replies.sendAck(ackStream, result, allocator);
        ackStream.onCompleted();
      } catch (RuntimeException e) {
        ackStream.onError(toFlight(e));
      }
    };
  }

  /** Runs a prepared update with the client's parameter rows. */
  public Runnable update(
      CommandPreparedStatementUpdate command,
      CallContext context,
      FlightStream flightStream,
      StreamListener<PutResult> ackStream) {
    return () -> {
      try {
        policy.access().requireWrite(context, "run statements that change data");
        PreparedStatementState state = get(command.getPreparedStatementHandle());
        StatementInfo.PlainInsert insert = state.insert();
        long count;
        if (insert != null) {
          count = ingest.preparedInsert(insert, flightStream, IngestIdHeader.of(context));
        } else {
          count = executeForEachRow(state.sql(), flightStream);
          tableSchemas.invalidateAll(); // DDL may have changed a table
        }
        Replies.ackUpdate(ackStream, count, allocator);
      } catch (RuntimeException e) {
        ackStream.onError(toFlight(e));
      }
    };
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

  private PreparedStatementState get(ByteString handle) {
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

  private ByteString newHandle() {
    byte[] bytes = new byte[16];
    random.nextBytes(bytes);
    return ByteString.copyFrom(bytes);
  }

  /** Forgets every prepared statement. */
  @Override
  public void close() {
    prepared.invalidateAll();
    prepared.cleanUp();
  }
}
