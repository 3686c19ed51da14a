package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.testing.PostgresAvailable;
import io.hyprstream.testing.TestAllocator;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.TimeStampNanoTZVector;
import org.apache.arrow.vector.UInt2Vector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@ExtendWith(PostgresAvailable.class)
final class PostgresBackendStoreTest {
  @RegisterExtension final TestAllocator allocator = new TestAllocator();
  private String schema;
  private final List<BackendStore> stores = new ArrayList<>();

  @BeforeEach
  void setUp() {
    schema = "hs_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  }

  @AfterEach
  void tearDown() throws SQLException {
    stores.forEach(BackendStore::close);
    try (Connection c =
            DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
        Statement st = c.createStatement()) {
      st.execute("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
    }
  }

  private BackendStore open(String format) {
    return open(Map.of("schema", schema, "copy_format", format));
  }

  private BackendStore open(Map<String, String> options) {
    BackendStore s =
        BackendStores.open("adbc", PostgresAvailable.URI, options, null, null, allocator);
    stores.add(s);
    return s;
  }

  /**
   * Through {@code jdbc:postgresql:} (ADBC's JDBC adapter), what the adapter cannot bind itself
   * arrives whole: unsigned integers (widened) and timestamps before 1970 (bound as text), found by
   * IngestFuzzIT seed 4, whose batches were retried for ever, then quarantined.
   */
  @Test
  void adbcJdbc_unsignedIntegersAndTimestampsBefore1970_readBackWhole() throws Exception {
    try (Connection c =
            DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
        Statement st = c.createStatement()) {
      st.execute("CREATE SCHEMA \"" + schema + "\"");
    }
    BackendStore store =
        BackendStores.open(
            "adbc",
            PostgresAvailable.URL,
            Map.of("currentSchema", schema),
            "postgres",
            null,
            allocator);
    stores.add(store);
    Schema arrow =
        new Schema(
            List.of(
                Field.nullable("u16", new ArrowType.Int(16, false)),
                Field.nullable("ts", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
                Field.nullable("tz", new ArrowType.Timestamp(TimeUnit.NANOSECOND, "UTC"))));
    long[] micros = {-9_000_000_000_000L, -86_400_000_001L, -1L, 1_700_000_000_123_456L};
    try (VectorSchemaRoot batch = VectorSchemaRoot.create(arrow, allocator)) {
      batch.allocateNew();
      for (int r = 0; r < micros.length; r++) {
        ((UInt2Vector) batch.getVector("u16")).setSafe(r, 65535 - r);
        ((TimeStampMicroVector) batch.getVector("ts")).setSafe(r, micros[r]);
        ((TimeStampNanoTZVector) batch.getVector("tz")).setSafe(r, micros[r] * 1000);
      }
      batch.setRowCount(micros.length);
      store.append("old_times", "t", batch);
      List<List<Object>> back =
          Batches.drain(
              store.query(
                  "SELECT u16, ts, tz FROM \"" + schema + "\".old_times ORDER BY ts", allocator));
      List<List<Object>> expected = Batches.rows(batch);
      for (int r = 0; r < expected.size(); r++) {
        expected.get(r).set(0, 65535L - r); // the test's Arrow reader has no cell form for uint16
      }
      Batches.assertSameRows(expected, back);
    }
  }

  private long count(String sql) throws SQLException {
    try (Connection c =
            DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"binary", "text"})
  void append_everyType_readsBackEqual(String format) throws Exception {
    BackendStore store = open(format);
    try (VectorSchemaRoot batch = Batches.everyType(allocator, 50, true)) {
      store.append("all_types", "b1", batch);
      List<List<Object>> expected = Batches.rows(batch);
      List<List<Object>> actual =
          Batches.drain(store.query("SELECT * FROM all_types ORDER BY i64", allocator));
      Batches.assertSameRows(expected, actual);
    }
    try (Connection c =
            DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
        Statement st = c.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
                    + " WHERE table_schema = '"
                    + schema
                    + "' AND table_name = 'all_types' ORDER BY ordinal_position")) {
      List<String> cols = new ArrayList<>();
      while (rs.next()) {
        cols.add(rs.getString(1) + " " + rs.getString(2) + " " + rs.getString(3));
      }
      assertEquals(
          List.of(
              "i8 smallint NO",
              "i16 smallint YES",
              "i32 integer YES",
              "i64 bigint NO",
              "f32 real YES",
              "f64 double precision YES",
              "s text YES",
              "b boolean YES",
              "ts timestamp without time zone YES",
              "ts_ms timestamp without time zone YES",
              "tstz timestamp with time zone YES",
              "d date YES",
              "bin bytea YES",
              "dec numeric YES",
              "vec ARRAY YES"),
          cols);
    }
    Schema schemaOf = store.tableSchema("all_types");
    assertNotNull(schemaOf);
    assertEquals(new ArrowType.Decimal(18, 4, 128), schemaOf.findField("dec").getType());
    assertFalse(schemaOf.findField("i64").isNullable());
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql://", "jdbc:postgresql:"})
  void newTable_timestampColumn_getsABrinIndex_soTimeRangeReadsNeedNotScanItAll(String form)
      throws Exception {
    String table = "brin_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    if (form.startsWith("jdbc")) { // pgjdbc creates in currentSchema, which must exist
      try (Connection c =
              DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
          Statement st = c.createStatement()) {
        st.execute("CREATE SCHEMA IF NOT EXISTS \"" + schema + "\"");
      }
    }
    BackendStore store =
        BackendStores.open(
            "adbc",
            form.startsWith("jdbc")
                ? "jdbc:postgresql://127.0.0.1:5432/test?user=postgres&currentSchema=" + schema
                : PostgresAvailable.URI,
            Map.of("schema", schema),
            null,
            null,
            allocator);
    stores.add(store);
    try (VectorSchemaRoot batch = Batches.metrics(allocator, 100, 0)) {
      store.append(table, "b1", batch);
    }
    assertEquals(
        1,
        count(
            "SELECT count(*) FROM pg_indexes WHERE tablename = '"
                + table
                + "' AND indexdef LIKE '%USING brin (\"timestamp\")%'"),
        "one BRIN index, on the timestamp column");
  }

  @Test
  void append_sameBatchIdTwice_writesRowsOnce() throws Exception {
    BackendStore store = open("binary");
    try (VectorSchemaRoot batch = Batches.metrics(allocator, 1000, 0)) {
      store.append("metrics", "batch-1", batch);
      store.append("metrics", "batch-1", batch);
    }
    assertEquals(1000, count("SELECT count(*) FROM \"" + schema + "\".metrics"));
    assertTrue(((PostgresBackendStore) store).contains("batch-1"));
    assertFalse(((PostgresBackendStore) store).contains("batch-2"));
  }

  @Test
  void callsThatEndInTime_leaveNoCutQueued() throws Exception {
    BackendStore store = open("binary");
    try (VectorSchemaRoot batch = Batches.metrics(allocator, 10, 0)) {
      for (int i = 0; i < 50; i++) {
        store.append("metrics", "batch-" + i, batch);
      }
    }
    assertEquals(500, count("SELECT count(*) FROM \"" + schema + "\".metrics"));
    // Each call scheduled the cut of its connection and cancelled it on return. Left queued, the
    // cuts of a busy write-through would pile up for socket_timeout, each holding a connection.
    assertEquals(0, PostgresConnections.pendingCuts());
  }

  @Test
  void appendAll_groupOverlappingACommittedBatch_writesOnlyTheNewOnes() throws Exception {
    BackendStore store = open("binary");
    try (VectorSchemaRoot a = Batches.metrics(allocator, 100, 0);
        VectorSchemaRoot b = Batches.metrics(allocator, 200, 100);
        VectorSchemaRoot c = Batches.metrics(allocator, 300, 300)) {
      store.append("metrics", "a", a); // committed before a crash; the log still holds it
      store.appendAll("metrics", List.of("a", "b", "c"), List.of(a, b, c)); // regrouped re-send
      store.appendAll("metrics", List.of("b", "c"), List.of(b, c)); // and once more
    }
    assertEquals(600, count("SELECT count(*) FROM \"" + schema + "\".metrics"));
    assertEquals(
        600,
        count("SELECT count(DISTINCT (metric_id, \"timestamp\")) FROM \"" + schema + "\".metrics"));
    assertEquals(
        3, count("SELECT count(*) FROM \"" + schema + "\"." + PostgresBackendStore.LEDGER));
  }

  @Test
  void append_connectionKilledBeforeCommit_retryWritesRowsOnce() throws Exception {
    PostgresBackendStore store = (PostgresBackendStore) open("binary");
    store.beforeCommit(
        c -> {
          int pid;
          try (Statement st = c.createStatement();
              ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            pid = rs.getInt(1);
          }
          try (Connection killer =
                  DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
              Statement st = killer.createStatement()) {
            st.execute("SELECT pg_terminate_backend(" + pid + ")");
          }
        });
    try (VectorSchemaRoot batch = Batches.metrics(allocator, 5000, 0)) {
      BackendUnavailableException e =
          assertThrows(BackendUnavailableException.class, () -> store.append("m", "k1", batch));
      assertTrue(e.getMessage().contains("k1"), e.getMessage());
      assertFalse(store.contains("k1"));
      store.beforeCommit(null);
      store.append("m", "k1", batch);
      store.append("m", "k1", batch);
    }
    assertEquals(5000, count("SELECT count(*) FROM \"" + schema + "\".m"));
    assertEquals(5000, count("SELECT count(DISTINCT value) FROM \"" + schema + "\".m"));
  }

  @Test
  void appendAll_sliceKilledBeforeCommitWhileTheOtherCommits_resendWritesEachRowOnce()
      throws Exception {
    PostgresBackendStore store =
        (PostgresBackendStore) open(Map.of("schema", schema, "copy_parallelism", "2"));
    Set<Integer> backends = ConcurrentHashMap.newKeySet();
    AtomicBoolean killed = new AtomicBoolean();
    store.beforeCommit(
        c -> {
          int pid;
          try (Statement st = c.createStatement();
              ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            pid = rs.getInt(1);
          }
          backends.add(pid);
          if (killed.compareAndSet(false, true)) {
            try (Connection killer =
                    DriverManager.getConnection(PostgresAvailable.URL, PostgresAvailable.props());
                Statement st = killer.createStatement()) {
              st.execute("SELECT pg_terminate_backend(" + pid + ")");
            }
          }
        });
    int rows = (int) PostgresBackendStore.MIN_SLICE_ROWS;
    List<VectorSchemaRoot> group = new ArrayList<>();
    List<String> ids = List.of("p0", "p1", "p2", "p3");
    try {
      for (int i = 0; i < ids.size(); i++) {
        group.add(Batches.metrics(allocator, rows, i * rows));
      }
      assertThrows(BackendUnavailableException.class, () -> store.appendAll("m", ids, group));
      // Two slices on two backends: one was cut before its commit, the other committed.
      assertEquals(2, backends.size());
      assertEquals(
          2, count("SELECT count(*) FROM \"" + schema + "\"." + PostgresBackendStore.LEDGER));
      assertEquals(2L * rows, count("SELECT count(*) FROM \"" + schema + "\".m"));
      store.beforeCommit(null);
      store.appendAll("m", ids, group); // the write-through worker re-sends the whole group
    } finally {
      group.forEach(VectorSchemaRoot::close);
    }
    assertEquals(4L * rows, count("SELECT count(*) FROM \"" + schema + "\".m"));
    assertEquals(4L * rows, count("SELECT count(DISTINCT value) FROM \"" + schema + "\".m"));
    assertEquals(
        4, count("SELECT count(*) FROM \"" + schema + "\"." + PostgresBackendStore.LEDGER));
    for (String id : ids) {
      assertTrue(store.contains(id), id);
    }
  }

  @Test
  void appendAll_byDefault_sendsAGroupAsOneTransaction() throws Exception {
    PostgresBackendStore store = (PostgresBackendStore) open("binary");
    Set<Integer> backends = ConcurrentHashMap.newKeySet();
    store.beforeCommit(
        c -> {
          try (Statement st = c.createStatement();
              ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            backends.add(rs.getInt(1));
          }
        });
    int rows = (int) PostgresBackendStore.MIN_SLICE_ROWS;
    try (VectorSchemaRoot a = Batches.metrics(allocator, rows, 0);
        VectorSchemaRoot b = Batches.metrics(allocator, rows, rows)) {
      store.appendAll("m", List.of("d0", "d1"), List.of(a, b));
    }
    assertEquals(1, backends.size());
    assertEquals(2L * rows, count("SELECT count(*) FROM \"" + schema + "\".m"));
  }

  @Test
  void slices_cutAtBatchBoundariesOfAtLeastTheMinimumRows() {
    int min = (int) PostgresBackendStore.MIN_SLICE_ROWS;
    List<VectorSchemaRoot> four = new ArrayList<>();
    try {
      for (int i = 0; i < 4; i++) {
        four.add(Batches.metrics(allocator, min, i * min));
      }
      assertArrayEquals(new int[] {0, 2, 4}, PostgresBackendStore.slices(four, 2));
      assertArrayEquals(new int[] {0, 1, 2, 3, 4}, PostgresBackendStore.slices(four, 8));
      assertArrayEquals(new int[] {0, 4}, PostgresBackendStore.slices(four, 1));
      assertArrayEquals(new int[] {0, 1, 2}, PostgresBackendStore.slices(four.subList(2, 4), 4));
      assertArrayEquals(new int[] {0, 1}, PostgresBackendStore.slices(four.subList(0, 1), 2));
    } finally {
      four.forEach(VectorSchemaRoot::close);
    }
    try (VectorSchemaRoot small = Batches.metrics(allocator, 1000, 0);
        VectorSchemaRoot small2 = Batches.metrics(allocator, 1000, 1000)) {
      // Small groups stay one transaction on one connection.
      assertArrayEquals(new int[] {0, 2}, PostgresBackendStore.slices(List.of(small, small2), 2));
    }
  }

  @Test
  void open_copyParallelismOutOfRange_isRefusedNamingTheOption() {
    for (String bad : List.of("0", "11", "two")) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  BackendStores.open(
                      "adbc",
                      PostgresAvailable.URI,
                      Map.of("schema", schema, "copy_parallelism", bad),
                      null,
                      null,
                      allocator));
      assertTrue(e.getMessage().contains("copy_parallelism"), e.getMessage());
    }
  }

