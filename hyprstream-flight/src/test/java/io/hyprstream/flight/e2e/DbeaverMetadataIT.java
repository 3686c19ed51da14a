package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DBeaver's navigator sequence through the real Flight SQL JDBC driver against the shipped jar with
 * a DuckDB-file backend (so every system table exists): catalogs, schemas, tables of each type,
 * then for every table its columns (against DuckDB's DESCRIBE), primary, imported and exported keys
 * and indexes, then type info and functions. Nothing may fail; names work in any case.
 */
final class DbeaverMetadataIT {
  @TempDir Path dir;

  @Test
  void navigatorSequence_answersEveryCallTruthfully() throws Exception {
    try (ServerProcess server =
            ServerProcess.start(
                "--engine",
                "duckdb",
                "--engine-connection",
                dir.resolve("backend.duckdb").toString(),
                "--data-dir",
                dir.resolve("data").toString());
        Connection c = FlightJdbc.connect(server.jdbcUrl())) {
      MetricRows.ingestJdbc(c, MetricRows.generate(100, 3, Instant.now()));
      try (Statement st = c.createStatement()) {
        st.executeUpdate(
            "CREATE TABLE devices (site INTEGER, device_id VARCHAR, name VARCHAR NOT NULL,"
                + " PRIMARY KEY (site, device_id))");
        st.executeUpdate(
            "CREATE TABLE readings (device_id VARCHAR, site INTEGER, ok BOOLEAN,"
                + " FOREIGN KEY (site, device_id) REFERENCES devices (site, device_id))");
      }
      DatabaseMetaData md = c.getMetaData();

      assertEquals(List.of("memory"), rows(md.getCatalogs(), "TABLE_CAT"));
      assertEquals(List.of("main memory"), rows(md.getSchemas(), "TABLE_SCHEM", "TABLE_CATALOG"));
      assertEquals(
          List.of("main memory"),
          rows(md.getSchemas("memory", null), "TABLE_SCHEM", "TABLE_CATALOG"));
      assertEquals(
          List.of("SYSTEM TABLE", "TABLE", "VIEW"), rows(md.getTableTypes(), "TABLE_TYPE"));

      List<String> tables =
          rows(md.getTables("memory", "main", "%", new String[] {"TABLE"}), "TABLE_NAME");
      List<String> views =
          rows(md.getTables("memory", "main", "%", new String[] {"VIEW"}), "TABLE_NAME");
      List<String> system =
          rows(md.getTables("memory", "main", "%", new String[] {"SYSTEM TABLE"}), "TABLE_NAME");
      List<String> all = rows(md.getTables("memory", "main", "%", null), "TABLE_NAME");
      assertEquals(List.of("devices", "metrics", "readings"), tables);
      assertTrue(views.containsAll(List.of("metrics_5m", "metrics_1h")), views.toString());
      assertTrue(views.stream().allMatch(v -> v.startsWith("metrics_")), views.toString());
      assertEquals(
          List.of("hyprstream_backend_status", "hyprstream_cache_stats", "hyprstream_quarantine"),
          system);
      List<String> union = new ArrayList<>(tables);
      union.addAll(views);
      union.addAll(system);
      union.sort(null);
      assertEquals(union, all);

      for (String table : all) {
        assertColumnsMatchDescribe(c, table);
        List<String> pk =
            rows(md.getPrimaryKeys("memory", "main", table), "COLUMN_NAME", "KEY_SEQ");
        assertEquals(table.equals("devices") ? List.of("site 1", "device_id 2") : List.of(), pk);
        List<String> imported =
            rows(md.getImportedKeys("memory", "main", table), "PKTABLE_NAME", "FKCOLUMN_NAME");
        assertEquals(
            table.equals("readings") ? List.of("devices site", "devices device_id") : List.of(),
            imported,
            table);
        List<String> exported =
            rows(md.getExportedKeys("memory", "main", table), "FKTABLE_NAME", "PKCOLUMN_NAME");
        assertEquals(
            table.equals("devices") ? List.of("readings site", "readings device_id") : List.of(),
            exported,
            table);
        // Flight SQL has no index command: the driver answers an empty result itself.
        assertEquals(
            List.of(), rows(md.getIndexInfo("memory", "main", table, false, true), "INDEX_NAME"));
      }
      // Names as a tool that upper-cases them sends them.
      assertColumnsMatchDescribe(c, "METRICS");
      assertColumnsMatchDescribe(c, "HYPRSTREAM_BACKEND_STATUS");
      assertEquals(
          List.of("site 1", "device_id 2"),
          rows(md.getPrimaryKeys(null, null, "DEVICES"), "COLUMN_NAME", "KEY_SEQ"));

      // The 18.3 driver answers these itself, without a server call: empty.
      assertEquals(List.of(), rows(md.getTypeInfo(), "TYPE_NAME"));
      assertEquals(List.of(), rows(md.getFunctions("memory", "main", "%"), "FUNCTION_NAME"));
    }
  }

  private static void assertColumnsMatchDescribe(Connection c, String table) throws SQLException {
    List<String> expected = DescribeOracle.expectedColumns(c, table);
    assertFalse(expected.isEmpty(), table);
    assertEquals(
        expected,
        rows(
            c.getMetaData().getColumns("memory", "main", table, "%"),
            "COLUMN_NAME",
            "TYPE_NAME",
            "DATA_TYPE",
            "NULLABLE",
            "IS_NULLABLE",
            "ORDINAL_POSITION"),
        table);
  }

  /** Each row's {@code columns}, space-separated; closes {@code rs}. */
  private static List<String> rows(ResultSet rs, String... columns) throws SQLException {
    List<String> out = new ArrayList<>();
    try (rs) {
      while (rs.next()) {
        List<@Nullable String> values = new ArrayList<>();
        for (String column : columns) {
          values.add(rs.getString(column));
        }
        out.add(values.stream().map(String::valueOf).collect(Collectors.joining(" ")));
      }
    }
    return out;
  }
}
