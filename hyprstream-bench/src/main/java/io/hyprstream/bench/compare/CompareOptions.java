package io.hyprstream.bench.compare;

import io.hyprstream.bench.BenchArgs;
import io.hyprstream.bench.MetricsData;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/** Options of {@code compare}: data size, runs per workload, which systems, where to write. */
public final class CompareOptions {
  /** Every system, in table order. */
  public static final List<String> ALL_PEERS =
      List.of("hyprstream", "flight", "jar", "duckdb", "questdb", "postgres");

  @Nullable Path output = Path.of("docs/benchmarks.md");
  boolean quick;
  long rows = 10_000_000L;
  int metrics = 1000;
  long seed = 42;

  /** Rows per Arrow batch of the generated data (every system ingests the same batches). */
  int batchRows = MetricsData.BATCH_ROWS;

  int w2Runs = 1000;

  /**
   * W2 lookups before the timed ones, for every system: enough for the JIT to finish compiling each
   * query path, so p99 measures the system, not the compiler. After 500, Hyprstream in-process
   * measured p99 0.067-0.154 ms; after 20,000, 0.032-0.037 (2026-12-04, docs/benchmarks.md).
   */
  int w2Warmup = 5000;

  /**
   * W2 warm-up lookups of a system in a process of its own (the server jar), which no throwaway
   * instance in this JVM can warm: its JIT compiles the query path only as it serves.
   */
  int ownProcessWarmup = 5000;

  int w3Runs = 3;
  int w4Rounds = 300;
  int w4Warmup = 100;
  int warmupBatches = 16;
  String postgresUrl = PostgresPeer.DEFAULT_URL;
  Path serverJar =
      Path.of(
          System.getProperty("hyprstream.bench.serverJar", JarPeer.DEFAULT_SERVER_JAR.toString()));
  Path jdbcDriverJar = io.hyprstream.bench.FlightJdbcDriver.defaultJar();

  /** Options of the server jar's JVM (before {@code -jar}); none unless asked. */
  List<String> serverJvmOptions = List.of();

  /** Fail (rather than skip the peer) when PostgreSQL is unreachable. */
  boolean requirePostgres;

  final Set<String> peers = new LinkedHashSet<>(ALL_PEERS);
  final List<String> args = new ArrayList<>();

  /** The quick mode: 500 k rows of 100 metrics, fewer runs, nothing written unless asked. */
  public static CompareOptions quick() {
    CompareOptions o = new CompareOptions();
    o.quick = true;
    o.output = null;
    o.rows = 500_000;
    o.metrics = 100;
    o.w2Runs = 200;
    o.w2Warmup = 100;
    o.ownProcessWarmup = 3000;
    o.w3Runs = 2;
    o.w4Rounds = 50;
    o.w4Warmup = 20;
    o.warmupBatches = 2;
    return o;
  }

  /** Parses {@code compare}'s arguments. */
  public static CompareOptions parse(String[] args) {
    BenchArgs a =
        BenchArgs.parse(
            args,
            Set.of(
                "--rows",
                "--metrics",
                "--seed",
                "--batch-rows",
                "--w2-runs",
                "--w2-warmup",
                "--warmup-batches",
                "--w3-runs",
                "--w4-rounds",
                "--postgres-url",
                "--server-jar",
                "--jdbc-driver-jar",
                "--server-jvm-options",
                "--peers"),
            Set.of("--quick", "--require-postgres"));
    CompareOptions o = a.has("--quick") ? quick() : new CompareOptions();
    o.args.addAll(a.all());
    o.requirePostgres = a.has("--require-postgres");
    Path output = a.output();
    if (output != null) {
      o.output = output; // else the default: docs/benchmarks.md, or none with --quick
    }
    o.rows = a.longValue("--rows", o.rows);
    o.metrics = a.intValue("--metrics", o.metrics);
    o.seed = a.longValue("--seed", o.seed);
    o.batchRows = a.intValue("--batch-rows", o.batchRows);
    o.w2Runs = a.intValue("--w2-runs", o.w2Runs);
    o.w2Warmup = a.intValue("--w2-warmup", o.w2Warmup);
    o.warmupBatches = a.intValue("--warmup-batches", o.warmupBatches);
    o.w3Runs = a.intValue("--w3-runs", o.w3Runs);
    o.w4Rounds = a.intValue("--w4-rounds", o.w4Rounds);
    o.postgresUrl = a.string("--postgres-url", o.postgresUrl);
    o.serverJar = Path.of(a.string("--server-jar", o.serverJar.toString()));
    o.jdbcDriverJar = Path.of(a.string("--jdbc-driver-jar", o.jdbcDriverJar.toString()));
    String jvm = a.string("--server-jvm-options");
    if (jvm != null && !jvm.isBlank()) {
      o.serverJvmOptions = List.of(jvm.trim().split("\\s+"));
    }
    String peers = a.string("--peers");
    if (peers != null) {
      o.peers(List.of(peers.split(",")));
    }
    if (o.metrics < 1 || o.metrics > 10_000) {
      throw new IllegalArgumentException("--metrics must be between 1 and 10000, got " + o.metrics);
    }
    if (o.batchRows < 1 || o.batchRows > (1 << 20)) {
      throw new IllegalArgumentException(
          "--batch-rows must be between 1 and 1048576, got " + o.batchRows);
    }
    return o;
  }

  /** Runs only these systems (names from {@link #ALL_PEERS}); Hyprstream in-process always runs. */
  public CompareOptions peers(List<String> names) {
    for (String n : names) {
      if (!ALL_PEERS.contains(n)) {
        throw new IllegalArgumentException("--peers: unknown system " + n + ", known " + ALL_PEERS);
      }
    }
    peers.clear();
    peers.add("hyprstream");
    peers.addAll(names);
    return this;
  }

  /** Fewer runs: for the correctness check in tests, where timings are not looked at. */
  public CompareOptions checkOnly() {
    w2Runs = 30;
    w2Warmup = 5;
    ownProcessWarmup = 5;
    w3Runs = 1;
    w4Rounds = 5;
    w4Warmup = 2;
    warmupBatches = 1;
    return this;
  }

  public CompareOptions requirePostgres(boolean require) {
    requirePostgres = require;
    return this;
  }

  public CompareOptions output(@Nullable Path file) {
    output = file;
    return this;
  }

  public CompareOptions rows(long rows) {
    this.rows = rows;
    return this;
  }
}
