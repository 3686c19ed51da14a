package io.hyprstream.bench.compare;

import io.hyprstream.bench.CpuTimes;
import io.hyprstream.bench.MetricsData;
import io.hyprstream.bench.RunEnv;
import io.hyprstream.bench.Stats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.locks.LockSupport;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;

/**
 * Runs the comparison of issue 6: generates one seeded data set, runs W1 to W5 on each system in
 * turn in this JVM (one system alive at a time, each warmed up on a throwaway instance first), and
 * checks every W2 and W3 answer against an oracle computed from the generated rows.
 *
 * <ul>
 *   <li>W1: rows/s ingesting every row, until they (and any windows the system maintains) are
 *       queryable.
 *   <li>W2: latency of "the last 24 hourly windows of one metric" (count, sum), random metrics.
 *   <li>W3: time to compute every 5-minute window of every metric, read by the client.
 *   <li>W4: ingest 100 rows of a metric into a fresh 5-minute window, query until it shows them.
 *   <li>W5: memory held after W1: heap growth plus the system's own off-heap figure.
 * </ul>
 */
public final class CompareRunner {
  private final CompareOptions options;
  private final List<Column> columns = new ArrayList<>();
  private final List<String> mismatches = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();
  private String started = "";
  private String loadAtStart = "";
  private long wallNanos;

  public CompareRunner(CompareOptions options) {
    this.options = options;
  }

  /** What a run found; {@link #mismatches()} is empty when every answer agreed with the oracle. */
  public static final class Outcome {
    private final List<String> ran;
    private final List<String> skipped;
    private final List<String> mismatches;

    Outcome(List<String> ran, List<String> skipped, List<String> mismatches) {
      this.ran = List.copyOf(ran);
      this.skipped = List.copyOf(skipped);
      this.mismatches = List.copyOf(mismatches);
    }

    /** Labels of the columns that ran. */
    public List<String> ran() {
      return ran;
    }

    /** "label: why" for each system that could not run. */
    public List<String> skipped() {
      return skipped;
    }

    public List<String> mismatches() {
      return mismatches;
    }
  }

  /**
   * Runs everything in {@code root} (every buffer is released before this returns); writes the
   * report when the options name a file and every answer agreed.
   *
   * @throws IllegalStateException when an answer disagrees with the oracle (after all systems ran)
   */
  public Outcome run(BufferAllocator root) throws Exception {
    long t0 = System.nanoTime();
    started = RunEnv.nowUtc();
    loadAtStart = RunEnv.loadAverage();
    MetricsData data =
        new MetricsData(options.rows, options.metrics, options.seed, options.batchRows);
    try (BufferAllocator dataAlloc = root.newChildAllocator("data", 0, Long.MAX_VALUE)) {
      List<VectorSchemaRoot> batches = data.batches(dataAlloc);
      try {
        log(
            "generated %,d rows of %d metrics in %d batches (%,d out of order)",
            data.rows(), data.metrics(), batches.size(), data.outOfOrderRows());
        WindowGrid oracle = WindowGrid.of(data, batches);
        log("oracle: %,d five-minute windows", oracle.windows());
        for (String peer : options.peers) {
          runPeer(peer, root, data, batches, oracle);
        }
      } finally {
        batches.forEach(VectorSchemaRoot::close);
      }
    }
    wallNanos = System.nanoTime() - t0;
    List<String> ran = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    for (Column c : columns) {
      if (c.ran()) {
        ran.add(c.label);
      } else {
        skipped.add(c.label + ": " + c.skipped);
      }
    }
    Outcome outcome = new Outcome(ran, skipped, mismatches);
    if (!mismatches.isEmpty()) {
      throw new IllegalStateException(
          "answers disagree with the oracle:\n  " + String.join("\n  ", mismatches));
    }
    CompareReport report =
        new CompareReport(options, data, columns, notes, started, loadAtStart, wallNanos);
    report.print();
    if (options.output != null) {
      report.write(options.output);
    }
    log("done in %.1f s", wallNanos / 1e9);
    return outcome;
  }

