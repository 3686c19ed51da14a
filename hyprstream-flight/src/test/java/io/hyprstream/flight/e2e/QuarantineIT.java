package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.arrow.flight.Action;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.Result;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A batch PostgreSQL refuses as data (a CHECK constraint added there by hand, which ingest cannot
 * know), through the jar: it is quarantined on disk, listed in {@code hyprstream_quarantine} over
 * JDBC, counted in /metrics, while the batches after it reach PostgreSQL; once the constraint is
 * dropped the Flight action {@code requeue_quarantine} sends it, and PostgreSQL holds every
 * acknowledged row exactly once. {@code hyprstream quarantine list} shows it; {@code hyprstream
 * quarantine requeue ID} of a batch no longer quarantined is refused naming it.
 */
final class QuarantineIT {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir Path dir;

  @Test
  void refusedBatch_quarantinedListedCounted_requeuedOnceAfterTheFix() throws Exception {
    Instant now = Instant.now();
    List<MetricRows.Row> first = MetricRows.generate(300, 1, now);
    List<MetricRows.Row> refused = new ArrayList<>();
    for (MetricRows.Row r : MetricRows.generate(200, 2, now)) {
      refused.add(new MetricRows.Row(r.metricId(), r.epochMillis(), -1 - r.value()));
    }
    List<MetricRows.Row> after = MetricRows.generate(300, 3, now);
    Path data = dir.resolve("data");
    try (PostgresDatabase pg = PostgresDatabase.create();
        ServerProcess server =
            ServerProcess.start(
                "--engine", "adbc", "--engine-connection", pg.jdbcUrl(), "--data-dir", "" + data);
        Connection flight = FlightJdbc.connect(server.jdbcUrl());
        Statement st = flight.createStatement()) {
      MetricRows.ingestJdbc(flight, first);
      pg.assertHoldsExactly(first);
      try (Connection c = pg.connect();
          Statement ps = c.createStatement()) {
        ps.execute("ALTER TABLE metrics ADD CONSTRAINT non_negative CHECK (value >= 0)");
      }
      MetricRows.ingestJdbc(flight, refused); // acknowledged; PostgreSQL refuses it afterwards
      MetricRows.ingestJdbc(flight, after);

      String batchId = null;
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (batchId == null) {
        assertTrue(System.nanoTime() < deadline, "nothing was quarantined:\n" + server.log());
        try (ResultSet rs =
            st.executeQuery(
                "SELECT table_name, batch_id, row_count, error FROM hyprstream_quarantine")) {
          if (rs.next()) {
            assertEquals("metrics", rs.getString(1));
            batchId = rs.getString(2);
            assertEquals(refused.size(), rs.getLong(3), "the refused batch's rows");
            assertTrue(rs.getString(4).contains("non_negative"), rs.getString(4));
            assertTrue(!rs.next(), "one batch quarantined, not its neighbours");
          }
        }
        Thread.sleep(100);
      }
      assertTrue(
          Files.exists(data.resolve("quarantine").resolve("metrics").resolve(batchId + ".arrow")),
          "kept as an Arrow IPC file under the data directory");
      List<MetricRows.Row> good = new ArrayList<>(first);
      good.addAll(after);
      pg.assertHoldsExactly(good); // later batches flowed on
      try (ResultSet rs =
          st.executeQuery(
              "SELECT quarantined_batches, quarantined_rows FROM hyprstream_backend_status")) {
        assertTrue(rs.next());
        assertEquals(1, rs.getLong(1));
        assertEquals(refused.size(), rs.getLong(2));
      }
      assertEquals(1.0, server.metric("hyprstream_writethrough_quarantined_batches"));
      assertEquals(
          (double) refused.size(), server.metric("hyprstream_writethrough_quarantined_rows"));
      try (ResultSet rs = st.executeQuery("SELECT count(*) FROM metrics")) {
        assertTrue(rs.next());
        assertEquals(
            first.size() + refused.size() + after.size(),
            rs.getLong(1),
            "the cache still holds every acknowledged row");
      }

      ShippedJar.Result listed =
          ShippedJar.run(List.of("quarantine", "list", "--port", "" + server.port()));
      assertEquals(0, listed.exitCode(), listed.output());
      assertTrue(listed.stdout().contains(batchId), listed.output());
      assertTrue(listed.stdout().contains("non_negative"), listed.output());

      // Fix the cause in PostgreSQL, then re-send by the documented action.
      try (Connection c = pg.connect();
          Statement ps = c.createStatement()) {
        ps.execute("ALTER TABLE metrics DROP CONSTRAINT non_negative");
      }
      String answer = requeue(server, batchId);
      assertTrue(answer.contains(batchId), answer);
      List<MetricRows.Row> all = new ArrayList<>(good);
      all.addAll(refused);
      pg.assertHoldsExactly(all);
      try (ResultSet rs = st.executeQuery("SELECT count(*) FROM hyprstream_quarantine")) {
        assertTrue(rs.next());
        assertEquals(0, rs.getLong(1), "the requeued batch left the quarantine");
      }
      assertEquals(0.0, server.metric("hyprstream_writethrough_quarantined_batches"));
      ShippedJar.Result unknown =
          ShippedJar.run(List.of("quarantine", "requeue", batchId, "--port", "" + server.port()));
      assertEquals(1, unknown.exitCode(), unknown.output());
      assertTrue(
          unknown.stderr().contains("INVALID_ARGUMENT") && unknown.stderr().contains(batchId),
          "a second requeue is refused naming the batch: " + unknown.output());
      assertTrue(
          !Files.exists(data.resolve("quarantine").resolve("metrics").resolve(batchId + ".arrow")));
      assertEquals(0, server.terminate(), server.log());
    }
  }

  /** DoAction requeue_quarantine with {@code batchId} over a plain Flight client. */
  private static String requeue(ServerProcess server, String batchId) throws Exception {
    try (BufferAllocator allocator = new RootAllocator();
        FlightClient client =
            FlightClient.builder(allocator, Location.forGrpcInsecure("127.0.0.1", server.port()))
                .build()) {
      Iterator<Result> results =
          client.doAction(
              new Action("requeue_quarantine", batchId.getBytes(StandardCharsets.UTF_8)));
      StringBuilder out = new StringBuilder();
      while (results.hasNext()) {
        out.append(new String(results.next().getBody(), StandardCharsets.UTF_8));
      }
      return out.toString();
    }
  }
}
