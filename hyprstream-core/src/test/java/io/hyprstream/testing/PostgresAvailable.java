package io.hyprstream.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs a test class only when PostgreSQL answers on 127.0.0.1:5432 (user {@code postgres}, database
 * {@code test}). Skips otherwise, with the reason, except when {@code CI=true}: there an
 * unreachable PostgreSQL fails the tests.
 */
public final class PostgresAvailable implements ExecutionCondition {
  public static final String URL = PostgresSchema.URL;
  public static final String URI = "postgresql://postgres@127.0.0.1:5432/test";

  public static Properties props() {
    return PostgresSchema.props();
  }

  @Override
  public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
    try (Connection c = DriverManager.getConnection(URL, props())) {
      return ConditionEvaluationResult.enabled("PostgreSQL answers at " + URL);
    } catch (SQLException e) {
      String why = "PostgreSQL is not reachable at " + URL + " as postgres: " + e.getMessage();
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        throw new IllegalStateException(why + " (CI=true: PostgreSQL tests must run)", e);
      }
      return ConditionEvaluationResult.disabled(why + " (set CI=true to make this a failure)");
    }
  }

  /** The URI of PostgreSQL reached through a proxy on {@code port}. */
  public static String viaPort(int port) {
    return "postgresql://postgres@127.0.0.1:" + port + "/test";
  }

  /**
   * A builder for an instance writing through to PostgreSQL at {@code uri}, its tables in {@code
   * schema}, its log in {@code data}; expiry off, short timeouts so outages show quickly.
   */
  public static io.hyprstream.HyprstreamBuilder writingTo(
      String uri,
      String schema,
      org.apache.arrow.memory.BufferAllocator allocator,
      java.nio.file.Path data) {
    return io.hyprstream.Hyprstream.builder()
        .allocator(allocator)
        .expiryInterval(java.time.Duration.ZERO)
        .backend(
            io.hyprstream.backend.BackendStores.open(
                "adbc",
                uri,
                java.util.Map.of("schema", schema, "connect_timeout", "2", "socket_timeout", "5"),
                null,
                null,
                allocator))
        .dataDirectory(data);
  }

  /** The first row of {@code sql}'s answer as longs. */
  public static long[] firstRow(String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(URL, props());
        java.sql.Statement st = c.createStatement();
        java.sql.ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      long[] out = new long[rs.getMetaData().getColumnCount()];
      for (int i = 0; i < out.length; i++) {
        out[i] = rs.getLong(i + 1);
      }
      return out;
    }
  }
}
