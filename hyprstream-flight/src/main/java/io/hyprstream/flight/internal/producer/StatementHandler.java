package io.hyprstream.flight.internal.producer;

import static io.hyprstream.flight.internal.FlightErrors.invalid;
import static io.hyprstream.flight.internal.FlightErrors.toFlight;

import io.hyprstream.ClusterMember;
import io.hyprstream.Hyprstream;
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

/**
 * Ad-hoc statements: a query's FlightInfo carries a server-issued ticket bound to the caller, which
 * {@link #stream} redeems, or, in a cluster, route tickets naming the instances that answer it
 * ({@link Replies#direct}); an update runs at once and acknowledges its row count.
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
    byte[] handle = ticket.getStatementHandle().toByteArray();
    if (ClusterMember.isRouteTicket(handle)) {
      // Issued by another instance of the cluster, or by this one for a part another owns.
      ClusterMember member = hyprstream.operations().cluster();
      ClusterMember.Route route;
      try {
        if (member == null) {
          throw invalid("a cluster's route ticket reached a server that is not in a cluster");
        }
        route = member.readRoute(handle);
        policy.access().requireQuery(context, route.sql(), hyprstream);
      } catch (RuntimeException e) {
        listener.error(toFlight(e));
        return;
      }
      streamer.submitRoute(member, route, listener);
      return;
    }
    String sql;
    try {
      sql = tickets.redeem(ticket.getStatementHandle(), context);
      // Checked when the ticket was issued; checked again, since roles may change.
      policy.access().requireQuery(context, sql, hyprstream);
    } catch (RuntimeException e) {
      listener.error(toFlight(e));
      return;
    }
    streamer.submit(sql, List.of(), listener);
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
