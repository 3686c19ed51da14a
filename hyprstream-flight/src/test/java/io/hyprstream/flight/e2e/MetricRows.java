package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.arrow.adbc.core.AdbcConnection;
import org.apache.arrow.adbc.core.AdbcDatabase;
import org.apache.arrow.adbc.core.AdbcDriver;
import org.apache.arrow.adbc.core.AdbcStatement;
import org.apache.arrow.adbc.core.BulkIngestMode;
import org.apache.arrow.adbc.driver.flightsql.FlightSqlDriver;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMilliVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Rows for the built-in {@code metrics} table as a client sends them, the two ways clients send
 * them (the Flight SQL JDBC driver's batched prepared INSERT, ADBC bulk ingest), and the oracle of
 * their windows: DuckDB's own {@code time_bucket ... GROUP BY} over the same rows.
 */
final class MetricRows {
  /** One acknowledged row. */
  record Row(String metricId, long epochMillis, double value) {}

  private MetricRows() {}

  /**
   * {@code n} rows over five metrics, spread over the 50 minutes before {@code end} (inside the
   * default cache duration), values with three decimals, from {@code seed}.
   */
  static List<Row> generate(int n, long seed, Instant end) {
    Random random = new Random(seed);
    long endMillis = end.toEpochMilli();
    long span = Duration.ofMinutes(50).toMillis();
    List<Row> rows = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      rows.add(
          new Row(
              "m" + random.nextInt(5),
              endMillis - (long) (random.nextDouble() * span),
              Math.round(random.nextDouble() * 100_000) / 1000.0));
    }
    return rows;
  }

  /** Sends the rows as one batched prepared INSERT through the Flight SQL JDBC driver. */
  static void ingestJdbc(Connection flight, List<Row> rows) throws Exception {
    try (PreparedStatement ps =
        flight.prepareStatement(
            "INSERT INTO metrics (metric_id, timestamp, value) VALUES (?, ?, ?)")) {
      for (Row r : rows) {
        ps.setString(1, r.metricId());
        ps.setTimestamp(2, new Timestamp(r.epochMillis()));
        ps.setDouble(3, r.value());
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  /** Sends the rows as one ADBC bulk ingest (append) over Flight SQL to {@code grpcUri}. */
  static void ingestAdbc(String grpcUri, Map<String, Object> options, List<Row> rows)
      throws Exception {
    Schema schema =
        new Schema(
            List.of(
                Field.notNullable("metric_id", ArrowType.Utf8.INSTANCE),
                Field.notNullable("timestamp", new ArrowType.Timestamp(TimeUnit.MILLISECOND, null)),
                new Field(
                    "value",
                    FieldType.nullable(
                        new ArrowType.FloatingPoint(
                            org.apache.arrow.vector.types.FloatingPointPrecision.DOUBLE)),
                    null)));
    Map<String, Object> params = new java.util.HashMap<>(options);
    params.put(AdbcDriver.PARAM_URI.getKey(), grpcUri.replace("grpc://", "grpc+tcp://"));
    try (BufferAllocator allocator = new RootAllocator();
        AdbcDatabase db = new FlightSqlDriver(allocator).open(params);
        AdbcConnection connection = db.connect();
        VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator)) {
      VarCharVector ids = (VarCharVector) root.getVector(0);
      TimeStampMilliVector ts = (TimeStampMilliVector) root.getVector(1);
      Float8Vector values = (Float8Vector) root.getVector(2);
      root.allocateNew();
      for (int i = 0; i < rows.size(); i++) {
        ids.setSafe(i, rows.get(i).metricId().getBytes(StandardCharsets.UTF_8));
        ts.setSafe(i, rows.get(i).epochMillis());
        values.setSafe(i, rows.get(i).value());
      }
      root.setRowCount(rows.size());
      try (AdbcStatement st = connection.bulkIngest("metrics", BulkIngestMode.APPEND)) {
        st.bind(root);
        assertEquals(rows.size(), st.executeUpdate().getAffectedRows());
      }
    }
  }

  /** Every raw row of {@code metrics}, in the order {@link #sorted} gives. */
  static final String RAW_ROWS =
      "SELECT metric_id, epoch_ms(timestamp), value FROM metrics ORDER BY 1, 2, 3";

  /** The rows as {@link #RAW_ROWS} returns them. */
  static List<List<Object>> sorted(List<Row> rows) {
    List<List<Object>> out = new ArrayList<>();
    for (Row r : rows) {
      out.add(List.of(r.metricId(), r.epochMillis(), r.value()));
    }
    out.sort(
        java.util.Comparator.comparing((List<Object> l) -> (String) l.get(0))
            .thenComparing(l -> (Long) l.get(1))
            .thenComparing(l -> (Double) l.get(2)));
    return out;
  }

  /** The server's raw rows of {@code metrics}, through {@code flight}. */
  static List<List<Object>> rawRows(Connection flight) throws Exception {
    try (Statement st = flight.createStatement()) {
      return rows(st.executeQuery(RAW_ROWS));
    }
  }

  /** The 5m, 30m and 1h views equal DuckDB's time_bucket over {@code rows}. */
  static void assertWindowsMatchOracle(Connection flight, List<Row> rows) throws Exception {
    for (Map.Entry<String, Duration> view :
        Map.of(
                "metrics_5m", Duration.ofMinutes(5),
                "metrics_30m", Duration.ofMinutes(30),
                "metrics_1h", Duration.ofHours(1))
            .entrySet()) {
      assertSameRows(
          oracle(rows, view.getValue()),
          windows(flight, view.getKey()),
          view.getKey() + " against DuckDB's time_bucket over the same rows");
    }
  }

  /** The windows' columns both sides are compared on, sums rounded against addition order. */
  static final String WINDOW_COLUMNS =
      "metric_id, epoch_ms(window_start) AS start_ms, value_count, round(value_sum, 6) AS s,"
          + " value_min, value_max";

  /** The query {@link #windows} sends. */
  static String windowsQuery(String view) {
    return "SELECT " + WINDOW_COLUMNS + " FROM " + view + " ORDER BY 1, 2";
  }

  /**
   * {@code sql}'s answer over the raw rows in DuckDB, as table {@code metrics} (id, time, value).
   */
  static List<List<Object>> overRawRows(List<Row> rows, String sql) throws Exception {
    try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
        Statement st = duck.createStatement()) {
      st.execute("CREATE TABLE metrics (metric_id VARCHAR, timestamp TIMESTAMP, value DOUBLE)");
      try (PreparedStatement ps =
          duck.prepareStatement("INSERT INTO metrics VALUES (?, epoch_ms(?), ?)")) {
        for (Row r : rows) {
          ps.setString(1, r.metricId());
          ps.setLong(2, r.epochMillis());
          ps.setDouble(3, r.value());
          ps.addBatch();
        }
        ps.executeBatch();
      }
      return rows(st.executeQuery(sql));
    }
  }

  /** {@code sql}'s answer through ADBC's Flight SQL driver at {@code grpcUri}, as {@link #rows}. */
  static List<List<Object>> queryAdbc(String grpcUri, String sql) throws Exception {
    Map<String, Object> params = new java.util.HashMap<>();
    params.put(AdbcDriver.PARAM_URI.getKey(), grpcUri.replace("grpc://", "grpc+tcp://"));
    List<List<Object>> out = new ArrayList<>();
    try (BufferAllocator allocator = new RootAllocator();
        AdbcDatabase db = new FlightSqlDriver(allocator).open(params);
        AdbcConnection connection = db.connect();
        AdbcStatement st = connection.createStatement()) {
      st.setSqlQuery(sql);
      try (AdbcStatement.QueryResult result = st.executeQuery()) {
        org.apache.arrow.vector.ipc.ArrowReader reader = result.getReader();
        while (reader.loadNextBatch()) {
          addRows(reader.getVectorSchemaRoot(), out);
        }
      }
    }
    return out;
  }

  /** Adds every row of {@code root} to {@code out} as {@link #rows} gives them. */
  static void addRows(VectorSchemaRoot root, List<List<Object>> out) {
    for (int r = 0; r < root.getRowCount(); r++) {
      List<Object> row = new ArrayList<>();
      for (org.apache.arrow.vector.FieldVector v : root.getFieldVectors()) {
        Object o = v.getObject(r);
        if (o instanceof org.apache.arrow.vector.util.Text t) {
          o = t.toString();
        } else if (o instanceof Number n && !(o instanceof Double || o instanceof Float)) {
          o = n.longValue();
        } else if (o instanceof Float f) {
          o = f.doubleValue();
        }
        row.add(o);
      }
      out.add(row);
    }
  }

  /** {@code view}'s windows as the server answers, through {@code flight}. */
  static List<List<Object>> windows(Connection flight, String view) throws Exception {
    try (Statement st = flight.createStatement()) {
      return rows(st.executeQuery(windowsQuery(view)));
    }
  }

  /** What {@code view} must hold for {@code rows}: DuckDB's time_bucket over the raw rows. */
  static List<List<Object>> oracle(List<Row> rows, Duration width) throws Exception {
    return overRawRows(
        rows,
        "SELECT metric_id, epoch_ms(time_bucket(INTERVAL '"
            + width.toSeconds()
            + " seconds', timestamp)) AS start_ms, count(value), round(sum(value), 6), min(value),"
            + " max(value) FROM metrics GROUP BY ALL ORDER BY 1, 2");
  }

  /**
   * Fails unless both lists hold the same rows in the same order, with a message short enough to
   * read: the sizes and the first row that differs. Doubles are equal within a relative 1e-10: sums
   * depend on the order of their additions (a window summed incrementally across a restart against
   * DuckDB summing the same rows at once differ in the 13th digit), while one missing or doubled
   * row moves a sum of these values by far more.
   */
  static void assertSameRows(List<List<Object>> expected, List<List<Object>> actual, String what) {
    int i = 0;
    while (i < expected.size() && i < actual.size() && sameRow(expected.get(i), actual.get(i))) {
      i++;
    }
    if (i == expected.size() && i == actual.size()) {
      return;
    }
    throw new AssertionError(
        what
            + ": expected "
            + expected.size()
            + " rows, got "
            + actual.size()
            + "; first difference at row "
            + i
            + ": expected "
            + (i < expected.size() ? expected.get(i) : "(none)")
            + ", got "
            + (i < actual.size() ? actual.get(i) : "(none)"));
  }

  /** True when {@link #assertSameRows} would pass. */
  static boolean sameRows(List<List<Object>> expected, List<List<Object>> actual) {
    if (expected.size() != actual.size()) {
      return false;
    }
    for (int i = 0; i < expected.size(); i++) {
      if (!sameRow(expected.get(i), actual.get(i))) {
        return false;
      }
    }
    return true;
  }

  private static boolean sameRow(List<Object> expected, List<Object> actual) {
    if (expected.size() != actual.size()) {
      return false;
    }
    for (int c = 0; c < expected.size(); c++) {
      Object e = expected.get(c);
      Object a = actual.get(c);
      if (e instanceof Double x && a instanceof Double y) {
        if (!(x.equals(y) || Math.abs(x - y) <= 1e-10 * Math.max(Math.abs(x), Math.abs(y)))) {
          return false;
        }
      } else if (!java.util.Objects.equals(e, a)) {
        return false;
      }
    }
    return true;
  }

  /** Every row of {@code rs} as a list of values, numbers as longs or doubles; closes it. */
  static List<List<Object>> rows(ResultSet rs) throws Exception {
    try (rs) {
      ResultSetMetaData md = rs.getMetaData();
      List<List<Object>> out = new ArrayList<>();
      while (rs.next()) {
        List<Object> row = new ArrayList<>();
        for (int c = 1; c <= md.getColumnCount(); c++) {
          Object v = rs.getObject(c);
          if (v instanceof Number n && !(v instanceof Double || v instanceof Float)) {
            v = n.longValue();
          } else if (v instanceof Float f) {
            v = f.doubleValue();
          }
          row.add(v);
        }
        out.add(row);
      }
      return out;
    }
  }
}
