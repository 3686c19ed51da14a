package io.hyprstream.flight.e2e;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.Properties;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;

/**
 * A PostgreSQL database of its own for one test, on the machine's server at 127.0.0.1:5432 (user
 * {@code postgres}, trust authentication), dropped at close, so runs never see each other's rows.
 * When PostgreSQL does not answer the test is skipped with the reason, except under {@code
 * CI=true}, where that is a failure.
 */
public final class PostgresDatabase implements AutoCloseable {
  public static final String HOST_PORT = "127.0.0.1:5432";
  private final String name;

  private PostgresDatabase(String name) {
    this.name = name;
  }

  /** Creates {@code e2e_<random>}; skips (or fails under CI) when PostgreSQL is not there. */
  public static PostgresDatabase create() {
    String name = "e2e_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (Connection c = connect("postgres");
        Statement st = c.createStatement()) {
      st.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      String why =
          "PostgreSQL is not reachable at " + HOST_PORT + " as postgres: " + e.getMessage();
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        throw new IllegalStateException(why + " (CI=true: PostgreSQL tests must run)", e);
      }
      Assumptions.abort(why + " (set CI=true to make this a failure)");
    }
    return new PostgresDatabase(name);
  }

  public String name() {
    return name;
  }

  /** {@code jdbc:postgresql://127.0.0.1:5432/NAME?user=postgres}: the JDBC form of the backend. */
  public String jdbcUrl() {
    return "jdbc:postgresql://" + HOST_PORT + "/" + name + "?user=postgres";
  }

  /** {@code postgresql://127.0.0.1:5432/NAME}: the seed's URI form (user from elsewhere). */
  public String uri() {
    return "postgresql://" + HOST_PORT + "/" + name;
  }

  /** A pgjdbc connection to this database, to read what reached it. */
  public Connection connect() throws SQLException {
    return connect(name);
  }

  private static Connection connect(String database) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", "postgres");
    p.setProperty("connectTimeout", "5");
    return DriverManager.getConnection("jdbc:postgresql://" + HOST_PORT + "/" + database, p);
  }

  /**
   * Waits (up to a minute) for the write-through to bring {@code metrics} to {@code rows.size()}
   * rows, then fails unless it holds exactly {@code rows}, each once.
   */
  void assertHoldsExactly(java.util.List<MetricRows.Row> rows) throws Exception {
    long deadline = System.nanoTime() + java.time.Duration.ofSeconds(60).toNanos();
    try (Connection c = connect();
        Statement st = c.createStatement()) {
      long count = -1;
      while (System.nanoTime() < deadline) {
        try (java.sql.ResultSet rs = st.executeQuery("SELECT count(*) FROM metrics")) {
          rs.next();
          count = rs.getLong(1);
        } catch (SQLException notYetCreated) {
          count = -1;
        }
        if (count >= rows.size()) {
          break;
        }
        Thread.sleep(200);
      }
      if (count < 0) {
        throw new AssertionError("PostgreSQL never got a metrics table");
      }
      MetricRows.assertSameRows(
          MetricRows.sorted(rows),
          MetricRows.rows(
              st.executeQuery(
                  "SELECT metric_id, (extract(epoch FROM timestamp) * 1000)::bigint, value"
                      + " FROM metrics ORDER BY 1, 2, 3")),
          "PostgreSQL must hold every acknowledged row exactly once");
    }
  }

  @Override
  public void close() throws SQLException {
    try (Connection c = connect("postgres");
        Statement st = c.createStatement()) {
      st.execute(String.format(Locale.ROOT, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name));
    }
  }
}
