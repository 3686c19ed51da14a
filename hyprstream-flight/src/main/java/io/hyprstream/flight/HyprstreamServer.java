package io.hyprstream.flight;

import io.hyprstream.Allocators;
import io.hyprstream.Hyprstream;
import io.hyprstream.flight.internal.AccessControl;
import io.hyprstream.flight.internal.CacheMetrics;
import io.hyprstream.flight.internal.CallTimer;
import io.hyprstream.flight.internal.EngineMetrics;
import io.hyprstream.flight.internal.FrontEnd;
import io.hyprstream.flight.internal.IngestIdHeader;
import io.hyprstream.flight.internal.ServerMetrics;
import io.hyprstream.flight.internal.ServerPolicy;
import io.hyprstream.flight.internal.TokenAuthenticator;
import io.hyprstream.flight.policy.Authentication;
import io.hyprstream.flight.policy.ServerLimits;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.memory.BufferAllocator;
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
 * <p>Optionally: TLS ({@link Builder#tls}, with client certificates checked against a CA for mutual
 * TLS), users with roles ({@link Builder#authentication}), {@link ServerLimits}, and meters in a
 * Micrometer registry ({@link Builder#meterRegistry}).
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
  private final ExecutorService callExecutor;
  private final HyprstreamFlightSqlProducer producer;
  private final BufferAllocator allocator;
  private final @Nullable BufferAllocator ownedRoot;
  private final Location location;
  private final Duration shutdownGrace;
  private final boolean tls;
  private final FrontEnd frontEnd;
  private boolean closed;

  private HyprstreamServer(
      FlightServer server,
      ExecutorService callExecutor,
      HyprstreamFlightSqlProducer producer,
      BufferAllocator allocator,
      @Nullable BufferAllocator ownedRoot,
      Location location,
      Duration shutdownGrace,
      boolean tls,
      FrontEnd frontEnd) {
    this.server = server;
    this.callExecutor = callExecutor;
    this.producer = producer;
    this.allocator = allocator;
    this.ownedRoot = ownedRoot;
    this.location = location;
    this.shutdownGrace = shutdownGrace;
    this.tls = tls;
    this.frontEnd = frontEnd;
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

  /** Where clients connect: {@code grpc+tcp://host:port}, or {@code grpc+tls://} with TLS. */
  public Location location() {
    return tls ? Location.forGrpcTls(host(), port()) : Location.forGrpcInsecure(host(), port());
  }

  /** Whether the port speaks TLS. */
  public boolean tls() {
    return tls;
  }

  /** The producer answering Flight SQL. */
  public HyprstreamFlightSqlProducer producer() {
    return producer;
  }

  /**
   * What another front end on this server (the web console) must share with it: the same policy,
   * bearer tokens and memory bound. A front end closes what it took before this server closes.
   */
  public FrontEnd frontEnd() {
    return frontEnd;
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
    producer.health().stopping();
    long deadline = System.nanoTime() + shutdownGrace.toNanos();
    server.shutdown();
    try {
      boolean finished = server.awaitTermination(remainingMillis(deadline), TimeUnit.MILLISECONDS);
      // gRPC's termination does not wait for the handlers: a DoPut whose client went away ends
      // its call while its handler still holds the batches it read, from the producer's
      // allocator. So the producer closes only once the handlers are done too. (gRPC delivers its
      // callbacks on the same executor, so it can stop taking tasks only now.)
      callExecutor.shutdown();
      finished &= callExecutor.awaitTermination(remainingMillis(deadline), TimeUnit.MILLISECONDS);
      if (!finished) {
        LOG.warn("calls still running after {}; cancelling them", shutdownGrace);
        server.close(); // cancels gRPC's calls: a handler waiting for a client's message gets an
        // error
        callExecutor.shutdownNow(); // interrupts the rest; they release what they hold
        if (!callExecutor.awaitTermination(CANCELLED_CALLS_WAIT_SECONDS, TimeUnit.SECONDS)) {
          LOG.warn(
              "call handlers still running {} s after cancelling", CANCELLED_CALLS_WAIT_SECONDS);
        }
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

  /** How long cancelled call handlers get to release their buffers before the allocators close. */
  private static final long CANCELLED_CALLS_WAIT_SECONDS = 5;

  private static long remainingMillis(long deadlineNanos) {
    return Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime()));
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
    private @Nullable Path tlsCertChain;
    private @Nullable Path tlsKey;
    private @Nullable Path clientCa;
    private @Nullable Authentication authentication;
    private @Nullable ServerLimits limits;
    private @Nullable MeterRegistry meterRegistry;

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
     * keeps ownership and closes it after the server. Give it an allocator under the same root as
     * the instance's: ingested batches then move to the instance without a copy of their buffers
     * (Arrow moves buffers only within one root), and query results reach clients the same way.
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
     * Serves TLS with {@code certChain} (PEM, the server's certificate first) and {@code
     * privateKey} (PEM, PKCS#8). Without this the port is plaintext, meant for loopback.
     */
    public Builder tls(Path certChain, Path privateKey) {
      checkUnset(this.tlsCertChain, "tls");
      this.tlsCertChain = readable(certChain, "TLS certificate chain");
      this.tlsKey = readable(privateKey, "TLS private key");
      return this;
    }

    /**
     * Mutual TLS: clients must present a certificate signed by a CA in {@code caCertificates}
     * (PEM). Needs {@link #tls}.
     */
    public Builder clientCertificateAuthority(Path caCertificates) {
      checkUnset(this.clientCa, "clientCertificateAuthority");
      this.clientCa = readable(caCertificates, "client CA certificates");
      return this;
    }

    /**
     * Requires every call to authenticate as one of {@code authentication}'s users (Flight basic
     * auth exchanged for a bearer token); unauthenticated calls are UNAUTHENTICATED and read-only
     * users' changes PERMISSION_DENIED.
     */
    public Builder authentication(Authentication authentication) {
      checkUnset(this.authentication, "authentication");
      this.authentication = Objects.requireNonNull(authentication, "authentication");
      return this;
    }

    /** The request limits (default {@link ServerLimits#defaults()}). */
    public Builder limits(ServerLimits limits) {
      checkUnset(this.limits, "limits");
      this.limits = Objects.requireNonNull(limits, "limits");
      return this;
    }

    /**
     * Where the server's meters go: ingest and query counters and latency histograms, limit
     * refusals, write-through backlog and lag, DuckDB and Arrow memory, window state. The caller
     * keeps the registry (JVM meters are the caller's to bind).
     */
    public Builder meterRegistry(MeterRegistry registry) {
      checkUnset(this.meterRegistry, "meterRegistry");
      this.meterRegistry = Objects.requireNonNull(registry, "meterRegistry");
      return this;
    }

    private static Path readable(Path file, String what) {
      if (!Files.isReadable(file)) {
        throw new IllegalArgumentException(what + " " + file + " is not a readable file");
      }
      return file;
    }

    /**
     * Binds the port and starts serving.
     *
     * @throws UncheckedIOException when the port cannot be bound
     */
    public HyprstreamServer start() {
      BufferAllocator root = allocator == null ? Allocators.newRoot() : null;
      BufferAllocator parent = root != null ? root : Objects.requireNonNull(allocator);
      if (clientCa != null && tlsCertChain == null) {
        throw new IllegalStateException("clientCertificateAuthority needs tls(certChain, key)");
      }
      ServerLimits lim = limits == null ? ServerLimits.defaults() : limits;
      BufferAllocator serverAllocator =
          parent.newChildAllocator("flight-sql-server", 0, lim.maxMemoryBytes());
      ServerMetrics metrics =
          meterRegistry == null ? ServerMetrics.none() : new ServerMetrics(meterRegistry);
      if (meterRegistry != null) {
        new EngineMetrics(hyprstream, serverAllocator).bindTo(meterRegistry);
        new CacheMetrics(hyprstream).bindTo(meterRegistry);
      }
      ServerPolicy policy =
          new ServerPolicy(
              authentication == null ? AccessControl.open() : AccessControl.of(authentication),
              lim,
              metrics,
              ServerPolicy.cancellerOf(hyprstream));
      HyprstreamFlightSqlProducer producer =
          new HyprstreamFlightSqlProducer(
              hyprstream,
              serverAllocator,
              statementIdleTimeout == null
                  ? HyprstreamFlightSqlProducer.DEFAULT_STATEMENT_IDLE_TIMEOUT
                  : statementIdleTimeout,
              maxPreparedStatements == null
                  ? HyprstreamFlightSqlProducer.DEFAULT_MAX_PREPARED_STATEMENTS
                  : maxPreparedStatements,
              policy);
      String h = host == null ? DEFAULT_HOST : host;
      int p = port == null ? DEFAULT_PORT : port;
      Location location =
          tlsCertChain == null ? Location.forGrpcInsecure(h, p) : Location.forGrpcTls(h, p);
      TokenAuthenticator authenticator =
          authentication == null ? null : new TokenAuthenticator(authentication);
      FlightServer server;
      // Ours rather than Arrow's default (the same cached pool), so that close() can wait for the
      // call handlers themselves, not only for gRPC's calls.
      AtomicInteger callThreads = new AtomicInteger();
      ExecutorService callExecutor =
          Executors.newCachedThreadPool(
              r -> new Thread(r, "hyprstream-flight-call-" + callThreads.incrementAndGet()));
      try {
        FlightServer.Builder fb =
            FlightServer.builder(serverAllocator, location, producer).executor(callExecutor);
        if (tlsCertChain != null) {
          fb.useTls(tlsCertChain.toFile(), Objects.requireNonNull(tlsKey).toFile());
          if (clientCa != null) {
            fb.useMTlsClientVerification(clientCa.toFile());
          }
        }
        if (authenticator != null) {
          fb.headerAuthenticator(authenticator);
        }
        if (meterRegistry != null) {
          fb.middleware(CallTimer.KEY, CallTimer.factory(meterRegistry));
        }
        fb.middleware(IngestIdHeader.KEY, IngestIdHeader.factory());
        server = fb.build();
      } catch (IOException | RuntimeException e) {
        callExecutor.shutdown();
        try {
          AutoCloseables.close(producer, serverAllocator, root);
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
        throw new IllegalArgumentException("cannot set up TLS: " + e.getMessage(), e);
      }
      try {
        server.start();
      } catch (IOException e) {
        callExecutor.shutdown();
        try {
          AutoCloseables.close(server, producer, serverAllocator, root);
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
        throw new UncheckedIOException("cannot listen on " + location.getUri() + ": " + e, e);
      }
      return new HyprstreamServer(
          server,
          callExecutor,
          producer,
          serverAllocator,
          root,
          location,
          shutdownGrace == null ? DEFAULT_SHUTDOWN_GRACE : shutdownGrace,
          tlsCertChain != null,
          new FrontEnd(hyprstream, policy, authenticator, serverAllocator));
    }

    private static void checkUnset(@Nullable Object current, String option) {
      if (current != null) {
        throw new IllegalStateException(option + " was already set");
      }
    }
  }
}
