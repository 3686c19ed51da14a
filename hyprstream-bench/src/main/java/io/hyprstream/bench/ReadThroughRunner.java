package io.hyprstream.bench;

import io.hyprstream.Allocators;
import io.hyprstream.Hyprstream;
import io.hyprstream.QueryResult;
import io.hyprstream.backend.BackendStores;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;

/**
 * The read-through figures of "the cache is an accelerator, never a filter", in one JVM on one
 * seeded data set written through to a real PostgreSQL:
 *
 * <ul>
 *   <li>an unbounded {@code count(*)} over every row, when the cache holds only the last hour: the
 *       engine combines its hot rows with the older ones it reads from PostgreSQL. Next to it,
 *       PostgreSQL answering the same question alone over the same rows.
 *   <li>a query bounded inside the hot hour, which the engine must prove covered and run on DuckDB
 *       alone. Next to it, the same SQL on a plain in-memory DuckDB holding the same hot rows: the
 *       floor the engine ran at before it analysed queries, so the ratio is what the analysis and
 *       routing cost.
 * </ul>
 *
 * <p>The result cache is off, so every run computes its answer.
 */
public final class ReadThroughRunner {
  /** What to run. */
  public static final class Options {
    long rows = 10_000_000;
    int metrics = 1_000;
    long seed = 42;
    int unboundedRuns = 5;
    int hotRuns = 300;
    boolean hotOnly;
    String postgresUrl = "jdbc:postgresql://127.0.0.1:5432/postgres";
    @Nullable Path output;

    public static Options parse(String[] args) {
      BenchArgs a =
          BenchArgs.parse(
              args,
              Set.of(
                  "--rows",
                  "--metrics",
                  "--seed",
                  "--unbounded-runs",
                  "--hot-runs",
                  "--postgres-url"),
              Set.of("--hot-only"));
      Options o = new Options();
      o.output = a.output();
      o.rows = a.longValue("--rows", o.rows);
      o.metrics = a.intValue("--metrics", o.metrics);
      o.seed = a.longValue("--seed", o.seed);
      o.unboundedRuns = a.intValue("--unbounded-runs", o.unboundedRuns);
      o.hotRuns = a.intValue("--hot-runs", o.hotRuns);
      o.hotOnly = a.has("--hot-only");
      o.postgresUrl = a.string("--postgres-url", o.postgresUrl);
      return o;
    }
  }

  /** The database the figures create and drop on the PostgreSQL server. */
  private static final String DATABASE = "hyprstream_bench_readthrough";

  private static final Duration HOT = Duration.ofHours(1);

  private final Options options;
  private final StringBuilder report = new StringBuilder();

  public ReadThroughRunner(Options options) {
    this.options = options;
  }

  public void run() throws Exception {
    recreateDatabase();
    String backendUrl = options.postgresUrl.replaceFirst("/[^/?]*(\\?|$)", "/" + DATABASE + "$1");
    Path dataDir = Files.createTempDirectory("hyprstream-readthrough");
    MetricsData data = new MetricsData(options.rows, options.metrics, options.seed);
    Instant hotFrom = MetricsData.NOW.minus(HOT);
    try (BufferAllocator root = Allocators.newRoot()) {
      List<VectorSchemaRoot> batches = data.batches(root);
      long hotRows = options.rows - MetricsData.rowsBefore(batches, hotFrom);
      try (Hyprstream hs =
              Hyprstream.builder()
                  .allocator(root)
                  .clock(InstantSource.fixed(MetricsData.NOW))
                  .cacheDuration(HOT)
                  .expiryInterval(Duration.ZERO)
                  .resultCacheBytes(0)
                  .dataDirectory(dataDir)
                  .backend(
                      BackendStores.open("adbc", backendUrl, Map.of(), postgresUser(), null, root))
                  .build();
          Connection pg = DriverManager.getConnection(backendUrl, pgProperties())) {
        long started = System.nanoTime();
        for (VectorSchemaRoot b : batches) {
          hs.ingest("metrics", b);
          // Expire as a server would every few seconds, so DuckDB holds about the hot hour.
          hs.expire();
        }
        batches.forEach(VectorSchemaRoot::close);
        batches.clear();
        awaitWriteThrough(hs);
        double loadSeconds = (System.nanoTime() - started) / 1e9;
        hs.expire();
        long cached =
            count(hs, "SELECT count(*) FROM metrics WHERE timestamp >= " + literal(hotFrom));
        report.append(
            String.format(
                Locale.ROOT,
                "Loaded %,d rows (%,d of them in the hot hour) and wrote them through to PostgreSQL"
                    + " in %.1f s; the cache then held the %,d rows of the last hour.%n%n",
                options.rows,
                hotRows,
                loadSeconds,
                cached));
        if (!options.hotOnly) {
          unbounded(hs, pg);
        }
        hotBounded(hs, hotFrom, root);
      } finally {
        batches.forEach(VectorSchemaRoot::close);
      }
    } finally {
      dropDatabase();
      deleteTree(dataDir);
    }
    String text =
        "# Read-through figures\n\n"
            + RunEnv.generatedBy("readthrough")
            + "One run; "
            + String.format(Locale.ROOT, "%,d", options.rows)
            + " rows, "
            + options.metrics
            + " metrics over 7 days, seed "
            + options.seed
            + "; cache duration 1 h; result cache off; PostgreSQL at "
            + options.postgresUrl
            + " on the same machine.\n\n"
            + report;
    System.out.println(text);
    if (options.output != null) {
      Files.writeString(options.output, text);
    }
  }

