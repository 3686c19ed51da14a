package io.hyprstream.bench;

import io.hyprstream.Hyprstream;
import io.hyprstream.QueryResult;
import io.hyprstream.cluster.ClusterConfig;
import io.hyprstream.flight.HyprstreamServer;
import io.hyprstream.internal.cluster.ClusteredHyprstream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.kafka.common.utils.Utils;
import org.jspecify.annotations.Nullable;

/**
 * The cluster figures of issue 16, in one JVM against a Kafka broker of the caller's ({@code
 * --kafka}): the same seeded rows ingested into one instance in single-node mode, into a cluster of
 * one instance and into a cluster of three; the CPU each spent per row, the throughput, how long a
 * graceful leave and a join take to hand the partitions over, and the latency of a key lookup
 * routed to its owner and of queries fanned out to every owner.
 *
 * <p>Two cores cannot show wall-clock scaling, so the figures that transfer to more machines are
 * the CPU per row (the cluster's cost over single-node mode) and the Kafka broker's own CPU per row
 * when its process id is given ({@code --kafka-pid}); docs/cluster.md turns them into a model.
 */
public final class ClusterRunner {
  /** What to run. */
  public static final class Options {
    String kafka = "";
    long kafkaPid = -1;
    long rows = 2_000_000;
    int metrics = 1_000;
    long seed = 42;
    int partitions = 12;
    int lookupRuns = 300;
    int fanOutRuns = 30;
    int checkpointSeconds = 10;
    Path jdbcDriverJar = FlightJdbcDriver.defaultJar();
    @Nullable Path output;

    public static Options parse(String[] args) {
      BenchArgs a =
          BenchArgs.parse(
              args,
              Set.of(
                  "--kafka",
                  "--kafka-pid",
                  "--rows",
                  "--metrics",
                  "--seed",
                  "--partitions",
                  "--lookup-runs",
                  "--fan-out-runs",
                  "--checkpoint-interval",
                  "--jdbc-driver-jar"),
              Set.of());
      Options o = new Options();
      o.output = a.output();
      o.kafka = a.string("--kafka", o.kafka);
      if (o.kafka.isBlank()) {
        throw new IllegalArgumentException("--kafka BOOTSTRAP is required: a broker to run on");
      }
      o.kafkaPid = a.longValue("--kafka-pid", o.kafkaPid);
      o.rows = a.longValue("--rows", o.rows);
      o.metrics = a.intValue("--metrics", o.metrics);
      o.seed = a.longValue("--seed", o.seed);
      o.partitions = a.intValue("--partitions", o.partitions);
      o.lookupRuns = a.intValue("--lookup-runs", o.lookupRuns);
      o.fanOutRuns = a.intValue("--fan-out-runs", o.fanOutRuns);
      o.checkpointSeconds = a.intValue("--checkpoint-interval", o.checkpointSeconds);
      o.jdbcDriverJar = Path.of(a.string("--jdbc-driver-jar", o.jdbcDriverJar.toString()));
      return o;
    }
  }

  private static final Duration SETTLE = Duration.ofMinutes(5);

  /** W2's lookup, the key bound as a parameter as an application sends it. */
  private static final String LOOKUP =
      "SELECT * FROM metrics_1h WHERE metric_id = ? ORDER BY window_start DESC LIMIT 24";

  private final Options options;
  private final StringBuilder table = new StringBuilder();

  public ClusterRunner(Options options) {
    this.options = options;
  }

