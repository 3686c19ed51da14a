package io.hyprstream.backend;

import io.hyprstream.Allocators;
import io.hyprstream.Hyprstream;
import io.hyprstream.internal.table.MetricsTable;
import io.hyprstream.testing.PostgresAvailable;
import io.hyprstream.testing.TcpProxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.util.TransferPair;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

/**
 * Issue 4's figures in one run against the PostgreSQL on 127.0.0.1:5432: write-through drain rate
 * next to two plain binary COPYs of the same rows, of their input form (3 columns, no index) and of
 * the form the engine stores and sends (6 columns, the store's BRIN index); ingest rows/s with the
 * backend attached next to without; first (backend) and repeated (kept result) latency of a
 * read-through query; time for a new instance to serve again over a log holding every row. Not a
 * unit test: run with {@code java --add-opens=java.base/java.nio=ALL-UNNAMED -cp
 * target/classes:target/test-classes:DEPS io.hyprstream.backend.WriteThroughFigures [ROWS]}.
 */
public final class WriteThroughFigures {
  private WriteThroughFigures() {}

  public static void main(String[] args) throws Exception {
    int total = args.length > 0 ? Integer.parseInt(args[0]) : 2_000_000;
    int batchRows = 64 * 1024;
    String schema = "hs_wtfig_" + ProcessHandle.current().pid();
    Path tmp = Files.createTempDirectory("hs-wt-figures");
    // The allocator the server uses (Allocators.newRoot): released buffers are reused.
    try (BufferAllocator allocator = Allocators.newRoot()) {
      List<VectorSchemaRoot> batches = new ArrayList<>();
      for (int off = 0; off < total; off += batchRows) {
        batches.add(Batches.metrics(allocator, Math.min(batchRows, total - off), off));
      }
      try {
        System.out.printf(
            "%,d metrics rows in %d-row batches, schema %s%n", total, batchRows, schema);
        double plain = PostgresAppendFigures.plainCopy(schema, batches, allocator, 1);
        System.out.printf(
            "plain pgjdbc binary COPY, input form (metric_id, timestamp, value; no index):"
                + " %,.0f rows/s%n",
            plain);
        double stored = plainCopyStored(schema, batches, allocator);
        System.out.printf(
            "plain pgjdbc binary COPY, stored form (the 3 input columns and the 3 running columns,"
                + " BRIN index on timestamp, as the store creates): %,.0f rows/s%n",
            stored);

        double[] callsWithout = new double[1];
        double without = ingest(batches, allocator, callsWithout);
        Result with = ingestAndDrain(schema + "_a", batches, allocator, tmp.resolve("pg"));
        System.out.printf(
            "ingest rows/s: without backend %,.0f | with PostgreSQL %,.0f (%.2fx)%n",
            without, with.ingestRate, with.ingestRate / without);
        System.out.printf(
            "write-through drain: %,.0f rows/s (%.2fx plain COPY of the input form, %.2fx of the"
                + " stored form)%n",
            with.drainRate, with.drainRate / plain, with.drainRate / stored);

        readThrough(schema + "_a", allocator, tmp.resolve("pg"));
        restart(schema + "_r", batches, tmp.resolve("restart"), callsWithout[0]);
      } finally {
        batches.forEach(VectorSchemaRoot::close);
        try (Connection c =
                DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
            Statement st = c.createStatement()) {
          for (String s : List.of(schema, schema + "_a", schema + "_r")) {
            st.execute("DROP SCHEMA IF EXISTS \"" + s + "\" CASCADE");
          }
        }
      }
    }
  }

