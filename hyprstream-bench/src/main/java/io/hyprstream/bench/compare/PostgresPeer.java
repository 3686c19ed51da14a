package io.hyprstream.bench.compare;

import io.hyprstream.bench.RunEnv;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Properties;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;

/**
 * PostgreSQL over pgjdbc: binary {@code COPY} of the rows into a table of its own schema, an index
 * on {@code (metric_id, ts)} built after the load (PostgreSQL's advice for bulk loads), windows by
 * {@code date_bin ... GROUP BY} at query time. The schema is dropped on close.
 */
final class PostgresPeer implements Peer {
  static final String DEFAULT_URL = "jdbc:postgresql://127.0.0.1:5432/test";
  static final String SCHEMA = "hyprstream_bench_compare";
  static final String TABLE = SCHEMA + ".metrics";

  /** 2000-01-01T00:00:00Z, PostgreSQL's timestamp epoch, in Unix microseconds. */
  private static final long PG_EPOCH_MICROS = 946_684_800_000_000L;

  private static final byte[] HEADER = {
    'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0, 0, 0, 0, 0, 0, 0, 0, 0
  };

  static final String LOOKUP_SQL =
      "SELECT (extract(epoch FROM date_bin('1 hour', ts, TIMESTAMP '2000-01-01')) * 1000000)::bigint"
          + " AS ws, count(value), sum(value) FROM "
          + TABLE
          + " WHERE metric_id = ? AND ts >= ? GROUP BY 1 ORDER BY 1 DESC LIMIT 24";

  static final String ALL_5M_SQL =
      "SELECT metric_id, (extract(epoch FROM date_bin('5 minutes', ts, TIMESTAMP '2000-01-01'))"
          + " * 1000000)::bigint AS ws, count(value), sum(value) FROM "
          + TABLE
          + " GROUP BY 1, 2 HAVING count(value) > ?";

  static final String WINDOW_SQL =
      "SELECT count(value) FROM " + TABLE + " WHERE metric_id = ? AND ts >= ? AND ts < ?";

  private final String url;
  private final Connection conn;
  private final PreparedStatement lookup;
  private final PreparedStatement window;
  private final LocalDateTime lookupFrom;
  private final ByteBuffer buf = ByteBuffer.allocate(1 << 20);
  private String ingestNote = "";

  PostgresPeer(String url, long lookupFromMicros) throws SQLException {
    this.url = url;
    this.lookupFrom = local(lookupFromMicros);
    conn = DriverManager.getConnection(url, props());
    try (Statement st = conn.createStatement()) {
      st.execute("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE");
      st.execute("CREATE SCHEMA " + SCHEMA);
      st.execute(
          "CREATE TABLE "
              + TABLE
              + " (metric_id text NOT NULL, ts timestamp NOT NULL, value double precision)");
      lookup = conn.prepareStatement(LOOKUP_SQL);
      window = conn.prepareStatement(WINDOW_SQL);
    } catch (SQLException | RuntimeException e) {
      conn.close();
      throw e;
    }
  }

  static Properties props() {
    Properties p = new Properties();
    p.setProperty("user", System.getProperty("hyprstream.bench.pgUser", "postgres"));
    p.setProperty("connectTimeout", "5");
    return p;
  }

  /** Null when PostgreSQL answers at {@code url}, else why not. */
  static @org.jspecify.annotations.Nullable String unreachable(String url) {
    try (Connection c = DriverManager.getConnection(url, props())) {
      return null;
    } catch (SQLException e) {
      return "PostgreSQL is not reachable at " + url + ": " + e.getMessage();
    }
  }

  private static LocalDateTime local(long micros) {
    return LocalDateTime.ofInstant(HyprstreamPeer.instant(micros), ZoneOffset.UTC);
  }

  @Override
  public String version() {
    return Peer.jdbcVersion(conn, "SHOW server_version", "PostgreSQL", "pgjdbc");
  }

  @Override
  public String settings() {
    return "server at "
        + url
        + " (another process on this machine, sharing its 2 cores), settings as installed ("
        + setting("shared_buffers")
        + " shared_buffers, "
        + setting("work_mem")
        + " work_mem, max_parallel_workers_per_gather "
        + setting("max_parallel_workers_per_gather")
        + ", synchronous_commit "
        + setting("synchronous_commit")
        + "); logged table `"
        + TABLE
        + "(metric_id text, ts timestamp, value double precision)`; ingest: one binary `COPY"
        + " FROM STDIN` per batch of the data through pgjdbc's `CopyManager`, then `CREATE INDEX ON"
        + " (metric_id, ts)` and `ANALYZE` (both inside W1's time); W4 one `COPY` per 100-row batch"
        + " into the indexed table. Queries: prepared statements, `date_bin` + `GROUP BY`; W2"
        + " bounded to the last 24 hours (`ts >= end - 24h`) so the index range applies; W3 read"
        + " in one go (no cursor, so a parallel plan stays possible).";
  }

