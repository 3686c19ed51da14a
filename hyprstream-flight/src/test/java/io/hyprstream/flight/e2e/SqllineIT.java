package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * sqlline, as a user runs it over the Arrow Flight SQL JDBC driver against the shipped jar: {@code
 * !tables}, {@code !columns metrics}, {@code !describe metrics_5m}, {@code !primarykeys} and {@code
 * !indexes} print the right tables, columns, types and nullability. sqlline upper-cases the
 * unquoted names (the driver says identifiers are stored upper case), so the server must find
 * {@code METRICS} as DuckDB does. The oracle is DuckDB's own {@code DESCRIBE} and catalog, asked
 * through the same server.
 */
final class SqllineIT {
  private static final String SCRIPT =
      String.join(
          "\n",
          "CREATE TABLE devices (site INTEGER, device_id VARCHAR, name VARCHAR NOT NULL,"
              + " PRIMARY KEY (site, device_id));",
          "!tables",
          "!columns metrics",
          "!describe metrics_5m",
          "!primarykeys metrics",
          "!primarykeys devices",
          "!indexes metrics",
          "");

  @TempDir Path dir;

  @Test
  void metadataCommands_printTablesColumnsTypesAndKeys() throws Exception {
    try (ServerProcess server = ServerProcess.start()) {
      try (Connection flight = FlightJdbc.connect(server.jdbcUrl())) {
        MetricRows.ingestJdbc(flight, MetricRows.generate(200, 7, Instant.now()));
      }
      Output out = sqlline(server.jdbcUrl());
      Map<String, List<Map<String, String>>> blocks = out.blocks();

      try (Connection flight = FlightJdbc.connect(server.jdbcUrl())) {
        List<String> tables = new ArrayList<>();
        for (Map<String, String> row : blocks.getOrDefault("TABLE_TYPE", List.of())) {
          tables.add(row.get("TABLE_NAME") + " " + row.get("TABLE_TYPE"));
        }
        assertEquals(expectedTables(flight), tables, out.all());

        List<Map<String, String>> columns = blocks.getOrDefault("COLUMN_NAME", List.of());
        assertColumns(flight, "metrics", rowsOf(columns, "metrics"), out);
        assertColumns(flight, "metrics_5m", rowsOf(columns, "metrics_5m"), out);
        Map<String, String> metricId = rowsOf(columns, "metrics").get(0);
        assertEquals(
            "metric_id VARCHAR NO", line(metricId, "COLUMN_NAME", "TYPE_NAME", "IS_NULLABLE"));
        Map<String, String> timestamp = rowsOf(columns, "metrics").get(1);
        assertEquals(
            "timestamp TIMESTAMP NO", line(timestamp, "COLUMN_NAME", "TYPE_NAME", "IS_NULLABLE"));

        String pkName =
            scalar(
                flight,
                "SELECT constraint_name FROM duckdb_constraints()"
                    + " WHERE table_name = 'devices' AND constraint_type = 'PRIMARY KEY'");
        List<String> keys = new ArrayList<>();
        for (Map<String, String> row : blocks.getOrDefault("KEY_SEQ", List.of())) {
          keys.add(line(row, "TABLE_NAME", "COLUMN_NAME", "KEY_SEQ", "PK_NAME"));
        }
        // metrics declares no primary key: only devices' two columns are printed.
        assertEquals(
            List.of("devices site 1 " + pkName, "devices device_id 2 " + pkName), keys, out.all());
      }
      assertTrue(out.stdout.contains("'INDEX_NAME'"), out.all());
      assertEquals(List.of(), blocks.getOrDefault("INDEX_NAME", List.of()), out.all());
      assertEquals(0, server.terminate(), server.log());
    }
  }