  /** Runs every phase and writes the report; {@code root} is closed by the caller. */
  public void run(BufferAllocator root) throws Exception {
    MetricsData data = new MetricsData(options.rows, options.metrics, options.seed);
    table.append("| Figure | Value | Detail |\n|---|---|---|\n");

    Ingest single;
    try (Hyprstream hs = MetricsData.newInstance(root)) {
      single = ingest(List.of(hs), data, root);
    }
    row(
        "Single-node ingest (no Kafka)",
        RunEnv.fmtRate(single.ackRate()),
        single.cpuDetail("single node"));

    String oneName = "bench-1-" + System.nanoTime();
    Ingest one;
    try (ClusteredHyprstream hs = member(root, oneName, "i0", true)) {
      awaitOwners(List.of(hs));
      one = ingest(List.of(hs), data, root);
    }
    row(
        "Cluster of 1 through Kafka, acknowledged",
        RunEnv.fmtRate(one.ackRate()),
        String.format(
            Locale.ROOT,
            "%.2fx single-node; applied by its owner at %s",
            one.ackRate() / single.ackRate(),
            RunEnv.fmtRate(one.appliedRate())));
    row("Cluster of 1, CPU per row", one.cpuPerRow(), one.cpuDetail("cluster of 1"));

    String threeName = "bench-3-" + System.nanoTime();
    List<ClusteredHyprstream> nodes = new ArrayList<>();
    // Each of the three behind a Flight SQL server, as the shipped jar runs it: it serves clients
    // and the other instances' reads on one advertised port.
    List<HyprstreamServer> servers = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        // i2 relays key lookups of other owners' keys (the default), to compare with direct reads.
        ClusteredHyprstream node =
            member(root, threeName, "i" + i, false, i != 2, options.checkpointSeconds);
        nodes.add(node);
        HyprstreamServer server =
            HyprstreamServer.builder(node).allocator(root).host("127.0.0.1").port(0).start();
        servers.add(server);
        node.advertise("grpc://127.0.0.1:" + server.port());
      }
      awaitOwners(nodes);
      Ingest three = ingest(nodes, data, root);
      row(
          "Cluster of 3 in one JVM, acknowledged",
          RunEnv.fmtRate(three.ackRate()),
          String.format(
              Locale.ROOT,
              "applied by the owners at %s (two cores for three instances: not a scaling figure)",
              RunEnv.fmtRate(three.appliedRate())));
      row("Cluster of 3, CPU per row (all three)", three.cpuPerRow(), three.cpuDetail("3"));
      queries(nodes.get(0), nodes);
      jdbcLookups(nodes.get(0), servers.get(0), nodes.get(2), servers.get(2));
      jdbcRowFilters(servers.get(0), servers.get(2));
      servers.remove(2).close(); // the instance it fronts leaves next
      handOver(root, threeName, nodes);
    } finally {
      servers.forEach(HyprstreamServer::close);
      nodes.forEach(Hyprstream::close);
    }

    String text =
        "# Cluster figures\n\n"
            + RunEnv.generatedBy("cluster")
            + String.format(
                Locale.ROOT,
                "One run; %,d rows, %d metrics over 7 days in %,d-row batches, seed %d; %d key"
                    + " partitions; Kafka at %s%s. Every instance runs in this JVM with its own"
                    + " DuckDB; no backend.%n%n",
                options.rows,
                options.metrics,
                data.batchRows(),
                options.seed,
                options.partitions,
                options.kafka,
                options.kafkaPid > 0 ? " (process " + options.kafkaPid + ")" : "")
            + table
            + "\n- CPU per row is the process's CPU time over the phase (every instance, Kafka's"
            + " clients, DuckDB's workers, JIT, GC) divided by the rows"
            + (options.kafkaPid > 0 ? "; the broker's is its own process's, read apart" : "")
            + ".\n";
    System.out.println(text);
    if (options.output != null) {
      Files.writeString(options.output, text);
    }
  }

  /**
   * A member of cluster {@code name}; with {@code peerServer} it serves the other instances' reads
   * on a port of its own, without it a Flight SQL server in front of it does.
   */
  private ClusteredHyprstream member(
      BufferAllocator root, String name, String id, boolean peerServer) {
    return member(root, name, id, peerServer, false, 0);
  }

  /**
   * @param checkpointSeconds the checkpoint interval; 0 takes none
   */
  private ClusteredHyprstream member(
      BufferAllocator root,
      String name,
      String id,
      boolean peerServer,
      boolean directReads,
      int checkpointSeconds) {
    ClusterConfig config =
        ClusterConfig.kafka(options.kafka, name)
            .withPartitions(options.partitions)
            .withInstanceId(id)
            .withDirectReads(directReads)
            .withCheckpointInterval(Duration.ofSeconds(checkpointSeconds));
    return (ClusteredHyprstream)
        Hyprstream.builder()
            .allocator(root)
            .clock(InstantSource.fixed(MetricsData.NOW))
            .cacheDuration(Duration.ofDays(8))
            .expiryInterval(Duration.ZERO)
            .cluster(
                peerServer ? config.withPeerServer(new InetSocketAddress("127.0.0.1", 0)) : config)
            .build();
  }

  /**
   * W2's lookup through the Flight SQL JDBC driver (a prepared statement, the key bound): sent to
   * {@code server} in front of {@code entry}, for keys it owns and for keys another instance owns,
   * which the driver reads from their owner directly (the FlightInfo names it, docs/cluster.md
   * "Direct reads"); and sent to {@code relaying} in front of {@code relayer}, which reads other
   * owners' keys itself and relays the rows.
   */
  private void jdbcLookups(
      ClusteredHyprstream entry,
      HyprstreamServer server,
      ClusteredHyprstream relayer,
      HyprstreamServer relaying)
      throws Exception {
    List<Long> own = new ArrayList<>();
    List<Long> direct = new ArrayList<>();
    lookups(server, entry.ownedPartitions(), own, direct);
    List<Long> relayed = new ArrayList<>();
    lookups(relaying, relayer.ownedPartitions(), new ArrayList<>(), relayed);
    row("JDBC key lookup, key owned by the server asked", stats(own), "prepared, key bound");
    row(
        "JDBC key lookup, key owned by another server (read there directly)",
        stats(direct),
        "the same, other keys: the FlightInfo names the owner");
    row(
        "JDBC key lookup, key owned by another server (relayed)",
        stats(relayed),
        "the same, through a server without `--cluster-direct-reads` (the default)");
  }

  /**
   * A row filter of a window view (the last day's hourly windows of every metric) through the
   * Flight SQL JDBC driver: sent to {@code server}, whose FlightInfo names one endpoint per owner
   * that the driver reads directly (docs/cluster.md "Direct reads"), and to {@code relaying}, which
   * reads the other owners' rows itself and returns them as one endpoint. Both must return every
   * window.
   */
  private void jdbcRowFilters(HyprstreamServer server, HyprstreamServer relaying) throws Exception {
    String since =
        java.time.LocalDateTime.ofInstant(
                MetricsData.NOW.minus(Duration.ofHours(24)), java.time.ZoneOffset.UTC)
            .truncatedTo(java.time.temporal.ChronoUnit.HOURS)
            .toString()
            .replace('T', ' ');
    String sql =
        "SELECT metric_id, window_start, value_count, value_sum FROM metrics_1h"
            + " WHERE window_start >= TIMESTAMP '"
            + since
            + "'";
    List<Long> direct = new ArrayList<>();
    long directRows = rowFilters(server, sql, direct);
    List<Long> relayed = new ArrayList<>();
    long relayedRows = rowFilters(relaying, sql, relayed);
    if (directRows != relayedRows || directRows < options.metrics * 24L) {
      throw new IllegalStateException(
          "the last day's hourly windows: "
              + directRows
              + " read directly, "
              + relayedRows
              + " relayed, of "
              + options.metrics
              + " metrics");
    }
    String detail = String.format(Locale.ROOT, "`Statement`, %,d rows", directRows);
    row(
        "JDBC row filter of a view, one endpoint per owner (read there directly)",
        stats(direct),
        detail + "; the FlightInfo names three endpoints");
    row(
        "JDBC row filter of a view (relayed)",
        stats(relayed),
        detail + ", through a server without `--cluster-direct-reads` (the default)");
  }

  /** Times {@code sql} through {@code server}; returns the rows of one run. */
  private long rowFilters(HyprstreamServer server, String sql, List<Long> times) throws Exception {
    long rows = 0;
    try (java.sql.Connection jdbc =
            FlightJdbcDriver.connect(options.jdbcDriverJar, "127.0.0.1", server.port());
        java.sql.Statement statement = jdbc.createStatement()) {
      for (int run = 0; run < 60; run++) {
        long t = System.nanoTime();
        rows = 0;
        try (java.sql.ResultSet rs = statement.executeQuery(sql)) {
          while (rs.next()) {
            rows++;
          }
        }
        if (run >= 10) { // the first 10 warm the paths up
          times.add(System.nanoTime() - t);
        }
      }
    }
    return rows;
  }

  /** Times lookups of every key through {@code server}, split by whether {@code local} owns it. */
  private void lookups(
      HyprstreamServer server, Set<Integer> local, List<Long> own, List<Long> elsewhere)
      throws Exception {
    try (java.sql.Connection jdbc =
            FlightJdbcDriver.connect(options.jdbcDriverJar, "127.0.0.1", server.port());
        java.sql.PreparedStatement lookup = jdbc.prepareStatement(LOOKUP)) {
      for (int run = 0; run < options.lookupRuns + 50; run++) {
        String key = MetricsData.metricId(run % options.metrics);
        long t = System.nanoTime();
        lookup.setString(1, key);
        int rows = 0;
        try (java.sql.ResultSet rs = lookup.executeQuery()) {
          while (rs.next()) {
            rows++;
          }
        }
        long took = System.nanoTime() - t;
        if (rows != 24) {
          throw new IllegalStateException("key " + key + ": " + rows + " hourly windows, not 24");
        }
        if (run >= 50) { // the first 50 warm the paths up
          (local.contains(partitionOf(key)) ? own : elsewhere).add(took);
        }
      }
    }
  }

  private int partitionOf(String key) {
    return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8)))
        % options.partitions;
  }

  /**
   * One phase's ingest: wall-clock and CPU from start to the last acknowledgement and to applied.
   */
  private record Ingest(
      long rows,
      long ackNanos,
      long appliedNanos,
      double cpuNsPerRow,
      double brokerNsPerRow,
      String breakdown) {
    double ackRate() {
      return rows / (ackNanos / 1e9);
    }

    double appliedRate() {
      return rows / (appliedNanos / 1e9);
    }

    String cpuPerRow() {
      return String.format(Locale.ROOT, "%.0f ns", cpuNsPerRow);
    }

    String cpuDetail(String what) {
      return String.format(
              Locale.ROOT, "%s: %.0f ns CPU per row in this process", what, cpuNsPerRow)
          + (brokerNsPerRow >= 0
              ? String.format(Locale.ROOT, ", the broker %.0f ns", brokerNsPerRow)
              : "")
          + "; "
          + breakdown;
    }
  }

  /** Ingests every batch, round-robin over {@code through}, then waits until all is applied. */
  private Ingest ingest(List<? extends Hyprstream> through, MetricsData data, BufferAllocator root)
      throws Exception {
    List<VectorSchemaRoot> batches = data.batches(root);
    try {
      RunEnv.gc();
      CpuTimes before = CpuTimes.now();
      long brokerBefore = brokerCpu();
      long start = System.nanoTime();
      for (int i = 0; i < batches.size(); i++) {
        through.get(i % through.size()).ingest("metrics", batches.get(i));
      }
      long acked = System.nanoTime() - start;
      for (Hyprstream hs : through) {
        if (hs instanceof ClusteredHyprstream c && !c.awaitCaughtUp(SETTLE)) {
          throw new IllegalStateException(c.clusterConfig().instanceId() + " never caught up");
        }
      }
      long applied = System.nanoTime() - start;
      CpuTimes after = CpuTimes.now();
      long brokerAfter = brokerCpu();
      long count = 0;
      for (Hyprstream hs : through) {
        count += countRows(hs, through.size() > 1);
      }
      if (count != data.rows()) {
        throw new IllegalStateException(
            "wrong answer: the instances hold " + count + " of " + data.rows() + " rows");
      }
      return new Ingest(
          data.rows(),
          acked,
          applied,
          after.processPerRow(before, data.rows()),
          brokerBefore < 0 ? -1 : (brokerAfter - brokerBefore) / (double) data.rows(),
          after.breakdown(before, data.rows(), ClusterRunner::threadGroup));
    } finally {
      batches.forEach(VectorSchemaRoot::close);
    }
  }

  /** The rows {@code hs} holds itself (its own partitions' share, in a cluster of several). */
  private static long countRows(Hyprstream hs, boolean share) throws Exception {
    String sql = "SELECT count(*) FROM metrics";
    try (QueryResult r = share ? ((ClusteredHyprstream) hs).queryLocal(sql) : hs.query(sql)) {
      r.loadNextBatch();
      return ((Number) r.getVectorSchemaRoot().getVector(0).getObject(0)).longValue();
    }
  }

  /**
   * Key lookups through {@code entry}, split into keys it owns and keys routed to another owner;
   * fanned-out aggregates; each checked against the sum of the owners' own shares.
   */
  private void queries(ClusteredHyprstream entry, List<ClusteredHyprstream> nodes)
      throws Exception {
    Set<Integer> local = entry.ownedPartitions();
    List<Long> own = new ArrayList<>();
    List<Long> routed = new ArrayList<>();
    for (int run = 0; run < options.lookupRuns + 50; run++) {
      String key = MetricsData.metricId(run % options.metrics);
      int partition = partitionOf(key);
      long t = System.nanoTime();
      try (QueryResult r = entry.query(LOOKUP, List.of(key))) {
        while (r.loadNextBatch()) {
          // read every batch, as a client would
        }
      }
      long took = System.nanoTime() - t;
      if (run >= 50) { // the first 50 warm the paths up
        (local.contains(partition) ? own : routed).add(took);
      }
    }
    row(
        "Key lookup (Java API), key owned by the receiving instance",
        stats(own),
        "`" + LOOKUP + "`");
    row(
        "Key lookup (Java API) routed to the owner over Flight",
        stats(routed),
        "the same, other keys");

    long expected = 0;
    for (ClusteredHyprstream n : nodes) {
      expected += countRows(n, true);
    }
    for (String sql :
        List.of(
            "SELECT count(*), sum(value) FROM metrics WHERE timestamp >= TIMESTAMP '2025-06-01"
                + " 00:00:00'",
            "SELECT metric_id, sum(value_count) FROM metrics_1h GROUP BY 1 ORDER BY 2 DESC LIMIT"
                + " 10")) {
      long[] nanos = new long[options.fanOutRuns];
      for (int run = -3; run < options.fanOutRuns; run++) {
        long t = System.nanoTime();
        try (QueryResult r = entry.query(sql)) {
          while (r.loadNextBatch()) {
            // read every batch
          }
        }
        if (run >= 0) {
          nanos[run] = System.nanoTime() - t;
        }
      }
      row("Fanned out: `" + sql + "`", new Stats(nanos).summary(), nanos.length + " runs");
    }
    try (QueryResult r = entry.query("SELECT count(*) FROM metrics")) {
      r.loadNextBatch();
      long whole = ((Number) r.getVectorSchemaRoot().getVector(0).getObject(0)).longValue();
      if (whole != expected || whole != options.rows) {
        throw new IllegalStateException(
            "wrong answer: count(*) through i0 " + whole + ", shares " + expected);
      }
    }
  }

  /**
   * A graceful leave (the others take the leaver's partitions and replay them from the log) and a
   * join (the newcomer replays the partitions it is given), timed until every partition is owned
   * and applied again. Each loads a partition's newest checkpoint first when there is one (the
   * default interval is 5 minutes, so a short run may have none).
   */
  private void handOver(BufferAllocator root, String name, List<ClusteredHyprstream> nodes)
      throws Exception {
    checkpoints(nodes);
    long loadedBefore = checkpointsLoaded(nodes.subList(0, 2));
    long t = System.nanoTime();
    nodes.remove(2).close();
    awaitOwners(nodes);
    long leave = System.nanoTime() - t;
    row(
        "Graceful leave: until the others own and have replayed every partition",
        Stats.ms(leave) + " ms",
        "the leaver's partitions (about "
            + options.rows / 3
            + " rows): "
            + (checkpointsLoaded(nodes) - loadedBefore)
            + " loaded from a checkpoint, the rest replayed from the start of the log");
    t = System.nanoTime();
    ClusteredHyprstream newcomer = member(root, name, "i3", true, false, options.checkpointSeconds);
    nodes.add(newcomer);
    awaitOwners(nodes);
    long join = System.nanoTime() - t;
    row(
        "Join: until the newcomer owns and has replayed its partitions",
        Stats.ms(join) + " ms",
        "includes the instance's start; "
            + newcomer.checkpointsLoaded()
            + " partitions loaded from a checkpoint");
    // After a leave and a join, each restoring from checkpoints: every row still held once.
    long shares = 0;
    for (ClusteredHyprstream n : nodes) {
      shares += countRows(n, true);
    }
    long whole = countRows(nodes.get(0), false);
    if (shares != options.rows || whole != options.rows) {
      throw new IllegalStateException(
          "wrong answer after the hand-over: count(*) " + whole + ", shares " + shares);
    }
  }

  /**
   * Waits until every instance has checkpointed every partition it owns (at most a minute), and
   * reports what writing them cost.
   */
  private void checkpoints(List<ClusteredHyprstream> nodes) throws InterruptedException {
    if (options.checkpointSeconds == 0) {
      return;
    }
    long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
    while (System.nanoTime() < deadline
        && !nodes.stream()
            .allMatch(n -> n.checkpointedOffsets().keySet().equals(n.ownedPartitions()))) {
      Thread.sleep(100);
    }
    long count = 0;
    long bytes = 0;
    long nanos = 0;
    for (ClusteredHyprstream n : nodes) {
      count += n.checkpointsWritten();
      bytes += n.checkpointBytesWritten();
      nanos += n.checkpointWritingNanos();
    }
    row(
        "Partition checkpoints written (every " + options.checkpointSeconds + " s)",
        String.format(
            Locale.ROOT,
            "%d checkpoints, %.1f MB, %.1f ms of partition-thread time each",
            count,
            bytes / 1e6,
            count == 0 ? 0.0 : nanos / 1e6 / count),
        String.format(
            Locale.ROOT,
            "%.0f bytes per row held; each checkpoint holds its partition's windows and hot rows",
            (double) bytes / Math.max(1, count) * options.partitions / options.rows));
  }

  private static long checkpointsLoaded(List<ClusteredHyprstream> nodes) {
    return nodes.stream().mapToLong(ClusteredHyprstream::checkpointsLoaded).sum();
  }

  /** Waits until every partition has one owner among {@code nodes}, each owning some, caught up. */
  private void awaitOwners(List<ClusteredHyprstream> nodes) throws InterruptedException {
    long deadline = System.nanoTime() + SETTLE.toNanos();
    while (System.nanoTime() < deadline) {
      Set<Integer> union = new TreeSet<>();
      int total = 0;
      boolean each = true;
      for (ClusteredHyprstream n : nodes) {
        Set<Integer> owned = n.ownedPartitions();
        union.addAll(owned);
        total += owned.size();
        each &= !owned.isEmpty();
      }
      if (union.size() == options.partitions && total == options.partitions && each) {
        for (ClusteredHyprstream n : nodes) {
          if (!n.awaitCaughtUp(SETTLE)) {
            throw new IllegalStateException(n.clusterConfig().instanceId() + " never caught up");
          }
        }
        return;
      }
      Thread.sleep(20);
    }
    throw new IllegalStateException("the partitions were never spread over " + nodes.size());
  }

  /** The thread groups of a cluster's CPU breakdown: instances' threads of one kind as one. */
  private static String threadGroup(String thread) {
    if (thread.startsWith("hyprstream-cluster-owner-")) {
      return "partition owners";
    } else if (thread.startsWith("kafka-producer-network-thread")) {
      return "Kafka producers";
    } else if (thread.equals("consumer_background_thread")) {
      return "Kafka consumers";
    } else if (thread.startsWith("hyprstream-cluster-members-")
        || thread.startsWith("kafka-admin-client-thread")) {
      return "membership and admin";
    } else if (thread.startsWith("data-plane-kafka")
        || thread.startsWith("kafka-0-")
        || thread.startsWith("quorum-controller")
        || thread.startsWith("group-coordinator")
        || thread.startsWith("ExpirationReaper")
        || thread.startsWith("executor-")
        || thread.startsWith("metrics-meter")
        || thread.startsWith("network-partition")) {
      return "a broker in this JVM";
    }
    return thread.replaceAll("-\\d+$", "");
  }

  private long brokerCpu() {
    return options.kafkaPid > 0 ? RunEnv.cpuNanosOf(pid -> pid == options.kafkaPid) : -1;
  }

  private static String stats(List<Long> nanos) {
    long[] a = nanos.stream().mapToLong(Long::longValue).toArray();
    return a.length == 0 ? "n/a" : new Stats(a).summary();
  }

  private void row(String figure, String value, String detail) {
    table.append("| ").append(figure).append(" | ").append(value).append(" | ");
    table.append(detail.replace("|", "/")).append(" |\n");
  }
}
