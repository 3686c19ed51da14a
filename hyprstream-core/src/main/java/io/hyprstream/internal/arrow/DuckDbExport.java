package io.hyprstream.internal.arrow;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.duckdb.DuckDBResultSet;

/**
 * A DuckDB result streamed out as Arrow through DuckDB's own export ({@code arrowExportStream}):
 * DuckDB's types as they are (microsecond timestamps, decimals, arrays), no row-by-row conversion.
 * The DuckDB cache and the DuckDB-file and Redis backends answer queries this way.
 */
public final class DuckDbExport {
  private DuckDbExport() {}

  /**
   * The rows of {@code rs}, {@code batchRows} at most per batch. The returned reader owns {@code
   * rs}, {@code statement} and {@code connection}: closing it closes them in that order, each even
   * when closing the one before failed. When this throws, the caller still owns all three.
   *
   * @param rs a result set of DuckDB's JDBC driver
   * @param connection what the statement ran on: a connection to close or to hand back to a pool
   */
  public static ArrowReader stream(
      ResultSet rs,
      Statement statement,
      AutoCloseable connection,
      BufferAllocator allocator,
      int batchRows)
      throws SQLException {
    ArrowReader reader =
        (ArrowReader) ((DuckDBResultSet) rs).arrowExportStream(allocator, batchRows);
    return new ForwardingReader(
        allocator,
        reader,
        () -> {
          try {
            try {
              rs.close();
            } finally {
              statement.close();
            }
          } finally {
            connection.close();
          }
        });
  }
}
