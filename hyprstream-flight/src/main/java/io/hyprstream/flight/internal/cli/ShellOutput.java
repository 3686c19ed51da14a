package io.hyprstream.flight.internal.cli;

import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * Where {@code hyprstream sql} writes: results to standard output in the chosen format; the {@code
 * (24 rows, 3.1 ms)} line after each statement to standard output under a table, to standard error
 * under CSV and JSON (so that redirected output stays parseable); errors to standard error, with
 * the server's status code and message.
 */
final class ShellOutput {
  private final ResultPrinter.Format format;
  private final PrintStream out;
  private final PrintStream err;
  private final ServerConnection.Settings settings;

  ShellOutput(
      ResultPrinter.Format format,
      PrintStream out,
      PrintStream err,
      ServerConnection.Settings settings) {
    this.format = format;
    this.out = out;
    this.err = err;
    this.settings = settings;
  }

  /** A printer of rows of {@code schema} to standard output. */
  ResultPrinter printer(Schema schema) {
    return ResultPrinter.create(format, out, schema);
  }

  boolean isTable() {
    return format == ResultPrinter.Format.TABLE;
  }

  PrintStream out() {
    return out;
  }

  PrintStream err() {
    return err;
  }

  /** Prints {@code (24 rows, 3.1 ms)}. */
  void rows(long rows, long nanos) {
    status("(" + count(rows, "row") + ", " + duration(nanos) + ")");
  }

  /** Prints {@code (3 rows changed, 1.2 ms)} for a statement that returned an update count. */
  void changed(long rows, long nanos) {
    status(
        "(" + (rows < 0 ? "done" : count(rows, "row") + " changed") + ", " + duration(nanos) + ")");
  }

  private void status(String line) {
    PrintStream to = isTable() ? out : err;
    to.println(line);
    to.flush();
  }

  /** Prints {@code where} then the error: the Flight status code and the server's message. */
  void error(String where, Exception e) {
    out.flush();
    err.println(where + describe(e));
    err.flush();
  }

  /** The status code and message of {@code e}, with what to try when the code suggests it. */
  String describe(Exception e) {
    if (!(e instanceof FlightRuntimeException f)) {
      return e.getMessage() == null ? e.toString() : e.getMessage();
    }
    FlightStatusCode code = f.status().code();
    String text = code + ": " + firstLine(f.getMessage());
    if (code == FlightStatusCode.UNAVAILABLE) {
      // gRPC says "io exception" and lists its channel pipeline; the cause says what happened.
      Throwable root = f;
      while (root.getCause() != null && root.getCause() != root) {
        root = root.getCause();
      }
      if (root != f && root.getMessage() != null) {
        text += ": " + firstLine(root.getMessage());
      }
    }
    if (code == FlightStatusCode.UNAUTHENTICATED && settings.user() == null) {
      text +=
          " (the server wants a login: pass --user NAME, with the password in HYPRSTREAM_PASSWORD"
              + " or typed at the prompt)";
    } else if (code == FlightStatusCode.UNAVAILABLE) {
      text +=
          " (no Flight SQL server answered at "
              + settings.uri()
              + (settings.tls()
                  ? ": check --host and --port, and that the server has TLS on"
                  : ": check --host and --port; a server with TLS needs --tls")
              + ")";
    }
    return text;
  }

  private static String firstLine(@Nullable String message) {
    if (message == null) {
      return "";
    }
    int end = message.indexOf('\n');
    return (end < 0 ? message : message.substring(0, end)).strip();
  }

  static String count(long n, String noun) {
    return n + " " + noun + (n == 1 ? "" : "s");
  }

  /** {@code 3.1 ms} below ten seconds, {@code 12.35 s} above. */
  static String duration(long nanos) {
    double ms = nanos / (double) TimeUnit.MILLISECONDS.toNanos(1);
    return ms < 10_000
        ? String.format(Locale.ROOT, "%.1f ms", ms)
        : String.format(Locale.ROOT, "%.2f s", ms / 1000);
  }
}