  /** Opens a fresh instance of one system. */
  @FunctionalInterface
  private interface Opener {
    Peer open() throws Exception;
  }

  private @Nullable Opener opener(String name, BufferAllocator root, long lookupFrom) {
    switch (name) {
      case "hyprstream":
        return () -> new HyprstreamPeer(root);
      case "flight":
        return () -> new FlightPeer(root);
      case "jar":
        return () ->
            new JarPeer(root, options.serverJar, options.jdbcDriverJar, options.serverJvmOptions);
      case "duckdb":
        return () -> new DuckDbPeer(root, lookupFrom);
      case "questdb":
        return () -> new QuestDbPeer(lookupFrom);
      case "postgres":
        String why = PostgresPeer.unreachable(options.postgresUrl);
        if (why != null) {
          if (options.requirePostgres) {
            throw new IllegalStateException(why + " (PostgreSQL is required in this run)");
          }
          log("skipping PostgreSQL: %s", why);
          Column c = new Column("PostgreSQL");
          c.skipped = why;
          columns.add(c);
          return null;
        }
        return () -> new PostgresPeer(options.postgresUrl, lookupFrom);
      default:
        throw new IllegalArgumentException(name);
    }
  }

  static String label(String name, String mode) {
    String base;
    switch (name) {
      case "hyprstream":
        base = "Hyprstream (in-process)";
        break;
      case "flight":
        base = "Hyprstream (Flight SQL)";
        break;
      case "jar":
        base = "Hyprstream (server jar, JDBC)";
        break;
      case "duckdb":
        base = "DuckDB";
        break;
      case "questdb":
        base = "QuestDB";
        break;
      case "postgres":
        base = "PostgreSQL";
        break;
      default:
        base = name;
    }
    return mode.isEmpty() ? base : base + " (" + mode + ")";
  }

