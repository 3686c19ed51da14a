package io.hyprstream.flight.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

/** Configuration precedence and validation, with the environment injected. */
final class ConfigTest {

  private static Config load(
      Path systemFile,
      @Nullable Path configFile,
      Map<String, String> env,
      Map<String, Object> flags) {
    return Config.load(systemFile, configFile, env, flags, new ArrayList<>());
  }

  private static Path write(Path dir, String name, String text) throws IOException {
    Path file = dir.resolve(name);
    Files.writeString(file, text);
    return file;
  }

  @Test
  void load_nothingGiven_usesBuiltInDefaults(@TempDir Path dir) {
    Config c = load(dir.resolve("absent.toml"), null, Map.of(), Map.of());
    assertEquals("127.0.0.1", c.host());
    assertEquals(50051, c.port());
    assertEquals(Duration.ofSeconds(3600), c.cacheDuration());
    assertEquals(":memory:", c.cacheConnection());
    assertEquals("none", c.engine());
    assertTrue(c.cacheEnabled());
    assertEquals("info", c.logLevel());
  }

  @Test
  void load_everySource_laterWins(@TempDir Path dir) throws IOException {
    Path system =
        write(
            dir,
            "system.toml",
            "[server]\nhost = \"0.0.0.0\"\nport = 1000\n[cache]\nduration = 10\n"
                + "[engine]\nusername = \"sys\"\n");
    Path file = write(dir, "file.toml", "[server]\nport = 2000\n[cache]\nduration = 20\n");
    Map<String, String> env =
        Map.of("HYPRSTREAM_SERVER_PORT", "3000", "HYPRSTREAM_ENGINE_USERNAME", "env-user");
    Config c = load(system, file, env, Map.of(Config.SERVER_PORT, 4000));

    assertEquals("0.0.0.0", c.host()); // only the system file sets it
    assertEquals(Duration.ofSeconds(20), c.cacheDuration()); // file over system file
    assertEquals("env-user", c.engineUsername()); // environment over files
    assertEquals(4000, c.port()); // flag over everything
    assertEquals("flag --port", c.sourceOf(Config.SERVER_PORT));
  }

  @Test
  void load_fileThenEnvThenFlag_eachOverridesThePrevious(@TempDir Path dir) throws IOException {
    Path file = write(dir, "file.toml", "[cache]\nduration = 20\n");
    Path none = dir.resolve("absent.toml");
    assertEquals(Duration.ofSeconds(20), load(none, file, Map.of(), Map.of()).cacheDuration());
    Map<String, String> env = Map.of("HYPRSTREAM_CACHE_DURATION", "30");
    assertEquals(Duration.ofSeconds(30), load(none, file, env, Map.of()).cacheDuration());
    assertEquals(
        Duration.ofSeconds(40),
        load(none, file, env, Map.of(Config.CACHE_DURATION, 40)).cacheDuration());
  }

  @Test
  void load_unknownKeyInFile_namesKeyAndFile(@TempDir Path dir) throws IOException {
    Path file = write(dir, "file.toml", "[server]\nhots = \"x\"\n");
    ConfigException e =
        assertThrows(
            ConfigException.class, () -> load(dir.resolve("absent"), file, Map.of(), Map.of()));
    assertTrue(e.getMessage().contains("server.hots"), e.getMessage());
    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
  }

  @Test
  void load_unknownSection_isRejected(@TempDir Path dir) throws IOException {
    Path file = write(dir, "file.toml", "[sever]\nport = 1\n");
    ConfigException e =
        assertThrows(
            ConfigException.class, () -> load(dir.resolve("absent"), file, Map.of(), Map.of()));
    assertTrue(e.getMessage().contains("'sever'"), e.getMessage());
  }

  @Test
  void load_wrongTypeInFile_namesKeyAndValue(@TempDir Path dir) throws IOException {
    Path file = write(dir, "file.toml", "[server]\nport = \"fifty\"\n");
    ConfigException e =
        assertThrows(
            ConfigException.class, () -> load(dir.resolve("absent"), file, Map.of(), Map.of()));
    assertTrue(e.getMessage().contains("server.port"), e.getMessage());
    assertTrue(e.getMessage().contains("fifty"), e.getMessage());
  }

