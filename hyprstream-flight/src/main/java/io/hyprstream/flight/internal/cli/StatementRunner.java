package io.hyprstream.flight.internal.cli;

import java.util.function.LongSupplier;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.sql.FlightSqlClient;

/**
 * Runs one SQL statement on the server and prints what it returned: the rows of a query, or the
 * count of rows a changing statement changed, then the row count and the time taken; or the
 * server's error. A failed statement is reported, never thrown: the session goes on.
 */
final class StatementRunner {
  private final ServerConnection connection;
  private final ShellOutput output;
  private final LongSupplier nanoTime;

  StatementRunner(ServerConnection connection, ShellOutput output, LongSupplier nanoTime) {
    this.connection = connection;
    this.output = output;
    this.nanoTime = nanoTime;
  }

  /**
   * Runs {@code sql}; on failure prints {@code where} (e.g. {@code hyprstream sql: line 3: }) and
   * the error.
   *
   * @return whether the statement succeeded
   */
  boolean run(String sql, String where) {
    long start = nanoTime.getAsLong();
    try {
      // Flight SQL sends queries and changing statements as different commands. The server's SQL
      // analyser tells which: preparing the statement returns its result schema, which has no
      // columns when it returns no rows.
      if (returnsRows(sql)) {
        query(sql, start);
      } else {
        long changed = connection.call(o -> connection.sql().executeUpdate(sql, o));
        output.changed(changed, nanoTime.getAsLong() - start);
      }
      return true;
    } catch (RuntimeException e) {
      output.error(where, e);
      return false;
    }
  }

  private boolean returnsRows(String sql) {
    return connection.call(
        o -> {
          FlightSqlClient.PreparedStatement prepared = connection.sql().prepare(sql, o);
          try {
            return !prepared.getResultSetSchema().getFields().isEmpty();
          } finally {
            prepared.close(o); // with the call's credentials, as every call here
          }
        });
  }

  private void query(String sql, long start) {
    FlightInfo info = connection.call(o -> connection.sql().execute(sql, o));
    ResultPrinter printer = null;
    for (FlightEndpoint endpoint : info.getEndpoints()) {
      try (FlightStream stream =
          connection.sql().getStream(endpoint.getTicket(), connection.options())) {
        while (stream.next()) {
          if (printer == null) {
            printer = output.printer(stream.getSchema());
          }
          printer.batch(stream.getRoot());
        }
        if (printer == null) {
          printer = output.printer(stream.getSchema());
        }
      } catch (Exception e) {
        throw ServerConnection.asUnchecked(e);
      }
    }
    ResultPrinter done = printer == null ? output.printer(info.getSchema()) : printer;
    long elapsed = nanoTime.getAsLong() - start;
    done.finish();
    output.rows(done.rowCount(), elapsed);
  }
}
