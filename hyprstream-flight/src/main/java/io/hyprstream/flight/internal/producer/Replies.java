package io.hyprstream.flight.internal.producer;

import static io.hyprstream.flight.internal.FlightErrors.invalid;
import static io.hyprstream.flight.internal.FlightErrors.toFlight;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.hyprstream.ClusterMember;
import io.hyprstream.flight.internal.Metadata;
import io.hyprstream.flight.internal.RouteTickets;
import java.util.List;
import java.util.function.Supplier;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightProducer.ServerStreamListener;
import org.apache.arrow.flight.FlightProducer.StreamListener;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.PutResult;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.flight.sql.impl.FlightSql.DoPutUpdateResult;
import org.apache.arrow.flight.sql.impl.FlightSql.TicketStatementQuery;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/** The shapes of answers every handler gives: flight infos, update acks, metadata streams. */
public final class Replies {
  private Replies() {}

  /** The one endpoint of every answer: this server, redeeming {@code ticket}. */
  public static List<FlightEndpoint> endpoints(Message ticket) {
    return List.of(new FlightEndpoint(new Ticket(Any.pack(ticket).toByteArray())));
  }

  /** A FlightInfo of unknown size whose one endpoint redeems {@code ticket} here. */
  static FlightInfo info(Schema schema, FlightDescriptor descriptor, Message ticket) {
    return new FlightInfo(schema, descriptor, endpoints(ticket), -1, -1);
  }

  /**
   * A FlightInfo that sends the client to the other cluster instance that answers {@code sql} alone
   * (the owner of the key it looks up), or null when this instance answers it: its one endpoint
   * names the owner's location and carries a route ticket any instance redeems ({@link
   * RouteTickets}). Only the owner's location: ADBC's Java driver fails on the reuse-connection
   * location rather than trying the next one.
   */
  static @Nullable FlightInfo direct(
      @Nullable ClusterMember member,
      String sql,
      List<@Nullable Object> parameters,
      Schema schema,
      FlightDescriptor descriptor) {
    if (member == null || !RouteTickets.carries(parameters)) {
      return null;
    }
    String owner = member.directReadLocation(sql, parameters);
    if (owner == null) {
      return null;
    }
    Location location;
    try {
      location = new Location(owner);
    } catch (java.net.URISyntaxException e) {
      return null; // the membership checked it; relay the rows here rather than fail the query
    }
    TicketStatementQuery ticket =
        TicketStatementQuery.newBuilder()
            .setStatementHandle(RouteTickets.handle(sql, parameters))
            .build();
    FlightEndpoint endpoint =
        new FlightEndpoint(new Ticket(Any.pack(ticket).toByteArray()), location);
    return new FlightInfo(schema, descriptor, List.of(endpoint), -1, -1);
  }

  /** Acknowledges a DoPut that changed {@code count} rows, and completes it. */
  static void ackUpdate(
      StreamListener<PutResult> ackStream, long count, BufferAllocator allocator) {
    sendAck(
        ackStream,
        DoPutUpdateResult.newBuilder().setRecordCount(count).build().toByteArray(),
        allocator);
    ackStream.onCompleted();
  }

  /** Sends {@code metadata} as one DoPut ack. */
  static void sendAck(
      StreamListener<PutResult> ackStream, byte[] metadata, BufferAllocator allocator) {
    try (ArrowBuf buffer = allocator.buffer(metadata.length)) {
      buffer.writeBytes(metadata);
      ackStream.onNext(PutResult.metadata(buffer));
    }
  }

  /** Sends one metadata answer, or its error when it cannot be built. */
  static void send(Supplier<VectorSchemaRoot> rows, ServerStreamListener listener) {
    VectorSchemaRoot root;
    try {
      root = rows.get();
    } catch (RuntimeException e) {
      listener.error(toFlight(e));
      return;
    }
    Metadata.send(root, listener);
  }

  /** Refuses a request inside a transaction: each statement commits on its own. */
  static void rejectTransaction(boolean hasTransaction) {
    if (hasTransaction) {
      throw invalid("transactions are not supported: each statement commits on its own");
    }
  }

  /** The table a path descriptor names. */
  static String pathTable(FlightDescriptor descriptor) {
    List<String> path = descriptor.getPath();
    if (path.size() != 1 || path.get(0).isEmpty()) {
      throw invalid("a path descriptor names one table, got " + path);
    }
    return path.get(0);
  }
}
