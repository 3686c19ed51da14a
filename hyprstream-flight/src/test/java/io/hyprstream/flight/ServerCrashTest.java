package io.hyprstream.flight;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.AsyncPutListener;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.Location;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} of the {@code hyprstream} server process while a client ingests over Flight DoPut
 * with a PostgreSQL backend; a restart with the same flags, directory and port; PostgreSQL then
 * holds every acknowledged row exactly once.
 */
final class ServerCrashTest {
  private static final String PG_URL = "jdbc:postgresql://127.0.0.1:5432/test";
  private static final int ROWS = 4000;
  private static final Schema SCHEMA =
      new Schema(
          List.of(
              Field.notNullable("metric_id", new ArrowType.Utf8()),
              Field.notNullable(
                  "timestamp",
                  new ArrowType.Timestamp(
                      org.apache.arrow.vector.types.TimeUnit.MICROSECOND, null)),
              Field.nullable("value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
              Field.nullable("batch", new ArrowType.Int(64, true))));

  @TempDir Path dir;
  private final String schema =
      "hs_srvcrash_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);

  private static Properties pg() {
    Properties p = new Properties();
    p.setProperty("user", "postgres");
    p.setProperty("connectTimeout", "5");
    return p;
  }

  /** PostgreSQL must answer in CI; elsewhere the test is skipped with the reason. */
  private static void requirePostgres() {
    try (Connection c = DriverManager.getConnection(PG_URL, pg())) {
      c.isValid(2);
    } catch (SQLException e) {
      String why = "PostgreSQL is not reachable at " + PG_URL + ": " + e.getMessage();
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        throw new IllegalStateException(why + " (CI=true: PostgreSQL tests must run)", e);
      }
      assumeTrue(false, why + " (set CI=true to make this a failure)");
    }
  }

