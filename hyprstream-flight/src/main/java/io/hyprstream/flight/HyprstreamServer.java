package io.hyprstream.flight;

import io.hyprstream.Hyprstream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.util.AutoCloseables;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An Arrow Flight SQL port on a {@link Hyprstream} instance.
 *
 * <pre>{@code
 * try (Hyprstream hs = Hyprstream.builder().build();
 *     HyprstreamServer server = HyprstreamServer.builder(hs).host("127.0.0.1").port(50051).start()) {
 *   System.out.println("listening on " + server.location().getUri());
 *   server.awaitTermination();
 * }
 * }</pre>
 *
 * <p>The server does not own the instance: close the server, then the instance.
 */
public final class HyprstreamServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HyprstreamServer.class);

  /** The default host: loopback only. */
  public static final String DEFAULT_HOST = "127.0.0.1";

  /** The default port. */
  public static final int DEFAULT_PORT = 50051;

  /** How long {@link #close()} waits for calls in flight before cancelling them. */
  public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(5);

  private final FlightServer server;
  private final HyprstreamFlightSqlProducer producer;
  private final BufferAllocator allocator;
  private final @Nullable BufferAllocator ownedRoot;
  private final Location location;
  private final Duration shutdownGrace;
  private boolean closed;

  private HyprstreamServer(
      FlightServer server,
      HyprstreamFlightSqlProducer producer,
      BufferAllocator allocator,
      @Nullable BufferAllocator ownedRoot,
      Location location,
      Duration shutdownGrace) {
    this.server = server;
    this.producer = producer;
    this.allocator = allocator;
    this.ownedRoot = ownedRoot;
    this.location = location;
    this.shutdownGrace = shutdownGrace;
  }

  /** Starts configuring a server over {@code hyprstream}. */
  public static Builder builder(Hyprstream hyprstream) {
    return new Builder(hyprstream);
  }

  /** The port the server listens on (the chosen one when configured with port 0). */
  public int port() {
    return server.getPort();
  }

  /** The host the server is bound to. */
  public String host() {
    return location.getUri().getHost();
  }

  /** Where clients connect: {@code grpc+tcp://host:port}. */
  public Location location() {
    return Location.forGrpcInsecure(host(), port());
  }

  /** The producer answering Flight SQL. */
  public HyprstreamFlightSqlProducer producer() {
    return producer;
  }

  /** Blocks until the server shuts down. */
  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /**
   * Stops accepting calls, waits up to the shutdown grace for calls in flight, then cancels the
   * rest and releases the server's buffers. Safe to call twice; does not close the instance.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    server.shutdown();
    try {
      if (!server.awaitTermination(shutdownGrace.toMillis(), TimeUnit.MILLISECONDS)) {
        LOG.warn("calls still running after {}; cancelling them", shutdownGrace);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      AutoCloseables.close(server, producer, allocator, ownedRoot);
    } catch (Exception e) {
      throw new IllegalStateException("closing the Flight SQL server failed: " + e, e);
    }
  }

  /** Configures a {@link HyprstreamServer}; each option may be set once. */
  public static final class Builder {
    private final Hyprstream hyprstream;
    private @Nullable String host;
    private @Nullable Integer port;
    private @Nullable BufferAllocator allocator;
    private @Nullable Duration statementIdleTimeout;
    private @Nullable Long maxPreparedStatements;
    private @Nullable Duration shutdownGrace;

    private Builder(Hyprstream hyprstream) {
      this.hyprstream = Objects.requireNonNull(hyprstream, "hyprstream");
    }

    /** The address to bind (default {@value #DEFAULT_HOST}; {@code 0.0.0.0} for every one). */
    public Builder host(String host) {
      checkUnset(this.host, "host");
      if (host.isBlank()) {
        throw new IllegalArgumentException("host must not be blank");
      }
      this.host = host;
      return this;
    }

    /** The port (default {@value #DEFAULT_PORT}; 0 picks a free one). */
    public Builder port(int port) {
      checkUnset(this.port, "port");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be between 0 and 65535, got " + port);
      }
      this.port = port;
      return this;
    }

    /**
     * The allocator the server takes a child of (default: a root allocator of its own). The caller
     * keeps ownership and closes it after the server.
     */
    public Builder allocator(BufferAllocator allocator) {
      checkUnset(this.allocator, "allocator");
      this.allocator = Objects.requireNonNull(allocator, "allocator");
      return this;
    }

    /** How long an unused prepared statement is kept (default 10 minutes). */
    public Builder statementIdleTimeout(Duration timeout) {
      checkUnset(this.statementIdleTimeout, "statementIdleTimeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("statementIdleTimeout must be positive, got " + timeout);
      }
      this.statementIdleTimeout = timeout;
      return this;
    }

    /** How many prepared statements are held at most (default 10,000). */
    public Builder maxPreparedStatements(long max) {
      checkUnset(this.maxPreparedStatements, "maxPreparedStatements");
      if (max < 1) {
        throw new IllegalArgumentException("maxPreparedStatements must be at least 1, got " + max);
      }
      this.maxPreparedStatements = max;
      return this;
    }

    /** How long {@link #close()} waits for calls in flight (default 5 s). */
    public Builder shutdownGrace(Duration grace) {
      checkUnset(this.shutdownGrace, "shutdownGrace");
      if (grace.isNegative()) {
        throw new IllegalArgumentException("shutdownGrace must not be negative, got " + grace);
      }
      this.shutdownGrace = grace;
      return this;
    }

    /**
     * Binds the port and starts serving.
     *
     * @throws UncheckedIOException when the port cannot be bound
     */
    public HyprstreamServer start() {
      BufferAllocator root = allocator == null ? new RootAllocator() : null;
      BufferAllocator parent = root != null ? root : Objects.requireNonNull(allocator);
      BufferAllocator serverAllocator =
          parent.newChildAllocator("flight-sql-server", 0, Long.MAX_VALUE);
      HyprstreamFlightSqlProducer producer =
          new HyprstreamFlightSqlProducer(
              hyprstream,
              serverAllocator,
              statementIdleTimeout == null
                  ? HyprstreamFlightSqlProducer.DEFAULT_STATEMENT_IDLE_TIMEOUT
                  : statementIdleTimeout,
              maxPreparedStatements == null
                  ? HyprstreamFlightSqlProducer.DEFAULT_MAX_PREPARED_STATEMENTS
                  : maxPreparedStatements);
      Location location =
          Location.forGrpcInsecure(
              host == null ? DEFAULT_HOST : host, port == null ? DEFAULT_PORT : port);
      FlightServer server = FlightServer.builder(serverAllocator, location, producer).build();
      try {
        server.start();
      } catch (IOException e) {
        try {
          AutoCloseables.close(server, producer, serverAllocator, root);
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
        throw new UncheckedIOException("cannot listen on " + location.getUri() + ": " + e, e);
      }
      return new HyprstreamServer(
          server,
          producer,
          serverAllocator,
          root,
          location,
          shutdownGrace == null ? DEFAULT_SHUTDOWN_GRACE : shutdownGrace);
    }

    private static void checkUnset(@Nullable Object current, String option) {
      if (current != null) {
        throw new IllegalStateException(option + " was already set");
      }
    }
  }
}
