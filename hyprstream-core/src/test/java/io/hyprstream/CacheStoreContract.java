package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.CacheStore;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.SqlIdentifier;
import io.hyprstream.api.TableNotFoundException;
import io.hyprstream.internal.arrow.BatchListReader;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link CacheStore} the engine can run on must do, as the interface's javadoc states
 * it. A subclass says which store; each test opens a fresh one. The allocator is checked for leaks
 * after each test, so a store that does not close what it takes fails here.
 */
abstract class CacheStoreContract {
  private static final Field ID = Field.notNullable("id", new ArrowType.Int(64, true));
  private static final Field NAME = Field.nullable("name", new ArrowType.Utf8());
  private static final Field NOTE = Field.nullable("note", new ArrowType.Utf8());

  BufferAllocator allocator;
  CacheStore store;

  /** The store under test, with buffers from {@code allocator}. */
  abstract CacheStore open(BufferAllocator allocator);

  @BeforeEach
  void setUp() {
    allocator = new RootAllocator();
    store = open(allocator);
  }

  @AfterEach
  void tearDown() {
    store.close();
    store.close(); // safe twice
    allocator.close(); // fails the test if the store leaked a buffer
  }

  private VectorSchemaRoot batch(Schema schema, long[] ids, String[] names) {
    VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
    root.allocateNew();
    for (int i = 0; i < ids.length; i++) {
      ((BigIntVector) root.getVector("id")).setSafe(i, ids[i]);
      VarCharVector v = (VarCharVector) root.getVector(schema.getFields().get(1).getName());
      if (names[i] == null) {
        v.setNull(i);
      } else {
        v.setSafe(i, names[i].getBytes(StandardCharsets.UTF_8));
      }
    }
    root.setRowCount(ids.length);
    return root;
  }

  private List<List<@Nullable Object>> rows(String sql, @Nullable Object... parameters)
      throws Exception {
    List<@Nullable Object> params = new ArrayList<>(List.of());
    for (Object p : parameters) {
      params.add(p);
    }
    return TestData.rows(store.query(sql, params, allocator));
  }

  /**
   * The same text asked again answers for the catalog as it is now, whatever the store keeps
   * between executions (the default store keeps prepared statements): after its table gained a
   * column, was dropped, and was created again with other types; and with parameters of another
   * type.
   */
  @Test
  void sameText_answersForTheCatalogAsItIsNow() throws Exception {
    String sql = "SELECT * FROM kept WHERE a >= ?";
    store.execute("CREATE TABLE kept (a BIGINT)", List.of());
    store.execute("INSERT INTO kept VALUES (1), (5)", List.of());
    assertEquals(List.of(List.of(5L)), rows(sql, 2L));
    assertEquals(List.of(List.of(1L), List.of(5L)), rows(sql, 0L));
    store.execute("ALTER TABLE kept ADD COLUMN b VARCHAR DEFAULT 'x'", List.of());
    assertEquals(List.of(List.of(5L, "x")), rows(sql, 2L));
    store.execute("DROP TABLE kept", List.of());
    assertThrows(TableNotFoundException.class, () -> rows(sql, 2L));
    store.execute("CREATE TABLE kept (a VARCHAR, c DOUBLE)", List.of());
    store.execute("INSERT INTO kept VALUES ('m', 1.5), ('z', 2.5)", List.of());
    assertEquals(List.of(List.of("z", 2.5)), rows(sql, "p"));
    assertEquals(List.of(List.of("m", 1.5), List.of("z", 2.5)), rows(sql, "a"));
  }

  @Test
  void ensureTable_createsThenAddsMissingColumnsAsNullable() {
    assertNull(store.tableSchema("t"), "no such table yet");
    store.ensureTable("t", new Schema(List.of(ID, NAME)));
    assertTrue(store.tables().contains("t"));
    store.ensureTable("t", new Schema(List.of(ID, NOTE)));
    Schema schema = store.tableSchema("T"); // names are matched ignoring case
    assertNotNull(schema);
    assertEquals(
        List.of("id", "name", "note"), schema.getFields().stream().map(Field::getName).toList());
    assertThrows(
        QueryRejectedException.class,
        () -> store.execute("INSERT INTO t (id) VALUES (NULL)", List.of()),
        "a non-nullable field is a NOT NULL column");
    assertEquals(
        1,
        store.execute("INSERT INTO t (id) VALUES (1)", List.of()),
        "an added column is nullable");
  }

  @Test
  void append_matchesColumnsByNameAndTakesTheBatches() throws Exception {
    store.ensureTable("t", new Schema(List.of(ID, NAME, NOTE)));
    List<VectorSchemaRoot> batches = new ArrayList<>();
    batches.add(batch(new Schema(List.of(ID, NAME)), new long[] {1, 2}, new String[] {"a", null}));
    batches.add(batch(new Schema(List.of(ID, NOTE)), new long[] {3}, new String[] {"n"}));
    store.append("t", batches); // the store closes them: the allocator check proves it
    assertEquals(
        List.of(
            java.util.Arrays.asList(1L, "a", null),
            java.util.Arrays.asList(2L, null, null),
            java.util.Arrays.asList(3L, null, "n")),
        rows("SELECT id, name, note FROM t ORDER BY id"));
  }