  @Test
  void appendAll_groupWhoseColumnsChangeMidway_storesEveryRowUnderItsColumns() throws Exception {
    BackendStore store = open("binary");
    try (VectorSchemaRoot a = Batches.metrics(allocator, 100, 0);
        VectorSchemaRoot host = Batches.withHost(allocator, "h1");
        VectorSchemaRoot b = Batches.metrics(allocator, 200, 100);
        VectorSchemaRoot c = Batches.metrics(allocator, 300, 300)) {
      store.appendAll("metrics", List.of("a", "h", "b", "c"), List.of(a, host, b, c));
    }
    String t = "\"" + schema + "\".metrics";
    assertEquals(601, count("SELECT count(*) FROM " + t));
    assertEquals(1, count("SELECT count(*) FROM " + t + " WHERE host = 'h1' AND value IS NULL"));
    assertEquals(600, count("SELECT count(DISTINCT value) FROM " + t + " WHERE host IS NULL"));
  }

  @Test
  void append_failureAfterCommitThenRetry_writesRowsOnce() throws Exception {
    PostgresBackendStore store = (PostgresBackendStore) open("binary");
    try (VectorSchemaRoot batch = Batches.metrics(allocator, 100, 0)) {
      store.append("m", "k2", batch);
      // The acknowledgement was lost: the caller retries the same batch.
      store.append("m", "k2", batch);
    }
    assertEquals(100, count("SELECT count(*) FROM \"" + schema + "\".m"));
    assertEquals(1, count("SELECT count(*) FROM \"" + schema + "\".hyprstream_ledger"));
  }

