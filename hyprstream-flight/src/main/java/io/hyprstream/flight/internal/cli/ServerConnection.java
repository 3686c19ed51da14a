package io.hyprstream.flight.internal.cli;

import io.hyprstream.flight.internal.ArrowValues;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;
import org.apache.arrow.flight.CallOption;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.apache.arrow.flight.sql.impl.FlightSql.SqlInfo;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.util.AutoCloseables;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;

/**
 * A Flight SQL client connected to one server, over TLS when asked, logged in when a user is given:
 * the user name and password go once as Flight basic auth and the server's bearer token goes with
 * every later call, as the server's other clients (the JDBC and ADBC drivers) do.
 *
 * <p>A shell outlives tokens (they live {@code auth.token_ttl}, an hour by default): a call the
 * server refuses as UNAUTHENTICATED logs in again and is tried once more. The refusal comes before
 * the server runs anything, so no statement runs twice.
 */
final class ServerConnection implements AutoCloseable {
  /** Where and how to connect. */
  record Settings(String host, int port, boolean tls, @Nullable Path tlsCa, @Nullable String user) {
    /** {@code grpc://host:port} or {@code grpc+tls://host:port}, for messages. */
    String uri() {
      String h = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
      return (tls ? "grpc+tls://" : "grpc://") + h + ":" + port;
    }
  }

  private final Settings settings;
  private final @Nullable String password;
  private final BufferAllocator allocator;
  private final FlightClient flight;
  private final FlightSqlClient sql;
  private CallOption[] options = new CallOption[0];
  private boolean closed;

  private ServerConnection(
      Settings settings,
      @Nullable String password,
      BufferAllocator allocator,
      FlightClient flight) {
    this.settings = settings;
    this.password = password;
    this.allocator = allocator;
    this.flight = flight;
    this.sql = new FlightSqlClient(flight);
  }

  /**
   * Connects and, when {@code settings} names a user, logs in with {@code password}.
   *
   * @throws FlightRuntimeException when the server cannot be reached or refuses the login
   * @throws IllegalArgumentException when {@code --tls-ca} cannot be read
   */
  static ServerConnection open(Settings settings, @Nullable String password) {
    BufferAllocator allocator = new RootAllocator();
    ServerConnection connection;
    try {
      FlightClient.Builder builder;
      if (settings.tls()) {
        builder =
            FlightClient.builder(allocator, Location.forGrpcTls(settings.host(), settings.port()));
        Path ca = settings.tlsCa();
        if (ca != null) {
          // Read now: the builder reads its stream only in build(), after a try-with-resources
          // here would have closed it.
          byte[] pem;
          try {
            pem = Files.readAllBytes(ca);
          } catch (IOException e) {
            throw new IllegalArgumentException(
                "--tls-ca " + ca + ": cannot read the CA certificate file (" + e + ")", e);
          }
          builder.trustedCertificates(new ByteArrayInputStream(pem));
        }
      } else {
        builder =
            FlightClient.builder(
                allocator, Location.forGrpcInsecure(settings.host(), settings.port()));
      }
      FlightClient client;
      try {
        client = builder.build();
      } catch (RuntimeException e) {
        throw settings.tlsCa() == null
            ? e
            : new IllegalArgumentException(
                "--tls-ca " + settings.tlsCa() + ": " + e.getMessage(), e);
      }
      connection = new ServerConnection(settings, password, allocator, client);
    } catch (RuntimeException e) {
      allocator.close();
      throw e;
    }
    try {
      connection.logIn();
    } catch (RuntimeException e) {
      connection.close();
      throw e;
    }
    return connection;
  }

  private void logIn() {
    String user = settings.user();
    if (user == null) {
      return;
    }
    // A server without --auth answers without a token: calls then go without one.
    options =
        flight
            .authenticateBasicToken(user, password == null ? "" : password)
            .<CallOption[]>map(token -> new CallOption[] {token})
            .orElse(new CallOption[0]);
  }

  Settings settings() {
    return settings;
  }

  /**
   * The Flight SQL client; pass {@link #options()} with every call, or go through {@link #call}.
   */
  FlightSqlClient sql() {
    return sql;
  }

  /** The bearer token's call option, when logged in. */
  CallOption[] options() {
    return options;
  }

  BufferAllocator allocator() {
    return allocator;
  }

  /**
   * Runs {@code rpc} with the login's call options; when the server says the token is no longer
   * valid, logs in again and runs it once more.
   */
  <T> T call(Function<CallOption[], T> rpc) {
    try {
      return rpc.apply(options);
    } catch (FlightRuntimeException e) {
      if (e.status().code() != FlightStatusCode.UNAUTHENTICATED
          || settings.user() == null
          || options.length == 0) {
        throw e;
      }
      logIn();
      return rpc.apply(options);
    }
  }

  /** The server's name and version from GetSqlInfo, e.g. {@code Hyprstream 0.1.0}. */
  String serverVersion() {
    var info =
        call(
            o ->
                sql.getSqlInfo(
                    new SqlInfo[] {
                      SqlInfo.FLIGHT_SQL_SERVER_NAME, SqlInfo.FLIGHT_SQL_SERVER_VERSION
                    },
                    o));
    String name = "";
    String version = "";
    for (FlightEndpoint endpoint : info.getEndpoints()) {
      try (FlightStream stream = sql.getStream(endpoint.getTicket(), options)) {
        while (stream.next()) {
          VectorSchemaRoot root = stream.getRoot();
          FieldVector ids = root.getVector("info_name");
          FieldVector values = root.getVector("value");
          for (int r = 0; r < root.getRowCount(); r++) {
            Object id = ArrowValues.value(ids, r);
            Object value = ArrowValues.value(values, r);
            String text = value == null ? "" : value.toString();
            if (!(id instanceof Number n)) {
              continue;
            }
            if (n.intValue() == SqlInfo.FLIGHT_SQL_SERVER_NAME_VALUE) {
              name = text;
            } else if (n.intValue() == SqlInfo.FLIGHT_SQL_SERVER_VERSION_VALUE) {
              version = text;
            }
          }
        }
      } catch (Exception e) {
        throw asUnchecked(e);
      }
    }
    return (name + " " + version).strip();
  }

  static RuntimeException asUnchecked(Exception e) {
    if (e instanceof RuntimeException r) {
      return r;
    }
    if (e instanceof IOException io) {
      return new UncheckedIOException(io);
    }
    return new IllegalStateException(e);
  }

  /** Closes the client, then the allocator (which fails loudly if a result was left open). */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      AutoCloseables.close(sql, allocator);
    } catch (Exception e) {
      throw asUnchecked(e);
    }
  }
}
