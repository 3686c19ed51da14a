package io.hyprstream.flight.internal.cli;

import io.hyprstream.flight.HyprstreamServer;
import io.hyprstream.flight.internal.SqlText;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code hyprstream sql "SELECT ..."}: runs one statement on a server and prints the result. */
@Command(
    name = "sql",
    mixinStandardHelpOptions = true,
    description = "Runs one SQL statement on a Hyprstream server and prints the result.")
final class SqlCommand implements Callable<Integer> {
  @ParentCommand private @Nullable Main parent;

  @Option(names = "--host", paramLabel = "HOST", description = "Server host (default 127.0.0.1).")
  private String host = HyprstreamServer.DEFAULT_HOST;

  @Option(names = "--port", paramLabel = "PORT", description = "Server port (default 50051).")
  private int port = HyprstreamServer.DEFAULT_PORT;

  @Option(
      names = "--format",
      paramLabel = "table|csv|json",
      description = "Output format (default table).")
  private String format = "table";

  @Parameters(index = "0", paramLabel = "SQL", description = "The statement to run.")
  private String sql = "";

  @Override
  public Integer call() {
    // A terminal tool: only warnings from the libraries below (before their first logger).
    if (System.getProperty(Main.LOG_LEVEL_PROPERTY) == null) {
      System.setProperty(Main.LOG_LEVEL_PROPERTY, "warn");
    }
    PrintStream out = parent == null ? System.out : parent.out();
    PrintStream err = parent == null ? System.err : parent.err();
    ResultPrinter.Format fmt;
    try {
      fmt = ResultPrinter.Format.valueOf(format.toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      err.println("hyprstream sql: --format must be table, csv or json, got '" + format + "'");
      return ConfigException.EXIT_CODE;
    }
    try (BufferAllocator allocator = new RootAllocator();
        FlightSqlClient client =
            new FlightSqlClient(
                FlightClient.builder(allocator, Location.forGrpcInsecure(host, port)).build())) {
      if (SqlText.parse(sql).isQuery()) {
        FlightInfo info = client.execute(sql);
        ResultPrinter printer = ResultPrinter.create(fmt, out, info.getSchema());
        for (FlightEndpoint endpoint : info.getEndpoints()) {
          try (FlightStream stream = client.getStream(endpoint.getTicket())) {
            while (stream.next()) {
              printer.batch(stream.getRoot());
            }
          }
        }
        printer.finish();
      } else {
        long n = client.executeUpdate(sql);
        out.println(n + (n == 1 ? " row affected" : " rows affected"));
      }
      out.flush();
      return 0;
    } catch (FlightRuntimeException e) {
      err.println("hyprstream sql: " + e.status().code() + ": " + e.getMessage());
      return 1;
    } catch (Exception e) {
      err.println("hyprstream sql: " + e);
      return 1;
    }
  }
}