  @Test
  void append_batchWithNewColumn_addsNullableColumn() throws Exception {
    BackendStore store = open("binary");
    try (VectorSchemaRoot first = Batches.metrics(allocator, 10, 0)) {
      store.append("metrics", "a", first);
    }
    try (VectorSchemaRoot second = Batches.withHost(allocator, "h1")) {
      store.append("metrics", "b", second);
    }
    Schema s = store.tableSchema("metrics");
    assertNotNull(s);
    assertTrue(s.findField("host").isNullable());
    assertEquals(10, count("SELECT count(*) FROM \"" + schema + "\".metrics WHERE host IS NULL"));
    assertEquals(1, count("SELECT count(*) FROM \"" + schema + "\".metrics WHERE host = 'h1'"));
    assertEquals(List.of("metrics"), store.tables());
    assertNull(store.tableSchema("nope"));
  }

  @Test
  void query_badSql_isRejected() {
    BackendStore store = open("binary");
    assertThrows(QueryRejectedException.class, () -> store.query("SELEC 1", allocator));
    // The store still works after a rejected query.
    assertEquals(List.of(), store.tables());
  }

  @Test
  void open_unknownUser_failsNamingTheUserNotThePassword() {
    BackendUnavailableException e =
        assertThrows(
            BackendUnavailableException.class,
            () ->
                BackendStores.open(
                    "adbc",
                    "postgresql://nosuchuser:s3cretPw@127.0.0.1:5432/test",
                    Map.of(),
                    null,
                    null,
                    allocator));
    assertTrue(e.getMessage().contains("nosuchuser"), e.getMessage());
    assertFalse(e.getMessage().contains("s3cretPw"), e.getMessage());
  }

