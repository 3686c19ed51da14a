package io.hyprstream.flight;

import io.hyprstream.Hyprstream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.arrow.flight.AsyncPutListener;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMilliVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;

/**
 * Measures the closing-note figures in one run, outside any test (not run by {@code mvn verify}):
 * DoPut ingest over loopback next to in-process ingest, JDBC latency of the 24-hour window query,
 * and ingest-to-visible latency over Flight. Server and clients share one JVM on this machine.
 *
 * <p>Run: see docs/server.md ("Measuring").
 */
public final class FlightFigures {
  private static final int ROWS = Integer.getInteger("rows", 10_000_000);
  private static final int BATCH = Integer.getInteger("batch", 64 * 1024);
  private static final int SERIES = 1000;
  private static final Instant BASE = Instant.now().minus(23, ChronoUnit.HOURS);

  /** Raw rows are kept for two days, so expiry does not run into the ingest figures. */
  private static final java.time.Duration KEEP_EVERYTHING = java.time.Duration.ofDays(2);

  private FlightFigures() {}

  public static void main(String[] args) throws Exception {
    System.out.printf("rows=%d batch=%d series=%d%n", ROWS, BATCH, SERIES);
    double inProcess = inProcessIngest();
    double doPut = doPutIngest();
    System.out.printf(
        "ingest: in-process %.2f M rows/s, DoPut over loopback %.2f M rows/s (%.2fx)%n",
        inProcess / 1e6, doPut / 1e6, doPut / inProcess);
    windowQueryAndVisibility();
  }

  /** Batch {@code i} of the synthetic stream: SERIES ids, timestamps moving forward. */
  private static void fill(VectorSchemaRoot root, int batch) {
    VarCharVector id = (VarCharVector) root.getVector(0);
    TimeStampMilliVector ts = (TimeStampMilliVector) root.getVector(1);
    Float8Vector value = (Float8Vector) root.getVector(2);
    root.allocateNew();
    long first = (long) batch * BATCH;
    // 10 M rows over 22 hours: about 8 ms apart.
    long spacing = Math.max(1, 22L * 3600 * 1000 / ROWS);
    for (int i = 0; i < BATCH; i++) {
      long row = first + i;
      id.setSafe(i, ("m" + (row % SERIES)).getBytes(StandardCharsets.UTF_8));
      ts.setSafe(i, BASE.toEpochMilli() + row * spacing);
      value.setSafe(i, (row % 100) / 10.0);
    }
    root.setRowCount(BATCH);
  }

  private static double inProcessIngest() throws Exception {
    try (BufferAllocator allocator = new RootAllocator();
        Hyprstream hs =
            Hyprstream.builder().allocator(allocator).cacheDuration(KEEP_EVERYTHING).build();
        VectorSchemaRoot root = VectorSchemaRoot.create(TestServer.METRICS_BATCH, allocator)) {
      int batches = ROWS / BATCH;
      long start = System.nanoTime();
      for (int b = 0; b < batches; b++) {
        fill(root, b);
        hs.ingest("metrics", root);
      }
      countRows(hs, allocator);
      double seconds = (System.nanoTime() - start) / 1e9;
      return batches * (double) BATCH / seconds;
    }
  }

  private static double doPutIngest() throws Exception {
    try (TestServer server = new TestServer(10_000, KEEP_EVERYTHING);
        FlightClient client = FlightClient.builder(server.allocator, server.location()).build();
        VectorSchemaRoot root =
            VectorSchemaRoot.create(TestServer.METRICS_BATCH, server.allocator)) {
      int batches = ROWS / BATCH;
      long start = System.nanoTime();
      FlightClient.ClientStreamListener put =
          client.startPut(FlightDescriptor.path("metrics"), root, new AsyncPutListener());
      for (int b = 0; b < batches; b++) {
        // putNext sends asynchronously: allocateNew (in fill) before refilling the root.
        fill(root, b);
        put.putNext();
      }
      put.completed();
      put.getResult();
      countRows(server.hyprstream, server.allocator);
      double seconds = (System.nanoTime() - start) / 1e9;
      return batches * (double) BATCH / seconds;
    }
  }

  private static void countRows(Hyprstream hs, BufferAllocator allocator) throws Exception {
    try (ArrowReader r = hs.query("SELECT count(*) FROM metrics", List.of(), allocator)) {
      r.loadNextBatch();
      System.out.println("  rows stored: " + r.getVectorSchemaRoot().getVector(0).getObject(0));
    }
  }

