package io.hyprstream.internal.cluster;

import io.hyprstream.ClusterMember;
import io.hyprstream.QueryResult;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.TableNotFoundException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.NoOpFlightProducer;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.BufferAllocator;

/**
 * An embedded instance's own Flight endpoint, serving only the peer tickets other instances send
 * ({@link ClusterMember#answerPeer}). A Hyprstream server does not start one: its Flight SQL port
 * answers peer tickets too.
 */
final class PeerServer implements AutoCloseable {
  private final BufferAllocator allocator;
  private final FlightServer server;

  private PeerServer(BufferAllocator allocator, FlightServer server) {
    this.allocator = allocator;
    this.server = server;
  }

  /** Binds {@code address} and serves {@code member}'s answers; buffers from a child allocator. */
  static PeerServer start(InetSocketAddress address, ClusterMember member, BufferAllocator parent) {
    BufferAllocator allocator = parent.newChildAllocator("cluster-peer-server", 0, Long.MAX_VALUE);
    try {
      FlightServer server =
          FlightServer.builder(
                  allocator,
                  Location.forGrpcInsecure(address.getHostString(), address.getPort()),
                  new Producer(member, allocator))
              .build();
      server.start();
      return new PeerServer(allocator, server);
    } catch (IOException e) {
      allocator.close();
      throw new BackendUnavailableException(
          "cannot serve the cluster's reads on " + address + ": " + e, e);
    } catch (RuntimeException e) {
      allocator.close();
      throw e;
    }
  }

  /** The port the endpoint is bound to. */
  int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    try {
      server.shutdown();
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        server.close();
      }
      server.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      allocator.close();
    }
  }

  /** The Flight status a failed answer is sent as. */
  static FlightRuntimeException status(Throwable e) {
    CallStatus status;
    if (e instanceof BackendUnavailableException) {
      status = CallStatus.UNAVAILABLE;
    } else if (e instanceof TableNotFoundException) {
      status = CallStatus.NOT_FOUND;
    } else if (e instanceof QueryRejectedException) {
      status = CallStatus.INVALID_ARGUMENT;
    } else {
      status = CallStatus.INTERNAL;
    }
    return status.withDescription(String.valueOf(e.getMessage())).withCause(e).toRuntimeException();
  }

  private static final class Producer extends NoOpFlightProducer {
    private org.apache.arrow.memory.ArrowBuf freshness(QueryResult result) {
      byte[] json = result.freshness().toJson().getBytes(java.nio.charset.StandardCharsets.UTF_8);
      org.apache.arrow.memory.ArrowBuf buf = allocator.buffer(json.length);
      buf.writeBytes(json);
      return buf;
    }

    private final ClusterMember member;
    private final BufferAllocator allocator;

    Producer(ClusterMember member, BufferAllocator allocator) {
      this.member = member;
      this.allocator = allocator;
    }

    @Override
    public void getStream(CallContext context, Ticket ticket, ServerStreamListener listener) {
      try (QueryResult rows = member.answerPeer(ticket.getBytes(), allocator)) {
        org.apache.arrow.vector.VectorSchemaRoot root = rows.getVectorSchemaRoot();
        listener.start(root);
        // The first batch carries the answer's freshness, as the server's do: the asker reports
        // what this instance's share is missing.
        boolean first = true;
        while (rows.loadNextBatch()) {
          if (first) {
            listener.putNext(freshness(rows));
            first = false;
          } else {
            listener.putNext();
          }
        }
        if (first) {
          root.setRowCount(0);
          listener.putNext(freshness(rows));
        }
        listener.completed();
      } catch (Exception e) {
        listener.error(status(e));
      }
    }
  }
}
