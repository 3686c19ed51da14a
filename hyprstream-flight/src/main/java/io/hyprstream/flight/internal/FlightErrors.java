package io.hyprstream.flight.internal;

import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.ResourceExhaustedException;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.api.TableNotFoundException;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.memory.OutOfMemoryException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns Hyprstream's exceptions into Flight statuses a client can act on. Only here do exceptions
 * become {@link CallStatus} codes.
 */
public final class FlightErrors {
  private static final Logger LOG = LoggerFactory.getLogger(FlightErrors.class);

  private FlightErrors() {}

  private static boolean causedBy(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return true;
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return false;
  }

  /** The Flight status for {@code t}; unexpected failures are logged and reported as INTERNAL. */
  public static FlightRuntimeException toFlight(Throwable t) {
    if (t instanceof FlightRuntimeException) {
      return (FlightRuntimeException) t;
    }
    String message = String.valueOf(t.getMessage());
    // Arrow wraps an allocation refused mid-batch ("Could not load buffers ..."): look inside.
    if (causedBy(t, OutOfMemoryException.class)) {
      return CallStatus.RESOURCE_EXHAUSTED
          .withDescription(
              "the server's Arrow memory limit (limits.max_memory_bytes) is reached: " + message)
          .withCause(t)
          .toRuntimeException();
    }
    if (t instanceof QueryRejectedException && message.contains("Out of Memory Error")) {
      return CallStatus.RESOURCE_EXHAUSTED
          .withDescription(
              "DuckDB's memory limit (limits.duckdb_memory_limit_bytes) is reached: " + message)
          .withCause(t)
          .toRuntimeException();
    }
    if (t instanceof SchemaMismatchException || t instanceof QueryRejectedException) {
      return CallStatus.INVALID_ARGUMENT.withDescription(message).withCause(t).toRuntimeException();
    } else if (t instanceof TableNotFoundException) {
      return CallStatus.NOT_FOUND.withDescription(message).withCause(t).toRuntimeException();
    } else if (t instanceof ResourceExhaustedException || t instanceof LimitExceededException) {
      return CallStatus.RESOURCE_EXHAUSTED
          .withDescription(message)
          .withCause(t)
          .toRuntimeException();
    } else if (t instanceof BackendUnavailableException) {
      return CallStatus.UNAVAILABLE.withDescription(message).withCause(t).toRuntimeException();
    } else if (t instanceof IllegalArgumentException) {
      return CallStatus.INVALID_ARGUMENT.withDescription(message).withCause(t).toRuntimeException();
    } else if (t instanceof HyprstreamException) {
      LOG.warn("request failed", t);
      return CallStatus.INTERNAL.withDescription(message).withCause(t).toRuntimeException();
    }
    LOG.error("unexpected failure", t);
    return CallStatus.INTERNAL
        .withDescription("internal error: " + t.getClass().getSimpleName() + ": " + message)
        .withCause(t)
        .toRuntimeException();
  }

  /** An INVALID_ARGUMENT status with {@code message}. */
  public static FlightRuntimeException invalid(String message) {
    return CallStatus.INVALID_ARGUMENT.withDescription(message).toRuntimeException();
  }
}