  /** What the flusher hands over after many tiny ingests: hundreds of few-row batches at once. */
  @Test
  void append_manySmallBatches_storesEveryRowOnce() throws Exception {
    store.ensureTable("t", new Schema(List.of(ID, NAME)));
    Schema schema = new Schema(List.of(ID, NAME));
    List<VectorSchemaRoot> batches = new ArrayList<>();
    List<List<@Nullable Object>> expected = new ArrayList<>();
    long id = 0;
    for (int b = 0; b < 700; b++) {
      long[] ids = new long[100];
      String[] names = new String[100];
      for (int r = 0; r < 100; r++, id++) {
        ids[r] = id;
        names[r] = id % 7 == 0 ? null : "n" + id;
        expected.add(java.util.Arrays.asList(id, names[r]));
      }
      batches.add(batch(schema, ids, names));
    }
    store.append("t", batches);
    assertEquals(expected, rows("SELECT id, name FROM t ORDER BY id"));
  }

  @Test
  void query_bindsParametersInOrder_instantsAsUtcTimestamps() throws Exception {
    Instant at = Instant.parse("2026-03-11T08:00:00.123456Z");
    List<List<@Nullable Object>> out =
        rows("SELECT ?::BIGINT + 1 AS n, ?::TIMESTAMP AS ts", 41L, at);
    assertEquals(42L, out.get(0).get(0));
    assertEquals(LocalDateTime.parse("2026-03-11T08:00:00.123456"), out.get(0).get(1));
  }

  @Test
  void execute_returnsRowsChanged_andQuerySchemaReadsNoRows() throws Exception {
    assertEquals(0, store.execute("CREATE TABLE u (id BIGINT, name VARCHAR)", List.of()));
    assertEquals(
        2,
        store.execute("INSERT INTO u VALUES (?, 'x'), (?, 'y')", new ArrayList<>(List.of(1L, 2L))));
    Schema schema = store.querySchema("SELECT name, id * 2 AS twice FROM u WHERE id = ?");
    assertEquals(
        List.of("name", "twice"), schema.getFields().stream().map(Field::getName).toList());
    assertEquals(1, store.execute("DELETE FROM u WHERE id = ?", new ArrayList<>(List.of(1L))));
  }

  @Test
  void upsert_replacesRowsMatchingOnKeysAndInsertsTheRest() throws Exception {
    store.ensureTable("v", new Schema(List.of(ID, NAME)));
    store.append(
        "v",
        new ArrayList<>(
            List.of(
                batch(new Schema(List.of(ID, NAME)), new long[] {1, 2}, new String[] {"a", "b"}))));
    try (VectorSchemaRoot delta =
        batch(new Schema(List.of(ID, NAME)), new long[] {2, 3}, new String[] {"B", "c"})) {
      store.upsert("v", List.of("id"), delta); // the caller keeps it
    }
    assertEquals(
        List.of(List.of(1L, "a"), List.of(2L, "B"), List.of(3L, "c")),
        rows("SELECT id, name FROM v ORDER BY id"));
    assertEquals(2, store.delete("v", SqlIdentifier.quote("id") + " >= 2"));
    assertEquals(List.of(List.of(1L, "a")), rows("SELECT id, name FROM v"));
  }

  /**
   * NULL keys match each other, and a key column without NULLs in the delta leaves the table's NULL
   * keys alone: DuckDB's store writes {@code =} instead of {@code IS NOT DISTINCT FROM} for the
   * latter, which must match the same rows.
   */
  @Test
  void upsert_matchesNullKeysToEachOther_andOnlyThem() throws Exception {
    Schema schema = new Schema(List.of(ID, NAME));
    store.ensureTable("n", schema);
    store.append(
        "n", new ArrayList<>(List.of(batch(schema, new long[] {1, 2}, new String[] {"a", null}))));
    try (VectorSchemaRoot delta = batch(schema, new long[] {10}, new String[] {"a"})) {
      store.upsert("n", List.of("name"), delta); // no NULL in the delta's key
    }
    assertEquals(
        List.of(Arrays.asList(2L, null), List.of(10L, "a")),
        rows("SELECT id, name FROM n ORDER BY id"));
    try (VectorSchemaRoot delta = batch(schema, new long[] {20, 30}, new String[] {null, "b"})) {
      store.upsert("n", List.of("name"), delta); // a NULL key replaces the NULL row
    }
    assertEquals(
        List.of(List.of(10L, "a"), Arrays.asList(20L, null), List.of(30L, "b")),
        rows("SELECT id, name FROM n ORDER BY id"));
  }