  @AfterEach
  void dropSchema() throws Exception {
    try (Connection c = DriverManager.getConnection(PG_URL, pg());
        Statement st = c.createStatement()) {
      st.execute("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
    } catch (SQLException ignored) {
      // PostgreSQL absent: the test was skipped
    }
  }

  /** Where the last started server's output goes (stdout and stderr). */
  private Path serverLog;

  /**
   * The last lines the server printed. Its output goes to a file rather than a pipe: a pipe read
   * while the process exits can fail with "Stream closed" and lose the last lines, the ones that
   * say why it exited as it did.
   */
  private String serverLogTail() throws Exception {
    List<String> lines = Files.readAllLines(serverLog, StandardCharsets.UTF_8);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
  }

  private Process start(int port, String... extra) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("--add-opens=java.base/java.nio=ALL-UNNAMED");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("io.hyprstream.flight.internal.cli.Main");
    cmd.addAll(
        List.of(
            "--port",
            Integer.toString(port),
            "--engine",
            "adbc",
            "--engine-connection",
            "postgresql://postgres@127.0.0.1:5432/test",
            "--engine-options",
            "schema=" + schema,
            "--data-dir",
            dir.resolve("data").toString(),
            "--log-level",
            "info", // to a file: the shutdown's events say why an exit code is what it is
            "--http-port",
            "-1"));
    cmd.addAll(List.of(extra));
    serverLog = Files.createTempFile(dir, "server-", ".log");
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(serverLog.toFile()))
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (p.isAlive() && System.nanoTime() < deadline) {
      for (String line : Files.readAllLines(serverLog, StandardCharsets.UTF_8)) {
        if (line.startsWith("Hyprstream listening on grpc://")) {
          return p;
        }
      }
      Thread.sleep(20);
    }
    p.destroyForcibly();
    throw new AssertionError(
        "the server was not ready (exit " + p.waitFor() + "):\n" + serverLogTail());
  }

  private static VectorSchemaRoot batch(BufferAllocator a, long b, long base) {
    VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, a);
    root.allocateNew();
    for (int i = 0; i < ROWS; i++) {
      ((VarCharVector) root.getVector(0))
          .setSafe(i, ("m" + i % 9).getBytes(StandardCharsets.UTF_8));
      ((TimeStampMicroVector) root.getVector(1)).setSafe(i, base + b * ROWS + i);
      ((Float8Vector) root.getVector(2)).setSafe(i, i);
      ((BigIntVector) root.getVector(3)).setSafe(i, b);
    }
    root.setRowCount(ROWS);
    return root;
  }

  @Test
  void sigterm_duringDoPut_drainsEveryAcknowledgedRow_andExitsZero() throws Exception {
    requirePostgres();
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    long base = System.currentTimeMillis() * 1000 - 600_000_000L;
    java.util.concurrent.atomic.AtomicLong acked = new java.util.concurrent.atomic.AtomicLong();
    Process server = start(port);
    try (BufferAllocator allocator = new RootAllocator();
        FlightClient client =
            FlightClient.builder(allocator, Location.forGrpcInsecure("127.0.0.1", port)).build()) {
      Thread writer =
          new Thread(
              () -> {
                for (long b = 0; b < 1000; b++) {
                  try (VectorSchemaRoot root = batch(allocator, b, base)) {
                    FlightClient.ClientStreamListener put =
                        client.startPut(
                            FlightDescriptor.path("metrics"), root, new AsyncPutListener());
                    put.putNext();
                    put.completed();
                    put.getResult();
                    acked.incrementAndGet();
                  } catch (RuntimeException refusedOrCut) {
                    return; // the server is shutting down: this batch was not acknowledged
                  }
                }
              });
      writer.start();
      while (acked.get() < 10) {
        Thread.sleep(5);
      }
      server.destroy(); // SIGTERM while the writer keeps sending
      assertTrue(server.waitFor(60, TimeUnit.SECONDS));
      writer.join(30_000);
      assertEquals(
          0,
          server.exitValue(),
          "an orderly SIGTERM shutdown exits 0; the server printed:\n" + serverLogTail());
    } finally {
      server.destroyForcibly();
    }
    try (Connection c = DriverManager.getConnection(PG_URL, pg());
        Statement st = c.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT count(*), count(DISTINCT batch) FROM \"" + schema + "\".metrics")) {
      rs.next();
      // Every acknowledged batch is in PostgreSQL without a restart: the shutdown drained the
      // write-through queue. (A batch in flight at the signal may be stored without its ack.)
      assertTrue(rs.getLong(2) >= acked.get(), rs.getLong(2) + " batches < " + acked.get());
      assertEquals(rs.getLong(2) * ROWS, rs.getLong(1), "whole batches, none twice");
    }
  }

  @Test
  void killDashNine_duringDoPut_restartDeliversEveryAcknowledgedRowOnce() throws Exception {
    requirePostgres();
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    long base = System.currentTimeMillis() * 1000 - 600_000_000L;
    long acked = -1;
    Process server = start(port);
    try (BufferAllocator allocator = new RootAllocator();
        FlightClient client =
            FlightClient.builder(allocator, Location.forGrpcInsecure("127.0.0.1", port)).build()) {
      for (long b = 0; b < 40; b++) {
        try (VectorSchemaRoot root = batch(allocator, b, base)) {
          FlightClient.ClientStreamListener put =
              client.startPut(FlightDescriptor.path("metrics"), root, new AsyncPutListener());
          put.putNext();
          put.completed();
          put.getResult(); // the server acknowledged this batch
          acked = b;
        }
      }
      server.destroyForcibly(); // SIGKILL
      assertTrue(server.waitFor(30, TimeUnit.SECONDS));
    } finally {
      server.destroyForcibly();
    }
    assertEquals(39, acked);

    Process restarted = start(port); // same flags, directory and port: picks up the log
    restarted.destroy(); // SIGTERM: the shutdown hook drains the write-through queue, then exits
    assertTrue(restarted.waitFor(60, TimeUnit.SECONDS));

    try (Connection c = DriverManager.getConnection(PG_URL, pg());
        Statement st = c.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT count(*), count(DISTINCT \"timestamp\"), count(DISTINCT batch) FROM \""
                    + schema
                    + "\".metrics")) {
      rs.next();
      assertEquals(40L * ROWS, rs.getLong(1), "every acknowledged row reached PostgreSQL");
      assertEquals(rs.getLong(1), rs.getLong(2), "none twice");
      assertEquals(40, rs.getLong(3));
    }
  }
}