  /**
   * A plain binary COPY, one transaction per batch on one connection, of the rows in the form the
   * engine stores and sends them: the input columns plus the three running columns (non-null values
   * of the same types; their values cost PostgreSQL nothing different), into a table with the
   * store's DDL (NOT NULL, a BRIN index on the timestamp). No ledger, no log, no engine.
   */
  private static double plainCopyStored(
      String schema, List<VectorSchemaRoot> batches, BufferAllocator allocator) throws Exception {
    List<VectorSchemaRoot> stored = new ArrayList<>(batches.size());
    try {
      for (VectorSchemaRoot b : batches) {
        stored.add(withRunningColumns(b, allocator));
      }
      String table = "\"" + schema + "\".plain_stored";
      List<String> cols =
          List.of(
              MetricsTable.METRIC_ID,
              MetricsTable.TIMESTAMP,
              MetricsTable.VALUE,
              MetricsTable.RUNNING_SUM,
              MetricsTable.RUNNING_AVG,
              MetricsTable.RUNNING_COUNT);
      try (Connection c =
              DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
          Statement st = c.createStatement()) {
        st.execute("CREATE SCHEMA IF NOT EXISTS \"" + schema + "\"");
        st.execute(
            "CREATE TABLE "
                + table
                + " (metric_id TEXT NOT NULL, \"timestamp\" TIMESTAMP NOT NULL, value DOUBLE"
                + " PRECISION, value_running_window_sum DOUBLE PRECISION,"
                + " value_running_window_avg DOUBLE PRECISION, value_running_window_count BIGINT)");
        st.execute("CREATE INDEX ON " + table + " USING brin (\"timestamp\")");
        c.setAutoCommit(false);
        String sql = "COPY " + table + " FROM STDIN (FORMAT binary)";
        long rows = 0;
        long t0 = System.nanoTime();
        for (VectorSchemaRoot b : stored) {
          PgCopyEncoder enc = new PgCopyEncoder("plain", b, cols, PgCopyEncoder.Format.BINARY);
          CopyIn in = c.unwrap(PGConnection.class).getCopyAPI().copyIn(sql);
          enc.writeTo(in, b.getRowCount());
          in.endCopy();
          c.commit();
          rows += b.getRowCount();
        }
        return rows / ((System.nanoTime() - t0) / 1e9);
      }
    } finally {
      stored.forEach(VectorSchemaRoot::close);
    }
  }

  /** {@code batch}'s columns (shared) and the three running columns, filled. */
  private static VectorSchemaRoot withRunningColumns(
      VectorSchemaRoot batch, BufferAllocator allocator) {
    int n = batch.getRowCount();
    List<FieldVector> vectors = new ArrayList<>();
    for (FieldVector v : batch.getFieldVectors()) {
      TransferPair t = v.getTransferPair(allocator);
      t.splitAndTransfer(0, n); // shares the buffers; the original keeps its own
      vectors.add((FieldVector) t.getTo());
    }
    Float8Vector sum = new Float8Vector(MetricsTable.RUNNING_SUM, allocator);
    Float8Vector avg = new Float8Vector(MetricsTable.RUNNING_AVG, allocator);
    BigIntVector count = new BigIntVector(MetricsTable.RUNNING_COUNT, allocator);
    sum.allocateNew(n);
    avg.allocateNew(n);
    count.allocateNew(n);
    for (int i = 0; i < n; i++) {
      sum.set(i, i * 1.5);
      avg.set(i, i * 0.5);
      count.set(i, i % 300 + 1);
    }
    for (FieldVector v : List.<FieldVector>of(sum, avg, count)) {
      v.setValueCount(n);
      vectors.add(v);
    }
    return new VectorSchemaRoot(vectors);
  }

  private static final class Result {
    double ingestRate;
    double drainRate;
  }

  private static Hyprstream open(
      String schema, BufferAllocator allocator, Path data, String uri, Duration cacheDuration) {
    return Hyprstream.builder()
        .allocator(allocator)
        .cacheDuration(cacheDuration)
        .expiryInterval(Duration.ZERO)
        .backend(BackendStores.open("adbc", uri, Map.of("schema", schema), null, null, allocator))
        .dataDirectory(data)
        .drainTimeout(Duration.ofMinutes(10))
        .build();
  }

  /**
   * Ingest rows/s without a backend, through to DuckDB; {@code callsOnly[0]} gets the rate of the
   * ingest calls alone, before DuckDB's flush is awaited.
   */
  private static double ingest(
      List<VectorSchemaRoot> batches, BufferAllocator allocator, double[] callsOnly)
      throws Exception {
    try (Hyprstream hs =
        Hyprstream.builder()
            .allocator(allocator)
            .cacheDuration(Duration.ofDays(30))
            .expiryInterval(Duration.ZERO)
            .build()) {
      long rows = 0;
      long t0 = System.nanoTime();
      for (VectorSchemaRoot b : batches) {
        rows += hs.ingest("metrics", b).rowsAccepted();
      }
      callsOnly[0] = rows / ((System.nanoTime() - t0) / 1e9);
      count(hs, "SELECT count(*) FROM metrics");
      return rows / ((System.nanoTime() - t0) / 1e9);
    }
  }