  private void unbounded(Hyprstream hs, Connection pg) throws Exception {
    String sql = "SELECT count(*) FROM metrics";
    long engineCount = count(hs, sql); // also the warm-up
    long pgCount;
    try (Statement st = pg.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      pgCount = rs.getLong(1);
    }
    if (engineCount != options.rows || pgCount != options.rows) {
      throw new IllegalStateException(
          "wrong answer: the engine counted "
              + engineCount
              + ", PostgreSQL "
              + pgCount
              + ", of "
              + options.rows
              + " acknowledged rows");
    }
    long[] engine = new long[options.unboundedRuns];
    long[] postgres = new long[options.unboundedRuns];
    for (int i = 0; i < options.unboundedRuns; i++) {
      long t = System.nanoTime();
      count(hs, sql);
      engine[i] = System.nanoTime() - t;
      t = System.nanoTime();
      try (Statement st = pg.createStatement();
          ResultSet rs = st.executeQuery(sql)) {
        rs.next();
      }
      postgres[i] = System.nanoTime() - t;
    }
    Stats e = new Stats(engine);
    Stats p = new Stats(postgres);
    report
        .append("## Unbounded `count(*)` over every row, 1 h hot\n\n")
        .append(
            "Both answered "
                + String.format(Locale.ROOT, "%,d", options.rows)
                + " (checked). The engine reads the rows older than its hot hour from PostgreSQL"
                + " and counts them with its hot rows; "
                + options.unboundedRuns
                + " runs each, alternating.\n\n")
        .append("| answered by | median | min | max |\n|---|---|---|---|\n")
        .append(row("Hyprstream (hot rows + PostgreSQL)", e))
        .append(row("PostgreSQL alone", p))
        .append(
            String.format(
                Locale.ROOT,
                "| ratio Hyprstream / PostgreSQL | %.2fx | | |%n%n",
                (double) e.percentile(50) / p.percentile(50)));
  }