  private String setting(String name) {
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SHOW " + name)) {
      rs.next();
      return rs.getString(1);
    } catch (SQLException e) {
      return "?";
    }
  }

  @Override
  public void ingest(List<VectorSchemaRoot> batches) throws SQLException {
    long t0 = System.nanoTime();
    for (VectorSchemaRoot b : batches) {
      copy(b);
    }
    long t1 = System.nanoTime();
    try (Statement st = conn.createStatement()) {
      st.execute("CREATE INDEX metrics_id_ts ON " + TABLE + " (metric_id, ts)");
      long t2 = System.nanoTime();
      st.execute("ANALYZE " + TABLE);
      long t3 = System.nanoTime();
      ingestNote =
          String.format(
              java.util.Locale.ROOT,
              "PostgreSQL W1 phases: COPY %.1f s, CREATE INDEX %.1f s, ANALYZE %.1f s.",
              (t1 - t0) / 1e9,
              (t2 - t1) / 1e9,
              (t3 - t2) / 1e9);
    }
  }

  @Override
  public String ingestNote() {
    return ingestNote;
  }

  /** One binary COPY of the batch's rows. */
  private void copy(VectorSchemaRoot batch) throws SQLException {
    CopyManager cm = conn.unwrap(PGConnection.class).getCopyAPI();
    CopyIn in = cm.copyIn("COPY " + TABLE + " (metric_id, ts, value) FROM STDIN (FORMAT binary)");
    try {
      VarCharVector id = (VarCharVector) batch.getVector(0);
      TimeStampMicroVector ts = (TimeStampMicroVector) batch.getVector(1);
      Float8Vector value = (Float8Vector) batch.getVector(2);
      buf.clear();
      buf.put(HEADER);
      for (int r = 0; r < batch.getRowCount(); r++) {
        if (buf.remaining() < 256) {
          in.writeToCopy(buf.array(), 0, buf.position());
          buf.clear();
        }
        int start = (int) id.getStartOffset(r);
        int len = (int) (id.getEndOffset(r) - start);
        buf.putShort((short) 3);
        buf.putInt(len);
        id.getDataBuffer().getBytes(start, buf.array(), buf.position(), len);
        buf.position(buf.position() + len);
        buf.putInt(8);
        buf.putLong(ts.get(r) - PG_EPOCH_MICROS);
        if (value.isNull(r)) {
          buf.putInt(-1);
        } else {
          buf.putInt(8);
          buf.putDouble(value.get(r));
        }
      }
      buf.putShort((short) -1);
      in.writeToCopy(buf.array(), 0, buf.position());
      in.endCopy();
    } finally {
      if (in.isActive()) {
        in.cancelCopy();
      }
    }
  }

  @Override
  public Hourly lastHourly(String mode, String metricId) throws SQLException {
    Hourly h = new Hourly(24);
    lookup.setString(1, metricId);
    lookup.setObject(2, lookupFrom);
    try (ResultSet rs = lookup.executeQuery()) {
      while (rs.next()) {
        h.add(rs.getLong(1), rs.getLong(2), rs.getDouble(3));
      }
    }
    return h;
  }

  @Override
  public void allFiveMinute(String mode, WindowGrid into, int run) throws SQLException {
    // No fetch size: a cursor would rule out a parallel plan; pgjdbc buffers the ~2 M rows.
    try (PreparedStatement ps = conn.prepareStatement(ALL_5M_SQL)) {
      ps.setLong(1, -run);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          into.add(
              WindowGrid.metricIndex(rs.getString(1)),
              rs.getLong(2),
              rs.getLong(3),
              rs.getDouble(4));
        }
      }
    }
  }

  @Override
  public void ingestSmall(VectorSchemaRoot batch) throws SQLException {
    copy(batch);
  }

  @Override
  public long windowCount(String mode, String metricId, long windowStartMicros)
      throws SQLException {
    window.setString(1, metricId);
    window.setObject(2, local(windowStartMicros));
    window.setObject(3, local(windowStartMicros + WindowGrid.FIVE_MINUTES));
    try (ResultSet rs = window.executeQuery()) {
      return rs.next() ? rs.getLong(1) : 0;
    }
  }

  @Override
  public long nativeBytes() throws SQLException {
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT pg_total_relation_size('" + TABLE + "')")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** Every PostgreSQL server process on this machine: the postmaster, its backends and workers. */
  @Override
  public long otherProcessCpuNanos() {
    return RunEnv.cpuNanosOf(pid -> RunEnv.commandOf(pid).equals("postgres"));
  }

  @Override
  public String memoryNote() {
    return "`pg_total_relation_size` (table + index, on disk, cached in shared_buffers and the OS"
        + " page cache as they fit; the server process is not in this JVM)";
  }

  @Override
  public void close() {
    try (Statement st = conn.createStatement()) {
      lookup.close();
      window.close();
      st.execute("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE");
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    } finally {
      try {
        conn.close();
      } catch (SQLException e) {
        // closing after a failed drop: nothing more to do
      }
    }
  }
}
