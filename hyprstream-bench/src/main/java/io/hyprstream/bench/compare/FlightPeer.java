package io.hyprstream.bench.compare;

import io.hyprstream.Hyprstream;
import io.hyprstream.bench.Arrows;
import io.hyprstream.flight.HyprstreamServer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.AsyncPutListener;
import org.apache.arrow.flight.CallOption;
import org.apache.arrow.flight.CallOptions;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.util.AutoCloseables;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorLoader;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Hyprstream over Arrow Flight SQL on loopback: a {@link HyprstreamServer} on 127.0.0.1, port 0, in
 * this JVM; the client ingests with Flight {@code DoPut} and queries with {@link
 * FlightSqlClient#execute} (GetFlightInfo + DoGet, two RPCs per query).
 */
final class FlightPeer implements Peer {
  private final BufferAllocator serverAllocator;
  private final BufferAllocator clientAllocator;
  private final Hyprstream hs;
  private final HyprstreamServer server;
  private final FlightClient client;
  private final FlightSqlClient sql;
  private final Map<String, FlightSqlClient.PreparedStatement> prepared = new HashMap<>();

  /** True after a query stream stopped short (its deadline passed). */
  private boolean stalled;

  /** The one parameter of the prepared statements: a metric id. */
  private final VectorSchemaRoot param;

  FlightPeer(BufferAllocator parent) {
    List<AutoCloseable> opened = new ArrayList<>();
    try {
      serverAllocator = parent.newChildAllocator("flight-server", 0, Long.MAX_VALUE);
      opened.add(serverAllocator);
      clientAllocator = parent.newChildAllocator("flight-client", 0, Long.MAX_VALUE);
      opened.add(clientAllocator);
      hs = HyprstreamPeer.configured(serverAllocator).build();
      opened.add(hs);
      // The server's buffers under the instance's root, as the shipped server has them: DoPut
      // batches are then handed to the instance without a copy.
      server =
          HyprstreamServer.builder(hs).allocator(serverAllocator).host("127.0.0.1").port(0).start();
      opened.add(server);
      client = FlightClient.builder(clientAllocator, server.location()).build();
      opened.add(client);
      sql = new FlightSqlClient(client);
      param =
          VectorSchemaRoot.create(
              new Schema(
                  List.of(
                      new Field("metric_id", FieldType.notNullable(new ArrowType.Utf8()), null))),
              clientAllocator);
      opened.add(param);
    } catch (RuntimeException e) {
      java.util.Collections.reverse(opened);
      try {
        AutoCloseables.close(opened);
      } catch (Exception suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  @Override
  public String version() {
    return "Hyprstream " + HyprstreamPeer.versionOf(hs, serverAllocator) + ", Arrow Flight SQL";
  }

  @Override
  public String settings() {
    return "`HyprstreamServer` on 127.0.0.1 (port 0) in the same JVM, plaintext gRPC; client:"
        + " Arrow `FlightClient` `DoPut` of the data's batches (W1) and of the 100-row batch"
        + " (W4), each batch sent once gRPC takes it (the client parks between looks instead of"
        + " Arrow Java's spin in `putNext`); W2 and W4 by `FlightSqlClient` prepared statements"
        + " (prepared once, the metric id bound: DoPut, GetFlightInfo, DoGet per query), W3 by"
        + " `FlightSqlClient.execute`"
        + " (GetFlightInfo, DoGet). Server instance configured as in-process: "
        + HyprstreamPeer.SETTINGS;
  }

  @Override
  public void ingest(List<VectorSchemaRoot> batches) throws Exception {
    put(batches);
    HyprstreamPeer.checkCount(hs, serverAllocator, batches);
  }

  private void put(List<VectorSchemaRoot> batches) {
    try (VectorSchemaRoot root =
        VectorSchemaRoot.create(batches.get(0).getSchema(), clientAllocator)) {
      AsyncPutListener ack = new AsyncPutListener();
      FlightClient.ClientStreamListener put =
          client.startPut(FlightDescriptor.path(Hyprstream.METRICS_TABLE), root, ack);
      VectorLoader loader = new VectorLoader(root);
      for (VectorSchemaRoot b : batches) {
        // putNext sends asynchronously; loading replaces (does not overwrite) the root's buffers.
        try (ArrowRecordBatch rb = new VectorUnloader(b).getRecordBatch()) {
          loader.load(rb);
        }
        Arrows.putNextWhenReady(put, ack);
      }
      put.completed();
      put.getResult();
    }
  }

  private void query(String text, ResultHandler handler) throws Exception {
    // Bounded: a large DoGet result can stall on the server's backpressure wait (see the report).
    CallOption deadline = CallOptions.timeout(30, TimeUnit.SECONDS);
    FlightInfo info = sql.execute(text, deadline);
    stalled = true; // until the stream is read to its end
    try (FlightStream s = sql.getStream(info.getEndpoints().get(0).getTicket(), deadline)) {
      handler.accept(
          new ArrowAnswers.BatchSource() {
            @Override
            public boolean next() {
              return s.next();
            }

            @Override
            public VectorSchemaRoot root() {
              return s.getRoot();
            }
          });
    }
    stalled = false;
  }

  @FunctionalInterface
  private interface ResultHandler {
    void accept(ArrowAnswers.BatchSource s) throws Exception;
  }

  static String quote(String s) {
    return "'" + s.replace("'", "''") + "'";
  }

  @Override
  public Hourly lastHourly(String mode, String metricId) throws Exception {
    Hourly h = new Hourly(24);
    prepared(HyprstreamPeer.LOOKUP_SQL, metricId, s -> ArrowAnswers.hourly(s, h));
    return h;
  }

  /**
   * Runs a prepared statement (created once per SQL text) with the metric id bound: DoPut of the
   * parameter, GetFlightInfo, DoGet. The schema is computed once, at prepare time.
   */
  private void prepared(String text, String metricId, ResultHandler handler) throws Exception {
    FlightSqlClient.PreparedStatement ps = prepared.get(text);
    if (ps == null) {
      ps = sql.prepare(text);
      prepared.put(text, ps);
    }
    param.allocateNew();
    ((VarCharVector) param.getVector(0)).setSafe(0, metricId.getBytes(StandardCharsets.UTF_8));
    param.setRowCount(1);
    ps.setParameters(param);
    FlightInfo info = ps.execute();
    try (FlightStream s = sql.getStream(info.getEndpoints().get(0).getTicket())) {
      handler.accept(
          new ArrowAnswers.BatchSource() {
            @Override
            public boolean next() {
              return s.next();
            }

            @Override
            public VectorSchemaRoot root() {
              return s.getRoot();
            }
          });
    }
  }

  @Override
  public void allFiveMinute(String mode, WindowGrid into, int run) throws Exception {
    query(
        String.format(Locale.ROOT, HyprstreamPeer.ALL_5M_SQL, run),
        s -> ArrowAnswers.grid(s, into));
  }

  @Override
  public void ingestSmall(VectorSchemaRoot batch) {
    put(List.of(batch));
  }

  @Override
  public long windowCount(String mode, String metricId, long windowStartMicros) throws Exception {
    long[] count = new long[1];
    String text =
        "SELECT * FROM metrics_5m WHERE metric_id = ? AND window_start >= TIMESTAMP '"
            + HyprstreamPeer.sqlTimestamp(windowStartMicros)
            + "' ORDER BY window_start";
    prepared(text, metricId, s -> count[0] = ArrowAnswers.firstCount(s));
    return count[0];
  }

  @Override
  public long nativeBytes() {
    return HyprstreamPeer.nativeBytesOf(hs, serverAllocator) + clientAllocator.getAllocatedMemory();
  }

  @Override
  public String memoryNote() {
    return "as in-process, plus the Flight client's Arrow buffers";
  }

  @Override
  public void close() {
    List<AutoCloseable> all = new ArrayList<>(prepared.values());
    all.addAll(List.of(param, sql, server, hs, clientAllocator, serverAllocator));
    if (!stalled) {
      try {
        AutoCloseables.close(all);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      return;
    }
    // After a stalled DoGet the server still holds that stream's buffers: say so, go on.
    for (AutoCloseable c : all) {
      try {
        c.close();
      } catch (Exception e) {
        CompareRunner.log("Flight peer: closing after a stalled stream: %s", String.valueOf(e));
      }
    }
  }
}
