package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.backend.redis.RedisConnection;
import io.hyprstream.testing.TcpProxy;
import io.hyprstream.testing.TestAllocator;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VarCharVector;
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
import org.junit.jupiter.api.io.TempDir;

/**
 * The Redis store against the machine's Redis (127.0.0.1:6379), each test under its own key prefix,
 * removed afterwards. The oracle is the DuckDB-file store given the same batches: both answer
 * through DuckDB, so a row Redis did not give back exactly shows as a difference.
 */
@ExtendWith(RedisAvailable.class)
final class RedisBackendStoreTest {
  @TempDir Path dir;
  @RegisterExtension final TestAllocator allocator = new TestAllocator();
  private String prefix;

  @BeforeEach
  void setUp() {
    prefix = "hstest:" + UUID.randomUUID() + ":";
  }

  @AfterEach
  void tearDown() {
    RedisAvailable.deleteKeys(prefix);
  }

  private BackendStore redis(Map<String, String> options) {
    return redis(RedisAvailable.URI, options);
  }

  private BackendStore redis(String uri, Map<String, String> options) {
    Map<String, String> all = new HashMap<>(options);
    all.put("key_prefix", prefix);
    all.putIfAbsent("socket_timeout", "2");
    all.putIfAbsent("connect_timeout", "2");
    return BackendStores.open("redis", uri, all, null, null, allocator);
  }

  private BackendStore oracle() {
    return BackendStores.open(
        "duckdb", dir.resolve("oracle.duckdb").toString(), Map.of(), null, null, allocator);
  }

  @Test
  void everyType_readsBackAsTheDuckDbStoreDoes_schemaIncluded() throws Exception {
    try (BackendStore store = redis(Map.of());
        BackendStore oracle = oracle();
        VectorSchemaRoot batch = Batches.everyType(allocator, 300, false)) {
      store.checkWritable("t", batch.getSchema());
      store.append("t", "b1", batch);
      oracle.append("t", "b1", batch);
      assertTrue(store.readsBackExactly());
      // The stored schema gives every type back as written (DuckDB's file keeps ts_ms and tstz
      // as microseconds; Redis keeps the units).
      assertEquals(batch.getSchema().getFields().size(), store.tableSchema("t").getFields().size());
      for (Field f : batch.getSchema().getFields()) {
        assertEquals(f.getType(), store.tableSchema("t").findField(f.getName()).getType());
      }
      String q = "SELECT * FROM t ORDER BY i64";
      List<List<Object>> expected = Batches.drain(oracle.query(q, allocator));
      assertEquals(300, expected.size());
      Batches.assertSameRows(expected, Batches.drain(store.query(q, allocator)));
      assertEquals(List.of("t"), store.tables());
      assertNull(store.tableSchema("absent"));
    }
  }

  @Test
  void sameBatchIdAgain_inOneGroupOrLater_addsNothing() throws Exception {
    try (BackendStore store = redis(Map.of());
        VectorSchemaRoot a = Batches.metrics(allocator, 1000, 0);
        VectorSchemaRoot b = Batches.metrics(allocator, 500, 1000)) {
      assertFalse(store.contains("a"));
      store.appendAll("metrics", List.of("a", "b", "a"), List.of(a, b, a));
      store.append("metrics", "b", b);
      store.appendAll("metrics", List.of("b", "a"), List.of(b, a));
      assertTrue(store.contains("a"));
      assertTrue(store.contains("b"));
      assertEquals(
          List.of(List.of(1500L, 1500L)),
          Batches.drain(
              store.query("SELECT count(*), count(DISTINCT value) FROM metrics", allocator)));
    }
  }

  /**
   * Rows out of time order and rows sharing a timestamp: entry ids stay increasing ({@code
   * <ms>-<seq>}) and a query bounded by time still finds every row of its span, as the oracle does.
   */
  @Test
  void lateAndDuplicateTimestamps_timeBoundedQueriesEqualTheOracle() throws Exception {
    long t0 = 1_700_000_000_000_000L; // micros
    try (BackendStore store = redis(Map.of());
        BackendStore oracle = oracle()) {
      int id = 0;
      // In order with duplicates, then a batch 10 min late, then in order again.
      long[][] batches = {
        {t0, t0, t0 + 1, t0 + 1_000, t0 + 1_000},
        {t0 - 600_000_000L, t0 - 600_000_000L + 7, t0 - 1},
        {t0 + 2_000_000, t0 + 2_000_000, t0 + 3_000_001}
      };
      for (long[] times : batches) {
        try (VectorSchemaRoot batch = timed(times, id)) {
          store.append("ev", "batch" + id, batch);
          oracle.append("ev", "batch" + id, batch);
        }
        id++;
      }
      List<String> queries =
          List.of(
              "SELECT count(*) FROM ev",
              "SELECT n, ts FROM ev WHERE ts >= '2023-11-14 22:13:20' ORDER BY n",
              "SELECT n FROM ev WHERE ts < '2023-11-14 22:13:20' ORDER BY n",
              "SELECT n FROM ev WHERE ts < '2023-11-14 22:13:20.001' AND ts >= '2023-11-14"
                  + " 22:03:20' ORDER BY n",
              "SELECT n FROM ev WHERE ts <= '2023-11-14 22:13:20.000001' ORDER BY n",
              "SELECT n FROM ev WHERE ts >= '2023-11-14 22:13:22' ORDER BY n");
      for (String q : queries) {
        List<List<Object>> expected = Batches.drain(oracle.query(q, allocator));
        assertFalse(expected.isEmpty(), q);
        assertEquals(expected, Batches.drain(store.query(q, allocator)), q);
      }
    }
  }

