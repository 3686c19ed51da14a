package io.hyprstream.bench.compare;

import io.hyprstream.Hyprstream;
import io.hyprstream.bench.Arrows;
import io.hyprstream.bench.FlightJdbcDriver;
import io.hyprstream.bench.MetricsData;
import io.hyprstream.bench.RunEnv;
import io.hyprstream.bench.Stats;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.arrow.flight.AsyncPutListener;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.Location;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.util.AutoCloseables;
import org.apache.arrow.vector.TypeLayout;
import org.apache.arrow.vector.VectorLoader;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.types.pojo.Field;

/**
 * The server as users run it: {@code java -jar hyprstream.jar} started as a child process with no
 * JVM flag of ours (the jar's manifest and its defaults for heap and GC), ingest by Arrow Flight
 * {@code DoPut}, every query through the real Flight SQL JDBC driver, with a plain {@link
 * Statement} (metric id as a literal) and with a {@link PreparedStatement} (metric id bound).
 *
 * <p>The server runs on the wall clock, and the generated rows end at {@link MetricsData#END}.
 * Every timestamp sent is therefore moved forward by a whole number of weeks (so every window, up
 * to a week, keeps its alignment) to end within the last week, and every window start read back is
 * moved back by the same amount before it is compared with the oracle.
 */
final class JarPeer implements Peer {
  static final String STATEMENT = "Statement";
  static final String PREPARED = "PreparedStatement";

  /** The default of {@code --server-jar}: the jar {@code mvn package} builds, from the root. */
  static final Path DEFAULT_SERVER_JAR = Path.of("hyprstream-flight/target/hyprstream.jar");

  private static final long WEEK_MICROS = Duration.ofDays(7).toNanos() / 1000;
  private static final Pattern LISTENING =
      Pattern.compile("Hyprstream listening on grpc://([^:\\s]+):(\\d+)");

  /**
   * Retentions that hold the moved rows (up to two weeks old) in every view W2 to W4 read; the
   * in-process peers get the same effect from a clock fixed at the data's end.
   */
  static final List<String> SERVER_ARGS =
      List.of(
          "--port",
          "0",
          "--http-port",
          "0",
          "--log-level",
          "warn",
          "--cache-duration",
          String.valueOf(Duration.ofDays(15).toSeconds()),
          "--metrics-windows",
          "5m:15d,30m:15d,1h:31d,1d:400d,1w:260w");

  private final Path serverJar;
  private final Path workDir;
  private final Process server;
  private final int httpPort;
  private final ChildOutput serverOutput;
  private final BufferAllocator allocator;
  private final FlightClient flight;
  private final Connection jdbc;
  private final PreparedStatement lookup;
  private final Map<String, PreparedStatement> visible = new HashMap<>();
  private final long shiftMicros;

  private final List<String> jvmOptions;