  private void runPeer(
      String name,
      BufferAllocator root,
      MetricsData data,
      List<VectorSchemaRoot> batches,
      WindowGrid oracle)
      throws Exception {
    long end = MetricsData.micros(MetricsData.END);
    long lookupFrom = end - 24 * WindowGrid.HOUR;
    Opener opener = opener(name, root, lookupFrom);
    if (opener == null) {
      return;
    }
    long p0 = System.nanoTime();
    // The server jar runs in a process of its own: a throwaway instance cannot warm its JIT, so
    // the measured one warms up with more W2 lookups instead.
    boolean ownProcess = name.equals("jar");
    if (!ownProcess) {
      // Warm-up: a throwaway instance ingests a share of the batches and answers a few lookups.
      try (Peer warm = opener.open()) {
        warm.ingest(batches.subList(0, Math.min(batches.size(), options.warmupBatches)));
        for (String mode : warm.modes()) {
          for (int i = 0; i < Math.min(200, options.w2Warmup); i++) {
            warm.lastHourly(mode, MetricsData.metricId(i % data.metrics()));
          }
        }
      }
    }
    int w2Warmup = ownProcess ? options.ownProcessWarmup : options.w2Warmup;
    RunEnv.gc();
    long heapBefore = RunEnv.heapUsed();
    try (Peer peer = opener.open()) {
      List<String> modes = peer.modes();
      List<Column> mine = new ArrayList<>();
      for (String mode : modes) {
        Column c = new Column(label(name, mode));
        c.version = peer.version();
        c.settings = peer.settings();
        c.sharesIngest = !mine.isEmpty();
        mine.add(c);
        columns.add(c);
      }
      Column first = mine.get(0);
      log("%s: %s", first.label, first.version);

      // W1
      long cpu0 = RunEnv.processCpuNanos() + peer.otherProcessCpuNanos();
      CpuTimes threads0 = CpuTimes.now();
      long t0 = System.nanoTime();
      peer.ingest(batches);
      long t1 = System.nanoTime();
      double cpuPerRow =
          (RunEnv.processCpuNanos() + peer.otherProcessCpuNanos() - cpu0) / (double) data.rows();
      double rate = data.rows() / ((t1 - t0) / 1e9);
      log(
          "%s W1: %s (%.1f s), %.0f ns CPU per row",
          name, RunEnv.fmtRate(rate), (t1 - t0) / 1e9, cpuPerRow);
      // Where this JVM's share went, thread by thread: what a change to ingest should move.
      log(
          "%s W1 CPU ns per row in this JVM: %s",
          name, CpuTimes.now().breakdown(threads0, data.rows()));
      if (!peer.ingestNote().isEmpty()) {
        notes.add(peer.ingestNote());
      }

      // W5, right after W1
      RunEnv.gc();
      long heap = RunEnv.heapUsed() - heapBefore;
      long nat = peer.nativeBytes();
      log("%s W5: heap +%,d B, native %,d B", name, heap, nat);
      for (Column c : mine) {
        c.w1RowsPerSecond = rate;
        c.w1CpuNanosPerRow = cpuPerRow;
        c.w5HeapBytes = heap;
        c.w5NativeBytes = nat;
        c.memoryNote = peer.memoryNote();
      }
      String floor = peer.writeFloorNote(batches);
      if (!floor.isEmpty()) {
        notes.add(floor);
        log("%s", floor);
      }

      // Every mode's W2 and W3 before any W4: W4's rows would change their answers.
      for (int m = 0; m < modes.size(); m++) {
        w2(peer, modes.get(m), mine.get(m), data, oracle, end, w2Warmup);
        try {
          w3(peer, modes.get(m), mine.get(m), oracle);
        } catch (Exception e) {
          // A system that cannot answer W3 is reported, not dropped; its other figures stand.
          Column c = mine.get(m);
          c.w3 = null;
          c.w3Failure = e.getClass().getSimpleName() + ": " + e.getMessage();
          log("%s W3 failed: %s", c.label, c.w3Failure);
        }
      }
      String roundTrip = peer.roundTripNote(options.w2Runs);
      if (!roundTrip.isEmpty()) {
        notes.add(label(name, "") + ", round-trip floor: " + roundTrip + ".");
        log("%s round trips: %s", label(name, ""), roundTrip);
      }
      for (int m = 0; m < modes.size(); m++) {
        w4(peer, modes.get(m), mine.get(m), m, root);
      }
    }
    log("%s finished in %.1f s", name, (System.nanoTime() - p0) / 1e9);
  }

  private void w2(
      Peer peer, String mode, Column c, MetricsData data, WindowGrid oracle, long end, int warmup)
      throws Exception {
    SplittableRandom rng = new SplittableRandom(options.seed * 31 + 2);
    int total = warmup + options.w2Runs;
    long[] nanos = new long[options.w2Runs];
    Map<String, double[]> serverBefore = Map.of();
    for (int i = 0; i < total; i++) {
      if (i == warmup) {
        serverBefore = peer.serverCallTimes();
      }
      int m = rng.nextInt(data.metrics());
      String id = MetricsData.metricId(m);
      long s = System.nanoTime();
      Hourly h = peer.lastHourly(mode, id);
      long t = System.nanoTime() - s;
      if (i >= warmup) {
        nanos[i - warmup] = t;
      }
      String diff = h.diff(oracle.lastHourly(m, end));
      c.w2Checked++;
      if (diff != null) {
        mismatch(c, "W2 " + id + ": " + diff);
      }
    }
    c.w2 = new Stats(nanos);
    log("%s W2: %s", c.label, c.w2.summary());
    String share = serverShare(serverBefore, peer.serverCallTimes(), options.w2Runs);
    if (!share.isEmpty()) {
      notes.add(c.label + ", W2 time inside the server per lookup (its own timers): " + share);
      log("%s W2 server side: %s", c.label, share);
    }
  }

