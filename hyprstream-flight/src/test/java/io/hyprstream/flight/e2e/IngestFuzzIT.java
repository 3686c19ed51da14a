package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.arrow.adbc.core.AdbcConnection;
import org.apache.arrow.adbc.core.AdbcDatabase;
import org.apache.arrow.adbc.core.AdbcDriver;
import org.apache.arrow.adbc.core.AdbcException;
import org.apache.arrow.adbc.core.AdbcStatement;
import org.apache.arrow.adbc.core.AdbcStatusCode;
import org.apache.arrow.adbc.core.BulkIngestMode;
import org.apache.arrow.adbc.driver.flightsql.FlightSqlDriver;
import org.apache.arrow.c.ArrowArrayStream;
import org.apache.arrow.c.Data;
import org.apache.arrow.flight.AsyncPutListener;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest.TableDefinitionOptions;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest.TableDefinitionOptions.TableExistsOption;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest.TableDefinitionOptions.TableNotExistOption;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BaseFixedWidthVector;
import org.apache.arrow.vector.BaseIntVector;
import org.apache.arrow.vector.BaseLargeVariableWidthVector;
import org.apache.arrow.vector.BaseVariableWidthVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.Decimal256Vector;
import org.apache.arrow.vector.DecimalVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.FixedSizeBinaryVector;
import org.apache.arrow.vector.Float2Vector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.IntervalDayVector;
import org.apache.arrow.vector.IntervalMonthDayNanoVector;
import org.apache.arrow.vector.IntervalYearVector;
import org.apache.arrow.vector.NullVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.complex.LargeListVector;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.MapVector;
import org.apache.arrow.vector.complex.StructVector;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.IntervalUnit;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A seeded fuzz of ingest through the jar with a PostgreSQL backend: random schemas (names in every
 * case, duplicated, long, unicode, reserved; every Arrow type, nested and dictionary-encoded ones
 * included) and random values (extremes of each range, NaN and infinities, invalid UTF-8 and NUL,
 * all-null columns, zero-row batches, many batches a stream), into new tables, existing ones,
 * {@code metrics} and a table with configured windows, through Flight DoPut, Flight SQL ingest and
 * ADBC bulk ingest.
 *
 * <p>Properties, checked after every request: the answer is never INTERNAL or UNKNOWN; the server
 * stays up and answers {@code SELECT 1}; a refused request changes no table or view (row count and
 * a hash of every row); the acknowledged rows are in the cache with the same values as in a local
 * DuckDB that ingested the same Arrow batches. At the end PostgreSQL holds exactly the acknowledged
 * rows (values normalised per type: see {@link #postgresForm}).
 *
 * <p>The seed is printed; {@code -Dhyprstream.fuzz.seed=N} repeats a run, {@code
 * -Dhyprstream.fuzz.seed=random} explores a new one, and {@code -Dhyprstream.fuzz.seconds=S} sets
 * its budget (default 60). CI runs seed 4, so a red build always names a change, never a new draw;
 * new seeds are for exploring, and each defect one finds gets a test of its own.
 */
final class IngestFuzzIT {
  private static final long SEED =
      "random".equals(System.getProperty("hyprstream.fuzz.seed"))
          ? new SecureRandom().nextLong()
          : Long.getLong("hyprstream.fuzz.seed", 4L);
  private static final Duration BUDGET =
      Duration.ofSeconds(Long.getLong("hyprstream.fuzz.seconds", 150));

  /**
   * The steps a run takes at most (besides its time budget), so CI's fixed seed sends the same
   * requests on a fast machine as on a slow one. Raise it with {@code -Dhyprstream.fuzz.steps=N}.
   */
  private static final int MAX_STEPS = Integer.getInteger("hyprstream.fuzz.steps", 150);

  private static final String WINDOWED = "fz_windowed";
  private static final long NOW_MILLIS = Instant.now().toEpochMilli();
  private static final long YEAR_1700 = Instant.parse("1700-01-01T00:00:00Z").toEpochMilli();
  private static final long YEAR_2200 = Instant.parse("2200-01-01T00:00:00Z").toEpochMilli();

  @TempDir Path dir;

  private enum Transport {
    FLIGHT_DOPUT,
    FLIGHT_SQL_INGEST,
    ADBC
  }

  /** One generated request: its table, its Arrow IPC stream, and how it is sent. */
  private record Request(String table, byte[] ipc, int batches, Transport transport, String what) {}

  @Test
  void randomIngest_neverInternal_refusalsChangeNothing_acknowledgedRowsReadable()
      throws Exception {
    System.out.println("IngestFuzzIT seed=" + SEED + " budget=" + BUDGET.toSeconds() + "s");
    Path config = dir.resolve("fuzz.toml");
    Files.writeString(
        config,
        "[[aggregations]]\ntable = \""
            + WINDOWED
            + "\"\ntime_column = \"ts\"\nepoch_unit = \"millis\"\nkey_columns = [\"k\"]\n"
            + "value_columns = [\"v\"]\nwindows = [\"1m:2d\", \"1h\"]\n");
    Generator generator = new Generator(new Random(SEED));
    try (PostgresDatabase pg = PostgresDatabase.create();
        ServerProcess server =
            ServerProcess.start(
                "--config",
                config.toString(),
                "--port",
                "0",
                "--http-port",
                "0",
                "--engine",
                "adbc",
                "--engine-connection",
                pg.jdbcUrl(),
                "--data-dir",
                dir + "/data",
                "--cache-duration",
                // The longest: rows of event times since 1970 stay in the cache (see cacheFilter).
                String.valueOf(Integer.MAX_VALUE));
        BufferAllocator allocator = new RootAllocator();
        FlightClient flightClient =
            FlightClient.builder(allocator, Location.forGrpcInsecure("127.0.0.1", server.port()))
                .build();
        FlightSqlClient sqlClient = new FlightSqlClient(flightClient);
        AdbcDatabase adbc =
            new FlightSqlDriver(allocator)
                .open(
                    Map.of(
                        AdbcDriver.PARAM_URI.getKey(), "grpc+tcp://127.0.0.1:" + server.port()));
        AdbcConnection adbcConnection = adbc.connect();
        Connection flight = FlightJdbc.connect(server.jdbcUrl());
        Mirror mirror = new Mirror(allocator)) {
      try {
        run(
            server,
            generator,
            flightClient,
            sqlClient,
            adbcConnection,
            flight,
            mirror,
            pg,
            allocator);
      } catch (AssertionError e) {
        String log = server.log();
        throw new AssertionError(
            e.getMessage()
                + "\nthe server's log, last part:\n"
                + log.substring(Math.max(0, log.length() - 6000)),
            e);
      }
      assertEquals(0, server.terminate(), server.log());
    }
  }

  private static void run(
      ServerProcess server,
      Generator generator,
      FlightClient flightClient,
      FlightSqlClient sqlClient,
      AdbcConnection adbcConnection,
      Connection flight,
      Mirror mirror,
      PostgresDatabase pg,
      BufferAllocator allocator)
      throws Exception {
    int steps = 0;
    int acknowledged = 0;
    Map<String, Integer> refusals = new TreeMap<>();
    {
      long deadline = System.nanoTime() + BUDGET.toNanos();
      while (System.nanoTime() < deadline && steps < MAX_STEPS) {
        steps++;
        Request request = generator.next(allocator);
        String context = "seed " + SEED + ", step " + steps + ": " + request.what();
        long started = System.nanoTime();
        Map<String, String> before = fingerprint(flight);
        long checked = System.nanoTime();
        String refusal = send(request, allocator, flightClient, sqlClient, adbcConnection, context);
        assertTrue(server.isAlive(), context + ": the server died\n" + server.log());
        try (Statement st = flight.createStatement();
            ResultSet rs = st.executeQuery("SELECT 1")) {
          assertTrue(rs.next(), context + ": SELECT 1 answered no row");
        }
        if (refusal != null) {
          refusals.merge(refusal, 1, Integer::sum);
          assertEquals(before, fingerprint(flight), context + ": a refused request changed tables");
        } else {
          acknowledged++;
          System.out.println(
              context
                  + " -> acknowledged ("
                  + (checked - started) / 1_000_000
                  + " ms fingerprint, "
                  + (System.nanoTime() - checked) / 1_000_000
                  + " ms request)");
          mirror.add(request, generator.timeColumnOf(request.table()), context);
          generator.acknowledged(request);
          mirror.assertCacheMatches(
              flight, request.table(), generator.timeColumnOf(request.table()), context);
        }
      }
      System.out.println(
          "IngestFuzzIT seed="
              + SEED
              + ": "
              + steps
              + " requests, "
              + acknowledged
              + " acknowledged, refused "
              + refusals);
      for (String table : mirror.tables()) {
        mirror.assertCacheMatches(
            flight, table, generator.timeColumnOf(table), "seed " + SEED + ", at the end");
      }
      try (Connection c = pg.connect()) {
        for (String table : mirror.tables()) {
          mirror.assertPostgresMatches(c, table, "seed " + SEED + ", PostgreSQL");
        }
      }
    }
  }

  // ------------------------------------------------------------------------------ sending

  /** Sends {@code request}; returns null when acknowledged, else the refusal's status code. */
  private static String send(
      Request request,
      BufferAllocator allocator,
      FlightClient flightClient,
      FlightSqlClient sqlClient,
      AdbcConnection adbc,
      String context)
      throws Exception {
    try (ArrowStreamReader reader =
        new ArrowStreamReader(new ByteArrayInputStream(request.ipc()), allocator)) {
      switch (request.transport()) {
        case FLIGHT_DOPUT:
          {
            VectorSchemaRoot root = reader.getVectorSchemaRoot();
            FlightClient.ClientStreamListener put =
                flightClient.startPut(
                    FlightDescriptor.path(request.table()), root, reader, new AsyncPutListener());
            while (reader.loadNextBatch()) {
              put.putNext();
            }
            put.completed();
            put.getResult();
            return null;
          }
        case FLIGHT_SQL_INGEST:
          sqlClient.executeIngest(
              reader,
              new FlightSqlClient.ExecuteIngestOptions(
                  request.table(),
                  TableDefinitionOptions.newBuilder()
                      .setIfNotExist(TableNotExistOption.TABLE_NOT_EXIST_OPTION_CREATE)
                      .setIfExists(TableExistsOption.TABLE_EXISTS_OPTION_APPEND)
                      .build(),
                  null,
                  null,
                  Map.of()));
          return null;
        default:
          {
            assertTrue(reader.loadNextBatch(), "an ADBC request has one batch");
            try (AdbcStatement st =
                adbc.bulkIngest(request.table(), BulkIngestMode.CREATE_APPEND)) {
              st.bind(reader.getVectorSchemaRoot());
              st.executeUpdate();
            }
            return null;
          }
      }
    } catch (FlightRuntimeException e) {
      FlightStatusCode code = e.status().code();
      System.out.println(context + " -> " + code + ": " + e.getMessage());
      assertRefusal(
          code != FlightStatusCode.INTERNAL && code != FlightStatusCode.UNKNOWN, e, context);
      return code.name();
    } catch (AdbcException e) {
      AdbcStatusCode code = e.getStatus();
      System.out.println(context + " -> ADBC " + code + ": " + e.getMessage());
      assertRefusal(
          code != AdbcStatusCode.INTERNAL
              && code != AdbcStatusCode.UNKNOWN
              && code != AdbcStatusCode.IO,
          e,
          context);
      return "ADBC " + code.name();
    }
  }

  private static void assertRefusal(boolean clean, Exception e, String context) {
    String message = String.valueOf(e.getMessage());
    if (!clean || message.isBlank() || message.contains("internal error")) {
      throw new AssertionError(context + ": refused without a usable status: " + e, e);
    }
  }

  // ------------------------------------------------------------------------------ checking

  /**
   * Row count and a hash of the rows of every table and view the server lists, by name. The rows
   * are hashed as text: a flush may store a column in another unit (TIMESTAMP_MS as TIMESTAMP),
   * which changes DuckDB's hash of the value but not the value.
   */
  private static Map<String, String> fingerprint(Connection flight) throws SQLException {
    List<String> names = new ArrayList<>();
    DatabaseMetaData md = flight.getMetaData();
    try (ResultSet rs = md.getTables(null, null, "%", null)) {
      while (rs.next()) {
        String name = rs.getString("TABLE_NAME");
        if (!name.startsWith("hyprstream_")) {
          names.add(name); // the status tables change by themselves
        }
      }
    }
    // One round trip for all of them: the fuzz spends its budget on requests, not on checks.
    List<String> parts = new ArrayList<>();
    for (String name : names) {
      parts.add(
          "SELECT '"
              + name.replace("'", "''")
              + "' AS name, count(*) AS n, CAST(sum(hash(CAST(t AS VARCHAR))) AS VARCHAR) AS h FROM "
              + quote(name)
              + " t");
    }
    Map<String, String> out = new TreeMap<>();
    if (parts.isEmpty()) {
      return out;
    }
    try (Statement st = flight.createStatement();
        ResultSet rs = st.executeQuery(String.join(" UNION ALL ", parts))) {
      while (rs.next()) {
        out.put(rs.getString(1), rs.getLong(2) + " rows, hash " + rs.getString(3));
      }
    }
    return out;
  }

  static String quote(String identifier) {
    return '"' + identifier.replace("\"", "\"\"") + '"';
  }

  /**
   * A local DuckDB that ingests every acknowledged request's Arrow batches into a table of the same
   * name, the oracle of what the server must hold.
   */
  private static final class Mirror implements AutoCloseable {
    private final BufferAllocator allocator;
    private final Connection duck;
    private int streams;

    Mirror(BufferAllocator allocator) throws SQLException {
      this.allocator = allocator;
      this.duck = DriverManager.getConnection("jdbc:duckdb:");
      try (Statement st = duck.createStatement()) {
        st.execute("SET TimeZone = 'UTC'");
        st.execute(
            "CREATE TABLE metrics (metric_id VARCHAR, \"timestamp\" TIMESTAMP, value DOUBLE)");
      }
    }

    @Override
    public void close() throws SQLException {
      duck.close();
    }

    /** Names of the mirrored tables (metrics always). */
    List<String> tables() throws SQLException {
      List<String> out = new ArrayList<>();
      try (Statement st = duck.createStatement();
          ResultSet rs =
              st.executeQuery("SELECT table_name FROM duckdb_tables() ORDER BY table_name")) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
      return out;
    }

    /** Columns of {@code table} here, name to DuckDB type. */
    Map<String, String> columns(String table) throws SQLException {
      Map<String, String> out = new LinkedHashMap<>();
      try (Statement st = duck.createStatement();
          ResultSet rs = st.executeQuery("DESCRIBE " + quote(table))) {
        while (rs.next()) {
          out.put(rs.getString(1), rs.getString(2));
        }
      }
      return out;
    }

    void add(Request request, String timeColumn, String context) throws Exception {
      if (request.batches() == 0) {
        return; // a stream without batches creates nothing
      }
      String stream = "fz_stream_" + streams++;
      try (ArrowStreamReader reader =
              new ArrowStreamReader(new ByteArrayInputStream(request.ipc()), allocator);
          ArrowArrayStream s = ArrowArrayStream.allocateNew(allocator);
          Statement st = duck.createStatement()) {
        Data.exportArrayStream(allocator, reader, s);
        ((org.duckdb.DuckDBConnection) duck).registerArrowStream(stream, s);
        st.execute("CREATE TEMP TABLE staged AS SELECT * FROM " + stream);
        try {
          Map<String, String> staged = columns("staged");
          if (!exists(request.table())) {
            st.execute("CREATE TABLE " + quote(request.table()) + " AS FROM staged LIMIT 0");
          }
          Map<String, String> have = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
          have.putAll(columns(request.table()));
          List<String> names = new ArrayList<>();
          List<String> values = new ArrayList<>();
          for (Map.Entry<String, String> c : staged.entrySet()) {
            String type = have.get(c.getKey());
            if (type == null) {
              st.execute(
                  "ALTER TABLE "
                      + quote(request.table())
                      + " ADD COLUMN "
                      + quote(c.getKey())
                      + " "
                      + c.getValue());
              type = c.getValue();
            }
            names.add(quote(c.getKey()));
            boolean epoch =
                c.getKey().equalsIgnoreCase(timeColumn)
                    && type.startsWith("TIMESTAMP")
                    && c.getValue().equals("BIGINT");
            values.add(insertForm(quote(c.getKey()), c.getValue(), type, epoch));
          }
          st.execute(
              "INSERT INTO "
                  + quote(request.table())
                  + " ("
                  + String.join(", ", names)
                  + ") SELECT "
                  + String.join(", ", values)
                  + " FROM staged");
        } finally {
          try (Statement cleanup = duck.createStatement()) {
            cleanup.execute("DROP TABLE staged");
            cleanup.execute("DROP VIEW IF EXISTS " + stream);
          }
        }
      } catch (SQLException e) {
        throw new AssertionError(
            context + ": acknowledged, but a DuckDB of its own cannot hold it: " + e, e);
      }
    }

    /**
     * How a staged column is inserted into a column of type {@code target}, as the server does: an
     * int64 time column as epoch milliseconds, a zoned timestamp into another timestamp type by its
     * epoch value (DuckDB has no cast from TIMESTAMPTZ_NS).
     */
    private static String insertForm(String column, String staged, String target, boolean epoch) {
      if (epoch) {
        return "epoch_ms(" + column + ")";
      }
      boolean zoned = staged.contains("TIME ZONE") || staged.equals("TIMESTAMPTZ_NS");
      if (zoned && !staged.equals(target)) {
        if (target.equals("TIMESTAMP_NS")) {
          return "make_timestamp_ns(epoch_ns(" + column + "))";
        }
        // epoch_ns takes both zoned types (epoch_us not TIMESTAMPTZ_NS); whole microseconds are
        // taken by floor division in integers, as the server truncates nanoseconds.
        String ns = "epoch_ns(" + column + ")";
        return "CAST(make_timestamp(("
            + ns
            + " - ((("
            + ns
            + " % 1000) + 1000) % 1000)) // 1000) AS "
            + target
            + ")";
      }
      return column;
    }

    private boolean exists(String table) throws SQLException {
      try (Statement st = duck.createStatement();
          ResultSet rs =
              st.executeQuery(
                  "SELECT count(*) FROM duckdb_tables() WHERE lower(table_name) = lower('"
                      + table.replace("'", "''")
                      + "')")) {
        rs.next();
        return rs.getLong(1) > 0;
      }
    }

    /** The server's rows of {@code table} (the mirror's columns) equal the mirror's. */
    void assertCacheMatches(Connection flight, String table, String timeColumn, String context)
        throws Exception {
      if (!exists(table)) {
        return; // nothing was acknowledged into it yet
      }
      Map<String, String> columns = columns(table);
      List<String> forms = new ArrayList<>();
      columns.forEach((name, type) -> forms.add(cacheForm(name, type)));
      String sql =
          "SELECT "
              + String.join(", ", forms)
              + " FROM "
              + quote(table)
              + cacheFilter(timeColumn, columns);
      List<String> expected = strings(duck, sql, columns, false);
      List<String> actual;
      try {
        actual = strings(flight, sql, columns, false);
      } catch (SQLException e) {
        throw new AssertionError(context + ": cannot read '" + table + "' back: " + e, e);
      }
      assertSame(expected, actual, context + ": the cache's rows of '" + table + "'");
    }

    /** PostgreSQL's rows of {@code table} (waiting for the write-through) equal the mirror's. */
    void assertPostgresMatches(Connection pg, String table, String context) throws Exception {
      Map<String, String> columns = columns(table);
      List<String> duckForms = new ArrayList<>();
      List<String> pgForms = new ArrayList<>();
      columns.forEach(
          (name, type) -> {
            duckForms.add(postgresForm(name, type, false));
            pgForms.add(postgresForm(name, type, true));
          });
      List<String> expected =
          strings(
              duck,
              "SELECT " + String.join(", ", duckForms) + " FROM " + quote(table),
              columns,
              true);
      String pgTable = table;
      long deadline = System.nanoTime() + Duration.ofSeconds(expected.isEmpty() ? 0 : 60).toNanos();
      long count = -1;
      try (Statement st = pg.createStatement()) {
        do {
          try (ResultSet rs =
              st.executeQuery(
                  "SELECT table_name FROM information_schema.tables WHERE lower(table_name) = lower('"
                      + table.replace("'", "''")
                      + "')")) {
            if (rs.next()) {
              pgTable = rs.getString(1);
              try (ResultSet c = st.executeQuery("SELECT count(*) FROM " + quote(pgTable))) {
                c.next();
                count = c.getLong(1);
              }
            }
          }
          if (count >= expected.size()) {
            break;
          }
          Thread.sleep(200);
        } while (System.nanoTime() < deadline);
      }
      if (expected.isEmpty() && count < 0) {
        return; // only empty batches were acknowledged: nothing had to reach PostgreSQL
      }
      List<String> actual =
          strings(
              pg,
              "SELECT " + String.join(", ", pgForms) + " FROM " + quote(pgTable),
              columns,
              true);
      assertSame(expected, actual, context + ": PostgreSQL's rows of '" + table + "'");
    }
  }

  /**
   * Rows with event times before 1970 are left out of the cache comparison: they are older than the
   * longest {@code --cache-duration} (68 years), so the cache has let them go and a query reads
   * them from the backend; PostgreSQL's comparison covers them.
   */
  private static String cacheFilter(String timeColumn, Map<String, String> columns) {
    String type = null;
    for (Map.Entry<String, String> c : columns.entrySet()) {
      if (c.getKey().equalsIgnoreCase(timeColumn)) {
        type = c.getValue();
      }
    }
    if (type == null) {
      return "";
    }
    return " WHERE "
        + quote(timeColumn)
        + (type.startsWith("TIMESTAMP") ? " >= TIMESTAMP '1970-01-01'" : " >= 0");
  }

  /**
   * How a column is compared between the cache and the mirror, the same SQL on both (both are
   * DuckDB): its text, zoned timestamps as UTC wall time (the text of TIMESTAMPTZ follows the
   * session's time zone).
   */
  private static String cacheForm(String name, String type) {
    String column = quote(name);
    if (type.equals("TIMESTAMP WITH TIME ZONE")) {
      return "CAST(timezone('UTC', " + column + ") AS VARCHAR)";
    }
    return "CAST(" + column + " AS VARCHAR)";
  }

  /**
   * How a column is compared between PostgreSQL and the mirror: integers and text as text; floats
   * and decimals as text normalised in Java (the spellings of NaN, infinities and trailing zeros
   * differ); booleans as true/false; dates as days since 1970; timestamps as epoch microseconds
   * (PostgreSQL's precision); binary as lowercase hex.
   */
  static String postgresForm(String name, String type, boolean postgres) {
    String column = quote(name);
    if (type.equals("BOOLEAN")) {
      return "CASE WHEN " + column + " THEN 'true' WHEN NOT " + column + " THEN 'false' END";
    }
    if (type.equals("DATE")) {
      return postgres
          ? "(" + column + " - DATE '1970-01-01')::text"
          : "CAST(" + column + " - DATE '1970-01-01' AS VARCHAR)";
    }
    if (type.startsWith("TIMESTAMP")) {
      return postgres
          ? "floor(extract(epoch FROM " + column + ") * 1000000)::bigint::text"
          : "CAST(epoch_us(" + column + ") AS VARCHAR)";
    }
    if (type.equals("BLOB")) {
      return postgres ? "encode(" + column + ", 'hex')" : "lower(hex(" + column + "))";
    }
    return postgres ? column + "::text" : "CAST(" + column + " AS VARCHAR)";
  }

  /** The rows of {@code sql}, each as one string of normalised values, sorted. */
  private static List<String> strings(
      Connection c, String sql, Map<String, String> columns, boolean normaliseNumbers)
      throws SQLException {
    List<String> types = new ArrayList<>(columns.values());
    List<String> out = new ArrayList<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        StringBuilder row = new StringBuilder();
        for (int i = 1; i <= types.size(); i++) {
          String v = rs.getString(i);
          row.append(v == null ? "NULL" : normaliseNumbers ? number(v, types.get(i - 1)) : v)
              .append(" | ");
        }
        out.add(row.toString());
      }
    }
    Collections.sort(out);
    return out;
  }

  private static String number(String text, String type) {
    if (type.equals("FLOAT") || type.equals("DOUBLE")) {
      String t = text.toLowerCase(Locale.ROOT);
      double d =
          t.equals("nan")
              ? Double.NaN
              : t.equals("inf") || t.equals("infinity")
                  ? Double.POSITIVE_INFINITY
                  : t.equals("-inf") || t.equals("-infinity")
                      ? Double.NEGATIVE_INFINITY
                      : Double.parseDouble(text);
      return type.equals("FLOAT") ? Float.toString((float) d) : Double.toString(d);
    }
    if (type.startsWith("DECIMAL")) {
      BigDecimal d = new BigDecimal(text);
      return d.signum() == 0 ? "0" : d.stripTrailingZeros().toPlainString();
    }
    return text;
  }

  private static void assertSame(List<String> expected, List<String> actual, String what) {
    if (expected.equals(actual)) {
      return;
    }
    List<String> missing = new ArrayList<>(expected);
    actual.forEach(missing::remove);
    List<String> extra = new ArrayList<>(actual);
    expected.forEach(extra::remove);
    throw new AssertionError(
        what
            + ": expected "
            + expected.size()
            + " rows, got "
            + actual.size()
            + "; missing "
            + missing.subList(0, Math.min(3, missing.size()))
            + ", unexpected "
            + extra.subList(0, Math.min(3, extra.size())));
  }

  // ------------------------------------------------------------------------------ generating

  /** Random requests from one seed, remembering the tables it created. */
  private static final class Generator {
    private final Random random;
    private final Map<String, List<Field>> known = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    private final java.util.Set<String> created =
        new java.util.TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    private int tables;

    /**
     * Whether the request being made is meant to be acknowledged: key columns without nulls, valid
     * text, event times in range, distinct names and types PostgreSQL can store. Half the requests
     * are, so acknowledged rows are common enough to check; the other half may hold anything.
     */
    private boolean clean;

    Generator(Random random) {
      this.random = random;
    }

    String timeColumnOf(String table) {
      return table.equalsIgnoreCase("metrics")
          ? "timestamp"
          : table.equalsIgnoreCase(WINDOWED) ? "ts" : "";
    }

    void acknowledged(Request request) {
      if (request.batches() > 0) {
        created.add(request.table());
      }
    }

    Request next(BufferAllocator allocator) throws Exception {
      clean = random.nextBoolean();
      int pick = random.nextInt(10);
      String table;
      List<Field> fields;
      if (pick < 3) {
        table = "metrics";
        fields = metricsFields();
      } else if (pick < 5) {
        table = WINDOWED;
        fields = windowedFields();
      } else if (pick < 7 && !known.isEmpty()) {
        List<String> names = new ArrayList<>(known.keySet());
        table = names.get(random.nextInt(names.size()));
        fields = new ArrayList<>(known.get(table));
        if (random.nextInt(3) == 0) {
          addLabels(fields, 1); // a new column, or a clash with one the table has
        }
        if (random.nextInt(4) == 0) {
          table = caseVariant(table);
        }
      } else {
        table = "fz_t" + tables++;
        fields = new ArrayList<>();
        addLabels(fields, 1 + random.nextInt(5));
      }
      known.putIfAbsent(table, fields);
      Transport transport = Transport.values()[random.nextInt(Transport.values().length)];
      if (transport == Transport.ADBC && !created.contains(table) && random.nextInt(4) > 0) {
        transport = Transport.FLIGHT_SQL_INGEST; // ADBC Java appends only (NOT_FOUND otherwise)
      }
      int batches =
          transport == Transport.ADBC ? 1 : random.nextInt(10) == 0 ? 0 : 1 + random.nextInt(4);
      boolean dictionaries = fields.stream().anyMatch(f -> f.getDictionary() != null);
      if (dictionaries) {
        transport = Transport.FLIGHT_DOPUT; // the other two clients send no dictionaries
      }
      return encode(allocator, table, new Schema(fields), batches, transport);
    }

    private String caseVariant(String name) {
      StringBuilder b = new StringBuilder();
      for (char c : name.toCharArray()) {
        b.append(random.nextBoolean() ? Character.toUpperCase(c) : c);
      }
      return b.toString();
    }

    private List<Field> metricsFields() {
      List<Field> fields = new ArrayList<>();
      fields.add(Field.nullable(random.nextInt(8) == 0 ? "Metric_ID" : "metric_id", textType()));
      fields.add(Field.nullable("timestamp", timeType()));
      if (clean || random.nextInt(10) > 0) {
        fields.add(Field.nullable("value", numberType()));
      }
      addLabels(fields, random.nextInt(4) == 0 ? 1 + random.nextInt(2) : 0);
      Collections.shuffle(fields, random);
      return fields;
    }

    private List<Field> windowedFields() {
      List<Field> fields = new ArrayList<>();
      fields.add(Field.nullable("ts", timeType()));
      fields.add(Field.nullable("k", textType()));
      fields.add(Field.nullable("v", numberType()));
      addLabels(fields, random.nextInt(4) == 0 ? 1 + random.nextInt(2) : 0);
      Collections.shuffle(fields, random);
      return fields;
    }

    private void addLabels(List<Field> fields, int labels) {
      for (int i = 0; i < labels; i++) {
        Field f = randomField(0);
        while (clean && !(writable(f) && distinct(fields, f.getName()))) {
          f = randomField(0);
        }
        fields.add(f);
      }
    }

    /** Whether PostgreSQL has a column type for {@code f} (as the server maps them). */
    private static boolean writable(Field f) {
      ArrowType t = f.getType();
      if (f.getDictionary() != null) {
        return false;
      }
      if (t instanceof ArrowType.Int i) {
        return i.getIsSigned() || i.getBitWidth() < 64;
      }
      if (t instanceof ArrowType.FloatingPoint p) {
        return p.getPrecision() != FloatingPointPrecision.HALF;
      }
      if (t instanceof ArrowType.Decimal d) {
        return d.getBitWidth() == 128;
      }
      return t instanceof ArrowType.Utf8
          || t instanceof ArrowType.LargeUtf8
          || t instanceof ArrowType.Binary
          || t instanceof ArrowType.LargeBinary
          || t instanceof ArrowType.Bool
          || t instanceof ArrowType.Date
          || t instanceof ArrowType.Timestamp;
    }

    private static boolean distinct(List<Field> fields, String name) {
      if (name.length() > 63) {
        name = name.substring(0, 63); // PostgreSQL's cut
      }
      for (Field f : fields) {
        String other = f.getName().length() > 63 ? f.getName().substring(0, 63) : f.getName();
        if (other.equalsIgnoreCase(name)) {
          return false;
        }
      }
      return true;
    }

    private ArrowType textType() {
      return random.nextInt(6) == 0 ? ArrowType.LargeUtf8.INSTANCE : ArrowType.Utf8.INSTANCE;
    }

    private ArrowType timeType() {
      if (random.nextInt(6) == 0) {
        return new ArrowType.Int(64, true);
      }
      return new ArrowType.Timestamp(
          TimeUnit.values()[random.nextInt(4)],
          random.nextInt(3) == 0 ? pick("UTC", "Europe/Paris", "+05:30") : null);
    }

    private ArrowType numberType() {
      switch (random.nextInt(6)) {
        case 0:
          return new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE);
        case 1:
          return new ArrowType.Int(pick(8, 16, 32, 64), random.nextBoolean());
        case 2:
          return new ArrowType.Decimal(18, 3, 128);
        default:
          return new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);
      }
    }

    @SafeVarargs
    private <T> T pick(T... choices) {
      return choices[random.nextInt(choices.length)];
    }

    private String columnName() {
      String longName = "l".repeat(63);
      return pick(
          "a",
          "A",
          "b",
          "value",
          "Value",
          "select",
          "order",
          "group",
          "user",
          "timestamp",
          "temp\u00e9rature",
          "\u540d\u524d",
          "emoji\ud83d\ude00",
          "with space",
          "we\"ird",
          "a.b",
          longName + "_one",
          longName + "_two",
          "x" + random.nextInt(1000));
    }

    private Field randomField(int depth) {
      String name = columnName();
      if (depth == 0 && random.nextInt(20) == 0) {
        return new Field(
            name,
            new FieldType(
                true,
                new ArrowType.Int(32, true),
                new DictionaryEncoding(1 + random.nextInt(1_000_000), false, null)),
            null);
      }
      int kinds = depth == 0 ? 32 : 26;
      switch (random.nextInt(kinds)) {
        case 0:
        case 1:
        case 2:
          return Field.nullable(name, new ArrowType.Int(pick(8, 16, 32, 64), random.nextBoolean()));
        case 3:
          return Field.nullable(name, new ArrowType.FloatingPoint(FloatingPointPrecision.HALF));
        case 4:
          return Field.nullable(name, new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE));
        case 5:
          return Field.nullable(name, new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE));
        case 6:
          {
            int precision = pick(1, 5, 18, 19, 38);
            return Field.nullable(
                name,
                new ArrowType.Decimal(precision, pick(0, Math.min(2, precision), precision), 128));
          }
        case 7:
          return Field.nullable(name, new ArrowType.Decimal(pick(40, 76), pick(0, 10), 256));
        case 8:
        case 9:
          return Field.nullable(name, ArrowType.Utf8.INSTANCE);
        case 10:
          return Field.nullable(name, ArrowType.LargeUtf8.INSTANCE);
        case 11:
          return Field.nullable(name, ArrowType.Binary.INSTANCE);
        case 12:
          return Field.nullable(name, ArrowType.LargeBinary.INSTANCE);
        case 13:
          return Field.nullable(name, new ArrowType.FixedSizeBinary(4));
        case 14:
          return Field.nullable(name, ArrowType.Bool.INSTANCE);
        case 15:
          return Field.nullable(name, new ArrowType.Date(pick(DateUnit.DAY, DateUnit.MILLISECOND)));
        case 16:
          {
            TimeUnit unit = TimeUnit.values()[random.nextInt(4)];
            int bits = unit == TimeUnit.SECOND || unit == TimeUnit.MILLISECOND ? 32 : 64;
            return Field.nullable(name, new ArrowType.Time(unit, bits));
          }
        case 17:
        case 18:
          return Field.nullable(name, timeType());
        case 19:
          return Field.nullable(name, new ArrowType.Duration(TimeUnit.values()[random.nextInt(4)]));
        case 20:
          return Field.nullable(
              name, new ArrowType.Interval(IntervalUnit.values()[random.nextInt(3)]));
        case 21:
          return Field.nullable(name, ArrowType.Null.INSTANCE);
        case 22:
        case 23:
        case 24:
        case 25:
          return Field.nullable(name, new ArrowType.Int(32, true));
        case 26:
        case 27:
          return new Field(
              name, FieldType.nullable(ArrowType.List.INSTANCE), List.of(randomField(1)));
        case 28:
          return new Field(
              name, FieldType.nullable(ArrowType.LargeList.INSTANCE), List.of(randomField(1)));
        case 29:
          return new Field(
              name,
              FieldType.nullable(new ArrowType.FixedSizeList(3)),
              List.of(
                  Field.nullable(
                      "item", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));
        case 30:
          return new Field(
              name,
              FieldType.nullable(ArrowType.Struct.INSTANCE),
              List.of(
                  Field.nullable("x", new ArrowType.Int(32, true)),
                  Field.nullable("y", ArrowType.Utf8.INSTANCE)));
        default:
          return new Field(
              name,
              FieldType.nullable(new ArrowType.Map(false)),
              List.of(
                  new Field(
                      "entries",
                      FieldType.notNullable(ArrowType.Struct.INSTANCE),
                      List.of(
                          Field.notNullable("key", ArrowType.Utf8.INSTANCE),
                          Field.nullable("value", new ArrowType.Int(32, true))))));
      }
    }

    /** The request as an Arrow IPC stream of {@code batches} random batches. */
    private Request encode(
        BufferAllocator allocator, String table, Schema schema, int batches, Transport transport)
        throws Exception {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      List<Integer> rowCounts = new ArrayList<>();
      try (VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
          VarCharVector words = dictionary(allocator)) {
        DictionaryProvider.MapDictionaryProvider provider =
            new DictionaryProvider.MapDictionaryProvider();
        for (Field f : schema.getFields()) {
          if (f.getDictionary() != null) {
            provider.put(new Dictionary(words, f.getDictionary()));
          }
        }
        try (ArrowStreamWriter writer = new ArrowStreamWriter(root, provider, out)) {
          writer.start();
          for (int b = 0; b < batches; b++) {
            int rows =
                random.nextInt(8) == 0 ? 0 : 1 + random.nextInt(random.nextBoolean() ? 5 : 60);
            root.clear();
            root.allocateNew();
            for (FieldVector v : root.getFieldVectors()) {
              boolean allNull = random.nextInt(15) == 0;
              for (int r = 0; r < rows; r++) {
                if (!allNull) {
                  fill(table, v, r);
                }
              }
            }
            root.setRowCount(rows);
            writer.writeBatch();
            rowCounts.add(rows);
          }
          writer.end();
        }
      }
      String what =
          transport
              + " into '"
              + table
              + "', batches of "
              + rowCounts
              + " rows, schema "
              + schema.getFields();
      return new Request(table, out.toByteArray(), batches, transport, what);
    }

    private VarCharVector dictionary(BufferAllocator allocator) {
      VarCharVector words = new VarCharVector("words", allocator);
      words.allocateNew();
      String[] values = {"alpha", "\u00e9t\u00e9", "gamma"};
      for (int i = 0; i < values.length; i++) {
        words.setSafe(i, values[i].getBytes(StandardCharsets.UTF_8));
      }
      words.setValueCount(values.length);
      return words;
    }

    /** Sets row {@code r} of {@code v} to a random value (or leaves it null). */
    private void fill(String table, FieldVector v, int r) {
      String name = v.getName();
      boolean key =
          name.equalsIgnoreCase(timeColumnOf(table))
              || name.equalsIgnoreCase("metric_id")
              || (name.equals("k") && table.equals(WINDOWED));
      if (random.nextInt(12) == 0 && !(clean && key)) {
        setNull(v, r);
        return;
      }
      boolean eventTime =
          name.equalsIgnoreCase(timeColumnOf(table)) && (clean || random.nextInt(12) > 0);
      if (v.getField().getDictionary() != null) {
        ((IntVector) v).setSafe(r, random.nextInt(20) == 0 ? 7 : random.nextInt(3));
      } else if (v instanceof org.apache.arrow.vector.TimeStampVector ts) {
        long perSecond = perSecond(((ArrowType.Timestamp) ts.getField().getType()).getUnit());
        ts.setSafe(
            r,
            eventTime
                ? inUnit(recent(), perSecond)
                : clean
                    ? inUnit(pick(0L, -1L, NOW_MILLIS, YEAR_1700, YEAR_2200), perSecond)
                    : extremeEpoch(perSecond));
      } else if (v instanceof org.apache.arrow.vector.BigIntVector big && eventTime) {
        big.setSafe(r, recent());
      } else if (name.equalsIgnoreCase("metric_id")
          || (name.equals("k") && table.equals(WINDOWED))) {
        setText(
            v,
            r,
            random.nextInt(10) > 0
                ? ("m" + random.nextInt(4)).getBytes(StandardCharsets.UTF_8)
                : text());
      } else if (v instanceof BaseIntVector ints
          && v.getField().getType() instanceof ArrowType.Int) {
        int bits = ((ArrowType.Int) v.getField().getType()).getBitWidth();
        long max = bits == 64 ? Long.MAX_VALUE : (1L << (bits - 1)) - 1;
        long min = bits == 64 ? Long.MIN_VALUE : -(1L << (bits - 1));
        long value = pick(0L, 1L, -1L, max, min, (long) random.nextInt(1000), random.nextLong());
        ints.setWithPossibleTruncate(r, value);
      } else if (v instanceof Float8Vector f) {
        f.setSafe(r, doubleValue());
      } else if (v instanceof Float4Vector f) {
        f.setSafe(r, (float) doubleValue());
      } else if (v instanceof Float2Vector f) {
        f.setSafeWithPossibleTruncate(r, (float) doubleValue());
      } else if (v instanceof DecimalVector d) {
        d.setSafe(r, decimal(d.getPrecision(), d.getScale()));
      } else if (v instanceof Decimal256Vector d) {
        d.setSafe(r, decimal(d.getPrecision(), d.getScale()));
      } else if (v instanceof BaseVariableWidthVector
          || v instanceof BaseLargeVariableWidthVector) {
        boolean text =
            v.getField().getType() instanceof ArrowType.Utf8
                || v.getField().getType() instanceof ArrowType.LargeUtf8;
        setText(v, r, text ? text() : bytes(random.nextInt(20)));
      } else if (v instanceof FixedSizeBinaryVector b) {
        b.setSafe(r, bytes(4));
      } else if (v instanceof BitVector b) {
        b.setSafe(r, random.nextInt(2));
      } else if (v instanceof org.apache.arrow.vector.DateDayVector d) {
        d.setSafe(
            r,
            pick(
                0,
                19_000,
                -719_528,
                2_932_896,
                clean ? -1 : Integer.MAX_VALUE,
                clean ? 1 : Integer.MIN_VALUE,
                clean ? random.nextInt(100_000) : random.nextInt()));
      } else if (v instanceof org.apache.arrow.vector.DateMilliVector d) {
        d.setSafe(
            r,
            pick(
                0L,
                NOW_MILLIS,
                -62_135_596_800_000L,
                253_402_214_400_000L,
                clean ? -86_400_000L : Long.MAX_VALUE,
                clean ? 86_400_000L : Long.MIN_VALUE,
                clean ? random.nextInt(100_000) * 86_400_000L : random.nextLong()));
      } else if (v instanceof org.apache.arrow.vector.TimeSecVector t) {
        t.setSafe(r, pick(0, 86_399, -1, 86_400, random.nextInt(86_400)));
      } else if (v instanceof org.apache.arrow.vector.TimeMilliVector t) {
        t.setSafe(r, pick(0, 86_399_999, -1, 86_400_000, random.nextInt(86_400_000)));
      } else if (v instanceof org.apache.arrow.vector.TimeMicroVector t) {
        t.setSafe(
            r,
            pick(
                0L,
                86_399_999_999L,
                -1L,
                Long.MAX_VALUE,
                (long) random.nextInt(86_400) * 1_000_000));
      } else if (v instanceof org.apache.arrow.vector.TimeNanoVector t) {
        t.setSafe(
            r,
            pick(
                0L,
                86_399_999_999_999L,
                -1L,
                Long.MIN_VALUE,
                (long) random.nextInt(86_400) * 1_000_000_000));
      } else if (v instanceof org.apache.arrow.vector.DurationVector d) {
        d.setSafe(r, pick(0L, -1L, Long.MAX_VALUE, Long.MIN_VALUE, random.nextLong()));
      } else if (v instanceof IntervalYearVector i) {
        i.setSafe(r, pick(0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, random.nextInt(1000)));
      } else if (v instanceof IntervalDayVector i) {
        i.setSafe(
            r,
            pick(0, Integer.MAX_VALUE, Integer.MIN_VALUE, random.nextInt(1000)),
            pick(0, -1, Integer.MAX_VALUE, random.nextInt()));
      } else if (v instanceof IntervalMonthDayNanoVector i) {
        i.setSafe(
            r,
            pick(0, Integer.MAX_VALUE, Integer.MIN_VALUE),
            pick(0, -1, Integer.MAX_VALUE),
            pick(0L, Long.MAX_VALUE, Long.MIN_VALUE, random.nextLong()));
      } else if (v instanceof NullVector) {
        // Every value is null.
      } else if (v instanceof MapVector m) {
        int n = random.nextInt(3);
        int start = m.startNewValue(r);
        StructVector entries = (StructVector) m.getDataVector();
        for (int k = 0; k < n; k++) {
          entries.setIndexDefined(start + k);
          setText(entries.getChild("key"), start + k, ("k" + k).getBytes(StandardCharsets.UTF_8));
          fill(table, entries.getChild("value"), start + k);
        }
        m.endValue(r, n);
      } else if (v instanceof ListVector l) {
        int n = random.nextInt(4);
        int start = l.startNewValue(r);
        for (int k = 0; k < n; k++) {
          fill(table, l.getDataVector(), start + k);
        }
        l.endValue(r, n);
      } else if (v instanceof LargeListVector l) {
        int n = random.nextInt(4);
        long start = l.startNewValue(r);
        for (int k = 0; k < n; k++) {
          fill(table, l.getDataVector(), (int) start + k);
        }
        l.endValue(r, n);
      } else if (v instanceof FixedSizeListVector l) {
        l.setNotNull(r);
        for (int k = 0; k < l.getListSize(); k++) {
          fill(table, l.getDataVector(), r * l.getListSize() + k);
        }
      } else if (v instanceof StructVector s) {
        s.setIndexDefined(r);
        for (FieldVector child : s.getChildrenFromFields()) {
          fill(table, child, r);
        }
      } else {
        throw new IllegalStateException("no generator for " + v.getField());
      }
    }

    private void setNull(FieldVector v, int r) {
      if (v instanceof ListVector l) {
        l.setNull(r);
      } else if (v instanceof LargeListVector l) {
        l.setNull(r);
      } else if (v instanceof BaseVariableWidthVector w) {
        w.setNull(r);
      } else if (v instanceof BaseLargeVariableWidthVector w) {
        w.setNull(r);
      } else if (v instanceof FixedSizeListVector l) {
        l.setNull(r);
      } else if (v instanceof StructVector s) {
        s.setNull(r);
      } else if (v instanceof BaseFixedWidthVector f) {
        while (r >= f.getValueCapacity()) {
          f.reAlloc();
        }
        f.setNull(r);
      }
    }

    private void setText(FieldVector v, int r, byte[] bytes) {
      if (v instanceof BaseVariableWidthVector w) {
        w.setSafe(r, bytes);
      } else {
        ((BaseLargeVariableWidthVector) v).setSafe(r, bytes);
      }
    }

    /** {@code millis} in units of which a second holds {@code perSecond}. */
    private static long inUnit(long millis, long perSecond) {
      return perSecond >= 1000 ? millis * (perSecond / 1000) : Math.floorDiv(millis, 1000);
    }

    private long recent() {
      return NOW_MILLIS - random.nextInt((int) Duration.ofMinutes(50).toMillis());
    }

    private long extremeEpoch(long perSecond) {
      long nanosMax = Long.MAX_VALUE / (1_000_000_000L / perSecond);
      return pick(
          0L,
          -1L,
          inUnit(NOW_MILLIS, perSecond),
          Long.MAX_VALUE,
          Long.MIN_VALUE,
          nanosMax,
          -nanosMax,
          nanosMax + 1,
          -62_135_596_800L * perSecond, // 0001-01-01
          253_402_214_399L * perSecond, // 9999-12-31
          random.nextLong());
    }

    private double doubleValue() {
      return pick(
          Double.NaN,
          Double.POSITIVE_INFINITY,
          Double.NEGATIVE_INFINITY,
          -0.0,
          0.0,
          Double.MIN_VALUE,
          Double.MAX_VALUE,
          -Double.MAX_VALUE,
          Math.round(random.nextDouble() * 1e6) / 1000.0);
    }

    private BigDecimal decimal(int precision, int scale) {
      BigInteger unscaled;
      switch (random.nextInt(4)) {
        case 0:
          unscaled = BigInteger.TEN.pow(precision).subtract(BigInteger.ONE); // the largest
          break;
        case 1:
          unscaled = BigInteger.TEN.pow(precision).subtract(BigInteger.ONE).negate();
          break;
        case 2:
          unscaled = BigInteger.ZERO;
          break;
        default:
          unscaled =
              BigInteger.valueOf(random.nextInt(1000) - 500)
                  .remainder(BigInteger.TEN.pow(precision));
      }
      return new BigDecimal(unscaled, scale);
    }

    private byte[] text() {
      switch (clean ? pick(0, 1, 7, 8, 9) : random.nextInt(14)) {
        case 0:
          return new byte[0];
        case 1:
          return "caf\u00e9 \u540d\u524d \ud83d\ude00".getBytes(StandardCharsets.UTF_8);
        case 2:
          return new byte[] {0x65, 0x76, (byte) 0xff, (byte) 0xfe}; // invalid UTF-8
        case 3:
          return new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80}; // an encoded surrogate
        case 4:
          return new byte[] {(byte) 0xc0, (byte) 0x80}; // overlong NUL
        case 5:
          return new byte[] {(byte) 0xe2, (byte) 0x82}; // cut short
        case 6:
          return new byte[] {0x61, 0x00, 0x62}; // NUL
        case 7:
          return "x".repeat(2000).getBytes(StandardCharsets.UTF_8);
        case 8:
          return "it's \"quoted\" \\ ; DROP TABLE metrics; --".getBytes(StandardCharsets.UTF_8);
        default:
          return ("w" + random.nextInt(100)).getBytes(StandardCharsets.UTF_8);
      }
    }

    private byte[] bytes(int n) {
      byte[] b = new byte[n];
      random.nextBytes(b);
      return b;
    }

    private static long perSecond(TimeUnit unit) {
      switch (unit) {
        case SECOND:
          return 1;
        case MILLISECOND:
          return 1_000;
        case MICROSECOND:
          return 1_000_000;
        default:
          return 1_000_000_000;
      }
    }
  }
}