  /**
   * @param jvmOptions options for the server's JVM, before {@code -jar}: none by default (what
   *     users get); for profiling or trying another GC
   */
  JarPeer(BufferAllocator parent, Path serverJar, Path jdbcDriverJar, List<String> jvmOptions)
      throws Exception {
    this.jvmOptions = List.copyOf(jvmOptions);
    if (!Files.isRegularFile(serverJar)) {
      throw new IllegalArgumentException(
          "--server-jar: " + serverJar.toAbsolutePath() + " does not exist (run `mvn package`)");
    }
    if (!Files.isRegularFile(jdbcDriverJar)) {
      throw new IllegalArgumentException(
          "--jdbc-driver-jar: "
              + jdbcDriverJar.toAbsolutePath()
              + " does not exist (the Flight SQL JDBC driver's jar, flight-sql-jdbc-driver)");
    }
    this.serverJar = serverJar.toAbsolutePath();
    long now = MetricsData.micros(Instant.now());
    long end = MetricsData.micros(MetricsData.END);
    this.shiftMicros = Math.max(0, Math.floorDiv(now - end, WEEK_MICROS)) * WEEK_MICROS;
    List<AutoCloseable> opened = new ArrayList<>();
    try {
      workDir = Files.createTempDirectory("hyprstream-bench-jar");
      List<String> command = new ArrayList<>();
      command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      command.addAll(this.jvmOptions);
      command.add("-jar");
      command.add(this.serverJar.toString());
      command.addAll(SERVER_ARGS);
      // Our own free port instead of --http-port 0: at --log-level warn the server does not say
      // which port it bound, and /metrics is where its per-call times are read.
      httpPort = freePort();
      command.set(command.indexOf("--http-port") + 1, Integer.toString(httpPort));
      server =
          new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true).start();
      opened.add(this::stopServer);
      serverOutput = ChildOutput.follow(server, LISTENING, "the server jar", "bench-jar-output");
      Matcher listening = serverOutput.awaitListening(Duration.ofSeconds(60));
      Location location =
          Location.forGrpcInsecure(listening.group(1), Integer.parseInt(listening.group(2)));
      allocator = parent.newChildAllocator("jar-client", 0, Long.MAX_VALUE);
      opened.add(allocator);
      flight = FlightClient.builder(allocator, location).build();
      opened.add(flight);
      jdbc =
          FlightJdbcDriver.connect(
              jdbcDriverJar, location.getUri().getHost(), location.getUri().getPort());
      opened.add(jdbc);
      lookup = jdbc.prepareStatement(HyprstreamPeer.LOOKUP_SQL);
    } catch (Exception e) {
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
  public List<String> modes() {
    return List.of(STATEMENT, PREPARED);
  }

  @Override
  public String version() {
    String duck = "?";
    try (Statement st = jdbc.createStatement();
        ResultSet rs = st.executeQuery("SELECT version()")) {
      if (rs.next()) {
        duck = rs.getString(1);
      }
    } catch (SQLException e) {
      duck = "?";
    }
    String driver;
    try {
      driver = jdbc.getMetaData().getDriverVersion();
    } catch (SQLException e) {
      driver = "?";
    }
    return "Hyprstream "
        + RunEnv.version("io.hyprstream", "hyprstream-core")
        + " (git "
        + RunEnv.gitHead()
        + ", DuckDB "
        + duck
        + " cache), server jar, Flight SQL JDBC driver "
        + driver;
  }

  @Override
  public String settings() {
    return "`java -jar "
        + serverJar.getFileName()
        + "` as a child process, "
        + (jvmOptions.isEmpty()
            ? "no JVM flag of ours (the jar's manifest, the JVM's default heap and GC)"
            : "JVM options `" + String.join(" ", jvmOptions) + "`")
        + ", arguments `"
        + String.join(" ", SERVER_ARGS)
        + "`; client: Arrow `FlightClient` `DoPut` of the data's batches (W1) and of the"
        + " 100-row batch (W4), each batch sent once gRPC takes it (the client parks between looks"
        + " instead of Arrow Java's spin in `putNext`); W2 to W4 through the Flight SQL JDBC"
        + " driver (its own jar, its own class loader), mode Statement: the metric id as a"
        + " literal in a plain `Statement`;"
        + " mode PreparedStatement: prepared once, the metric id bound; W3 a plain `Statement` in"
        + " both. The server runs on the wall clock, so every timestamp sent is moved forward by "
        + shiftMicros / WEEK_MICROS
        + " whole weeks (window alignment kept) and moved back in the answers; retentions raised"
        + " to hold the moved rows. W1 ends when a count over the raw rows and one over each"
        + " window view have answered.";
  }

  @Override
  public void ingest(List<VectorSchemaRoot> batches) throws SQLException {
    put(batches);
    long expected = batches.stream().mapToLong(VectorSchemaRoot::getRowCount).sum();
    try (Statement st = jdbc.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*) FROM metrics")) {
      rs.next();
      long stored = rs.getLong(1);
      if (stored < expected) {
        throw new IllegalStateException("metrics holds " + stored + " rows, expected " + expected);
      }
      // W1 ends with every window view in DuckDB too, as in HyprstreamPeer.checkCount.
      for (String view : HyprstreamPeer.VIEWS) {
        try (ResultSet views = st.executeQuery("SELECT count(*) FROM " + view)) {
          views.next();
        }
      }
    }
  }