  private VectorSchemaRoot timed(long[] micros, int batch) {
    Schema schema =
        new Schema(
            List.of(
                Field.nullable("ts", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
                Field.nullable("n", new ArrowType.Int(64, true)),
                Field.nullable("tag", ArrowType.Utf8.INSTANCE),
                Field.nullable(
                    "v",
                    new ArrowType.FloatingPoint(
                        org.apache.arrow.vector.types.FloatingPointPrecision.DOUBLE))));
    VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
    root.allocateNew();
    for (int i = 0; i < micros.length; i++) {
      ((TimeStampVector) root.getVector("ts")).setSafe(i, micros[i]);
      ((BigIntVector) root.getVector("n")).setSafe(i, batch * 100L + i);
      if (i % 2 == 0) {
        ((VarCharVector) root.getVector("tag"))
            .setSafe(i, ("t" + i).getBytes(StandardCharsets.UTF_8));
      }
      ((Float8Vector) root.getVector("v")).setSafe(i, 0.1 * i + 1e-17);
    }
    root.setRowCount(micros.length);
    return root;
  }

  @Test
  void batchWithNewColumn_growsTheStoredSchema_oldRowsReadNull() throws Exception {
    try (BackendStore store = redis(Map.of())) {
      try (VectorSchemaRoot first = Batches.metrics(allocator, 3, 0)) {
        store.append("metrics", "a", first);
      }
      try (VectorSchemaRoot second = Batches.withHost(allocator, "h1")) {
        store.append("metrics", "b", second);
      }
      Schema s = store.tableSchema("metrics");
      assertNotNull(s);
      assertNotNull(s.findField("host"));
      assertEquals(
          List.of(List.of(4L, 1L)),
          Batches.drain(store.query("SELECT count(*), count(host) FROM metrics", allocator)));
    }
  }

  @Test
  void columnOfAnUnstoredType_isRefusedBeforeAcknowledgement() {
    try (BackendStore store = redis(Map.of());
        VectorSchemaRoot batch = Batches.everyType(allocator, 1, true)) {
      SchemaMismatchException e =
          assertThrows(
              SchemaMismatchException.class, () -> store.checkWritable("t", batch.getSchema()));
      assertTrue(e.getMessage().contains("'vec'"), e.getMessage());
    }
  }

  @Test
  void streamMaxlen_trimsOldEntries() throws Exception {
    try (BackendStore store = redis(Map.of("stream_maxlen", "1000"))) {
      for (int i = 0; i < 10; i++) {
        try (VectorSchemaRoot b = Batches.metrics(allocator, 1000, i * 1000)) {
          store.append("metrics", "b" + i, b);
        }
      }
      long kept =
          (Long)
              Batches.drain(store.query("SELECT count(*) FROM metrics", allocator)).get(0).get(0);
      // MAXLEN ~ trims whole stream nodes: at least 1000 kept, far fewer than 10 000.
      assertTrue(kept >= 1000 && kept < 5000, "kept " + kept);
    }
  }

  /** stream_retention trims by row time ({@code MINID ~}): rows two days old go, recent stay. */
  @Test
  void streamRetention_trimsRowsOlderThanIt_keepsRecentOnes() throws Exception {
    long nowMicros = System.currentTimeMillis() * 1000;
    long[] old = new long[2000];
    for (int i = 0; i < old.length; i++) {
      old[i] = nowMicros - 2 * 86_400_000_000L + i;
    }
    long[] recent = {nowMicros - 1000, nowMicros};
    try (BackendStore store = redis(Map.of("stream_retention", "3600"))) {
      try (VectorSchemaRoot a = timed(old, 0)) {
        store.append("ev", "old", a);
      }
      try (VectorSchemaRoot b = timed(recent, 1)) {
        store.append("ev", "recent", b);
      }
      List<List<Object>> n =
          Batches.drain(
              store.query("SELECT count(*), count(*) FILTER (n >= 100) FROM ev", allocator));
      // MINID ~ drops whole stream nodes (100 entries each by default): the old rows that share
      // a node with the recent ones may stay.
      assertTrue((Long) n.get(0).get(0) < 200, "old rows trimmed: " + n);
      assertEquals(2L, n.get(0).get(1), "recent rows kept: " + n);
    }
  }

  @Test
  void cutConnection_isUnavailable_thenTheRetryWritesOnce() throws Exception {
    try (TcpProxy proxy = new TcpProxy(6379);
        BackendStore store = redis("redis://127.0.0.1:" + proxy.port() + "/0", Map.of());
        VectorSchemaRoot a = Batches.metrics(allocator, 200, 0);
        VectorSchemaRoot b = Batches.metrics(allocator, 300, 200)) {
      store.append("metrics", "a", a);
      proxy.cut();
      assertThrows(BackendUnavailableException.class, () -> store.append("metrics", "b", b));
      assertThrows(BackendUnavailableException.class, () -> store.contains("b"));
      proxy.restore();
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (true) {
        try {
          store.appendAll("metrics", List.of("a", "b"), List.of(a, b));
          break;
        } catch (BackendUnavailableException e) {
          if (System.nanoTime() > deadline) {
            throw e;
          }
          Thread.sleep(100); // Lettuce reconnects in the background
        }
      }
      assertEquals(
          List.of(List.of(500L)),
          Batches.drain(store.query("SELECT count(*) FROM metrics", allocator)));
    }
  }

  @Test
  void stalledConnection_timesOutAsUnavailable() throws Exception {
    try (TcpProxy proxy = new TcpProxy(6379);
        BackendStore store = redis("redis://127.0.0.1:" + proxy.port() + "/0", Map.of());
        VectorSchemaRoot a = Batches.metrics(allocator, 10, 0)) {
      proxy.stall();
      long start = System.nanoTime();
      assertThrows(BackendUnavailableException.class, () -> store.append("m", "a", a));
      assertTrue(System.nanoTime() - start < Duration.ofSeconds(10).toNanos());
      proxy.resume();
    }
  }

  @Test
  void unreachable_namesTheServer_neverThePassword() {
    List<String> uris = new ArrayList<>();
    uris.add("redis://someone:s3cret-pw@127.0.0.1:1/0");
    uris.add("redis://:s3cret-pw@127.0.0.1:1/0");
    for (String uri : uris) {
      BackendUnavailableException e =
          assertThrows(BackendUnavailableException.class, () -> redis(uri, Map.of()).close());
      assertFalse(e.getMessage().contains("s3cret-pw"), e.getMessage());
      assertTrue(e.getMessage().contains("127.0.0.1:1/0"), e.getMessage());
    }
    assertThrows(
        IllegalArgumentException.class, () -> redis(Map.of("stream_maxlen", "-1")).close());
  }

  /**
   * A Redis ACL user of the test's own (removed afterwards): the explicit username and password
   * (what {@code HYPRSTREAM_ENGINE_USERNAME/PASSWORD} pass) and the URI's user info both log in; a
   * wrong password is refused as unavailable, naming the server and never the password.
   */
  @Test
  void aclUser_fromOptionsOrUri_logsIn_wrongPasswordIsRefusedWithoutShowingIt() throws Exception {
    String user = "hstest-" + UUID.randomUUID();
    String password = "pw-" + UUID.randomUUID();
    io.lettuce.core.RedisClient admin = io.lettuce.core.RedisClient.create(RedisAvailable.URI);
    try (var c = admin.connect()) {
      c.sync()
          .aclSetuser(
              user,
              io.lettuce.core.AclSetuserArgs.Builder.on()
                  .addPassword(password)
                  .keyPattern(prefix + "*")
                  .allCommands());
      try {
        try (BackendStore store =
                BackendStores.open(
                    "redis",
                    RedisAvailable.URI,
                    Map.of("key_prefix", prefix),
                    user,
                    password,
                    allocator);
            VectorSchemaRoot b = Batches.metrics(allocator, 10, 0)) {
          store.append("metrics", "a", b);
          assertTrue(store.contains("a"));
        }
        try (BackendStore store =
            BackendStores.open(
                "redis",
                "redis://" + user + ":" + password + "@127.0.0.1:6379/0",
                Map.of("key_prefix", prefix),
                null,
                null,
                allocator)) {
          assertTrue(store.contains("a"));
        }
        BackendUnavailableException e =
            assertThrows(
                BackendUnavailableException.class,
                () ->
                    BackendStores.open(
                            "redis",
                            RedisAvailable.URI,
                            Map.of("key_prefix", prefix),
                            user,
                            "wrong-" + password,
                            allocator)
                        .close());
        assertFalse(e.getMessage().contains(password), e.getMessage());
        assertTrue(e.getMessage().contains("127.0.0.1:6379"), e.getMessage());
      } finally {
        c.sync().aclDeluser(user);
      }
    } finally {
      admin.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  @Test
  void connectionString_isRedisUri() {
    BackendUnavailableException e =
        assertThrows(
            BackendUnavailableException.class,
            () -> redis("postgresql://127.0.0.1/x", Map.of()).close());
    assertTrue(e.getMessage().contains("redis://"), e.getMessage());
    assertEquals("redis://u:***@h:1/0", RedisConnection.masked("redis://u:pw@h:1/0"));
  }
}
