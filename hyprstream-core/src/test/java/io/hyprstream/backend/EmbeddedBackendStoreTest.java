package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.BackendStore;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.TimeSlice;
import io.hyprstream.testing.TestAllocator;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.TimeStampNanoTZVector;
import org.apache.arrow.vector.UInt1Vector;
import org.apache.arrow.vector.UInt2Vector;
import org.apache.arrow.vector.UInt4Vector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The DuckDB-file store and the ADBC JDBC store over DuckDB and SQLite files. */
final class EmbeddedBackendStoreTest {
  @TempDir Path dir;
  @RegisterExtension final TestAllocator allocator = new TestAllocator();

  private BackendStore open(String kind) {
    switch (kind) {
      case "duckdb":
        return BackendStores.open(
            "duckdb",
            dir.resolve("sub/backend.duckdb").toString(),
            Map.of(),
            null,
            null,
            allocator);
      case "adbc-duckdb":
        return BackendStores.open(
            "adbc", "jdbc:duckdb:" + dir.resolve("a.duckdb"), Map.of(), null, null, allocator);
      case "adbc-sqlite":
        return BackendStores.open(
            "adbc", "jdbc:sqlite:" + dir.resolve("a.sqlite"), Map.of(), null, null, allocator);
      default:
        throw new IllegalArgumentException(kind);
    }
  }

  private static void hook(BackendStore s, Runnable r) {
    if (s instanceof DuckDbBackendStore) {
      ((DuckDbBackendStore) s).beforeCommit(r);
    } else {
      ((AdbcBackendStore) s).beforeCommit(r);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"duckdb", "adbc-duckdb", "adbc-sqlite"})
  void append_metrics_queryReadsThemBackOnce(String kind) throws Exception {
    try (BackendStore store = open(kind);
        VectorSchemaRoot batch = Batches.metrics(allocator, 2000, 0)) {
      store.append("metrics", "b1", batch);
      store.append("metrics", "b1", batch);
      List<List<Object>> actual =
          Batches.drain(
              store.query("SELECT metric_id, value FROM metrics ORDER BY value", allocator));
      assertEquals(2000, actual.size());
      for (int i = 0; i < actual.size(); i++) {
        assertEquals(List.of("cpu.host" + (i % 1000), i * 0.25), actual.get(i));
      }
      assertEquals(List.of("metrics"), store.tables());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"duckdb", "adbc-duckdb", "adbc-sqlite"})
  void append_failureBeforeCommit_retryWritesRowsOnce(String kind) throws Exception {
    try (BackendStore store = open(kind);
        VectorSchemaRoot batch = Batches.metrics(allocator, 500, 0)) {
      hook(
          store,
          () -> {
            throw new IllegalStateException("injected crash before commit");
          });
      assertThrows(RuntimeException.class, () -> store.append("m", "k", batch));
      hook(store, null);
      store.append("m", "k", batch);
      store.append("m", "k", batch);
      List<List<Object>> n = Batches.drain(store.query("SELECT count(*) FROM m", allocator));
      assertEquals(500L, n.get(0).get(0));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"duckdb", "adbc-duckdb", "adbc-sqlite"})
  void append_batchWithNewColumn_growsTable(String kind) throws Exception {
    try (BackendStore store = open(kind)) {
      try (VectorSchemaRoot first = Batches.metrics(allocator, 3, 0)) {
        store.append("metrics", "a", first);
      }
      try (VectorSchemaRoot second = Batches.withHost(allocator, "h1")) {
        store.append("metrics", "b", second);
      }
      Schema s = store.tableSchema("metrics");
      assertNotNull(s);
      assertNotNull(s.findField("host"));
      assertNull(store.tableSchema("missing"));
      List<List<Object>> rows =
          Batches.drain(store.query("SELECT count(*), count(host) FROM metrics", allocator));
      assertEquals(List.of(4L, 1L), rows.get(0));
    }
  }

  @Test
  void duckdb_everyType_readsBackEqual() throws Exception {
    try (BackendStore store = open("duckdb");
        VectorSchemaRoot batch = Batches.everyType(allocator, 40, true)) {
      store.append("all_types", "x", batch);
      Batches.assertSameRows(
          Batches.rows(batch),
          Batches.drain(store.query("SELECT * FROM all_types ORDER BY i64", allocator)));
    }
  }

  /**
   * SQLite has no time types and one 8-byte REAL: every type it stores still reads back equal, and
   * a time slice (how the cache reads the rows it no longer holds) bounds the microsecond
   * timestamps exactly.
   */
  @Test
  void sqlite_everyType_readsBackEqual_andTimeSlicesBoundExactly() throws Exception {
    try (BackendStore store = open("adbc-sqlite");
        VectorSchemaRoot batch = Batches.everyType(allocator, 40, false)) {
      store.append("all_types", "x", batch);
      List<List<Object>> all = Batches.rows(batch);
      Batches.assertSameRows(
          all, Batches.drain(store.query("SELECT * FROM all_types ORDER BY i64", allocator)));
      Field ts = batch.getSchema().findField("ts");
      TimeStampMicroVector times = (TimeStampMicroVector) batch.getVector("ts");
      long from = times.get(7);
      long to = times.get(23);
      List<List<Object>> expected = new ArrayList<>();
      for (int r = 0; r < batch.getRowCount(); r++) {
        if (!times.isNull(r) && times.get(r) >= from && times.get(r) < to) {
          expected.add(all.get(r));
        }
      }
      assertTrue(expected.size() > 5, "the slice holds rows: " + expected.size());
      Batches.assertSameRows(
          expected, Batches.drain(store.read(new TimeSlice("all_types", ts, from, to), allocator)));
    }
  }

