package io.hyprstream.flight.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.WindowSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The metrics windows setting, and the configuration forms of Hyprstream (Rust) read as aliases of
 * today's keys, each naming where it came from.
 */
final class CompatibilityConfigTest {
  @TempDir Path dir;

  private Config load(@Nullable String toml, Map<String, String> env, Map<String, Object> flags)
      throws IOException {
    Path file = null;
    if (toml != null) {
      file = dir.resolve("config.toml");
      Files.writeString(file, toml);
    }
    return Config.load(dir.resolve("absent.toml"), file, env, flags, new ArrayList<>());
  }

  private ConfigException refused(
      @Nullable String toml, Map<String, String> env, Map<String, Object> flags) {
    return assertThrows(ConfigException.class, () -> load(toml, env, flags));
  }

  private static Duration days(long n) {
    return Duration.ofDays(n);
  }

  @Test
  void metricsWindows_default_isTheDocumentedList() throws IOException {
    Config c = load(null, Map.of(), Map.of());
    assertEquals(
        List.of(
            WindowSpec.tumbling(Duration.ofMinutes(5)).withRetention(days(1)),
            WindowSpec.tumbling(Duration.ofMinutes(30)).withRetention(days(7)),
            WindowSpec.tumbling(Duration.ofHours(1)).withRetention(days(31)),
            WindowSpec.tumbling(days(1)).withRetention(days(400)),
            WindowSpec.tumbling(days(7)).withRetention(days(260 * 7))),
        c.metricsWindows());
    assertEquals("5m:1d,30m:7d,1h:31d,1d:400d,1w:260w", c.shown().get(Config.METRICS_WINDOWS));
  }

  @Test
  void metricsWindows_fromFileEnvAndFlag_laterWinsAndRetentionIsOptional() throws IOException {
    String toml = "[metrics]\nwindows = [\"1m:2h\", \"1h\"]\n";
    Config file = load(toml, Map.of(), Map.of());
    assertEquals(
        List.of(
            WindowSpec.tumbling(Duration.ofMinutes(1)).withRetention(Duration.ofHours(2)),
            WindowSpec.tumbling(Duration.ofHours(1))),
        file.metricsWindows());
    Config env = load(toml, Map.of("HYPRSTREAM_METRICS_WINDOWS", "5m:10d, 1h"), Map.of());
    assertEquals(days(10), env.metricsWindows().get(0).retention());
    assertEquals(
        "environment variable HYPRSTREAM_METRICS_WINDOWS", env.sourceOf(Config.METRICS_WINDOWS));
    Config flag =
        load(
            toml,
            Map.of("HYPRSTREAM_METRICS_WINDOWS", "5m:10d"),
            Map.of(Config.METRICS_WINDOWS, List.of("30s:1h")));
    assertEquals(
        List.of(WindowSpec.parse("30s").withRetention(Duration.ofHours(1))), flag.metricsWindows());
    assertEquals("flag --metrics-windows", flag.sourceOf(Config.METRICS_WINDOWS));
  }

  @Test
  void metricsWindows_badSpec_isRefusedNamingItAndTheForm() {
    for (String bad : List.of("5x", "5m:banana", "1h:5m", "0m", "5m:1d:2d")) {
      ConfigException e =
          refused(null, Map.of(), Map.of(Config.METRICS_WINDOWS, List.of("1h", bad)));
      assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
      assertTrue(e.getMessage().contains("metrics.windows"), e.getMessage());
      assertTrue(e.getMessage().contains("flag --metrics-windows"), e.getMessage());
      assertTrue(e.getMessage().contains("SIZE[:RETENTION]"), e.getMessage());
    }
    ConfigException twice =
        refused(null, Map.of("HYPRSTREAM_METRICS_WINDOWS", "5m:1d,5m:2d"), Map.of());
    assertTrue(twice.getMessage().contains("5m twice"), twice.getMessage());
    ConfigException toml = refused("[metrics]\nwindows = [5]\n", Map.of(), Map.of());
    assertTrue(toml.getMessage().contains("metrics.windows"), toml.getMessage());
    assertTrue(toml.getMessage().contains("line 2"), toml.getMessage());
  }

  @Test
  void aggregationWindows_takeARetentionToo() throws IOException {
    String toml =
        "[[aggregations]]\ntable = \"t\"\ntime_column = \"ts\"\nvalue_columns = [\"v\"]\n"
            + "windows = [\"1m:3d\", \"1h\"]\n";
    AggregationSpec spec = load(toml, Map.of(), Map.of()).aggregations().get(0);
    assertEquals(
        List.of(
            WindowSpec.tumbling(Duration.ofMinutes(1)).withRetention(days(3)),
            WindowSpec.tumbling(Duration.ofHours(1))),
        spec.windows());
    ConfigException bad = refused(toml.replace("1m:3d", "1m:3q"), Map.of(), Map.of());
    assertTrue(bad.getMessage().contains("aggregations[0].windows: '1m:3q'"), bad.getMessage());
  }

