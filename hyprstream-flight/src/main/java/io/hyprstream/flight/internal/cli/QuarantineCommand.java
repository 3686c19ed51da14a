package io.hyprstream.flight.internal.cli;

import io.hyprstream.flight.HyprstreamServer;
import io.hyprstream.flight.internal.QuarantineActions;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.concurrent.Callable;
import org.apache.arrow.flight.Action;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.Result;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code hyprstream quarantine list|requeue [BATCH_ID]}: lists the batches a running server's
 * backend refused as data, or puts them back in its write-through queue (the {@code
 * requeue_quarantine} action).
 */
@Command(
    name = "quarantine",
    mixinStandardHelpOptions = true,
    description =
        "Lists the batches a server's backend refused as data (list), or re-sends them once the"
            + " cause is fixed (requeue [BATCH_ID]; every batch without one).")
final class QuarantineCommand implements Callable<Integer> {
  @ParentCommand private @Nullable Main parent;

  @Option(names = "--host", paramLabel = "HOST", description = "Server host (default 127.0.0.1).")
  private String host = HyprstreamServer.DEFAULT_HOST;

  @Option(names = "--port", paramLabel = "PORT", description = "Server port (default 50051).")
  private int port = HyprstreamServer.DEFAULT_PORT;

  @Parameters(index = "0", paramLabel = "list|requeue", description = "What to do.")
  private String verb = "";

  @Parameters(
      index = "1",
      arity = "0..1",
      paramLabel = "BATCH_ID",
      description = "The batch to requeue (from list); every batch when left out.")
  private @Nullable String batchId;

  @Override
  public Integer call() {
    if (System.getProperty(Main.LOG_LEVEL_PROPERTY) == null) {
      System.setProperty(Main.LOG_LEVEL_PROPERTY, "warn");
    }
    PrintStream out = parent == null ? System.out : parent.out();
    PrintStream err = parent == null ? System.err : parent.err();
    if (!verb.equals("list") && !verb.equals("requeue")) {
      err.println("hyprstream quarantine: say list or requeue [BATCH_ID], got '" + verb + "'");
      return ConfigException.EXIT_CODE;
    }
    try (BufferAllocator allocator = new RootAllocator();
        FlightClient flight =
            FlightClient.builder(allocator, Location.forGrpcInsecure(host, port)).build()) {
      if (verb.equals("list")) {
        FlightSqlClient client = new FlightSqlClient(flight);
        FlightInfo info =
            client.execute(
                "SELECT table_name, batch_id, row_count, quarantined_at, error"
                    + " FROM hyprstream_quarantine ORDER BY quarantined_at, batch_id");
        ResultPrinter printer =
            ResultPrinter.create(ResultPrinter.Format.TABLE, out, info.getSchema());
        for (FlightEndpoint endpoint : info.getEndpoints()) {
          try (FlightStream stream = client.getStream(endpoint.getTicket())) {
            while (stream.next()) {
              printer.batch(stream.getRoot());
            }
          }
        }
        printer.finish();
      } else {
        byte[] body = batchId == null ? new byte[0] : batchId.getBytes(StandardCharsets.UTF_8);
        Iterator<Result> results = flight.doAction(new Action(QuarantineActions.REQUEUE, body));
        while (results.hasNext()) {
          out.println(new String(results.next().getBody(), StandardCharsets.UTF_8));
        }
      }
      out.flush();
      return 0;
    } catch (FlightRuntimeException e) {
      err.println(
          "hyprstream quarantine: "
              + e.status().code()
              + ": "
              + e.getMessage()
              + " (server "
              + host
              + ":"
              + port
              + ")");
      return 1;
    } catch (Exception e) {
      err.println("hyprstream quarantine: " + e);
      return 1;
    }
  }
}