  /**
   * ADBC's JDBC adapter has no binder for unsigned integers: they are widened before binding, so
   * their largest values arrive whole instead of blocking write-through (found by IngestFuzzIT).
   */
  @ParameterizedTest
  @ValueSource(strings = {"adbc-duckdb", "adbc-sqlite"})
  void adbc_unsignedIntegers_readBackWhole(String kind) throws Exception {
    Schema schema =
        new Schema(
            List.of(
                Field.nullable("u8", new ArrowType.Int(8, false)),
                Field.nullable("u16", new ArrowType.Int(16, false)),
                Field.nullable("u32", new ArrowType.Int(32, false))));
    try (BackendStore store = open(kind);
        VectorSchemaRoot batch = VectorSchemaRoot.create(schema, allocator)) {
      batch.allocateNew();
      ((UInt1Vector) batch.getVector("u8")).setSafe(0, 0xff);
      ((UInt2Vector) batch.getVector("u16")).setSafe(0, 0xffff);
      ((UInt4Vector) batch.getVector("u32")).setSafe(0, 0xffffffff);
      ((UInt1Vector) batch.getVector("u8")).setSafe(1, 7);
      ((UInt2Vector) batch.getVector("u16")).setNull(1);
      ((UInt4Vector) batch.getVector("u32")).setSafe(1, 0x80000000);
      batch.setRowCount(2);
      store.append("unsigned", "u", batch);
      List<List<Object>> rows =
          Batches.drain(
              store.query(
                  "SELECT CAST(u8 AS BIGINT), CAST(u16 AS BIGINT), CAST(u32 AS BIGINT)"
                      + " FROM unsigned ORDER BY u8 DESC",
                  allocator));
      assertEquals(List.of(255L, 65535L, 4294967295L), rows.get(0));
      assertEquals(Arrays.asList(7L, "NULL", 2147483648L), rows.get(1));
    }
  }

  /**
   * Timestamps before 1970 reach ADBC-JDBC backends whole: the adapter's own binder refuses them (a
   * negative nanosecond part), so they are bound as text (found by IngestFuzzIT seed 4).
   */
  @ParameterizedTest
  @ValueSource(strings = {"adbc-sqlite"}) // PostgreSQL: PostgresBackendStoreTest
  void adbc_timestampsBefore1970_readBackWhole(String kind) throws Exception {
    Schema schema =
        new Schema(
            List.of(
                Field.nullable("ts", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
                Field.nullable("ns", new ArrowType.Timestamp(TimeUnit.NANOSECOND, "UTC"))));
    long[] micros = {-9_000_000_000_000L, -86_400_000_001L, -1L, 1_700_000_000_123_456L};
    try (BackendStore store = open(kind);
        VectorSchemaRoot batch = VectorSchemaRoot.create(schema, allocator)) {
      batch.allocateNew();
      for (int r = 0; r < micros.length; r++) {
        ((TimeStampMicroVector) batch.getVector("ts")).setSafe(r, micros[r]);
        ((TimeStampNanoTZVector) batch.getVector("ns")).setSafe(r, micros[r] * 1000);
      }
      batch.setRowCount(micros.length);
      store.append("old_times", "t", batch);
      Batches.assertSameRows(
          Batches.rows(batch),
          Batches.drain(store.query("SELECT ts, ns FROM old_times ORDER BY ts", allocator)));
    }
  }

  @Test
  void duckdb_reopened_keepsRowsAndLedger() throws Exception {
    try (BackendStore store = open("duckdb");
        VectorSchemaRoot batch = Batches.metrics(allocator, 10, 0)) {
      store.append("metrics", "b1", batch);
    }
    try (BackendStore store = open("duckdb");
        VectorSchemaRoot batch = Batches.metrics(allocator, 10, 0)) {
      store.append("metrics", "b1", batch);
      assertTrue(((DuckDbBackendStore) store).contains("b1"));
      assertEquals(
          10L, Batches.drain(store.query("SELECT count(*) FROM metrics", allocator)).get(0).get(0));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"duckdb", "adbc-duckdb", "adbc-sqlite"})
  void query_badSql_isRejected(String kind) {
    try (BackendStore store = open(kind)) {
      assertThrows(QueryRejectedException.class, () -> store.query("SELEC 1", allocator));
    }
  }

  @Test
  void open_badConnection_failsClearly() {
    BackendUnavailableException scheme =
        assertThrows(
            BackendUnavailableException.class,
            () -> BackendStores.open("adbc", "ftp://u:pw@x/y", Map.of(), null, null, allocator));
    assertFalse(scheme.getMessage().contains("pw@"), scheme.getMessage());
    IllegalArgumentException native_ =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                BackendStores.open(
                    "adbc",
                    "jdbc:sqlite::memory:",
                    Map.of("driver_path", "/usr/lib/libadbc_driver_snowflake.so"),
                    null,
                    null,
                    allocator));
    assertTrue(native_.getMessage().contains("libadbc_driver_snowflake.so"), native_.getMessage());
    assertTrue(native_.getMessage().contains("libadbc_driver_postgresql.so"), native_.getMessage());
    BackendUnavailableException grpc =
        assertThrows(
            BackendUnavailableException.class,
            () ->
                BackendStores.open("adbc", "grpc://127.0.0.1:1", Map.of(), null, null, allocator));
    assertTrue(grpc.getMessage().contains("127.0.0.1:1"), grpc.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> BackendStores.open("mysql", "x", Map.of(), null, null, allocator));
  }
}