  @Test
  void load_removedBacklogRowBound_isRefusedFromEverySourceSayingWhatReplacedIt(@TempDir Path dir)
      throws IOException {
    Path none = dir.resolve("absent.toml");
    Path file = write(dir, "file.toml", "[engine]\nmax_backlog_rows = 1000\n");
    List<ConfigException> refused =
        List.of(
            assertThrows(ConfigException.class, () -> load(none, file, Map.of(), Map.of())),
            assertThrows(
                ConfigException.class,
                () ->
                    load(
                        none,
                        null,
                        Map.of("HYPRSTREAM_ENGINE_MAX_BACKLOG_ROWS", "1000"),
                        Map.of())),
            assertThrows(
                ConfigException.class,
                () -> load(none, null, Map.of(), Map.of("--max-backlog-rows", 1000L))));
    List<String> where =
        List.of(file.toString(), "HYPRSTREAM_ENGINE_MAX_BACKLOG_ROWS", "--max-backlog-rows");
    for (int i = 0; i < refused.size(); i++) {
      String m = refused.get(i).getMessage();
      assertTrue(m.contains(where.get(i)), m);
      assertTrue(m.contains("engine.max_backlog_rows was removed"), m);
      assertTrue(m.contains("engine.max_backlog_bytes"), m);
      assertTrue(m.contains("engine.max_log_bytes"), m);
    }
  }

