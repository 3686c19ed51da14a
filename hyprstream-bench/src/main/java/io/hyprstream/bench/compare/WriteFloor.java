package io.hyprstream.bench.compare;

import io.hyprstream.Hyprstream;
import io.hyprstream.bench.Arrows;
import java.io.IOException;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.duckdb.DuckDBConnection;

/**
 * The ceiling over W1's ratio to DuckDB on this machine: DuckDB alone, in this JVM, appending what
 * a Hyprstream instance holds after W1 (the raw rows with their running columns, and every row of
 * every window view), against DuckDB appending the input's three columns, as the DuckDB peer does.
 *
 * <p>Each stored row is appended once, by plain {@code INSERT}, 16 batches of the cache's result
 * size per statement (the flusher groups as many): no aggregation, no upsert, no view sync. So no
 * ingest pipeline that leaves the same rows in DuckDB can beat this ratio; what Hyprstream's W1
 * ratio falls short of it is the aggregation's and the pipeline's own cost.
 */
final class WriteFloor {
  /** Batches per {@code INSERT}, as the DuckDB peer appends ({@link DuckDbPeer#GROUP}). */
  private static final int GROUP = DuckDbPeer.GROUP;

  /**
   * Timed rounds, each appending the input and then the stored rows into fresh databases; one
   * untimed round before them warms both up.
   */
  static final int ROUNDS = 3;

  /** What one measurement found: the stored rows per table, and each round's times. */
  record Result(Map<String, Long> storedRows, double[] inputMillis, double[] storedMillis) {
    /** Input time ÷ stored time per round, sorted: the ceiling of W1's ratio in each round. */
    double[] ratios() {
      double[] r = new double[inputMillis.length];
      for (int i = 0; i < r.length; i++) {
        r[i] = inputMillis[i] / storedMillis[i];
      }
      Arrays.sort(r);
      return r;
    }

    /** The report's note. */
    String note(String instanceLabel) {
      long raw = storedRows.getOrDefault(Hyprstream.METRICS_TABLE, 0L);
      long windows = storedRows.values().stream().mapToLong(Long::longValue).sum() - raw;
      double[] r = ratios();
      return String.format(
          Locale.ROOT,
          "W1's ceiling in this run: DuckDB alone appending what %s holds after W1 (%,d raw rows"
              + " with their running columns and %,d rows of %d window views, each row once, %d"
              + " batches per `INSERT`, no aggregation) took %s ms against %s ms for the input's"
              + " three columns (%d rounds after one untimed): **%.2fx** (%.2f–%.2fx), the"
              + " highest W1 ratio to DuckDB any pipeline leaving those rows in DuckDB could"
              + " reach here.",
          instanceLabel,
          raw,
          windows,
          storedRows.size() - 1,
          GROUP,
          millis(storedMillis),
          millis(inputMillis),
          inputMillis.length,
          r[r.length / 2],
          r[0],
          r[r.length - 1]);
    }

    private static String millis(double[] ms) {
      StringBuilder b = new StringBuilder();
      for (double m : ms) {
        b.append(b.length() == 0 ? "" : " / ").append(String.format(Locale.ROOT, "%,.0f", m));
      }
      return b.toString();
    }
  }

  private final BufferAllocator allocator;
  private int streams;

  private WriteFloor(BufferAllocator allocator) {
    this.allocator = allocator;
  }

