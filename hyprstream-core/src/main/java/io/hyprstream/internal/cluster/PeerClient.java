package io.hyprstream.internal.cluster;

import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.cluster.ClusterConfig.PeerCredentials;
import io.hyprstream.internal.arrow.ArrowCopy;
import io.hyprstream.internal.arrow.BatchListReader;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.CallOption;
import org.apache.arrow.flight.CallOptions;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads from other instances of the cluster: a Flight {@code DoGet} of a {@link PeerTicket} at the
 * owner's advertised location. One Flight client per location, kept until close.
 */
final class PeerClient implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PeerClient.class);

  /** How long one read of another instance may take. */
  static final Duration READ_TIMEOUT = Duration.ofSeconds(60);

  private final BufferAllocator allocator;
  private final @Nullable PeerCredentials credentials;
  private final Map<String, FlightClient> clients = new ConcurrentHashMap<>();

  /** Per location, the bearer token its server gave {@link #credentials}, while it holds. */
  private final Map<String, CallOption> tokens = new ConcurrentHashMap<>();

  private volatile boolean closed;

  /**
   * Reads with buffers of a child of {@code allocator}, closed by {@link #close}, signing in with
   * {@code credentials} where the other instance requires it (null: anonymously).
   */
  PeerClient(BufferAllocator allocator, @Nullable PeerCredentials credentials) {
    this.allocator = allocator.newChildAllocator("cluster-peers", 0, Long.MAX_VALUE);
    this.credentials = credentials;
  }

  /**
   * An answer: its rows (the caller closes them), how many there are, and why rows may be missing
   * from the answering instance's share (its freshness's {@code missing}), or null.
   */
  record Answer(BatchListReader rows, int rowCount, @Nullable String missing) {}

  private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

  /** The {@code missing} of the freshness JSON in {@code metadata}, or null. */
  private static @Nullable String missingOf(org.apache.arrow.memory.@Nullable ArrowBuf metadata) {
    if (metadata == null || metadata.readableBytes() == 0) {
      return null;
    }
    byte[] bytes = new byte[(int) metadata.readableBytes()];
    metadata.getBytes(metadata.readerIndex(), bytes);
    try {
      com.fasterxml.jackson.databind.JsonNode m = JSON.readTree(bytes).get("missing");
      return m == null || m.isNull() ? null : m.asText();
    } catch (java.io.IOException e) {
      return null; // not a freshness: nothing said missing
    }
  }

  /**
   * The whole answer of the instance at {@code location} to {@code ticket}, copied into buffers of
   * {@code alloc}; the caller closes the reader.
   *
   * @throws FlightRuntimeException as the other instance or the transport failed
   */
  Answer read(String location, PeerTicket ticket, BufferAllocator alloc) {
    try {
      return readOnce(location, ticket, alloc);
    } catch (FlightRuntimeException e) {
      if (e.status().code() == FlightStatusCode.UNAUTHENTICATED && credentials != null) {
        tokens.remove(location); // expired, or that server restarted: sign in again, once
        return readOnce(location, ticket, alloc);
      }
      if (e.status().code() != FlightStatusCode.UNAVAILABLE) {
        throw e;
      }
      // gRPC keeps a channel that failed in back-off for a while, even once the other instance is
      // reachable again: a new channel tries at once.
      forget(location);
      return readOnce(location, ticket, alloc);
    }
  }

  /**
   * The bearer token for {@code location}, signing in with {@link #credentials} when there is none
   * yet; null without credentials.
   */
  private @Nullable CallOption token(String location, FlightClient client) {
    PeerCredentials c = credentials;
    if (c == null) {
      return null;
    }
    CallOption known = tokens.get(location);
    if (known != null) {
      return known == NO_TOKEN ? null : known;
    }
    // A server without authentication answers the sign-in without a token: read it anonymously.
    CallOption signedIn =
        client
            .authenticateBasicToken(c.user(), c.password())
            .<CallOption>map(token -> token)
            .orElse(NO_TOKEN);
    tokens.put(location, signedIn);
    return signedIn == NO_TOKEN ? null : signedIn;
  }

  /** What {@link #tokens} holds for an instance that needs no sign-in. */
  private static final CallOption NO_TOKEN = new CallOption() {};

  private void forget(String location) {
    tokens.remove(location);
    FlightClient c = clients.remove(location);
    if (c != null) {
      try {
        c.close();
      } catch (Exception e) {
        LOG.debug("closing a Flight client of the cluster: {}", e.toString());
      }
    }
  }

  private Answer readOnce(String location, PeerTicket ticket, BufferAllocator alloc) {
    FlightClient client = client(location);
    List<CallOption> options = new ArrayList<>(2);
    options.add(CallOptions.timeout(READ_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
    CallOption token = token(location, client);
    if (token != null) {
      options.add(token);
    }
    List<VectorSchemaRoot> batches = new ArrayList<>();
    int rows = 0;
    try (FlightStream stream =
        client.getStream(new Ticket(ticket.encode()), options.toArray(new CallOption[0]))) {
      Schema schema = stream.getSchema();
      String missing = null;
      while (stream.next()) {
        if (missing == null) {
          missing = missingOf(stream.getLatestMetadata());
        }
        VectorSchemaRoot root = stream.getRoot();
        if (root.getRowCount() > 0) {
          batches.add(ArrowCopy.deepCopy(root, alloc));
          rows += root.getRowCount();
        }
      }
      return new Answer(new BatchListReader(alloc, schema, batches), rows, missing);
    } catch (RuntimeException | Error e) {
      batches.forEach(VectorSchemaRoot::close);
      throw e;
    } catch (Exception e) {
      batches.forEach(VectorSchemaRoot::close);
      throw new HyprstreamException("reading from " + location + " failed: " + e, e);
    }
  }

  private FlightClient client(String location) {
    if (closed) {
      throw new BackendUnavailableException("this instance is closing", null);
    }
    return clients.computeIfAbsent(
        location,
        l -> {
          try {
            return FlightClient.builder(allocator, new Location(l)).build();
          } catch (URISyntaxException e) {
            throw new BackendUnavailableException(
                "the advertised location '" + l + "' is not a Flight location: " + e, e);
          }
        });
  }

  @Override
  public void close() {
    closed = true;
    for (FlightClient c : clients.values()) {
      try {
        c.close();
      } catch (Exception e) {
        LOG.warn("closing a Flight client of the cluster: {}", e.toString());
      }
    }
    clients.clear();
    allocator.close();
  }
}