  private static Result ingestAndDrain(
      String schema, List<VectorSchemaRoot> batches, BufferAllocator allocator, Path data)
      throws Exception {
    Result r = new Result();
    try (Hyprstream hs =
        open(schema, allocator, data, PostgresAvailable.URI, Duration.ofDays(30))) {
      long rows = 0;
      long t0 = System.nanoTime();
      for (VectorSchemaRoot b : batches) {
        rows += hs.ingest("metrics", b).rowsAccepted();
      }
      count(hs, "SELECT count(*) FROM metrics");
      long t1 = System.nanoTime();
      while (hs.operations().writeThrough().committedRows() < rows) {
        Thread.sleep(1);
      }
      long t2 = System.nanoTime();
      r.ingestRate = rows / ((t1 - t0) / 1e9);
      r.drainRate = rows / ((t2 - t0) / 1e9);
    }
    return r;
  }

  private static void readThrough(String schema, BufferAllocator allocator, Path data)
      throws Exception {
    // A one-minute cache: the data set's older rows are the backend's alone.
    try (Hyprstream hs =
        open(schema, allocator, data, PostgresAvailable.URI, Duration.ofMinutes(1))) {
      String sql =
          "SELECT metric_id, count(*), avg(value) FROM metrics WHERE timestamp >= '2000-01-01 00:00:00'"
              + " GROUP BY metric_id";
      long t0 = System.nanoTime();
      count(hs, sql);
      long first = System.nanoTime() - t0;
      double[] repeats = new double[200];
      for (int i = 0; i < repeats.length; i++) {
        long s = System.nanoTime();
        count(hs, sql);
        repeats[i] = (System.nanoTime() - s) / 1e6;
      }
      Arrays.sort(repeats);
      System.out.printf(
          "read-through: first (PostgreSQL) %.1f ms | repeated (kept result) p50 %.3f ms, p99 %.3f ms%n",
          first / 1e6, repeats[repeats.length / 2], repeats[(int) (repeats.length * 0.99)]);
    }
  }

  /** Logs every row with PostgreSQL cut off, abandons that instance, and times a new one. */
  private static void restart(
      String schema, List<VectorSchemaRoot> batches, Path data, double without) throws Exception {
    long rows = 0;
    TcpProxy proxy = new TcpProxy(5432);
    BufferAllocator first = new RootAllocator();
    String viaProxy = "postgresql://postgres@127.0.0.1:" + proxy.port() + "/test";
    Hyprstream crashed = open(schema, first, data, viaProxy, Duration.ofDays(30));
    proxy.cut(); // nothing reaches PostgreSQL: every row stays in the log
    long t = System.nanoTime();
    for (VectorSchemaRoot b : batches) {
      rows += crashed.ingest("metrics", b).rowsAccepted();
    }
    // No query after: with PostgreSQL cut off it would wait connect_timeout for the backend.
    double logOnly = rows / ((System.nanoTime() - t) / 1e9);
    System.out.printf(
        "ingest calls alone (DuckDB's flush not awaited): without backend %,.0f | with the"
            + " write-ahead log but PostgreSQL cut off %,.0f rows/s (%.2fx)%n",
        without, logOnly, logOnly / without);
    // The first instance is abandoned without close(), like a kill -9 (its writer keeps failing).
    long walBytes = crashed.operations().writeThrough().walBytes();
    try (BufferAllocator second = new RootAllocator()) {
      long t0 = System.nanoTime();
      try (Hyprstream hs = open(schema, second, data, PostgresAvailable.URI, Duration.ofDays(30))) {
        long ready = System.nanoTime();
        long cached = count(hs, "SELECT count(*) FROM metrics");
        System.out.printf(
            "restart over a log of %,d rows (%,d bytes): serving again after %.1f s (windows and"
                + " %,d hot rows rebuilt from the log, which is sent to PostgreSQL after)%n",
            rows, walBytes, (ready - t0) / 1e9, cached);
      }
    }
  }

  private static long count(Hyprstream hs, String sql) throws Exception {
    long n = 0;
    try (ArrowReader r = hs.query(sql)) {
      while (r.loadNextBatch()) {
        Object o = r.getVectorSchemaRoot().getVector(0).getObject(0);
        n += o instanceof Number ? ((Number) o).longValue() : r.getVectorSchemaRoot().getRowCount();
      }
    }
    return n;
  }
}