  /** Every table the cache holds, in name order, with the type its kind has. */
  private static List<String> expectedTables(Connection flight) throws Exception {
    List<String> out = new ArrayList<>();
    try (Statement st = flight.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'"
                    + " AND NOT temporary AND NOT starts_with(table_name, '_hs_')"
                    + " ORDER BY table_name")) {
      while (rs.next()) {
        String name = rs.getString(1);
        String type =
            name.startsWith("hyprstream_")
                ? "SYSTEM TABLE"
                : name.startsWith("metrics_") ? "VIEW" : "TABLE";
        out.add(name + " " + type);
      }
    }
    assertTrue(out.contains("metrics TABLE"), out.toString());
    assertTrue(out.contains("metrics_5m VIEW"), out.toString());
    assertTrue(out.contains("hyprstream_cache_stats SYSTEM TABLE"), out.toString());
    assertTrue(out.contains("devices TABLE"), out.toString());
    return out;
  }

  /**
   * The printed columns of {@code table} are DuckDB's DESCRIBE (names, type names, nullability) in
   * order, with the JDBC type the driver gives the same columns in a query result.
   */
  private static void assertColumns(
      Connection flight, String table, List<Map<String, String>> printed, Output out)
      throws Exception {
    List<String> expected = DescribeOracle.expectedColumns(flight, table);
    assertFalse(expected.isEmpty(), table);
    List<String> actual = new ArrayList<>();
    for (Map<String, String> row : printed) {
      actual.add(
          line(
              row,
              "COLUMN_NAME",
              "TYPE_NAME",
              "DATA_TYPE",
              "NULLABLE",
              "IS_NULLABLE",
              "ORDINAL_POSITION"));
    }
    assertEquals(expected, actual, table + "\n" + out.all());
  }

  private static List<Map<String, String>> rowsOf(List<Map<String, String>> rows, String table) {
    return rows.stream().filter(r -> table.equals(r.get("TABLE_NAME"))).toList();
  }

  private static String line(Map<String, String> row, String... columns) {
    List<String> values = new ArrayList<>();
    for (String c : columns) {
      values.add(row.get(c));
    }
    return String.join(" ", values);
  }

  private static String scalar(Connection flight, String sql) throws Exception {
    try (Statement st = flight.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      assertTrue(rs.next(), sql);
      return rs.getString(1);
    }
  }

  /** Runs {@link #SCRIPT} through sqlline against {@code jdbcUrl} and returns what it printed. */
  private Output sqlline(String jdbcUrl) throws Exception {
    Path script = dir.resolve("script.sql");
    Files.writeString(script, SCRIPT);
    Path stdout = dir.resolve("sqlline.out");
    Path stderr = dir.resolve("sqlline.err");
    List<String> command =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "-cp",
            jar("hyprstream.test.sqllineJar")
                + java.io.File.pathSeparator
                + jar("hyprstream.test.jdbcDriverJar"),
            "sqlline.SqlLine",
            "-u",
            jdbcUrl,
            "-n",
            "x",
            "-p",
            "x",
            // Without a terminal, sqlline's default table format prints empty columns.
            "--outputformat=csv",
            "--run=" + script);
    Process p =
        new ProcessBuilder(command)
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .redirectOutput(stdout.toFile())
            .redirectError(stderr.toFile())
            .start();
    if (!p.waitFor(2, TimeUnit.MINUTES)) {
      p.destroyForcibly().waitFor();
      throw new AssertionError("sqlline did not end within 2 minutes");
    }
    Output out =
        new Output(
            p.exitValue(),
            Files.readString(stdout, StandardCharsets.UTF_8),
            Files.readString(stderr, StandardCharsets.UTF_8));
    assertEquals(0, out.exitCode, out.all());
    assertTrue(out.stderr.contains("7/7"), "every command of the script ran\n" + out.all());
    assertFalse(out.stderr.contains("Error:"), out.all());
    return out;
  }

  private static String jar(String property) {
    String jar = System.getProperty(property);
    if (jar == null || !Files.isRegularFile(Path.of(jar))) {
      throw new IllegalStateException(
          "system property " + property + " must name a jar (set by the pom), got " + jar);
    }
    return jar;
  }

  /** What sqlline printed. */
  private record Output(int exitCode, String stdout, String stderr) {
    String all() {
      return "exit " + exitCode + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
    }

    /**
     * The CSV result sets in stdout, keyed by a column naming the kind of result (TABLE_TYPE for
     * !tables, COLUMN_NAME for !columns, KEY_SEQ for !primarykeys, INDEX_NAME for !indexes); rows
     * of results of the same kind are joined. Each row maps column to value.
     */
    Map<String, List<Map<String, String>>> blocks() {
      Map<String, List<Map<String, String>>> out = new LinkedHashMap<>();
      List<String> header = null;
      String kind = null;
      for (String line : stdout.split("\n")) {
        if (!line.startsWith("'")) {
          header = null;
          continue;
        }
        List<String> cells = cells(line);
        if (cells.contains("TABLE_CAT") || cells.contains("TABLE_NAME")) {
          header = cells;
          kind = kindOf(cells);
          out.computeIfAbsent(kind, k -> new ArrayList<>());
          continue;
        }
        if (header == null || kind == null) {
          continue;
        }
        Map<String, String> row = new LinkedHashMap<>();
        for (int i = 0; i < header.size() && i < cells.size(); i++) {
          row.put(header.get(i), cells.get(i));
        }
        out.get(kind).add(row);
      }
      return out;
    }

    private static String kindOf(List<String> header) {
      for (String kind : List.of("KEY_SEQ", "INDEX_NAME", "COLUMN_NAME", "TABLE_TYPE")) {
        if (header.contains(kind)) {
          return kind;
        }
      }
      return String.join(",", header);
    }

    /** sqlline's csv: every value in single quotes, separated by commas. */
    private static List<String> cells(String line) {
      String inner = line.substring(1, line.length() - 1);
      return Arrays.asList(inner.split("','", -1));
    }
  }
}
