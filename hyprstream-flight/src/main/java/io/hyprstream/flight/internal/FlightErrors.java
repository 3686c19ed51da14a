package io.hyprstream.flight.internal;

import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.ResourceExhaustedException;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.api.TableNotFoundException;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.memory.OutOfMemoryException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns Hyprstream's exceptions into Flight statuses a client can act on. Only here do exceptions
 * become {@link CallStatus} codes.
 *
 * <p>What a client sends never ends in INTERNAL or UNKNOWN: a refused request says what was wrong
 * and with which status. DuckDB reports its errors as text, {@code "<Type> Error: ..."}, with one
 * of a fixed set of types (its {@code ExceptionType}); the type decides the status. INTERNAL is
 * left for failures no request explains: DuckDB's own {@code INTERNAL}/{@code FATAL} errors and
 * defects here, which are logged.
 */
public final class FlightErrors {
  private static final Logger LOG = LoggerFactory.getLogger(FlightErrors.class);

  private FlightErrors() {}

  /** The Flight status for {@code t}; failures no request explains are logged and INTERNAL. */
  public static FlightRuntimeException toFlight(Throwable t) {
    if (t instanceof FlightRuntimeException) {
      return (FlightRuntimeException) t;
    }
    String message = firstLine(String.valueOf(t.getMessage()));
    // Arrow wraps an allocation refused mid-batch ("Could not load buffers ..."): look inside.
    OutOfMemoryException arrow = cause(t, OutOfMemoryException.class);
    if (arrow != null) {
      return status(
          CallStatus.RESOURCE_EXHAUSTED,
          "the server's Arrow memory limit (limits.max_memory_bytes) is reached: "
              + firstLine(String.valueOf(arrow.getMessage())),
          t);
    }
    if (cause(t, OutOfMemoryError.class) != null) {
      LOG.warn("the JVM ran out of memory answering a request", t);
      return status(
          CallStatus.RESOURCE_EXHAUSTED,
          "the server's JVM memory is exhausted (lower limits.max_memory_bytes or give the JVM"
              + " more with -Xmx / -XX:MaxDirectMemorySize): "
              + message,
          t);
    }
    if (t instanceof SchemaMismatchException) {
      return status(CallStatus.INVALID_ARGUMENT, message, t);
    } else if (t instanceof TableNotFoundException) {
      return status(CallStatus.NOT_FOUND, message, t);
    } else if (t instanceof ResourceExhaustedException || t instanceof LimitExceededException) {
      return status(CallStatus.RESOURCE_EXHAUSTED, message, t);
    } else if (t instanceof BackendUnavailableException) {
      return status(CallStatus.UNAVAILABLE, message, t);
    }
    DuckDbError duckdb = DuckDbError.in(t);
    if (duckdb != null) {
      return duckdb.toFlight(t);
    }
    if (t instanceof QueryRejectedException || t instanceof IllegalArgumentException) {
      return status(CallStatus.INVALID_ARGUMENT, message, t);
    } else if (t instanceof HyprstreamException) {
      LOG.warn("request failed", t);
      return status(CallStatus.INTERNAL, message, t);
    }
    LOG.error("unexpected failure", t);
    return status(
        CallStatus.INTERNAL, "internal error: " + t.getClass().getSimpleName() + ": " + message, t);
  }

  /** An INVALID_ARGUMENT status with {@code message}. */
  public static FlightRuntimeException invalid(String message) {
    return CallStatus.INVALID_ARGUMENT.withDescription(message).toRuntimeException();
  }

  /**
   * An error DuckDB raised, found by its {@code "<Type> Error: "} prefix anywhere in a chain of
   * causes (the JDBC driver and Arrow's C stream import both pass DuckDB's text on).
   */
  record DuckDbError(String type, String text) {
    /** The first DuckDB error in {@code t}'s causes, or null. */
    static @Nullable DuckDbError in(Throwable t) {
      for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
        String m = Objects.requireNonNullElse(c.getMessage(), "");
        for (int at = m.indexOf(" Error: "); at > 0; at = m.indexOf(" Error: ", at + 1)) {
          for (String type : TYPES) {
            int start = at - type.length();
            if (start >= 0
                && m.regionMatches(true, start, type, 0, type.length())
                && (start == 0 || !Character.isLetter(m.charAt(start - 1)))) {
              return new DuckDbError(type, firstLine(m.substring(start)));
            }
          }
        }
      }
      return null;
    }

    FlightRuntimeException toFlight(Throwable t) {
      String lower = type.toLowerCase(Locale.ROOT);
      switch (lower) {
        case "out of memory":
          return status(
              CallStatus.RESOURCE_EXHAUSTED,
              "DuckDB's memory limit (limits.duckdb_memory_limit_bytes) is reached: " + text,
              t);
        case "interrupt":
          return status(CallStatus.CANCELLED, "the query was interrupted: " + text, t);
        case "catalog":
          if (text.contains("already exists")) {
            return status(CallStatus.ALREADY_EXISTS, text, t);
          }
          return status(
              text.contains("does not exist") ? CallStatus.NOT_FOUND : CallStatus.INVALID_ARGUMENT,
              text,
              t);
        case "not implemented":
          return status(CallStatus.UNIMPLEMENTED, text, t);
        case "transaction":
        case "transactioncontext":
          // A write-write conflict with a concurrent statement (Flight has no ABORTED).
          return status(
              CallStatus.UNAVAILABLE, text + " (a concurrent change conflicted; retry)", t);
        case "internal":
        case "fatal":
          LOG.error("DuckDB failed on its own", t);
          return status(CallStatus.INTERNAL, text, t);
        default:
          // Parser, Binder, Conversion, Constraint, Dependency, Invalid Input, Permission ...:
          // something in the request itself.
          return status(CallStatus.INVALID_ARGUMENT, text, t);
      }
    }

    /**
     * DuckDB's exception types as its messages spell them ({@code
     * Exception::ExceptionTypeToString}).
     */
    private static final List<String> TYPES =
        List.of(
            "Invalid",
            "Out of Range",
            "Conversion",
            "Unknown Type",
            "Decimal",
            "Mismatch Type",
            "Divide by Zero",
            "Object Size",
            "Invalid type",
            "Serialization",
            "Transaction",
            "TransactionContext",
            "Not implemented",
            "Expression",
            "Catalog",
            "Parser",
            "Planner",
            "Scheduler",
            "Executor",
            "Constraint",
            "Index",
            "Stat",
            "Connection",
            "Syntax",
            "Settings",
            "Binder",
            "Optimizer",
            "NullPointer",
            "IO",
            "INTERRUPT",
            "FATAL",
            "INTERNAL",
            "Invalid Input",
            "Out of Memory",
            "Permission",
            "Parameter Not Resolved",
            "Parameter Not Allowed",
            "Dependency",
            "HTTP",
            "Missing Extension",
            "Auto-load",
            "Sequence",
            "Invalid Configuration");
  }

  private static @Nullable <T extends Throwable> T cause(Throwable t, Class<T> type) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (type.isInstance(c)) {
        return type.cast(c);
      }
    }
    return null;
  }

  private static String firstLine(String text) {
    int newline = text.indexOf('\n');
    return newline < 0 ? text : text.substring(0, newline);
  }

  private static FlightRuntimeException status(CallStatus code, String message, Throwable cause) {
    return code.withDescription(message).withCause(cause).toRuntimeException();
  }
}
