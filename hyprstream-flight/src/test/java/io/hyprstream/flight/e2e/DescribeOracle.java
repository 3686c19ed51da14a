package io.hyprstream.flight.e2e;

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code getColumns} must say of a table, from DuckDB's own {@code DESCRIBE} of it through the
 * server: one line per column of {@code COLUMN_NAME TYPE_NAME DATA_TYPE NULLABLE IS_NULLABLE
 * ORDINAL_POSITION}, the JDBC type being the one the driver gives that column in a query result.
 */
final class DescribeOracle {
  private DescribeOracle() {}

  static List<String> expectedColumns(Connection flight, String table) throws SQLException {
    List<Integer> types = new ArrayList<>();
    try (Statement st = flight.createStatement();
        ResultSet rs = st.executeQuery("SELECT * FROM " + table + " LIMIT 0")) {
      ResultSetMetaData md = rs.getMetaData();
      for (int i = 1; i <= md.getColumnCount(); i++) {
        types.add(md.getColumnType(i));
      }
    }
    List<String> expected = new ArrayList<>();
    try (Statement st = flight.createStatement();
        ResultSet rs = st.executeQuery("DESCRIBE " + table)) {
      int i = 0;
      while (rs.next()) {
        boolean nullable = rs.getString("null").equals("YES");
        expected.add(
            String.join(
                " ",
                rs.getString("column_name"),
                rs.getString("column_type"),
                String.valueOf(types.get(i)),
                String.valueOf(
                    nullable ? DatabaseMetaData.columnNullable : DatabaseMetaData.columnNoNulls),
                nullable ? "YES" : "NO",
                String.valueOf(++i)));
      }
    }
    return expected;
  }
}
