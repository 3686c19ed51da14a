package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.testing.PostgresAvailable;
import io.hyprstream.testing.TestAllocator;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.UUID;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** pool_max, pool_min and connect_timeout bound the PostgreSQL store's real connections. */
@ExtendWith(PostgresAvailable.class)
final class PostgresPoolTest {
  @RegisterExtension final TestAllocator allocator = new TestAllocator();
  private String schema;
  private String application;

  @BeforeEach
  void setUp() {
    String id = UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    schema = "hs_pool_" + id;
    application = "hs_pool_" + id;
  }

  @AfterEach
  void tearDown() throws SQLException {
    try (Connection c =
            DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
        Statement st = c.createStatement()) {
      st.execute("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
    }
  }

  /**
   * {@link #connections()} once the pool is closed: PostgreSQL lists a backend until it has
   * finished exiting, a moment after its client closed the socket, so this waits up to 5 s for the
   * count to reach 0 (a connection the pool left open never does).
   */
  private long connectionsOnceClosed() throws Exception {
    long deadline = System.nanoTime() + 5_000_000_000L;
    long open = connections();
    while (open > 0 && System.nanoTime() < deadline) {
      Thread.sleep(50);
      open = connections();
    }
    return open;
  }

  /** Connections PostgreSQL has open for this test's store, by its application name. */
  private long connections() throws SQLException {
    try (Connection c =
            DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
        Statement st = c.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"
                    + application
                    + "'")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void query_poolMaxReached_waitsConnectTimeoutThenFailsAndNeverOpensMore() throws Exception {
    Map<String, String> options =
        Map.of(
            "schema", schema,
            "ApplicationName", application,
            "pool_max", "2",
            "pool_min", "0",
            "connect_timeout", "1");
    try (BackendStore store =
            BackendStores.open("adbc", PostgresAvailable.URI, options, null, null, allocator);
        VectorSchemaRoot batch = Batches.metrics(allocator, 100, 0)) {
      store.append("metrics", "b1", batch);
      try (ArrowReader first = store.query("SELECT * FROM metrics", allocator);
          ArrowReader second = store.query("SELECT * FROM metrics", allocator)) {
        assertEquals(2, connections());
        long started = System.nanoTime();
        BackendUnavailableException e =
            assertThrows(
                BackendUnavailableException.class,
                () -> store.query("SELECT * FROM metrics", allocator).close());
        long waitedMs = (System.nanoTime() - started) / 1_000_000;
        assertTrue(waitedMs >= 900, "waited only " + waitedMs + " ms");
        assertTrue(e.getMessage().contains("127.0.0.1:5432/test"), e.getMessage());
        assertEquals(2, connections());
      }
      // Both connections went back to the pool and are reused.
      assertEquals(
          100L,
          Batches.drain(store.query("SELECT count(*) FROM metrics", allocator)).get(0).get(0));
      assertTrue(connections() <= 2, connections() + " connections");
    }
    assertEquals(0, connectionsOnceClosed());
  }

  @Test
  void open_poolMin_keepsThatManyConnectionsOpen() throws Exception {
    Map<String, String> options =
        Map.of("schema", schema, "ApplicationName", application, "pool_min", "3");
    try (BackendStore store =
        BackendStores.open("adbc", PostgresAvailable.URI, options, null, null, allocator)) {
      // HikariCP fills the idle floor from its own thread: wait for it, bounded.
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (connections() < 3 && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertEquals(3, connections());
      assertEquals(0, store.tables().size());
    }
  }
}