  @Test
  void open_explicitCredentialsOverrideUri() {
    BackendUnavailableException e =
        assertThrows(
            BackendUnavailableException.class,
            () ->
                BackendStores.open(
                    "adbc", PostgresAvailable.URI, Map.of(), "otheruser", "pw", allocator));
    assertTrue(e.getMessage().contains("otheruser"), e.getMessage());
  }

  @Test
  void open_missingDatabaseOrClosedPort_failsClearly() {
    BackendUnavailableException noDb =
        assertThrows(
            BackendUnavailableException.class,
            () ->
                BackendStores.open(
                    "adbc",
                    "postgresql://postgres@127.0.0.1:5432/no_such_db",
                    Map.of(),
                    null,
                    null,
                    allocator));
    assertTrue(noDb.getMessage().contains("no_such_db"), noDb.getMessage());
    BackendUnavailableException noServer =
        assertThrows(
            BackendUnavailableException.class,
            () ->
                BackendStores.open(
                    "adbc",
                    "postgresql://postgres:pw@127.0.0.1:1/test",
                    Map.of(),
                    null,
                    null,
                    allocator));
    assertTrue(noServer.getMessage().contains("127.0.0.1:1"), noServer.getMessage());
    BackendUnavailableException bad =
        assertThrows(
            BackendUnavailableException.class,
            () -> BackendStores.open("adbc", "mysql://u:pw@h/db", Map.of(), null, null, allocator));
    assertTrue(bad.getMessage().contains("expected postgresql://"), bad.getMessage());
    assertFalse(bad.getMessage().contains(":pw@"), bad.getMessage());
  }
}
