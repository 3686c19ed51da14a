package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.hyprstream.Hyprstream;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.testing.PostgresAvailable;
import io.hyprstream.testing.TestAllocator;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.time.InstantSource;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * SQL INSERT with PostgreSQL attached: the inserted rows reach it exactly once, refused ones never.
 */
@ExtendWith(PostgresAvailable.class)
final class SqlInsertWriteThroughTest {
  private static final Instant NOW = Instant.parse("2026-09-01T12:00:00Z");

  @TempDir Path dir;
  @RegisterExtension final TestAllocator allocator = new TestAllocator();
  private String schema;

  @BeforeEach
  void setUp() {
    schema = "hs_ins_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  }

  @AfterEach
  void tearDown() throws Exception {
    try (Connection c =
            DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
        Statement st = c.createStatement()) {
      st.execute("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
    }
  }

  private static String at(long secondsAgo) {
    return "TIMESTAMP '"
        + LocalDateTime.ofInstant(NOW.minusSeconds(secondsAgo), ZoneOffset.UTC)
        + "'";
  }

  /** Rows as "id|timestamp|value" strings, sorted. */
  private static List<String> cacheRows(ArrowReader reader) throws Exception {
    List<String> out = new ArrayList<>();
    try (reader) {
      while (reader.loadNextBatch()) {
        VectorSchemaRoot r = reader.getVectorSchemaRoot();
        for (int i = 0; i < r.getRowCount(); i++) {
          out.add(
              r.getVector(0).getObject(i)
                  + "|"
                  + r.getVector(1).getObject(i)
                  + "|"
                  + r.getVector(2).getObject(i));
        }
      }
    }
    out.sort(null);
    return out;
  }

  private List<String> postgresRows() throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c =
            DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
        Statement st = c.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT metric_id, \"timestamp\", value FROM \"" + schema + "\".metrics")) {
      while (rs.next()) {
        Object v = rs.getObject(3);
        out.add(
            rs.getString(1)
                + "|"
                + rs.getObject(2, LocalDateTime.class)
                + "|"
                + (v == null ? null : ((Number) v).doubleValue()));
      }
    }
    out.sort(null);
    return out;
  }

  @Test
  void insert_withPostgres_reachesItExactlyOnceAndRefusedRowsNever() throws Exception {
    List<String> cached;
    try (Hyprstream hs =
        PostgresAvailable.writingTo(PostgresAvailable.URI, schema, allocator, dir.resolve("data"))
            .clock(InstantSource.fixed(NOW))
            .synchronousWriteThrough(true)
            .build()) {
      assertEquals(
          3,
          hs.execute(
              "INSERT INTO metrics VALUES ('cpu', "
                  + at(300)
                  + ", 1.5), ('cpu', "
                  + at(200)
                  + ", 2.5), ('mem', "
                  + at(100)
                  + ", NULL)",
              List.of()));
      hs.execute("CREATE TABLE staging (host VARCHAR, seen TIMESTAMP, reading DOUBLE)", List.of());
      hs.execute(
          "INSERT INTO staging SELECT 'h' || (i % 4), "
              + at(1000)
              + " + i * INTERVAL 1 SECOND, i / 8 FROM range(500) t(i)",
          List.of());
      assertEquals(
          500,
          hs.execute(
              "WITH s AS (SELECT * FROM staging) INSERT INTO main.metrics (metric_id, timestamp,"
                  + " value) SELECT host, seen, reading FROM s",
              List.of()));
      assertThrows(
          SchemaMismatchException.class,
          () ->
              hs.execute(
                  "INSERT INTO metrics VALUES ('ok', "
                      + at(50)
                      + ", 1), ('bad', "
                      + at(40)
                      + ", 'x')",
                  List.of()));
      assertThrows(
          SchemaMismatchException.class,
          () ->
              hs.execute(
                  "INSERT INTO metrics VALUES ('ok', " + at(50) + ", 1), (NULL, " + at(40) + ", 2)",
                  List.of()));
      cached = cacheRows(hs.query("SELECT metric_id, timestamp, value FROM metrics"));
      assertEquals(503, cached.size());
    } // close drains the write-through queue
    List<String> stored = postgresRows();
    assertEquals(cached.size(), stored.size(), "rows in PostgreSQL");
    assertEquals(cached, stored, "PostgreSQL holds exactly the inserted rows, once each");
  }
}
