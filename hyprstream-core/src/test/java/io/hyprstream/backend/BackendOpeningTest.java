package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.BackendStore;
import io.hyprstream.testing.TestAllocator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** How a connection, a native driver path, a database name and pool options select a store. */
final class BackendOpeningTest {
  @TempDir Path dir;
  @RegisterExtension final TestAllocator allocator = new TestAllocator();

  @ParameterizedTest
  @CsvSource({
    "/usr/local/lib/libadbc_driver_postgresql.so, POSTGRESQL",
    "libadbc_driver_postgresql.so.107, POSTGRESQL",
    "/opt/adbc/libadbc_driver_postgresql.dylib, POSTGRESQL",
    "C:\\adbc\\adbc_driver_postgresql.dll, POSTGRESQL",
    "libadbc_driver_sqlite.so, SQLITE",
    "libadbc_driver_duckdb.so, DUCKDB",
    "/usr/lib/libduckdb.so, DUCKDB",
    "libduckdb.dylib, DUCKDB",
    "libadbc_driver_flightsql.so, FLIGHT_SQL",
    "postgresql, POSTGRESQL",
    "flightsql, FLIGHT_SQL"
  })
  void nativeDriver_knownLibraryNames_mapToTheJavaPath(String path, String expected) {
    assertEquals(BackendStores.NativeDriver.valueOf(expected), BackendStores.NativeDriver.of(path));
  }

  @Test
  void nativeDriver_unknownLibrary_isRefusedNamingTheUsableDrivers() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> BackendStores.NativeDriver.of("/usr/lib/libadbc_driver_bigquery.so"));
    assertTrue(e.getMessage().contains("libadbc_driver_bigquery.so"), e.getMessage());
    for (String usable :
        List.of(
            "libadbc_driver_postgresql.so",
            "libadbc_driver_sqlite.so",
            "libduckdb.so",
            "libadbc_driver_flightsql.so")) {
      assertTrue(e.getMessage().contains(usable), e.getMessage());
    }
  }

  @ParameterizedTest
  @CsvSource({
    "libadbc_driver_sqlite.so, a.sqlite, adbc-jdbc",
    "libduckdb.so, a.duckdb, duckdb",
    "libadbc_driver_duckdb.dylib, b.duckdb, duckdb"
  })
  void open_nativeDriverWithAFile_opensTheJavaPathAndStoresRows(
      String driverPath, String file, String storeName) throws Exception {
    String connection = dir.resolve(file).toString();
    try (BackendStore store =
            BackendStores.open(
                "adbc", connection, Map.of("driver_path", driverPath), null, null, allocator);
        VectorSchemaRoot batch = Batches.metrics(allocator, 10, 0)) {
      assertEquals(storeName, store.name());
      store.append("metrics", "b1", batch);
      assertEquals(
          10L, Batches.drain(store.query("SELECT count(*) FROM metrics", allocator)).get(0).get(0));
    }
  }

  @ParameterizedTest
  @CsvSource({
    "postgresql://h/, test, postgresql://h/test",
    "postgresql://h, test, postgresql://h/test",
    "postgresql://u@h:5433?sslmode=disable, test, postgresql://u@h:5433/test?sslmode=disable",
    "jdbc:postgresql://h:5432/, test, jdbc:postgresql://h:5432/test",
    "postgresql://h/test, test, postgresql://h/test",
    "postgresql://h/test, '', postgresql://h/test"
  })
  void withDatabase_urlWithoutOne_getsIt(String url, String db, String expected) {
    assertEquals(expected, BackendStores.withDatabase(url, db));
  }

  @Test
  void withDatabase_conflictOrNotAUrl_isRefusedNamingBoth() {
    IllegalArgumentException other =
        assertThrows(
            IllegalArgumentException.class,
            () -> BackendStores.withDatabase("postgresql://u:pw@h/prod", "test"));
    assertTrue(other.getMessage().contains("'prod'"), other.getMessage());
    assertTrue(other.getMessage().contains("'test'"), other.getMessage());
    assertTrue(!other.getMessage().contains("pw"), other.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> BackendStores.withDatabase("jdbc:sqlite:/tmp/x", "test"));
  }

  @Test
  void poolSettings_fromOptions_readsEachAndChecksBounds() {
    assertEquals(PoolSettings.DEFAULTS, PoolSettings.fromOptions(Map.of()));
    assertEquals(
        new PoolSettings(3, 2, Duration.ofSeconds(4), Duration.ofSeconds(7)),
        PoolSettings.fromOptions(
            Map.of(
                "pool_max", "3", "pool_min", "2", "connect_timeout", "4", "socket_timeout", "7")));
    assertEquals(20, PoolSettings.fromOptions(Map.of("pool_min", "20")).maxSize());
    for (Map<String, String> bad :
        List.of(
            Map.of("pool_max", "0"),
            Map.of("pool_max", "ten"),
            Map.of("pool_max", "2", "pool_min", "3"),
            Map.of("connect_timeout", "0"),
            Map.of("socket_timeout", "0"))) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> PoolSettings.fromOptions(bad));
      String key =
          bad.containsKey("connect_timeout")
              ? "connect_timeout"
              : bad.containsKey("socket_timeout") ? "socket_timeout" : "pool_m";
      assertTrue(e.getMessage().contains(key), e.getMessage());
    }
  }
}