  @Test
  void storageSection_mapsToEngineKeys() throws IOException {
    String toml =
        "[storage]\nbackend = \"adbc\"\nconnection = \"postgresql://127.0.0.1/test\"\n"
            + "options = { pool_max = \"10\", sslmode = \"disable\" }\n";
    Config c = load(toml, Map.of(), Map.of());
    Path file = dir.resolve("config.toml");
    assertEquals("adbc", c.engine());
    assertEquals("postgresql://127.0.0.1/test", c.engineConnection());
    assertEquals(Map.of("pool_max", "10", "sslmode", "disable"), c.engineOptions());
    assertEquals(
        "alias [storage] backend in " + file + " line 2", c.sourceOf(Config.ENGINE_ENGINE));
    assertEquals(
        "alias [storage] connection in " + file + " line 3", c.sourceOf(Config.ENGINE_CONNECTION));
    assertEquals(
        "alias [storage] options in " + file + " line 4", c.sourceOf("engine.options.pool_max"));
  }

  @Test
  void adbcSections_mapToEngineKeysAndSelectAdbc() throws IOException {
    String toml =
        "[cache]\nduration_secs = 120\n"
            + "[adbc]\nurl = \"postgresql://127.0.0.1\"\nusername = \"postgres\"\n"
            + "password = \"secret\"\ndatabase = \"test\"\n"
            + "[adbc.options]\napplication_name = \"seed\"\n"
            + "[adbc.pool]\nmax_connections = 7\nmin_connections = 2\nconnect_timeout = 5\n";
    Config c = load(toml, Map.of(), Map.of());
    Path file = dir.resolve("config.toml");
    assertEquals(Duration.ofSeconds(120), c.cacheDuration());
    assertEquals(
        "alias [cache] duration_secs in " + file + " line 2", c.sourceOf(Config.CACHE_DURATION));
    assertEquals("adbc", c.engine());
    assertEquals(
        "implied by alias [adbc] url in " + file + " line 4", c.sourceOf(Config.ENGINE_ENGINE));
    assertEquals("postgresql://127.0.0.1/test", c.backendConnection());
    assertEquals("postgres", c.engineUsername());
    assertEquals("secret", c.enginePassword());
    assertEquals(
        Map.of(
            "application_name", "seed", "pool_max", "7", "pool_min", "2", "connect_timeout", "5"),
        c.engineOptions());
    assertEquals(
        "alias [adbc.pool] max_connections in " + file + " line 11",
        c.sourceOf("engine.options.pool_max"));
    String banner = String.join("\n", Main.banner(c));
    assertTrue(banner.contains("engine.password = (hidden)"), banner);
    assertTrue(!banner.contains("secret"), banner);
    assertTrue(
        banner.contains(
            "engine.options.pool_min = 2  (alias [adbc.pool] min_connections in "
                + file
                + " line 12)"),
        banner);
  }

  @Test
  void adbcPool_unknownKeyOrText_isRefusedNamingIt() {
    ConfigException unknown = refused("[adbc.pool]\nmax_size = 3\n", Map.of(), Map.of());
    assertTrue(unknown.getMessage().contains("adbc.pool.max_size"), unknown.getMessage());
    assertTrue(unknown.getMessage().contains("max_connections"), unknown.getMessage());
    ConfigException text = refused("[adbc.pool]\nmax_connections = \"x\"\n", Map.of(), Map.of());
    assertTrue(text.getMessage().contains("[adbc.pool] max_connections"), text.getMessage());
  }

  @Test
  void envAliases_plainBelowHyprstreamBelowCanonical() throws IOException {
    Map<String, String> env =
        Map.of(
            "ADBC_URL", "postgresql://127.0.0.1/plain",
            "ADBC_USERNAME", "plain-user",
            "ADBC_PASSWORD", "pw",
            "ADBC_DRIVER", "libadbc_driver_postgresql.so",
            "HYPRSTREAM_ADBC_URL", "postgresql://127.0.0.1/hs",
            "HYPRSTREAM_ADBC_DATABASE", "hs",
            "HYPRSTREAM_ENGINE_USERNAME", "canonical");
    Config c = load(null, env, Map.of());
    assertEquals("postgresql://127.0.0.1/hs", c.engineConnection());
    assertEquals(
        "alias environment variable HYPRSTREAM_ADBC_URL", c.sourceOf(Config.ENGINE_CONNECTION));
    assertEquals("canonical", c.engineUsername());
    assertEquals("pw", c.enginePassword());
    assertEquals("hs", c.engineDatabase());
    assertEquals("libadbc_driver_postgresql.so", c.engineOptions().get("driver_path"));
    assertEquals(
        "alias environment variable ADBC_DRIVER", c.sourceOf("engine.options.driver_path"));
    assertEquals("adbc", c.engine());
  }