  @Test
  void load_logBound_defaultsToFourGibAndRefusesLessThanOneMib(@TempDir Path dir) {
    Path none = dir.resolve("absent.toml");
    assertEquals(4L << 30, load(none, null, Map.of(), Map.of()).maxLogBytes());
    assertEquals(
        64L << 20,
        load(none, null, Map.of("HYPRSTREAM_ENGINE_MAX_LOG_BYTES", "67108864"), Map.of())
            .maxLogBytes());
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> load(none, null, Map.of(), Map.of(Config.ENGINE_MAX_LOG_BYTES, 1000L)));
    assertTrue(e.getMessage().contains("engine.max_log_bytes"), e.getMessage());
    assertTrue(e.getMessage().contains("1 MiB"), e.getMessage());
  }

  @Test
  void load_badEnvValue_namesTheVariable(@TempDir Path dir) {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                load(
                    dir.resolve("absent"),
                    null,
                    Map.of("HYPRSTREAM_SERVER_PORT", "eighty"),
                    Map.of()));
    assertTrue(e.getMessage().contains("HYPRSTREAM_SERVER_PORT"), e.getMessage());
  }

  @Test
  void load_portOutOfRange_isRejected(@TempDir Path dir) {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> load(dir.resolve("absent"), null, Map.of(), Map.of(Config.SERVER_PORT, 70000)));
    assertTrue(e.getMessage().contains("server.port"), e.getMessage());
    assertTrue(e.getMessage().contains("70000"), e.getMessage());
  }

  @Test
  void load_backendEngineWithoutConnection_namesTheMissingKey(@TempDir Path dir) {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                load(dir.resolve("absent"), null, Map.of("HYPRSTREAM_ENGINE", "duckdb"), Map.of()));
    assertTrue(e.getMessage().contains("engine.connection"), e.getMessage());
    assertTrue(e.getMessage().contains("engine = duckdb"), e.getMessage());
  }

  @Test
  void load_unknownEnvVariable_isAWarningOnly(@TempDir Path dir) {
    List<String> warnings = new ArrayList<>();
    Config.load(dir.resolve("absent"), null, Map.of("HYPRSTREAM_PROT", "1"), Map.of(), warnings);
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(
        warnings.get(0).startsWith("ignoring unknown environment variable HYPRSTREAM_PROT"),
        warnings.get(0));
  }

  @Test
  void load_missingConfigFile_isAnError(@TempDir Path dir) {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> load(dir.resolve("absent"), dir.resolve("nope.toml"), Map.of(), Map.of()));
    assertTrue(e.getMessage().contains("nope.toml"), e.getMessage());
  }

  @Test
  void load_engineOptions_mergeOptionByOptionFromFileEnvAndFlag(@TempDir Path dir)
      throws IOException {
    Path file = write(dir, "file.toml", "[engine.options]\nsslmode = \"require\"\na = \"0\"\n");
    assertEquals(
        Map.of("sslmode", "require", "a", "0"),
        load(dir.resolve("absent"), file, Map.of(), Map.of()).engineOptions());
    Config c =
        load(
            dir.resolve("absent"),
            file,
            Map.of("HYPRSTREAM_ENGINE_OPTIONS", "a=1,b=2"),
            Map.of(Config.ENGINE_OPTIONS, Map.of("b", "3")));
    assertEquals(Map.of("sslmode", "require", "a", "1", "b", "3"), c.engineOptions());
    assertEquals(file + " (line 2)", c.sourceOf("engine.options.sslmode"));
    assertEquals("environment variable HYPRSTREAM_ENGINE_OPTIONS", c.sourceOf("engine.options.a"));
    assertEquals("flag --engine-options", c.sourceOf("engine.options.b"));
  }

  @Test
  void load_aggregations_buildSpecs(@TempDir Path dir) throws IOException {
    Path file =
        write(
            dir,
            "file.toml",
            "[[aggregations]]\ntable = \"trades\"\ntime_column = \"ts\"\n"
                + "key_columns = [\"symbol\"]\nvalue_columns = [\"price\"]\n"
                + "windows = [\"1m\", \"1h\"]\nfunctions = [\"avg\", \"max\"]\n");
    Config c = load(dir.resolve("absent"), file, Map.of(), Map.of());
    assertEquals(1, c.aggregations().size());
    assertEquals("trades", c.aggregations().get(0).table());
    assertEquals(List.of("symbol"), c.aggregations().get(0).keyColumns());
    assertEquals(2, c.aggregations().get(0).windows().size());
  }

  @Test
  void load_badAggregation_namesIt(@TempDir Path dir) throws IOException {
    Path file =
        write(dir, "file.toml", "[[aggregations]]\ntable = \"trades\"\ntime_column = \"ts\"\n");
    ConfigException e =
        assertThrows(
            ConfigException.class, () -> load(dir.resolve("absent"), file, Map.of(), Map.of()));
    assertTrue(e.getMessage().contains("aggregations[0]"), e.getMessage());
  }

  @Test
  void toString_withPassword_hidesIt(@TempDir Path dir) {
    Config c =
        load(
            dir.resolve("absent"),
            null,
            Map.of("HYPRSTREAM_ENGINE_PASSWORD", "s3cret-value"),
            Map.of());
    assertEquals("s3cret-value", c.enginePassword());
    assertFalse(c.toString().contains("s3cret-value"), c.toString());
  }

  @Test
  void toString_connectionWithPassword_hidesIt(@TempDir Path dir) {
    Config cfg =
        load(
            dir.resolve("absent"),
            null,
            Map.of(
                "HYPRSTREAM_ENGINE",
                "adbc",
                "HYPRSTREAM_ENGINE_CONNECTION",
                "postgresql://app:s3cret-value@db:5432/prod?password=other-secret"),
            Map.of());
    assertTrue(!cfg.toString().contains("s3cret-value"), cfg.toString());
    assertTrue(!cfg.toString().contains("other-secret"), cfg.toString());
    assertTrue(cfg.toString().contains("postgresql://app:(hidden)@db:5432/prod"), cfg.toString());
  }

  @Test
  void clusterWithAuth_needsAPeerUser_andThePeerUserItsPassword(@TempDir Path dir) {
    Path none = dir.resolve("absent");
    ConfigException noPeer =
        assertThrows(
            ConfigException.class,
            () ->
                load(
                    none,
                    null,
                    Map.of(
                        "HYPRSTREAM_CLUSTER_KAFKA",
                        "kafka:9092",
                        "HYPRSTREAM_AUTH_ENABLED",
                        "true"),
                    Map.of()));
    assertTrue(noPeer.getMessage().contains("cluster.peer_user"), noPeer.getMessage());
    assertTrue(noPeer.getMessage().contains("auth.enabled"), noPeer.getMessage());
    ConfigException noPassword =
        assertThrows(
            ConfigException.class,
            () -> load(none, null, Map.of("HYPRSTREAM_CLUSTER_PEER_USER", "peer"), Map.of()));
    assertTrue(noPassword.getMessage().contains("cluster.peer_password"), noPassword.getMessage());
    Config c =
        load(
            none,
            null,
            Map.of(
                "HYPRSTREAM_CLUSTER_PEER_USER",
                "peer",
                "HYPRSTREAM_CLUSTER_PEER_PASSWORD",
                "s3cret-value"),
            Map.of());
    assertEquals("peer", c.clusterPeerUser());
    assertFalse(c.toString().contains("s3cret-value"), c.toString());
  }
}
