package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.Hyprstream;
import io.hyprstream.Operations;
import io.hyprstream.QueryResult;
import io.hyprstream.api.Freshness;
import io.hyprstream.api.QueryRejectedException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each SQL form gets its route through the real engine (DuckDB cache, DuckDB file backend, cache
 * duration one hour): the cache alone when the analyser proves the query stays within the hour the
 * cache holds, the cache plus the backend's older rows ("split") when it cannot, or the backend
 * alone. Whatever the route, the answer counts every matching row of the six hours ingested: the
 * rows are one a minute, {@code value} = minute index, so the expected count of a form is known.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
final class QueryRoutesTest {
  /** Real time: {@code now()} in SQL is DuckDB's wall clock. */
  private static final Instant NOW = Instant.now();

  @TempDir static Path dir;
  private BufferAllocator allocator;
  private Hyprstream hs;

  @BeforeAll
  void open() {
    allocator = new RootAllocator();
    hs =
        Hyprstream.builder()
            .allocator(allocator)
            .clock(InstantSource.fixed(NOW))
            .expiryInterval(Duration.ZERO)
            .cacheDuration(Duration.ofHours(1))
            .backend(DuckDbBackendStore.open(dir.resolve("backend.duckdb"), allocator))
            .dataDirectory(dir.resolve("data"))
            .build();
    Schema metrics =
        new Schema(
            List.of(
                Field.notNullable("metric_id", new ArrowType.Utf8()),
                Field.notNullable("timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
                Field.nullable(
                    "value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));
    try (VectorSchemaRoot b = VectorSchemaRoot.create(metrics, allocator)) {
      b.allocateNew();
      for (int i = 0; i < 360; i++) {
        // Row i is (360 - i) minutes old, less 30 s: away from every whole-minute bound below.
        Instant t = NOW.minus(Duration.ofMinutes(360 - i)).plusSeconds(30);
        ((VarCharVector) b.getVector(0)).setSafe(i, ("m" + i % 3).getBytes(StandardCharsets.UTF_8));
        ((TimeStampMicroVector) b.getVector(1))
            .setSafe(i, ChronoUnit.MICROS.between(Instant.EPOCH, t));
        ((Float8Vector) b.getVector(2)).setSafe(i, i);
      }
      b.setRowCount(360);
      hs.ingest("metrics", b);
    }
    hs.expire(); // the cache keeps the last hour: rows 300 to 359
    hs.execute("CREATE VIEW all_metrics AS SELECT * FROM metrics", List.of());
  }

  @AfterAll
  void close() {
    hs.close();
    allocator.close();
  }

  /** {@code NOW} less {@code minutes}, as SQL timestamp text (seconds precision). */
  private static String ago(int minutes) {
    return LocalDateTime.ofInstant(
            NOW.minus(Duration.ofMinutes(minutes)).truncatedTo(ChronoUnit.SECONDS), ZoneOffset.UTC)
        .toString()
        .replace('T', ' ');
  }

  private static LocalDateTime agoValue(int minutes) {
    return LocalDateTime.parse(ago(minutes).replace(' ', 'T'));
  }

  static Stream<Arguments> forms() {
    return Stream.of(
        form("unbounded", "SELECT count(*) FROM metrics", "split", 360),
        form(
            "literal, inside",
            "SELECT count(*) FROM metrics WHERE timestamp >= '" + ago(10) + "'",
            "cache",
            10),
        form(
            "literal, older",
            "SELECT count(*) FROM metrics WHERE timestamp >= '" + ago(180) + "'",
            "split",
            180),
        form(
            "reversed literal",
            "SELECT count(*) FROM metrics WHERE '" + ago(10) + "' <= timestamp",
            "cache",
            10),
        form(
            "CAST literal",
            "SELECT count(*) FROM metrics WHERE timestamp >= CAST('" + ago(10) + "' AS TIMESTAMP)",
            "cache",
            10),
        form(
            "now() - 10 minutes",
            "SELECT count(*) FROM metrics WHERE timestamp >= now() - INTERVAL '10 minutes'",
            "cache",
            10),
        form(
            "now() - 4 hours",
            "SELECT count(*) FROM metrics WHERE timestamp >= now() - INTERVAL '4 hours'",
            "split",
            240),
        form(
            "? inside",
            "SELECT count(*) FROM metrics WHERE timestamp >= ?",
            "cache",
            10,
            agoValue(10)),
        form(
            "? older",
            "SELECT count(*) FROM metrics WHERE timestamp >= ?",
            "split",
            180,
            agoValue(180)),
        form(
            "? as Instant, older",
            "SELECT count(*) FROM metrics WHERE timestamp > ?",
            "split",
            120,
            NOW.minus(Duration.ofMinutes(120)).truncatedTo(ChronoUnit.SECONDS)),
        form(
            "BETWEEN ? AND ?, older",
            "SELECT count(*) FROM metrics WHERE timestamp BETWEEN ? AND ?",
            "split",
            60,
            agoValue(180),
            agoValue(120)),
        form(
            "BETWEEN literals, inside",
            "SELECT count(*) FROM metrics WHERE timestamp BETWEEN '"
                + ago(30)
                + "' AND '"
                + ago(20)
                + "'",
            "cache",
            10),
        form(
            "OR",
            "SELECT count(*) FROM metrics WHERE timestamp >= '" + ago(10) + "' OR value < 0",
            "split",
            10),
        form(
            "CTE, bound outside",
            "WITH r AS (SELECT * FROM metrics) SELECT count(*) FROM r WHERE timestamp >= '"
                + ago(10)
                + "'",
            "split",
            10),
        form(
            "CTE, bound inside",
            "WITH r AS (SELECT * FROM metrics WHERE timestamp >= '"
                + ago(10)
                + "') SELECT count(*) FROM r",
            "cache",
            10),
        form(
            "subquery, bound inside",
            "SELECT count(*) FROM (SELECT * FROM metrics WHERE timestamp >= '" + ago(10) + "') s",
            "cache",
            10),
        form(
            "IN subquery, unbounded",
            "SELECT count(*) FROM metrics WHERE timestamp >= '"
                + ago(10)
                + "' AND value IN (SELECT value FROM metrics)",
            "split",
            10),
        form(
            "UNION ALL, one side older",
            "SELECT count(*) FROM (SELECT timestamp FROM metrics WHERE timestamp >= '"
                + ago(10)
                + "' UNION ALL SELECT timestamp FROM metrics WHERE timestamp >= '"
                + ago(180)
                + "') u",
            "split",
            190),
        form(
            "self-join, both bounded",
            "SELECT count(*) FROM metrics a JOIN metrics b ON a.timestamp = b.timestamp"
                + " WHERE a.timestamp >= '"
                + ago(10)
                + "' AND b.timestamp >= '"
                + ago(10)
                + "'",
            "cache",
            10),
        form(
            "self-join, one side bounded",
            "SELECT count(*) FROM metrics a JOIN metrics b ON a.timestamp = b.timestamp"
                + " WHERE a.timestamp >= '"
                + ago(10)
                + "'",
            "split",
            10),
        form(
            "function of the column",
            "SELECT count(*) FROM metrics WHERE epoch_ms(timestamp) >= epoch_ms(TIMESTAMP '"
                + ago(10)
                + "')",
            "split",
            10),
        form(
            "window function, bounded",
            "SELECT count(*) FROM (SELECT value - lag(value) OVER (ORDER BY timestamp) d"
                + " FROM metrics WHERE timestamp >= '"
                + ago(10)
                + "') w",
            "cache",
            10),
        form("SQL view over the table", "SELECT count(*) FROM all_metrics", "split", 360),
        form(
            "comments and quoted names",
            "SELECT count(*) /* hint-free */ FROM \"metrics\" -- note\n WHERE \"timestamp\" >= '"
                + ago(10)
                + "'",
            "cache",
            10));
  }

  private static Arguments form(
      String name, String sql, String route, long count, @Nullable Object... params) {
    return Arguments.of(name, sql, route, count, new ArrayList<>(Arrays.asList(params)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("forms")
  void eachForm_takesItsRoute_andCountsEveryMatchingRow(
      String name, String sql, String route, long count, List<@Nullable Object> params)
      throws Exception {
    Operations.ColdReads before = hs.operations().coldReads();
    long answer;
    Freshness freshness;
    try (QueryResult r = hs.query(sql, params, allocator)) {
      freshness = r.freshness();
      assertTrue(r.loadNextBatch(), sql);
      answer = ((BigIntVector) r.getVectorSchemaRoot().getVector(0)).get(0);
    }
    Operations.ColdReads after = hs.operations().coldReads();
    boolean cold =
        after.rows() + after.partialAggregates() > before.rows() + before.partialAggregates();
    String taken =
        freshness.source() == Freshness.Source.CACHE ? "cache" : cold ? "split" : "backend";
    assertEquals(route, taken, sql + ": " + freshness);
    assertEquals(count, answer, sql);
    assertEquals(null, freshness.missing(), sql);
  }

  @Test
  void insertAndDdlAsQueries_areRefused_andChangeNothing() throws Exception {
    assertThrows(
        QueryRejectedException.class,
        () -> hs.query("INSERT INTO metrics VALUES ('x', now(), 1)", List.of(), allocator));
    assertThrows(
        QueryRejectedException.class,
        () -> hs.query("DROP TABLE metrics", List.of(), allocator).close());
    assertThrows(
        QueryRejectedException.class,
        () -> hs.execute("CREATE TEMPORARY TABLE metrics (a INT)", List.of()));
    try (QueryResult r = hs.query("SELECT count(*) FROM metrics", List.of(), allocator)) {
      r.loadNextBatch();
      assertEquals(360, ((BigIntVector) r.getVectorSchemaRoot().getVector(0)).get(0));
    }
  }
}
