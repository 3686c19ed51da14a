package io.hyprstream.flight.internal.producer;

import static io.hyprstream.flight.internal.FlightErrors.invalid;
import static io.hyprstream.flight.internal.FlightErrors.toFlight;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import io.hyprstream.ClusterMember;
import io.hyprstream.flight.internal.Metadata;
import java.util.ArrayList;
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
   * A FlightInfo that sends the client to the cluster instances that answer {@code sql} without
   * this one ({@link ClusterMember#directEndpoints}: a key's owner, or each owner's part of a row
   * filter of a window view), or null when this instance answers it. Each endpoint carries a route
   * ticket any instance redeems, and names its owner's location alone (none for this instance's own
   * part): ADBC's Java driver fails on the reuse-connection location rather than trying the next
   * one.
   */
  static @Nullable FlightInfo direct(
      @Nullable ClusterMember member,
      String sql,
      List<@Nullable Object> parameters,
      Schema schema,
      FlightDescriptor descriptor) {
    List<ClusterMember.Endpoint> parts =
        member == null ? null : member.directEndpoints(sql, parameters);
    if (parts == null) {
      return null;
    }
    List<FlightEndpoint> endpoints = new ArrayList<>();
    for (ClusterMember.Endpoint part : parts) {
      TicketStatementQuery query =
          TicketStatementQuery.newBuilder()
              .setStatementHandle(ByteString.copyFrom(part.ticket()))
              .build();
      Ticket ticket = new Ticket(Any.pack(query).toByteArray());
      String owner = part.location();
      if (owner == null) {
        endpoints.add(new FlightEndpoint(ticket));
        continue;
      }
      try {
        endpoints.add(new FlightEndpoint(ticket, new Location(owner)));
      } catch (java.net.URISyntaxException e) {
        return null; // the membership checked it; relay the rows here rather than fail the query
      }
    }
    return new FlightInfo(schema, descriptor, endpoints, -1, -1);
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
