package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.hyprstream.Hyprstream;
import io.hyprstream.QueryResult;
import io.hyprstream.testing.PostgresAvailable;
import io.hyprstream.testing.TestAllocator;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.SmallIntVector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Aggregates over rows the cache no longer holds, split into the backend's partial aggregates and
 * DuckDB's (see {@code AggregateQuery}), against an oracle: an instance without a backend that
 * holds every row. The answers must be equal, with the same column names and Arrow types, for both
 * PostgreSQL connection forms; queries outside the split's shape read rows and are equal too.
 */
@ExtendWith(PostgresAvailable.class)
final class AggregateSplitPostgresTest {
  private static final Schema READINGS =
      new Schema(
          List.of(
              Field.notNullable("ts", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
              Field.nullable("sensor", new ArrowType.Utf8()),
              Field.nullable("site", new ArrowType.Int(32, true)),
              Field.nullable("ok", new ArrowType.Bool()),
              Field.nullable("n", new ArrowType.Int(64, true)),
              Field.nullable("small", new ArrowType.Int(16, true)),
              Field.nullable("v", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
              Field.nullable("f", new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE))));

  @TempDir Path dir;
  private final String schema =
      "hs_split_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  private final AtomicReference<Duration> offset = new AtomicReference<>(Duration.ZERO);
  @RegisterExtension final TestAllocator allocator = new TestAllocator();

  @AfterEach
  void tearDown() throws Exception {
    try (Connection pg =
            DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
        Statement st = pg.createStatement()) {
      st.execute("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {PostgresAvailable.URI, PostgresAvailable.URL})
  void splitAggregatesEqualEveryRowsAnswer_withDuckDbsNamesAndTypes(String connection)
      throws Exception {
    Instant wall = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    offset.set(Duration.ofMinutes(-5));
    if (connection.startsWith("jdbc:")) {
      // The JDBC form writes to the connection's current schema; create ours and name it there.
      try (Connection pg =
              DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
          Statement st = pg.createStatement()) {
        st.execute("CREATE SCHEMA \"" + schema + "\"");
      }
      connection += "?currentSchema=" + schema;
    }
    try (Hyprstream hs =
            PostgresAvailable.writingTo(connection, schema, allocator, dir.resolve("d"))
                .clock(() -> Instant.now().plus(offset.get()))
                .cacheDuration(Duration.ofSeconds(60))
                .timeColumn("readings", "ts")
                .build();
        Hyprstream oracle =
            Hyprstream.builder()
                .allocator(allocator)
                .expiryInterval(Duration.ZERO)
                .cacheDuration(Duration.ofDays(1))
                .timeColumn("readings", "ts")
                .build()) {
      for (Hyprstream h : List.of(hs, oracle)) {
        ingest(h, wall.minus(Duration.ofHours(3)), Duration.ofSeconds(30), 360);
        ingest(h, wall.minus(Duration.ofSeconds(40)), Duration.ofMillis(250), 120);
      }
      offset.set(Duration.ZERO);
      awaitWriteThrough(hs);
      hs.expire();

      String twoHoursAgo = text(wall.minus(Duration.ofHours(2)));
      String tenSecondsAgo = text(wall.minusSeconds(10));
      List<String> split =
          List.of(
              "SELECT count(*) FROM readings",
              "SELECT count(*), count(v), sum(v), avg(v), min(v), max(v), sum(n), avg(n),"
                  + " min(small), max(small), sum(f), min(f), sum(site) FROM readings",
              "SELECT sensor, count(*) AS c, sum(n) FROM readings GROUP BY sensor ORDER BY sensor",
              "SELECT site, ok, avg(v) AS mean, count(small) FROM readings r"
                  + " WHERE r.ts >= now() - INTERVAL '2 hours' GROUP BY site, ok"
                  + " ORDER BY site DESC, ok NULLS FIRST",
              "SELECT sensor, max(v) FROM readings WHERE ts BETWEEN '"
                  + twoHoursAgo
                  + "' AND '"
                  + tenSecondsAgo
                  + "' GROUP BY sensor ORDER BY sensor LIMIT 2",
              "SELECT count(*), sum(n) FROM readings WHERE '" + twoHoursAgo + "' < ts",
              "SELECT count(*), sum(v), avg(v) FROM readings WHERE ts < '"
                  + text(wall.minus(Duration.ofHours(4)))
                  + "'");
      for (String sql : split) {
        io.hyprstream.Operations.ColdReads before = hs.operations().coldReads();
        assertEquals(answer(oracle, sql, List.of()), answer(hs, sql, List.of()), sql);
        io.hyprstream.Operations.ColdReads after = hs.operations().coldReads();
        assertEquals(before.partialAggregates() + 1, after.partialAggregates(), "split: " + sql);
        assertEquals(before.rows(), after.rows(), "no rows read: " + sql);
      }

      String bound =
          "SELECT sensor, count(*), sum(n) FROM readings WHERE ts >= ? GROUP BY sensor"
              + " ORDER BY sensor";
      List<@Nullable Object> params =
          List.of(LocalDateTime.ofInstant(wall.minus(Duration.ofMinutes(100)), ZoneOffset.UTC));
      long partial = hs.operations().coldReads().partialAggregates();
      assertEquals(answer(oracle, bound, params), answer(hs, bound, params), bound);
      assertEquals(partial + 1, hs.operations().coldReads().partialAggregates(), "split: " + bound);

      // Outside the shape: text minima (collations differ), DISTINCT, a filter on another column,
      // DuckDB-only functions. They read rows, and are just as right.
      List<String> rows =
          List.of(
              "SELECT min(sensor) FROM readings",
              "SELECT count(DISTINCT sensor) FROM readings",
              "SELECT sensor, count(*) FROM readings WHERE v > 10 GROUP BY sensor ORDER BY sensor",
              "SELECT time_bucket(INTERVAL 1 HOUR, ts) AS h, sum(n) FROM readings GROUP BY h"
                  + " ORDER BY h",
              "SELECT min(ts), max(ts) FROM readings",
              "SELECT * FROM readings ORDER BY ts, sensor");
      for (String sql : rows) {
        io.hyprstream.Operations.ColdReads before = hs.operations().coldReads();
        assertEquals(answer(oracle, sql, List.of()), answer(hs, sql, List.of()), sql);
        assertEquals(before.rows() + 1, hs.operations().coldReads().rows(), "rows read: " + sql);
      }
    }
  }

  /** Ingests {@code n} rows from {@code first}, one every {@code step}; sums stay exact. */
  private void ingest(Hyprstream hs, Instant first, Duration step, int n) {
    try (VectorSchemaRoot b = VectorSchemaRoot.create(READINGS, allocator)) {
      b.allocateNew();
      for (int i = 0; i < n; i++) {
        // Microseconds too: a backend read that kept only milliseconds would show.
        Instant t = first.plus(step.multipliedBy(i)).plusNanos(1_000L * (i % 997));
        ((TimeStampMicroVector) b.getVector("ts"))
            .setSafe(i, ChronoUnit.MICROS.between(Instant.EPOCH, t));
        if (i % 11 == 0) {
          ((VarCharVector) b.getVector("sensor")).setNull(i);
        } else {
          ((VarCharVector) b.getVector("sensor"))
              .setSafe(i, ("s" + i % 4).getBytes(StandardCharsets.UTF_8));
        }
        ((IntVector) b.getVector("site")).setSafe(i, i % 3);
        if (i % 7 == 0) {
          ((BitVector) b.getVector("ok")).setNull(i);
        } else {
          ((BitVector) b.getVector("ok")).setSafe(i, i % 2);
        }
        ((BigIntVector) b.getVector("n")).setSafe(i, 1_000_000_000_000L + i);
        ((SmallIntVector) b.getVector("small")).setSafe(i, (short) (i % 500 - 250));
        if (i % 13 == 0) {
          ((Float8Vector) b.getVector("v")).setNull(i);
        } else {
          ((Float8Vector) b.getVector("v")).setSafe(i, (i % 97) * 0.25);
        }
        ((Float4Vector) b.getVector("f")).setSafe(i, (i % 31) * 0.5f);
      }
      b.setRowCount(n);
      hs.ingest("readings", b);
    }
  }

  /** The column names and Arrow types, then each row's values as text. */
  private List<String> answer(Hyprstream hs, String sql, List<@Nullable Object> params)
      throws Exception {
    List<String> out = new ArrayList<>();
    try (QueryResult r = hs.query(sql, new ArrayList<>(params), allocator)) {
      out.add(r.getVectorSchemaRoot().getSchema().getFields().toString());
      while (r.loadNextBatch()) {
        VectorSchemaRoot root = r.getVectorSchemaRoot();
        for (int i = 0; i < root.getRowCount(); i++) {
          List<String> row = new ArrayList<>();
          for (FieldVector v : root.getFieldVectors()) {
            row.add(String.valueOf(v.getObject(i)));
          }
          out.add(row.toString());
        }
      }
    }
    return out;
  }

  private static void awaitWriteThrough(Hyprstream hs) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (hs.operations().writeThrough().backlogBatches() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertEquals(0, hs.operations().writeThrough().backlogBatches(), "write-through drained");
  }

  private static String text(Instant t) {
    return LocalDateTime.ofInstant(t, ZoneOffset.UTC).toString().replace('T', ' ');
  }
}
