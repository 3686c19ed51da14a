package io.hyprstream.backend;

import io.hyprstream.api.BackendStore;
import io.hyprstream.testing.PostgresAvailable;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

/**
 * Append rows/s into PostgreSQL: {@link PostgresBackendStore} (binary and text COPY, ledger row in
 * the same transaction) next to a plain pgjdbc binary COPY of the same batches, in one run. Not a
 * unit test; run with {@code mvn -pl hyprstream-core exec:exec
 * -Dexec.mainClass=io.hyprstream.backend.PostgresAppendFigures -Dexec.classpathScope=test} (see
 * docs/backends.md).
 */
public final class PostgresAppendFigures {
  private PostgresAppendFigures() {}

  public static void main(String[] args) throws Exception {
    int total = args.length > 0 ? Integer.parseInt(args[0]) : 1 << 20;
    int batchRows = 64 * 1024;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    String schema = "hs_figures_" + ProcessHandle.current().pid();
    try (BufferAllocator allocator = new RootAllocator()) {
      List<VectorSchemaRoot> batches = new ArrayList<>();
      for (int off = 0; off < total; off += batchRows) {
        batches.add(Batches.metrics(allocator, Math.min(batchRows, total - off), off));
      }
      try {
        for (int round = 1; round <= rounds; round++) {
          double plain = plainCopy(schema, batches, allocator, round);
          double binary = store(schema, "binary", batches, allocator, round);
          double text = store(schema, "text", batches, allocator, round);
          System.out.printf(
              "round %d: %,d rows in %d-row batches | plain pgjdbc binary COPY %,.0f rows/s |"
                  + " store binary %,.0f rows/s (%.2fx) | store text %,.0f rows/s (%.2fx)%n",
              round, total, batchRows, plain, binary, binary / plain, text, text / plain);
        }
      } finally {
        batches.forEach(VectorSchemaRoot::close);
        try (Connection c =
                DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
            Statement st = c.createStatement()) {
          st.execute("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
        }
      }
    }
  }

  private static double store(
      String schema, String format, List<VectorSchemaRoot> batches, BufferAllocator a, int round) {
    try (BackendStore s =
        BackendStores.open(
            "adbc",
            PostgresAvailable.URI,
            Map.of("schema", schema, "copy_format", format),
            null,
            null,
            a)) {
      String table = "store_" + format + "_" + round;
      s.append(table, "warm-" + table, batches.get(0)); // creates the table outside the timing
      long rows = 0;
      long t0 = System.nanoTime();
      for (int i = 0; i < batches.size(); i++) {
        s.append(table, table + "-" + i, batches.get(i));
        rows += batches.get(i).getRowCount();
      }
      return rows / ((System.nanoTime() - t0) / 1e9);
    }
  }

  /** The same binary COPY bytes, sent by hand over one connection: one transaction per batch. */
  static double plainCopy(
      String schema, List<VectorSchemaRoot> batches, BufferAllocator a, int round)
      throws Exception {
    String table = "\"" + schema + "\".plain_" + round;
    try (Connection c =
            DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
        Statement st = c.createStatement()) {
      st.execute("CREATE SCHEMA IF NOT EXISTS \"" + schema + "\"");
      st.execute(
          "CREATE TABLE "
              + table
              + " (metric_id TEXT NOT NULL, \"timestamp\" TIMESTAMP NOT NULL, value DOUBLE"
              + " PRECISION)");
      c.setAutoCommit(false);
      List<String> cols = List.of("metric_id", "timestamp", "value");
      long rows = 0;
      long t0 = System.nanoTime();
      for (VectorSchemaRoot b : batches) {
        PgCopyEncoder enc = new PgCopyEncoder("plain", b, cols, PgCopyEncoder.Format.BINARY);
        CopyIn in =
            c.unwrap(PGConnection.class)
                .getCopyAPI()
                .copyIn(
                    "COPY "
                        + table
                        + " (metric_id, \"timestamp\", value) FROM STDIN (FORMAT binary)");
        enc.writeTo(in, b.getRowCount());
        in.endCopy();
        c.commit();
        rows += b.getRowCount();
      }
      return rows / ((System.nanoTime() - t0) / 1e9);
    }
  }
}
