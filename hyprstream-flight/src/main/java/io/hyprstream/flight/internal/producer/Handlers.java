package io.hyprstream.flight.internal.producer;

import io.hyprstream.Hyprstream;
import io.hyprstream.flight.internal.Health;
import io.hyprstream.flight.internal.ServerPolicy;
import io.hyprstream.flight.internal.StatementTickets;
import java.time.Duration;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.util.AutoCloseables;

/**
 * The producer's handlers, one per concern, wired to each other. They share the producer's
 * allocator and policy; {@link #close} closes what they own.
 */
public record Handlers(
    CatalogHandler catalog,
    ResultStreamer streamer,
    StatementHandler statements,
    IngestHandler ingest,
    PreparedStatements prepared,
    OpsActions ops)
    implements AutoCloseable {

  /**
   * Handlers answering from {@code hyprstream} with buffers of {@code allocator} (the producer's
   * child, which stays the producer's to close).
   *
   * @param statementIdleTimeout how long an unused prepared statement or ticket is kept
   * @param maxPreparedStatements how many prepared statements and tickets are kept at most
   * @param version the server version reported in SqlInfo
   */
  public static Handlers create(
      Hyprstream hyprstream,
      BufferAllocator allocator,
      ServerPolicy policy,
      Health health,
      Duration statementIdleTimeout,
      long maxPreparedStatements,
      String version) {
    StatementTickets tickets = new StatementTickets(statementIdleTimeout, maxPreparedStatements);
    TableSchemas tableSchemas = new TableSchemas(hyprstream);
    CatalogHandler catalog = new CatalogHandler(hyprstream, allocator, tickets, version);
    ResultStreamer streamer = new ResultStreamer(hyprstream, allocator, policy);
    StatementHandler statements =
        new StatementHandler(hyprstream, allocator, policy, tickets, streamer, tableSchemas);
    IngestHandler ingest = new IngestHandler(hyprstream, allocator, policy, tableSchemas, catalog);
    PreparedStatements prepared =
        new PreparedStatements(
            hyprstream,
            allocator,
            policy,
            statements,
            streamer,
            ingest,
            tableSchemas,
            statementIdleTimeout,
            maxPreparedStatements);
    OpsActions ops = new OpsActions(hyprstream, policy, health);
    return new Handlers(catalog, streamer, statements, ingest, prepared, ops);
  }

  /** Waits for running result streams, then forgets every prepared statement. */
  @Override
  public void close() {
    try {
      AutoCloseables.close(streamer, prepared);
    } catch (Exception e) {
      throw new IllegalStateException("closing the Flight SQL handlers failed: " + e, e);
    }
  }
}
