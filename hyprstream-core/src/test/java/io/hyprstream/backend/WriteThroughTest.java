package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.Hyprstream;
import io.hyprstream.api.BackendStore;
import io.hyprstream.testing.PostgresAvailable;
import io.hyprstream.testing.TestAllocator;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ingest with a backend attached: what was acknowledged reaches it, once, and survives restarts.
 */
@ExtendWith(PostgresAvailable.class)
final class WriteThroughTest {
  private static final Instant NOW = Instant.parse("2026-09-01T12:00:00Z");
  private static final Schema METRICS =
      new Schema(
          List.of(
              Field.notNullable("metric_id", new ArrowType.Utf8()),
              Field.notNullable("timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
              Field.nullable("value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));

  @TempDir Path dir;
  @RegisterExtension final TestAllocator allocator = new TestAllocator();
  private String schema;

  @BeforeEach
  void setUp() {
    schema = "hs_wt_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  }

  @AfterEach
  void tearDown() throws Exception {
    try (Connection c =
            DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
        Statement st = c.createStatement()) {
      st.execute("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
    }
  }

  private VectorSchemaRoot batch(Random random, int rows, long firstMicros) {
    VectorSchemaRoot root = VectorSchemaRoot.create(METRICS, allocator);
    root.allocateNew();
    for (int i = 0; i < rows; i++) {
      ((VarCharVector) root.getVector(0))
          .setSafe(i, ("m" + random.nextInt(20)).getBytes(StandardCharsets.UTF_8));
      ((TimeStampMicroVector) root.getVector(1)).setSafe(i, firstMicros + i * 1_000_003L);
      ((Float8Vector) root.getVector(2)).setSafe(i, random.nextInt(1_000_000) / 100.0);
    }
    root.setRowCount(rows);
    return root;
  }

  private Hyprstream open(BackendStore backend) {
    return Hyprstream.builder()
        .allocator(allocator)
        .clock(InstantSource.fixed(NOW))
        .expiryInterval(Duration.ZERO)
        .backend(backend)
        .dataDirectory(dir.resolve("data"))
        .build();
  }

  private BackendStore postgres() {
    return BackendStores.open(
        "adbc", PostgresAvailable.URI, Map.of("schema", schema), null, null, allocator);
  }

  /** Rows as "id|micros|value" strings, sorted, for comparing stores. */
  private static List<String> rows(ArrowReader reader) throws Exception {
    List<String> out = new ArrayList<>();
    try (reader) {
      while (reader.loadNextBatch()) {
        VectorSchemaRoot r = reader.getVectorSchemaRoot();
        FieldVector id = r.getVector("metric_id");
        FieldVector ts = r.getVector("timestamp");
        FieldVector v = r.getVector("value");
        for (int i = 0; i < r.getRowCount(); i++) {
          Object t = ts.getObject(i);
          out.add(id.getObject(i) + "|" + t + "|" + v.getObject(i));
        }
      }
    }
    out.sort(null);
    return out;
  }

  @Test
  void ingest_withPostgres_backendHoldsExactlyTheAcknowledgedRows() throws Exception {
    Random random = new Random(11);
    long t0 = (NOW.getEpochSecond() - 3000) * 1_000_000L;
    long acked = 0;
    List<String> cached;
    try (Hyprstream hs = open(postgres())) {
      for (int b = 0; b < 12; b++) {
        try (VectorSchemaRoot batch = batch(random, 700 + b, t0 + b * 1_000_000_000L)) {
          acked += hs.ingest("metrics", batch).rowsAccepted();
        }
      }
      cached = rows(hs.query("SELECT metric_id, timestamp, value FROM metrics"));
      assertEquals(acked, cached.size());
    } // close drains the write-through queue
    long[] row =
        PostgresAvailable.firstRow(
            "SELECT count(*), count(DISTINCT (metric_id, \"timestamp\")),"
                + " (SELECT count(*) FROM \""
                + schema
                + "\".hyprstream_ledger) FROM \""
                + schema
                + "\".metrics");
    assertEquals(acked, row[0], "every acknowledged row is in PostgreSQL");
    assertEquals(acked, row[1], "none twice");
    assertEquals(12, row[2], "one ledger entry per ingested batch");
    try (BackendStore pg = postgres()) {
      List<String> backend =
          rows(pg.query("SELECT metric_id, \"timestamp\", value FROM metrics", allocator));
      assertEquals(cached, backend, "same rows and values as the cache served");
      try (ArrowReader fromBackend =
          pg.query("SELECT metric_id, \"timestamp\", value FROM metrics LIMIT 1", allocator)) {
        List<ArrowType> backendTypes = new ArrayList<>();
        fromBackend
            .getVectorSchemaRoot()
            .getSchema()
            .getFields()
            .forEach(f -> backendTypes.add(f.getType()));
        assertEquals(
            List.of(
                new ArrowType.Utf8(),
                new ArrowType.Timestamp(TimeUnit.MICROSECOND, null),
                new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
            backendTypes,
            "PostgreSQL answers with the cache's Arrow types");
      }
    }
  }

  @Test
  void readThrough_repeatedQuery_isServedFromTheKeptResult() throws Exception {
    try (Hyprstream hs = open(postgres())) {
      try (Connection c =
              DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
          Statement st = c.createStatement()) {
        st.execute("CREATE TABLE \"" + schema + "\".orders (id BIGINT, amount DOUBLE PRECISION)");
        st.execute("INSERT INTO \"" + schema + "\".orders VALUES (1, 10.5), (2, 20.25)");
      }
      String sql = "SELECT count(*) AS n, sum(amount) AS total FROM orders";
      Thread.sleep(5100); // the backend's table list is re-read every 5 s
      assertEquals(
          List.of("2|30.7500000|"), text(hs.query(sql)), "first answer comes from PostgreSQL");
      try (Connection c =
              DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
          Statement st = c.createStatement()) {
        st.execute("INSERT INTO \"" + schema + "\".orders VALUES (3, 1.0)");
      }
      assertEquals(
          List.of("2|30.7500000|"), text(hs.query(sql)), "the repeat is served from memory");
    }
  }

  @Test
  void manySmallIngests_areGroupedAndEachLandsOnce() throws Exception {
    Random random = new Random(3);
    long t0 = (NOW.getEpochSecond() - 600) * 1_000_000L;
    try (Hyprstream hs = open(postgres())) {
      for (int b = 0; b < 300; b++) {
        try (VectorSchemaRoot batch = batch(random, 5, t0 + b * 10_000_000L)) {
          hs.ingest("metrics", batch);
        }
      }
    }
    long[] row =
        PostgresAvailable.firstRow(
            "SELECT (SELECT count(*) FROM \""
                + schema
                + "\".metrics), (SELECT count(*) FROM \""
                + schema
                + "\".hyprstream_ledger)");
    assertEquals(1500, row[0], "every row of every small ingest");
    assertEquals(300, row[1], "one ledger entry per ingest, however they were grouped");
  }

  @Test
  void restart_withDurableBackend_restoresWindowsAndHotRows() throws Exception {
    Path file = dir.resolve("backend.duckdb");
    Random random = new Random(5);
    long t0 = (NOW.getEpochSecond() - 2 * 3600) * 1_000_000L;
    String windows = "SELECT * FROM metrics_5m ORDER BY metric_id, window_start";
    List<String> before;
    List<String> beforeHourly;
    List<String> hot;
    try (Hyprstream hs = open(DuckDbBackendStore.open(file, allocator))) {
      for (int b = 0; b < 6; b++) {
        try (VectorSchemaRoot batch = batch(random, 1000, t0 + b * 700_000_000L)) {
          hs.ingest("metrics", batch);
        }
      }
      hs.expire(); // raw rows older than the cache duration leave, as they will after the restart
      hot = text(hs.query("SELECT metric_id, timestamp, value FROM metrics ORDER BY ALL"));
      before = text(hs.query(windows));
      beforeHourly = text(hs.query("SELECT * FROM metrics_1h ORDER BY metric_id, window_start"));
    }
    try (Hyprstream hs = open(DuckDbBackendStore.open(file, allocator))) {
      assertEquals(before, text(hs.query(windows)), "5m windows after a restart");
      assertEquals(
          beforeHourly,
          text(hs.query("SELECT * FROM metrics_1h ORDER BY metric_id, window_start")),
          "1h windows after a restart");
      assertEquals(
          hot,
          text(hs.query("SELECT metric_id, timestamp, value FROM metrics ORDER BY ALL")),
          "the hot raw rows are back in the cache");
    }
  }

  /** Every row as text with doubles rounded, so re-aggregation order cannot flip the last bit. */
  private static List<String> text(ArrowReader reader) throws Exception {
    List<String> out = new ArrayList<>();
    try (reader) {
      while (reader.loadNextBatch()) {
        VectorSchemaRoot r = reader.getVectorSchemaRoot();
        for (int i = 0; i < r.getRowCount(); i++) {
          StringBuilder sb = new StringBuilder();
          for (FieldVector v : r.getFieldVectors()) {
            Object o = v.getObject(i);
            sb.append(o instanceof Double ? String.format("%.9g", (Double) o) : String.valueOf(o));
            sb.append('|');
          }
          out.add(sb.toString());
        }
      }
    }
    assertTrue(!out.isEmpty());
    return out;
  }
}