  /** One {@code DoPut} of every batch, each with its timestamps moved by the week shift. */
  private void put(List<VectorSchemaRoot> batches) {
    try (VectorSchemaRoot root = VectorSchemaRoot.create(batches.get(0).getSchema(), allocator)) {
      AsyncPutListener ack = new AsyncPutListener();
      FlightClient.ClientStreamListener put =
          flight.startPut(FlightDescriptor.path(Hyprstream.METRICS_TABLE), root, ack);
      VectorLoader loader = new VectorLoader(root);
      for (VectorSchemaRoot b : batches) {
        try (ArrowRecordBatch shifted = shifted(b)) {
          loader.load(shifted);
        }
        Arrows.putNextWhenReady(put, ack);
      }
      put.completed();
      put.getResult();
    }
  }

  /**
   * {@code batch}'s buffers, shared, except the timestamp column's values: a new buffer holding
   * them plus the shift. The caller's batch is not changed (the sent buffers may still be read by
   * gRPC after {@code putNext} returns).
   */
  private ArrowRecordBatch shifted(VectorSchemaRoot batch) {
    int timeBuffer = 0;
    for (Field f : batch.getSchema().getFields()) {
      if (f.getName().equals("timestamp")) {
        timeBuffer += TypeLayout.getTypeBufferCount(f.getType()) - 1; // validity, then values
        break;
      }
      timeBuffer += TypeLayout.getTypeBufferCount(f.getType());
    }
    int rows = batch.getRowCount();
    try (ArrowRecordBatch shared = new VectorUnloader(batch).getRecordBatch();
        ArrowBuf moved = allocator.buffer(Math.max(8L * rows, 8))) {
      List<ArrowBuf> buffers = new ArrayList<>(shared.getBuffers());
      ArrowBuf times = buffers.get(timeBuffer);
      for (int r = 0; r < rows; r++) {
        moved.setLong(8L * r, times.getLong(8L * r) + shiftMicros);
      }
      buffers.set(timeBuffer, moved);
      return new ArrowRecordBatch(rows, shared.getNodes(), buffers); // retains each buffer
    }
  }

  @Override
  public Hourly lastHourly(String mode, String metricId) throws SQLException {
    Hourly h = new Hourly(24);
    if (PREPARED.equals(mode)) {
      lookup.setString(1, metricId);
      try (ResultSet rs = lookup.executeQuery()) {
        readHourly(rs, h);
      }
    } else {
      String text = HyprstreamPeer.LOOKUP_SQL.replace("?", FlightPeer.quote(metricId));
      try (Statement st = jdbc.createStatement();
          ResultSet rs = st.executeQuery(text)) {
        readHourly(rs, h);
      }
    }
    return h;
  }

  private void readHourly(ResultSet rs, Hourly into) throws SQLException {
    while (rs.next()) {
      into.add(
          unshifted(rs.getObject("window_start", LocalDateTime.class)),
          rs.getLong("value_count"),
          rs.getDouble("value_sum"));
    }
  }

  private long unshifted(LocalDateTime t) {
    return MetricsData.micros(t.toInstant(ZoneOffset.UTC)) - shiftMicros;
  }

  @Override
  public void allFiveMinute(String mode, WindowGrid into, int run) throws SQLException {
    try (Statement st = jdbc.createStatement();
        ResultSet rs =
            st.executeQuery(String.format(Locale.ROOT, HyprstreamPeer.ALL_5M_SQL, run))) {
      while (rs.next()) {
        into.add(
            WindowGrid.metricIndex(rs.getString(1)),
            unshifted(rs.getObject(2, LocalDateTime.class)),
            rs.getLong(3),
            rs.getDouble(4));
      }
    }
  }

  @Override
  public void ingestSmall(VectorSchemaRoot batch) {
    put(List.of(batch));
  }

