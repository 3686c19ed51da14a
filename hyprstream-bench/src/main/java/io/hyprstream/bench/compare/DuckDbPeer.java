package io.hyprstream.bench.compare;

import io.hyprstream.bench.Arrows;
import io.hyprstream.internal.arrow.BatchListReader;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.arrow.c.ArrowArrayStream;
import org.apache.arrow.c.Data;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.duckdb.DuckDBConnection;

/**
 * DuckDB alone, in-memory, through duckdb_jdbc: Arrow batches into a raw table ({@code
 * registerArrowStream} + {@code INSERT ... SELECT}, 16 batches per statement), windows computed at
 * query time with {@code time_bucket ... GROUP BY}.
 */
final class DuckDbPeer implements Peer {
  /** Batches per INSERT: DuckDB's cost is per statement (DEPENDENCIES.md). */
  static final int GROUP = 16;

  static final String LOOKUP_SQL =
      "SELECT epoch_us(time_bucket(INTERVAL 1 HOUR, \"timestamp\")) AS ws, count(value),"
          + " sum(value) FROM raw WHERE metric_id = ? AND \"timestamp\" >= TIMESTAMP '%s'"
          + " GROUP BY ws ORDER BY ws DESC LIMIT 24";

  static final String ALL_5M_SQL =
      "SELECT metric_id, epoch_us(time_bucket(INTERVAL 5 MINUTE, \"timestamp\")) AS ws,"
          + " count(value), sum(value) FROM raw GROUP BY ALL HAVING count(value) > ?";

  static final String WINDOW_SQL =
      "SELECT count(value) FROM raw WHERE metric_id = ? AND \"timestamp\" >= make_timestamp(?)"
          + " AND \"timestamp\" < make_timestamp(?)";

  private final BufferAllocator allocator;
  private final DuckDBConnection conn;
  private final PreparedStatement lookup;
  private final PreparedStatement all5m;
  private final PreparedStatement window;
  private int streams;

  DuckDbPeer(BufferAllocator parent, long lookupFromMicros) throws SQLException {
    allocator = parent.newChildAllocator("duckdb-peer", 0, Long.MAX_VALUE);
    try {
      conn = (DuckDBConnection) DriverManager.getConnection("jdbc:duckdb:");
      try (Statement st = conn.createStatement()) {
        st.execute("SET TimeZone = 'UTC'");
        st.execute(
            "CREATE TABLE raw (metric_id VARCHAR NOT NULL, \"timestamp\" TIMESTAMP NOT NULL,"
                + " value DOUBLE)");
      }
      lookup =
          conn.prepareStatement(
              String.format(LOOKUP_SQL, HyprstreamPeer.sqlTimestamp(lookupFromMicros)));
      all5m = conn.prepareStatement(ALL_5M_SQL);
      window = conn.prepareStatement(WINDOW_SQL);
    } catch (SQLException | RuntimeException e) {
      allocator.close();
      throw e;
    }
  }

  @Override
  public String version() {
    return Peer.jdbcVersion(conn, "SELECT version()", "DuckDB", "duckdb_jdbc");
  }

  @Override
  public String settings() {
    return "in-memory database, default threads and memory limit; table `raw(metric_id VARCHAR,"
        + " timestamp TIMESTAMP, value DOUBLE)` without an index (DuckDB's advice for analytics:"
        + " zone maps over insertion order, which here is nearly time order); ingest:"
        + " `registerArrowStream` + `INSERT ... SELECT`, "
        + GROUP
        + " of the data's batches per statement; W4 one statement per 100-row batch. Queries:"
        + " prepared statements, `time_bucket` + `GROUP BY`; W2 bounded to the last 24 hours"
        + " (`timestamp >= end - 24h`) so zone maps prune.";
  }

  @Override
  public void ingest(List<VectorSchemaRoot> batches) throws SQLException {
    for (int i = 0; i < batches.size(); i += GROUP) {
      insert(batches.subList(i, Math.min(batches.size(), i + GROUP)));
    }
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*) FROM raw")) {
      rs.next();
      long expected = batches.stream().mapToLong(VectorSchemaRoot::getRowCount).sum();
      if (rs.getLong(1) != expected) {
        throw new IllegalStateException("raw holds " + rs.getLong(1) + ", expected " + expected);
      }
    }
  }

  private void insert(List<VectorSchemaRoot> group) throws SQLException {
    executeOverBatches(
        conn,
        allocator,
        "arrow_in_" + (++streams),
        group,
        "INSERT INTO raw SELECT metric_id, \"timestamp\", value FROM %s");
  }

  /**
   * Runs {@code sqlFormat}, its {@code %s} naming {@code view}: shares of {@code group} registered
   * as an Arrow stream ({@code registerArrowStream}), then drops the view in the same statement.
   * The stream stays open until the statement has read it (DuckDB reads it only then). The caller
   * keeps {@code group}. {@link WriteFloor} appends this way too, so its ceiling is measured the
   * way this peer ingests.
   */
  static void executeOverBatches(
      DuckDBConnection conn,
      BufferAllocator allocator,
      String view,
      List<VectorSchemaRoot> group,
      String sqlFormat)
      throws SQLException {
    List<VectorSchemaRoot> shares = new ArrayList<>(group.size());
    for (VectorSchemaRoot b : group) {
      shares.add(Arrows.share(b, allocator));
    }
    try (ArrowArrayStream stream = ArrowArrayStream.allocateNew(allocator);
        Statement st = conn.createStatement()) {
      Data.exportArrayStream(
          allocator, new BatchListReader(allocator, group.get(0).getSchema(), shares), stream);
      conn.registerArrowStream(view, stream);
      st.execute(String.format(Locale.ROOT, sqlFormat, view) + "; DROP VIEW IF EXISTS " + view);
    }
  }

  @Override
  public Hourly lastHourly(String mode, String metricId) throws SQLException {
    Hourly h = new Hourly(24);
    lookup.setString(1, metricId);
    try (ResultSet rs = lookup.executeQuery()) {
      while (rs.next()) {
        h.add(rs.getLong(1), rs.getLong(2), rs.getDouble(3));
      }
    }
    return h;
  }

  @Override
  public void allFiveMinute(String mode, WindowGrid into, int run) throws SQLException {
    all5m.setLong(1, -run);
    try (ResultSet rs = all5m.executeQuery()) {
      while (rs.next()) {
        into.add(
            WindowGrid.metricIndex(rs.getString(1)), rs.getLong(2), rs.getLong(3), rs.getDouble(4));
      }
    }
  }

  @Override
  public void ingestSmall(VectorSchemaRoot batch) throws SQLException {
    insert(List.of(batch));
  }

  @Override
  public long windowCount(String mode, String metricId, long windowStartMicros)
      throws SQLException {
    window.setString(1, metricId);
    window.setLong(2, windowStartMicros);
    window.setLong(3, windowStartMicros + WindowGrid.FIVE_MINUTES);
    try (ResultSet rs = window.executeQuery()) {
      return rs.next() ? rs.getLong(1) : 0;
    }
  }

  @Override
  public long nativeBytes() throws SQLException {
    try (Statement st = conn.createStatement();
        ResultSet rs =
            st.executeQuery("SELECT sum(memory_usage_bytes)::BIGINT FROM duckdb_memory()")) {
      rs.next();
      return rs.getLong(1) + allocator.getAllocatedMemory();
    }
  }

  @Override
  public String memoryNote() {
    return "heap growth + DuckDB `duckdb_memory()`";
  }

  @Override
  public void close() {
    try {
      lookup.close();
      all5m.close();
      window.close();
      conn.close();
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    } finally {
      allocator.close();
    }
  }
}