  /**
   * Per call kind, the server's mean time per W2 lookup between two readings of its timers, and
   * their sum: the part of a lookup's round trip spent inside the server.
   */
  static String serverShare(Map<String, double[]> before, Map<String, double[]> after, int runs) {
    StringBuilder out = new StringBuilder();
    double total = 0;
    for (Map.Entry<String, double[]> e : after.entrySet()) {
      double[] b = before.getOrDefault(e.getKey(), new double[2]);
      double calls = e.getValue()[0] - b[0];
      if (calls < 1) {
        continue;
      }
      double seconds = e.getValue()[1] - b[1];
      total += seconds;
      out.append(
          String.format(
              Locale.ROOT,
              "%s%s %.0f calls, %.3f ms each",
              out.length() == 0 ? "" : "; ",
              e.getKey(),
              calls,
              seconds * 1e3 / calls));
    }
    if (out.length() == 0) {
      return "";
    }
    return out.append(String.format(Locale.ROOT, "; in all %.3f ms per lookup", total * 1e3 / runs))
        .toString();
  }

  private void w3(Peer peer, String mode, Column c, WindowGrid oracle) throws Exception {
    WindowGrid answer = oracle.emptyLike();
    long[] nanos = new long[options.w3Runs];
    // Run 0 is the cold one (reported apart); runs 1.. are timed.
    for (int run = 0; run <= options.w3Runs; run++) {
      answer.clear();
      long s = System.nanoTime();
      peer.allFiveMinute(mode, answer, run + 1);
      long t = System.nanoTime() - s;
      if (run == 0) {
        c.w3FirstNanos = t;
      } else {
        nanos[run - 1] = t;
      }
      String diff = answer.diff(oracle);
      c.w3Checked++;
      if (diff != null) {
        mismatch(c, "W3 run " + run + ": " + diff);
      }
    }
    c.w3 = new Stats(nanos);
    log("%s W3: first %.3f s, then %s", c.label, c.w3FirstNanos / 1e9, c.w3.summary());
  }

  private void w4(Peer peer, String mode, Column c, int modeIndex, BufferAllocator root)
      throws Exception {
    rounds(peer, mode, c, "warm" + modeIndex + "x", options.w4Warmup, root);
    c.w4ExtraPolls = 0;
    c.w4 = rounds(peer, mode, c, "vis" + modeIndex + "x", options.w4Rounds, root);
    log("%s W4: %s, %d extra polls", c.label, c.w4.summary(), c.w4ExtraPolls);
  }

  /**
   * Each round ingests a 100-row batch of one metric into a 5-minute window no earlier round
   * touched, then queries that window until it shows 100 rows; timed from before the ingest.
   */
  private Stats rounds(
      Peer peer, String mode, Column c, String prefix, int rounds, BufferAllocator root)
      throws Exception {
    long size = Duration.ofMinutes(5).toNanos() / 1000;
    long base = MetricsData.micros(MetricsData.END);
    long[] nanos = new long[rounds];
    try (BufferAllocator a = root.newChildAllocator("w4-batches", 0, Long.MAX_VALUE)) {
      for (int r = 0; r < rounds; r++) {
        String id = prefix + (r % 100);
        long start = base + (long) (r / 100) * size;
        try (VectorSchemaRoot batch = MetricsData.seriesBatch(a, id, start, size, 100)) {
          long t0 = System.nanoTime();
          peer.ingestSmall(batch);
          while (true) {
            long n = peer.windowCount(mode, id, start);
            if (n == 100) {
              break;
            }
            if (n > 100) {
              mismatch(c, "W4 " + id + " shows " + n + " rows, expected 100");
              break;
            }
            c.w4ExtraPolls++;
            if (System.nanoTime() - t0 > 30_000_000_000L) {
              throw new IllegalStateException(
                  c.label + ": " + id + " never showed its 100 rows (last count " + n + ")");
            }
            LockSupport.parkNanos(50_000);
          }
          nanos[r] = System.nanoTime() - t0;
        }
      }
    }
    return new Stats(nanos);
  }

  private void mismatch(Column c, String what) {
    if (mismatches.size() < 50) {
      mismatches.add(c.label + ": " + what);
    }
  }

  static void log(String format, Object... args) {
    System.out.printf(Locale.ROOT, "[compare] " + format + "%n", args);
    System.out.flush();
  }
}