  private static void windowQueryAndVisibility() throws Exception {
    try (TestServer server = new TestServer();
        VectorSchemaRoot root =
            VectorSchemaRoot.create(TestServer.METRICS_BATCH, server.allocator)) {
      // A day of 1-minute points for every series, so each 1h view has 24 windows per key.
      int points = 24 * 60;
      for (int p = 0; p < points; p++) {
        String[] ids = new String[SERIES];
        Instant[] times = new Instant[SERIES];
        double[] values = new double[SERIES];
        for (int s = 0; s < SERIES; s++) {
          ids[s] = "m" + s;
          times[s] = BASE.plusSeconds(60L * p);
          values[s] = s + p;
        }
        try (VectorSchemaRoot batch = TestServer.metrics(server.allocator, ids, times, values)) {
          server.hyprstream.ingest("metrics", batch);
        }
      }
      try (Connection c = FlightJdbc.connect(server.jdbcUrl());
          PreparedStatement ps =
              c.prepareStatement(
                  "SELECT * FROM metrics_1h WHERE metric_id = ?"
                      + " ORDER BY window_start DESC LIMIT 24")) {
        int warm = Integer.getInteger("warmup", 5000);
        int n = Integer.getInteger("iterations", 20000);
        long[] lat = new long[n];
        int rows = 0;
        for (int i = -warm; i < n; i++) {
          long t0 = System.nanoTime();
          ps.setString(1, "m" + Math.floorMod(i, SERIES));
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              rows++;
            }
          }
          if (i >= 0) {
            lat[i] = System.nanoTime() - t0;
          }
        }
        System.out.printf(
            "JDBC 24h window query (reused PreparedStatement): %s (%d rows read)%n",
            percentiles(lat), rows);
      }

      try (FlightClient flight = FlightClient.builder(server.allocator, server.location()).build();
          FlightSqlClient sql = new FlightSqlClient(flight);
          FlightSqlClient.PreparedStatement ps =
              sql.prepare("SELECT value_count FROM metrics_5m WHERE metric_id = ?");
          VectorSchemaRoot param =
              VectorSchemaRoot.create(ps.getParameterSchema(), server.allocator)) {
        int warm = 2000;
        int n = Integer.getInteger("visibleIterations", 5000);
        long[] lat = new long[n];
        int extraPolls = 0;
        for (int i = -warm; i < n; i++) {
          String id = "fresh-" + i;
          long t0 = System.nanoTime();
          try (VectorSchemaRoot one =
              TestServer.metrics(
                  server.allocator,
                  new String[] {id},
                  new Instant[] {Instant.now()},
                  new double[] {1})) {
            FlightClient.ClientStreamListener put =
                flight.startPut(FlightDescriptor.path("metrics"), one, new AsyncPutListener());
            put.putNext();
            put.completed();
            put.getResult();
          }
          param.allocateNew();
          ((VarCharVector) param.getVector(0)).setSafe(0, id.getBytes(StandardCharsets.UTF_8));
          param.setRowCount(1);
          ps.setParameters(param);
          while (true) {
            long seen = 0;
            var info = ps.execute();
            try (FlightStream s = sql.getStream(info.getEndpoints().get(0).getTicket())) {
              while (s.next()) {
                seen += s.getRoot().getRowCount();
              }
            }
            if (seen > 0) {
              break;
            }
            extraPolls++;
          }
          if (i >= 0) {
            lat[i] = System.nanoTime() - t0;
          }
        }
        System.out.printf(
            "ingest-to-visible over Flight (1-row DoPut, then prepared window query until seen):"
                + " %s, polls beyond the first: %d%n",
            percentiles(lat), extraPolls);
      }
    }
  }

  private static String percentiles(long[] nanos) {
    long[] s = nanos.clone();
    Arrays.sort(s);
    List<String> out = new ArrayList<>();
    for (double p : new double[] {0.5, 0.9, 0.99, 0.999}) {
      out.add(String.format("p%s %.3f ms", trim(p * 100), s[(int) (p * (s.length - 1))] / 1e6));
    }
    return String.join(", ", out);
  }

  private static String trim(double d) {
    return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
  }
}