  /**
   * A delta whose keys span a table of several DuckDB row groups (about 123 k rows each), the
   * oldest key in the first one: every matching row is replaced, wherever it lies, and none twice.
   */
  @Test
  void upsert_replacesMatchesInEveryPartOfALargeTable() throws Exception {
    Schema schema = new Schema(List.of(ID, NAME));
    store.ensureTable("big", schema);
    int n = 300_000;
    long[] ids = new long[n];
    String[] names = new String[n];
    for (int i = 0; i < n; i++) {
      ids[i] = i;
      names[i] = "old";
    }
    store.append("big", new ArrayList<>(List.of(batch(schema, ids, names))));
    try (VectorSchemaRoot delta =
        batch(
            schema, new long[] {5, 150_000, n - 1, n}, new String[] {"new", "new", "new", "new"})) {
      store.upsert("big", List.of("id"), delta);
    }
    assertEquals(
        List.of(List.of((long) n + 1, (long) n + 1, 4L)),
        rows("SELECT count(*), count(DISTINCT id), count(*) FILTER (name = 'new') FROM big"));
  }

  /**
   * An upsert DuckDB refuses (the delta has a column the table lacks, so the INSERT fails after the
   * DELETE ran) changes nothing, keeps no buffer of the delta, and the next upsert works.
   */
  @Test
  void upsert_thatFails_changesNothingAndKeepsNoBuffer() throws Exception {
    Schema schema = new Schema(List.of(ID, NAME));
    store.ensureTable("f", schema);
    store.append(
        "f", new ArrayList<>(List.of(batch(schema, new long[] {1, 2}, new String[] {"a", "b"}))));
    for (int attempt = 0; attempt < 3; attempt++) {
      try (VectorSchemaRoot bad =
          batch(new Schema(List.of(ID, NOTE)), new long[] {2}, new String[] {"x"})) {
        RuntimeException e =
            assertThrows(RuntimeException.class, () -> store.upsert("f", List.of("id"), bad));
        assertTrue(String.valueOf(e.getMessage()).contains("note"), e.getMessage());
      }
    }
    assertEquals(
        List.of(List.of(1L, "a"), List.of(2L, "b")), rows("SELECT id, name FROM f ORDER BY id"));
    try (VectorSchemaRoot delta = batch(schema, new long[] {2}, new String[] {"B"})) {
      store.upsert("f", List.of("id"), delta);
    }
    assertEquals(
        List.of(List.of(1L, "a"), List.of(2L, "B")), rows("SELECT id, name FROM f ORDER BY id"));
    // the allocator check in tearDown proves the failed deltas' shared buffers were released
  }

  @Test
  void queryInSession_readsInputsInATemporaryTableNoOtherSessionSees() throws Exception {
    store.ensureTable("w", new Schema(List.of(ID, NAME)));
    store.append(
        "w",
        new ArrayList<>(
            List.of(
                batch(new Schema(List.of(ID, NAME)), new long[] {1}, new String[] {"cached"}))));
    VectorSchemaRoot extra =
        batch(new Schema(List.of(ID, NAME)), new long[] {7, 8}, new String[] {"x", "y"});
    BatchListReader input = new BatchListReader(allocator, extra.getSchema(), List.of(extra));
    List<List<@Nullable Object>> out =
        TestData.rows(
            store.queryInSession(
                Map.of("_in", input),
                List.of(
                    "CREATE TEMPORARY TABLE tmp AS SELECT * FROM _in WHERE id > ?"
                        .replace("?", "7")),
                "SELECT t.id, t.name FROM tmp t UNION ALL SELECT id, name FROM w WHERE id = ? ORDER BY 1",
                new ArrayList<>(List.of(1L)),
                allocator));
    assertEquals(List.of(List.of(1L, "cached"), List.of(8L, "y")), out);
    assertThrows(TableNotFoundException.class, () -> rows("SELECT * FROM tmp"));
  }

  @Test
  void queryInSession_closesItsInputsWhenSetupFails() {
    VectorSchemaRoot extra =
        batch(new Schema(List.of(ID, NAME)), new long[] {1}, new String[] {"x"});
    BatchListReader input = new BatchListReader(allocator, extra.getSchema(), List.of(extra));
    assertThrows(
        QueryRejectedException.class,
        () ->
            store.queryInSession(
                Map.of("_in", input),
                List.of("CREATE TEMPORARY TABLE broken AS SELEC 1"),
                "SELECT 1",
                List.of(),
                allocator));
    // the allocator check in tearDown proves the input was closed
  }

  @Test
  void errors_nameTheMissingTableOrTheStatement() {
    TableNotFoundException missing =
        assertThrows(TableNotFoundException.class, () -> rows("SELECT * FROM nowhere"));
    assertTrue(missing.getMessage().contains("nowhere"), missing.getMessage());
    assertThrows(QueryRejectedException.class, () -> rows("SELEC 1"));
    assertThrows(
        QueryRejectedException.class, () -> store.execute("CREATE TABEL x (a INT)", List.of()));
  }

  @Test
  void quote_makesAnyNameReadAsThatName_andCancelWithoutAQueryIsFalse() throws Exception {
    String odd = "we\"ird name";
    store.execute(
        "CREATE TABLE " + SqlIdentifier.quote(odd) + " (" + SqlIdentifier.quote("select") + " INT)",
        List.of());
    assertNotNull(store.tableSchema(odd));
    assertFalse(store.cancelQueryOf(Thread.currentThread()), "nothing runs on this thread");
    assertTrue(store.sizeBytes() >= 0);
  }
}
