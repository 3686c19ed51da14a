package io.hyprstream.flight.internal.producer;

import static io.hyprstream.flight.internal.FlightErrors.invalid;
import static io.hyprstream.flight.internal.FlightErrors.toFlight;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.hyprstream.flight.internal.Metadata;
import java.util.List;
import java.util.function.Supplier;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightProducer.ServerStreamListener;
import org.apache.arrow.flight.FlightProducer.StreamListener;
import org.apache.arrow.flight.PutResult;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.flight.sql.impl.FlightSql.DoPutUpdateResult;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;

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