  /**
   * Reads every row {@code hs} stores for the metrics table and its window {@code views}, then
   * times DuckDB appending them against appending {@code input}. Releases every buffer it
   * allocated.
   */
  static Result measure(
      Hyprstream hs, List<String> views, List<VectorSchemaRoot> input, BufferAllocator parent)
      throws IOException, SQLException {
    try (BufferAllocator allocator = parent.newChildAllocator("write-floor", 0, Long.MAX_VALUE)) {
      Map<String, List<VectorSchemaRoot>> stored = new LinkedHashMap<>();
      try {
        List<String> tables = new ArrayList<>();
        tables.add(Hyprstream.METRICS_TABLE);
        tables.addAll(views);
        for (String t : tables) {
          stored.put(t, read(hs, t, allocator));
        }
        Map<String, Long> rows = new LinkedHashMap<>();
        stored.forEach(
            (t, batches) ->
                rows.put(t, batches.stream().mapToLong(VectorSchemaRoot::getRowCount).sum()));
        long inputRows = input.stream().mapToLong(VectorSchemaRoot::getRowCount).sum();
        if (rows.getOrDefault(Hyprstream.METRICS_TABLE, 0L) != inputRows) {
          throw new IllegalStateException(
              "the instance holds " + rows + " rows, expected " + inputRows + " raw rows");
        }
        WriteFloor floor = new WriteFloor(allocator);
        Map<String, List<VectorSchemaRoot>> inputOnly = Map.of("raw", input);
        double[] inputMillis = new double[ROUNDS];
        double[] storedMillis = new double[ROUNDS];
        for (int round = -1; round < ROUNDS; round++) {
          double in = floor.appendAll(inputOnly);
          double out = floor.appendAll(stored);
          if (round >= 0) {
            inputMillis[round] = in;
            storedMillis[round] = out;
          }
        }
        return new Result(rows, inputMillis, storedMillis);
      } finally {
        stored.values().forEach(l -> l.forEach(VectorSchemaRoot::close));
      }
    }
  }

  /** Every row of {@code table}, as the cache returns it, in buffers of {@code allocator}. */
  private static List<VectorSchemaRoot> read(Hyprstream hs, String table, BufferAllocator allocator)
      throws IOException {
    List<VectorSchemaRoot> batches = new ArrayList<>();
    try (ArrowReader r = hs.query("SELECT * FROM " + table, List.of(), allocator)) {
      while (r.loadNextBatch()) {
        batches.add(Arrows.share(r.getVectorSchemaRoot(), allocator));
      }
    } catch (IOException | RuntimeException e) {
      batches.forEach(VectorSchemaRoot::close);
      throw e;
    }
    return batches;
  }

  /**
   * Appends each table's batches into a fresh in-memory DuckDB, {@link #GROUP} per statement;
   * returns the milliseconds the appends took (creating the tables not counted).
   */
  private double appendAll(Map<String, List<VectorSchemaRoot>> tables) throws SQLException {
    try (DuckDBConnection conn = (DuckDBConnection) DriverManager.getConnection("jdbc:duckdb:")) {
      for (Map.Entry<String, List<VectorSchemaRoot>> t : tables.entrySet()) {
        DuckDbPeer.executeOverBatches(
            conn,
            allocator,
            "write_floor_" + (++streams),
            t.getValue().subList(0, 1),
            "CREATE TABLE " + t.getKey() + " AS SELECT * FROM %s LIMIT 0");
      }
      long t0 = System.nanoTime();
      for (Map.Entry<String, List<VectorSchemaRoot>> t : tables.entrySet()) {
        List<VectorSchemaRoot> batches = t.getValue();
        for (int i = 0; i < batches.size(); i += GROUP) {
          DuckDbPeer.executeOverBatches(
              conn,
              allocator,
              "write_floor_" + (++streams),
              batches.subList(i, Math.min(batches.size(), i + GROUP)),
              "INSERT INTO " + t.getKey() + " SELECT * FROM %s");
        }
      }
      double millis = (System.nanoTime() - t0) / 1e6;
      for (Map.Entry<String, List<VectorSchemaRoot>> t : tables.entrySet()) {
        long expected = t.getValue().stream().mapToLong(VectorSchemaRoot::getRowCount).sum();
        try (Statement st = conn.createStatement();
            ResultSet rs = st.executeQuery("SELECT count(*) FROM " + t.getKey())) {
          rs.next();
          if (rs.getLong(1) != expected) {
            throw new IllegalStateException(
                t.getKey() + " holds " + rs.getLong(1) + " rows, appended " + expected);
          }
        }
      }
      return millis;
    }
  }
}