  private void hotBounded(Hyprstream hs, Instant hotFrom, BufferAllocator allocator)
      throws Exception {
    Instant from = MetricsData.END.minus(Duration.ofMinutes(30));
    String sql = "SELECT count(*), avg(value) FROM metrics WHERE timestamp >= " + literal(from);
    try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
        Statement st = duck.createStatement()) {
      st.execute("CREATE TABLE metrics (metric_id VARCHAR, timestamp TIMESTAMP, value DOUBLE)");
      copyHotRows(hs, st, hotFrom);
      long[] engine = new long[options.hotRuns];
      long[] plain = new long[options.hotRuns];
      for (int i = -options.hotRuns / 5; i < options.hotRuns; i++) {
        long t = System.nanoTime();
        try (QueryResult r = hs.query(sql)) {
          Arrows.drain(r);
        }
        long a = System.nanoTime() - t;
        t = System.nanoTime();
        try (ResultSet rs = st.executeQuery(sql);
            org.apache.arrow.vector.ipc.ArrowReader arrow =
                (org.apache.arrow.vector.ipc.ArrowReader)
                    ((org.duckdb.DuckDBResultSet) rs).arrowExportStream(allocator, 1 << 16)) {
          Arrows.drain(arrow);
        }
        long b = System.nanoTime() - t;
        if (i >= 0) {
          engine[i] = a;
          plain[i] = b;
        }
      }
      Stats e = new Stats(engine);
      Stats p = new Stats(plain);
      report
          .append("## A query bounded inside the hot hour\n\n")
          .append("`" + sql + "`, " + options.hotRuns + " runs each after a warm-up, alternating.")
          .append(
              " The engine parses it with DuckDB's parser, proves the range is cached and runs it"
                  + " on its DuckDB; the plain DuckDB holds the same hot rows, runs the SQL as"
                  + " it is and exports the answer as Arrow, which is what the engine did before it"
                  + " analysed queries.\n\n")
          .append("| run by | p50 | p90 | p99 |\n|---|---|---|---|\n")
          .append(percentiles("Hyprstream (analysed, routed to its cache)", e))
          .append(percentiles("plain DuckDB, same rows", p))
          .append(
              String.format(
                  Locale.ROOT,
                  "| ratio Hyprstream / plain DuckDB (p50) | %.2fx | | |%n%n",
                  (double) e.percentile(50) / p.percentile(50)));
    }
  }

  /**
   * Copies the engine's hot rows into the plain DuckDB, through a CSV file that DuckDB's own {@code
   * COPY} reads (timestamps as text, so no time zone is involved on either side).
   */
  private static void copyHotRows(Hyprstream hs, Statement duck, Instant hotFrom) throws Exception {
    String sql =
        "SELECT metric_id, strftime(timestamp, '%Y-%m-%d %H:%M:%S.%f') AS ts, value FROM metrics"
            + " WHERE timestamp >= "
            + literal(hotFrom);
    Path csv = Files.createTempFile("hyprstream-hot", ".csv");
    try {
      try (QueryResult r = hs.query(sql);
          var out = Files.newBufferedWriter(csv)) {
        while (r.loadNextBatch()) {
          VectorSchemaRoot b = r.getVectorSchemaRoot();
          for (int i = 0; i < b.getRowCount(); i++) {
            Object v = b.getVector(2).getObject(i);
            out.write(
                b.getVector(0).getObject(i)
                    + ","
                    + b.getVector(1).getObject(i)
                    + ","
                    + (v == null ? "" : v)
                    + "\n");
          }
        }
      }
      duck.execute("COPY metrics FROM '" + csv + "' (HEADER false)");
    } finally {
      Files.deleteIfExists(csv);
    }
  }

  private static String row(String name, Stats s) {
    return "| "
        + name
        + " | "
        + Stats.ms(s.percentile(50))
        + " ms | "
        + Stats.ms(s.percentile(0))
        + " ms | "
        + Stats.ms(s.max())
        + " ms |\n";
  }

  private static String percentiles(String name, Stats s) {
    return "| "
        + name
        + " | "
        + Stats.ms(s.percentile(50))
        + " ms | "
        + Stats.ms(s.percentile(90))
        + " ms | "
        + Stats.ms(s.percentile(99))
        + " ms |\n";
  }

  private static long count(Hyprstream hs, String sql) throws IOException {
    try (QueryResult r = hs.query(sql)) {
      long n = 0;
      while (r.loadNextBatch()) {
        if (r.getVectorSchemaRoot().getRowCount() > 0) {
          n = ((BigIntVector) r.getVectorSchemaRoot().getVector(0)).get(0);
        }
      }
      return n;
    }
  }

  private static void awaitWriteThrough(Hyprstream hs) throws Exception {
    long deadline = System.nanoTime() + Duration.ofMinutes(30).toNanos();
    while (System.nanoTime() < deadline) {
      if (count(hs, "SELECT backlog_batches FROM hyprstream_backend_status") == 0) {
        return;
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("write-through did not catch up within 30 minutes");
  }

  private static String literal(Instant t) {
    return "TIMESTAMP '"
        + LocalDateTime.ofInstant(t, ZoneOffset.UTC).toString().replace('T', ' ')
        + "'";
  }

  private static String postgresUser() {
    return System.getProperty("hyprstream.bench.pgUser", "postgres");
  }

  private static Properties pgProperties() {
    Properties p = new Properties();
    p.setProperty("user", postgresUser());
    return p;
  }

  private void recreateDatabase() throws SQLException {
    try (Connection admin = DriverManager.getConnection(options.postgresUrl, pgProperties());
        Statement st = admin.createStatement()) {
      st.execute("DROP DATABASE IF EXISTS " + DATABASE + " WITH (FORCE)");
      st.execute("CREATE DATABASE " + DATABASE);
    }
  }

  private void dropDatabase() {
    try (Connection admin = DriverManager.getConnection(options.postgresUrl, pgProperties());
        PreparedStatement st =
            admin.prepareStatement("DROP DATABASE IF EXISTS " + DATABASE + " WITH (FORCE)")) {
      st.execute();
    } catch (SQLException e) {
      System.err.println("could not drop database " + DATABASE + ": " + e.getMessage());
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (var paths = Files.walk(dir)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
