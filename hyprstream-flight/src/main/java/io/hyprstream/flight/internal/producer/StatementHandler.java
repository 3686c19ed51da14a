package io.hyprstream.flight.internal.producer;

import static io.hyprstream.flight.internal.FlightErrors.toFlight;

import io.hyprstream.Hyprstream;
import io.hyprstream.flight.internal.RouteTickets;
import io.hyprstream.flight.internal.ServerPolicy;
import io.hyprstream.flight.internal.StatementTickets;
import java.util.List;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightProducer.CallContext;
import org.apache.arrow.flight.FlightProducer.ServerStreamListener;
import org.apache.arrow.flight.FlightProducer.StreamListener;
import org.apache.arrow.flight.PutResult;
import org.apache.arrow.flight.SchemaResult;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementQuery;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementUpdate;
import org.apache.arrow.flight.sql.impl.FlightSql.TicketStatementQuery;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * Ad-hoc statements: a query's FlightInfo carries a server-issued ticket bound to the caller, which
 * {@link #stream} redeems, or, in a cluster, for a key lookup another instance owns, a route ticket
 * naming that owner ({@link RouteTickets}); an update runs at once and acknowledges its row count.
 */
public final class StatementHandler {
  private final Hyprstream hyprstream;
  private final BufferAllocator allocator;
  private final ServerPolicy policy;
  private final StatementTickets tickets;
  private final ResultStreamer streamer;
  private final TableSchemas tableSchemas;

  StatementHandler(
      Hyprstream hyprstream,
      BufferAllocator allocator,
      ServerPolicy policy,
      StatementTickets tickets,
      ResultStreamer streamer,
      TableSchemas tableSchemas) {
    this.hyprstream = hyprstream;
    this.allocator = allocator;
    this.policy = policy;
    this.tickets = tickets;
    this.streamer = streamer;
    this.tableSchemas = tableSchemas;
  }

  /** The schema of a query and a ticket to run it, once access is checked. */
  public FlightInfo info(
      CommandStatementQuery command, CallContext context, FlightDescriptor descriptor) {
    Replies.rejectTransaction(command.hasTransactionId());
    String sql = command.getQuery();
    policy.access().requireQuery(context, sql, hyprstream);
    Schema schema = querySchema(sql);
    FlightInfo direct =
        Replies.direct(hyprstream.operations().cluster(), sql, List.of(), schema, descriptor);
    if (direct != null) {
      return direct; // the key's owner answers it: the client reads it there
    }
    TicketStatementQuery ticket =
        TicketStatementQuery.newBuilder().setStatementHandle(tickets.issue(sql, context)).build();
    return Replies.info(schema, descriptor, ticket);
  }

  /** The schema a query's result will have. */
  public SchemaResult schema(CommandStatementQuery command) {
    Replies.rejectTransaction(command.hasTransactionId());
    return new SchemaResult(querySchema(command.getQuery()));
  }

  /** Redeems a ticket of {@link #info} and streams its query's result. */
  public void stream(
      TicketStatementQuery ticket, CallContext context, ServerStreamListener listener) {
    String sql;
    List<List<@Nullable Object>> parameters = List.of();
    try {
      if (RouteTickets.isRoute(ticket.getStatementHandle())) {
        // Issued by another instance of the cluster, or by this one for a key it no longer owns.
        RouteTickets.Route route = RouteTickets.read(ticket.getStatementHandle());
        sql = route.sql();
        parameters = route.parameters().isEmpty() ? List.of() : List.of(route.parameters());
      } else {
        sql = tickets.redeem(ticket.getStatementHandle(), context);
      }
      // Checked when the ticket was issued; checked again, since roles may change.
      policy.access().requireQuery(context, sql, hyprstream);
    } catch (RuntimeException e) {
      listener.error(toFlight(e));
      return;
    }
    streamer.submit(sql, parameters, listener);
  }

  /** Runs a statement that changes data and acknowledges the rows it changed. */
  public Runnable update(
      CommandStatementUpdate command, CallContext context, StreamListener<PutResult> ackStream) {
    return () -> {
      try {
        Replies.rejectTransaction(command.hasTransactionId());
        policy.access().requireWrite(context, "run statements that change data");
        long count = hyprstream.execute(command.getQuery(), List.of());
        tableSchemas.invalidateAll(); // DDL may have changed a table
        Replies.ackUpdate(ackStream, count, allocator);
      } catch (RuntimeException e) {
        ackStream.onError(toFlight(e));
      }
    };
  }

  /** The schema of {@code sql}'s result, as a Flight error when it cannot be run. */
  Schema querySchema(String sql) {
    try {
      return hyprstream.querySchema(sql);
    } catch (RuntimeException e) {
      throw toFlight(e);
    }
  }
}
