package io.hyprstream.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.UUID;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A PostgreSQL schema of a test's own, on the machine's server (127.0.0.1:5432, user {@code
 * postgres}, database {@code test}), dropped with everything in it after each test, so tests never
 * see each other's tables. Register it as a field:
 *
 * <pre>{@code
 * @RegisterExtension final PostgresSchema pg = new PostgresSchema("hs_outage_");
 * private final String schema = pg.name();
 * }</pre>
 *
 * Pair it with a condition that skips (or, under {@code CI=true}, fails) when PostgreSQL is absent.
 */
public final class PostgresSchema implements AfterEachCallback {
  /** JDBC URL of the test database. */
  public static final String URL = "jdbc:postgresql://127.0.0.1:5432/test";

  private final String name;

  /** A schema named {@code prefix} and 12 random hex digits. */
  public PostgresSchema(String prefix) {
    this.name = prefix + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  }

  /** The schema's name (not created here: the backend under test creates it). */
  public String name() {
    return name;
  }

  /** Connection properties for {@link #URL}: user postgres, a short connect time-out. */
  public static Properties props() {
    Properties p = new Properties();
    p.setProperty("user", "postgres");
    p.setProperty("connectTimeout", "5");
    return p;
  }

  /** Runs {@code sql} on the test database. */
  public static void execute(String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(URL, props());
        Statement st = c.createStatement()) {
      st.execute(sql);
    }
  }

  @Override
  public void afterEach(ExtensionContext context) throws SQLException {
    execute("DROP SCHEMA IF EXISTS \"" + name + "\" CASCADE");
  }
}
