package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.hyprstream.flight.FlightJdbc;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.apache.arrow.adbc.core.AdbcConnection;
import org.apache.arrow.adbc.core.AdbcDatabase;
import org.apache.arrow.adbc.core.AdbcDriver;
import org.apache.arrow.adbc.core.AdbcException;
import org.apache.arrow.adbc.core.AdbcStatement;
import org.apache.arrow.adbc.core.AdbcStatusCode;
import org.apache.arrow.adbc.core.BulkIngestMode;
import org.apache.arrow.adbc.driver.flightsql.FlightSqlDriver;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.UInt8Vector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Poison among good writers, through the jar with a PostgreSQL backend: each bad batch (invalid
 * UTF-8, NUL, an event time past 2262, a type PostgreSQL cannot store, a column sent twice) is
 * refused with INVALID_ARGUMENT naming the column, while four writers ingest concurrently; then the
 * cache and PostgreSQL hold exactly the good rows and the windows equal the oracle over them.
 */
final class PoisonInputIT {
  private static final int WRITERS = 4;
  private static final int BATCHES_PER_WRITER = 15;
  private static final int ROWS_PER_BATCH = 400;

  @TempDir Path dir;

  /** One bad batch: its name, what the refusal must mention, and how to spoil a good batch. */
  private record Poison(
      String name, String mentions, List<Field> extra, Consumer<VectorSchemaRoot> spoil) {}

  private static List<Poison> poisons() {
    return List.of(
        new Poison(
            "invalid UTF-8 key",
            "metric_id",
            List.of(),
            b -> text(b, "metric_id", 3, new byte[] {0x65, 0x76, (byte) 0xff, (byte) 0xfe})),
        new Poison(
            "NUL in a label",
            "host",
            List.of(Field.nullable("host", ArrowType.Utf8.INSTANCE)),
            b -> text(b, "host", 5, new byte[] {0x61, 0x00})),
        new Poison(
            "an event time in 9999",
            "timestamp",
            List.of(),
            b ->
                ((TimeStampMicroVector) b.getVector("timestamp"))
                    .set(2, Instant.parse("9999-12-31T00:00:00Z").toEpochMilli() * 1000)),
        new Poison(
            "a uint64 label",
            "big",
            List.of(Field.nullable("big", new ArrowType.Int(64, false))),
            b -> ((UInt8Vector) b.getVector("big")).setSafe(0, 1)),
        new Poison(
            "a column sent twice",
            "twice",
            List.of(
                Field.nullable("Zone", ArrowType.Utf8.INSTANCE),
                Field.nullable("zone", ArrowType.Utf8.INSTANCE)),
            b -> {}));
  }

  private static void text(VectorSchemaRoot b, String column, int row, byte[] bytes) {
    ((VarCharVector) b.getVector(column)).setSafe(row, bytes);
  }

  /** Ten rows of valid metrics, plus {@code extra} columns left null, for a poison to spoil. */
  private static VectorSchemaRoot goodBatch(BufferAllocator allocator, List<Field> extra) {
    List<Field> fields = new ArrayList<>();
    fields.add(Field.notNullable("metric_id", ArrowType.Utf8.INSTANCE));
    fields.add(Field.notNullable("timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)));
    fields.add(Field.nullable("value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)));
    fields.addAll(extra);
    VectorSchemaRoot root = VectorSchemaRoot.create(new Schema(fields), allocator);
    root.allocateNew();
    long now = Instant.now().toEpochMilli() * 1000;
    for (int r = 0; r < 10; r++) {
      text(root, "metric_id", r, ("poison-" + r).getBytes(StandardCharsets.UTF_8));
      ((TimeStampMicroVector) root.getVector(1)).setSafe(r, now - r);
      ((Float8Vector) root.getVector(2)).setSafe(r, r);
    }
    root.setRowCount(10);
    return root;
  }

  @Test
  void poisonAmongConcurrentWriters_refusedAlone_goodRowsAllStored() throws Exception {
    List<List<MetricRows.Row>> perWriter = new ArrayList<>();
    List<MetricRows.Row> good = new ArrayList<>();
    for (int w = 0; w < WRITERS; w++) {
      List<MetricRows.Row> rows =
          MetricRows.generate(BATCHES_PER_WRITER * ROWS_PER_BATCH, 100 + w, Instant.now());
      perWriter.add(rows);
      good.addAll(rows);
    }
    try (PostgresDatabase pg = PostgresDatabase.create();
        ServerProcess server =
            ServerProcess.start(
                "--engine",
                "adbc",
                "--engine-connection",
                pg.jdbcUrl(),
                "--data-dir",
                dir + "/data")) {
      ExecutorService pool = Executors.newFixedThreadPool(WRITERS);
      List<String> refusals = Collections.synchronizedList(new ArrayList<>());
      try {
        List<Future<?>> writers = new ArrayList<>();
        for (List<MetricRows.Row> rows : perWriter) {
          writers.add(
              pool.submit(
                  () -> {
                    try (Connection c = FlightJdbc.connect(server.jdbcUrl())) {
                      for (int i = 0; i < rows.size(); i += ROWS_PER_BATCH) {
                        MetricRows.ingestJdbc(c, rows.subList(i, i + ROWS_PER_BATCH));
                      }
                    }
                    return null;
                  }));
        }
        try (BufferAllocator allocator = new RootAllocator();
            AdbcDatabase db =
                new FlightSqlDriver(allocator)
                    .open(
                        Map.of(
                            AdbcDriver.PARAM_URI.getKey(),
                            "grpc+tcp://127.0.0.1:" + server.port()));
            AdbcConnection connection = db.connect()) {
          for (int round = 0; round < 3; round++) {
            for (Poison p : poisons()) {
              try (VectorSchemaRoot bad = goodBatch(allocator, p.extra());
                  AdbcStatement st = connection.bulkIngest("metrics", BulkIngestMode.APPEND)) {
                p.spoil().accept(bad);
                st.bind(bad);
                st.executeUpdate();
                fail(p.name() + " was acknowledged");
              } catch (AdbcException e) {
                assertEquals(AdbcStatusCode.INVALID_ARGUMENT, e.getStatus(), p.name() + ": " + e);
                assertTrue(
                    e.getMessage().contains(p.mentions()),
                    p.name() + ": the refusal names '" + p.mentions() + "': " + e.getMessage());
                refusals.add(p.name());
              }
            }
          }
        }
        for (Future<?> w : writers) {
          w.get();
        }
      } finally {
        pool.shutdownNow();
      }
      assertEquals(3 * poisons().size(), refusals.size());

      try (Connection flight = FlightJdbc.connect(server.jdbcUrl());
          Statement st = flight.createStatement()) {
        try (ResultSet rs = st.executeQuery("SELECT count(*) FROM metrics")) {
          assertTrue(rs.next());
          assertEquals(good.size(), rs.getLong(1), "the cache holds every good row, no bad one");
        }
        MetricRows.assertSameRows(
            MetricRows.oracle(good, Duration.ofMinutes(5)),
            MetricRows.windows(flight, "metrics_5m"),
            "metrics_5m over the good rows");
      }
      pg.assertHoldsExactly(good);
      try (Connection c = pg.connect();
          Statement st = c.createStatement();
          ResultSet rs =
              st.executeQuery(
                  "SELECT count(*) FROM information_schema.columns WHERE table_name = 'metrics'"
                      + " AND column_name IN ('host', 'big', 'zone', 'Zone')")) {
        assertTrue(rs.next());
        assertEquals(0, rs.getLong(1), "no refused batch added a column to the backend");
      }
      assertEquals(0, server.terminate(), server.log());
    }
  }
}
