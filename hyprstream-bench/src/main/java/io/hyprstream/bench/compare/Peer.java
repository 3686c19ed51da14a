package io.hyprstream.bench.compare;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * One system of the comparison, holding the generated data once {@link #ingest} returns. Each
 * method runs one workload's operation; the runner times them. A system may answer queries in more
 * than one way ({@link #modes()}, e.g. QuestDB from materialized views or by {@code SAMPLE BY} over
 * the raw rows); W2 to W4 run once per mode.
 *
 * <p>Batches passed in stay the caller's. Timestamps are epoch microseconds, naive UTC.
 */
interface Peer extends AutoCloseable {
  /** The system's name and version, e.g. "DuckDB v2.0.0". */
  String version();

  /** How it is set up: ingest path, table layout, indexes, query shapes, notable settings. */
  String settings();

  /** The ways it answers queries; the first is its recommended one. */
  default List<String> modes() {
    return List.of("");
  }

  /** W1: stores every batch; returns when all rows (and any maintained windows) are queryable. */
  void ingest(List<VectorSchemaRoot> batches) throws Exception;

  /**
   * CPU time used so far by the system's processes other than this JVM (a server process), ns; 0
   * when it runs in this JVM. W1's CPU figure adds its change to this JVM's.
   */
  default long otherProcessCpuNanos() {
    return 0;
  }

  /**
   * A server's own time per call kind so far (method to {count, seconds}), read from the server;
   * empty when the system has no such figure. W2 reports the difference across its timed runs.
   */
  default Map<String, double[]> serverCallTimes() throws Exception {
    return Map.of();
  }

  /** Anything about the ingest just done worth a note (phases, sizes), or "". */
  default String ingestNote() {
    return "";
  }

  /**
   * The ceiling over this system's W1 ratio to DuckDB, measured from what it holds right after
   * ingesting {@code input} ({@link WriteFloor}); empty for a system without one.
   */
  default String writeFloorNote(List<VectorSchemaRoot> input) throws Exception {
    return "";
  }

  /** W2: the last 24 hourly windows of {@code metricId}, newest first. */
  Hourly lastHourly(String mode, String metricId) throws Exception;

  /**
   * W3: every 5-minute window of every metric, added to {@code into}. {@code run} differs between
   * calls and appears in a no-op predicate, so no result cache can answer a repeat.
   */
  void allFiveMinute(String mode, WindowGrid into, int run) throws Exception;

  /**
   * For a server in a process of its own reached over Flight: the floor of one round trip to a
   * trivial Arrow Flight server, and a no-op call to both, {@code runs} timed calls each; empty for
   * other systems.
   */
  default String roundTripNote(int runs) throws Exception {
    return "";
  }

  /** W4: stores a small batch the way this system ingests small batches. */
  void ingestSmall(VectorSchemaRoot batch) throws Exception;

  /** W4: the count of {@code metricId}'s 5-minute window starting at the given time, 0 if none. */
  long windowCount(String mode, String metricId, long windowStartMicros) throws Exception;

  /** W5: memory the system holds outside the JVM heap (its own figure), in bytes. */
  long nativeBytes() throws Exception;

  /** What {@link #nativeBytes()} counts. */
  String memoryNote();

  @Override
  void close();

  /**
   * "{@code product} VERSION ({@code driver} DRIVER_VERSION)" from a JDBC connection, where {@code
   * versionSql} returns the server's version in its first column; "{@code product} ?" when it
   * fails.
   */
  static String jdbcVersion(Connection conn, String versionSql, String product, String driver) {
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery(versionSql)) {
      rs.next();
      return product
          + " "
          + rs.getString(1)
          + " ("
          + driver
          + " "
          + conn.getMetaData().getDriverVersion()
          + ")";
    } catch (SQLException e) {
      return product + " ?";
    }
  }
}