  @Override
  public long windowCount(String mode, String metricId, long windowStartMicros)
      throws SQLException {
    String text =
        "SELECT * FROM metrics_5m WHERE metric_id = ? AND window_start >= TIMESTAMP '"
            + HyprstreamPeer.sqlTimestamp(windowStartMicros + shiftMicros)
            + "' ORDER BY window_start";
    if (PREPARED.equals(mode)) {
      PreparedStatement ps = visible.get(text);
      if (ps == null) {
        ps = jdbc.prepareStatement(text);
        visible.put(text, ps);
      }
      ps.setString(1, metricId);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong("value_count") : 0;
      }
    }
    try (Statement st = jdbc.createStatement();
        ResultSet rs = st.executeQuery(text.replace("?", FlightPeer.quote(metricId)))) {
      return rs.next() ? rs.getLong("value_count") : 0;
    }
  }

  /** The server process's resident set (heap, DuckDB, Arrow buffers), from /proc. */
  @Override
  public long nativeBytes() throws IOException {
    Path status = Path.of("/proc", String.valueOf(server.pid()), "status");
    if (!Files.isReadable(status)) {
      return 0;
    }
    for (String line : Files.readAllLines(status)) {
      if (line.startsWith("VmRSS:")) {
        String[] parts = line.trim().split("\\s+");
        return Long.parseLong(parts[1]) * 1024; // kB
      }
    }
    return 0;
  }

  @Override
  public String memoryNote() {
    return "resident set of the server process (`VmRSS`: its heap, DuckDB and Arrow buffers); the"
        + " bench JVM's heap growth is the client's";
  }

  private void stopServer() throws Exception {
    server.destroy(); // SIGTERM: the server's own orderly stop
    if (!server.waitFor(30, TimeUnit.SECONDS)) {
      server.destroyForcibly();
      server.waitFor(10, TimeUnit.SECONDS);
      throw new IllegalStateException(
          "the server jar did not stop within 30 s of SIGTERM:\n" + serverOutput.text());
    }
    try (var files = Files.walk(workDir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static int freePort() throws IOException {
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  /**
   * The server's own time per Flight method so far ({@code hyprstream_flight_call_seconds} on its
   * /metrics): method to {count, seconds}.
   */
  @Override
  public Map<String, double[]> serverCallTimes() throws Exception {
    java.net.http.HttpResponse<String> r =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + httpPort + "/metrics"))
                    .build(),
                java.net.http.HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    Map<String, double[]> out = new java.util.TreeMap<>();
    for (String line : r.body().split("\n")) {
      boolean count = line.startsWith("hyprstream_flight_call_seconds_count{");
      if (!count && !line.startsWith("hyprstream_flight_call_seconds_sum{")) {
        continue;
      }
      int at = line.indexOf("method=\"") + "method=\"".length();
      String method = line.substring(at, line.indexOf('"', at));
      double value = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      out.computeIfAbsent(method, m -> new double[2])[count ? 0 : 1] = value;
    }
    return out;
  }

  /**
   * The floor of one Flight round trip on this machine (a one-message call to a trivial Arrow
   * Flight server in a process of its own), and {@code ListActions} answered with as many actions
   * by that server and by this jar: what the jar adds to a call. Each warmed up first, so the
   * trivial server's fresh JIT does not count against it.
   */
  @Override
  public String roundTripNote(int runs) throws Exception {
    int warmup = Math.max(3000, runs);
    int actions = FlightFloor.actionCount(flight);
    FlightFloor.Trivial trivial = FlightFloor.trivialServer(allocator, actions, warmup, runs);
    Stats ours = FlightFloor.listActionsCalls(flight, warmup, runs);
    return "a call answered with one message by a trivial Arrow Flight server in a process of its"
        + " own, "
        + FlightFloor.p50p99(trivial.oneMessage())
        + "; ListActions answered with "
        + actions
        + " actions by that server, "
        + FlightFloor.p50p99(trivial.listActions())
        + ", and by the server jar, "
        + FlightFloor.p50p99(ours)
        + " ("
        + runs
        + " timed calls each after "
        + warmup
        + " warm-up). A JDBC lookup makes four round trips with a Statement, three with a"
        + " PreparedStatement";
  }

  @Override
  public long otherProcessCpuNanos() {
    long pid = server.pid();
    return RunEnv.cpuNanosOf(p -> p == pid);
  }

  @Override
  public void close() {
    List<AutoCloseable> all = new ArrayList<>(visible.values());
    all.addAll(List.of(lookup, jdbc, flight, allocator, this::stopServer));
    try {
      AutoCloseables.close(all);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