  @Test
  void hyprstreamAdbcVariables_areNotWarnedAbout() throws IOException {
    List<String> warnings = new ArrayList<>();
    Config.load(
        dir.resolve("absent"),
        null,
        Map.of(
            "HYPRSTREAM_ADBC_URL", "postgresql://h/db",
            "HYPRSTREAM_ADBC_USERNAME", "u",
            "HYPRSTREAM_ADBC_PASSWORD", "p",
            "HYPRSTREAM_ADBC_DRIVER_PATH", "libadbc_driver_postgresql.dylib"),
        Map.of(),
        warnings);
    assertEquals(List.of(), warnings);
  }

  @Test
  void flagAliases_mapToEngineKeys() throws IOException {
    Config c =
        load(
            null,
            Map.of(),
            Map.of(
                "--db-url", "postgresql://127.0.0.1",
                "--db-user", "postgres",
                "--db-name", "test",
                "--driver-path", "/usr/local/lib/libadbc_driver_postgresql.so"));
    assertEquals("postgresql://127.0.0.1/test", c.backendConnection());
    assertEquals("postgres", c.engineUsername());
    assertEquals("alias flag --db-user", c.sourceOf(Config.ENGINE_USERNAME));
    assertEquals("alias flag --db-name", c.sourceOf(Config.ENGINE_DATABASE));
    assertEquals("alias flag --driver-path", c.sourceOf("engine.options.driver_path"));
    assertEquals("implied by alias flag --db-url", c.sourceOf(Config.ENGINE_ENGINE));
  }

  @Test
  void flagAndItsAlias_together_areRefusedNamingBoth() {
    ConfigException e =
        refused(
            null,
            Map.of(),
            Map.of(Config.ENGINE_CONNECTION, "postgresql://a/b", "--db-url", "postgresql://c/d"));
    assertTrue(e.getMessage().contains("--engine-connection"), e.getMessage());
    assertTrue(e.getMessage().contains("--db-url"), e.getMessage());
  }

  @Test
  void driverPath_knownDriverAccepted_unknownRefusedNamingTheUsableOnes() throws IOException {
    Config c =
        load(
            null,
            Map.of(),
            Map.of(
                Config.ENGINE_CONNECTION,
                "postgresql://127.0.0.1/test",
                Config.ENGINE_OPTIONS,
                Map.of("driver_path", "/usr/local/lib/libadbc_driver_postgresql.so")));
    assertEquals("adbc", c.engine());
    assertEquals("implied by flag --engine-options", c.sourceOf(Config.ENGINE_ENGINE));
    ConfigException e =
        refused(
            "[adbc]\nurl = \"postgresql://h/db\"\ndriver_path = \"/opt/libadbc_driver_snowflake.so\"\n",
            Map.of(),
            Map.of());
    assertTrue(e.getMessage().contains("libadbc_driver_snowflake.so"), e.getMessage());
    assertTrue(e.getMessage().contains("libadbc_driver_postgresql.so"), e.getMessage());
    assertTrue(e.getMessage().contains("alias [adbc] driver_path"), e.getMessage());
    assertTrue(e.getMessage().contains("line 3"), e.getMessage());
  }

  @Test
  void database_conflictingWithTheUrl_isRefusedNamingBoth() {
    ConfigException e =
        refused(null, Map.of("ADBC_URL", "postgresql://h/prod"), Map.of("--db-name", "test"));
    assertTrue(e.getMessage().contains("engine.database"), e.getMessage());
    assertTrue(e.getMessage().contains("alias flag --db-name"), e.getMessage());
    assertTrue(e.getMessage().contains("'prod'"), e.getMessage());
  }

  @Test
  void poolOptions_badValue_isRefusedNamingTheOptionAndItsSource() {
    ConfigException e =
        refused(
            "[storage]\nbackend = \"adbc\"\nconnection = \"postgresql://h/db\"\n"
                + "options = { pool_max = \"lots\" }\n",
            Map.of(),
            Map.of());
    assertTrue(e.getMessage().contains("engine.options.pool_max = 'lots'"), e.getMessage());
    assertTrue(e.getMessage().contains("alias [storage] options"), e.getMessage());
    ConfigException order =
        refused("[adbc.pool]\nmax_connections = 2\nmin_connections = 3\n", Map.of(), Map.of());
    assertTrue(order.getMessage().contains("engine.options.pool_min = '3'"), order.getMessage());
  }
}
