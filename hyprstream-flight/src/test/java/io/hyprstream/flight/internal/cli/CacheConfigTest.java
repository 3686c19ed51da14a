package io.hyprstream.flight.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.EvictionPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The [cache] keys of the result cache and the memory budget: parsed, layered and checked. */
final class CacheConfigTest {
  @TempDir Path dir;

  private Config load(@Nullable String toml, Map<String, String> env, Map<String, Object> flags)
      throws IOException {
    Path file = null;
    if (toml != null) {
      file = dir.resolve("hyprstream.toml");
      Files.writeString(file, toml);
    }
    return Config.load(dir.resolve("absent.toml"), file, env, flags, new ArrayList<>());
  }

  @Test
  void defaults() throws IOException {
    Config c = load(null, Map.of(), Map.of());
    assertEquals(256L << 20, c.resultCacheBytes());
    assertEquals(Duration.ofSeconds(300), c.resultCacheTtl());
    assertNull(c.cacheMemory()); // the library's default: a quarter of the machine's memory
    assertEquals(EvictionPolicy.TIME, c.cacheEviction());
    assertEquals(Map.of(), c.maxStaleness());
  }

  @Test
  void file_thenEnvironment_thenFlags() throws IOException {
    String toml =
        "[cache]\nresult_cache_size = \"64MiB\"\nresult_cache_ttl = 30\nmemory = \"1GiB\"\n"
            + "eviction = \"lfu\"\n[cache.max_staleness]\nmetrics = 5\ntrades = \"0\"\n";
    Config fromFile = load(toml, Map.of(), Map.of());
    assertEquals(64L << 20, fromFile.resultCacheBytes());
    assertEquals(Duration.ofSeconds(30), fromFile.resultCacheTtl());
    assertEquals(1L << 30, fromFile.cacheMemory());
    assertEquals(EvictionPolicy.LFU, fromFile.cacheEviction());
    assertEquals(
        Map.of("metrics", Duration.ofSeconds(5), "trades", Duration.ZERO), fromFile.maxStaleness());

    Map<String, String> env =
        Map.of("HYPRSTREAM_CACHE_MEMORY", "2gb", "HYPRSTREAM_CACHE_EVICTION", "LRU");
    Config fromEnv = load(toml, env, Map.of());
    assertEquals(2L << 30, fromEnv.cacheMemory());
    assertEquals(EvictionPolicy.LRU, fromEnv.cacheEviction());

    Config fromFlags =
        load(toml, env, Map.of(Config.CACHE_MEMORY, "512MiB", Config.CACHE_RESULT_SIZE, "0"));
    assertEquals(512L << 20, fromFlags.cacheMemory());
    assertEquals(0, fromFlags.resultCacheBytes());
  }

  @Test
  void badValues_nameTheKeyTheValueAndWhereItCameFrom() {
    ConfigException eviction =
        assertThrows(
            ConfigException.class,
            () -> load(null, Map.of("HYPRSTREAM_CACHE_EVICTION", "random"), Map.of()));
    assertTrue(eviction.getMessage().contains("cache.eviction"), eviction.getMessage());
    assertTrue(eviction.getMessage().contains("'random'"), eviction.getMessage());
    assertTrue(eviction.getMessage().contains("HYPRSTREAM_CACHE_EVICTION"), eviction.getMessage());

    ConfigException size =
        assertThrows(
            ConfigException.class,
            () -> load("[cache]\nresult_cache_size = \"lots\"\n", Map.of(), Map.of()));
    assertTrue(size.getMessage().contains("cache.result_cache_size"), size.getMessage());
    assertTrue(size.getMessage().contains("512MiB"), size.getMessage());

    ConfigException small =
        assertThrows(
            ConfigException.class, () -> load(null, Map.of(), Map.of(Config.CACHE_MEMORY, "1000")));
    assertTrue(small.getMessage().contains("at least 1MiB"), small.getMessage());

    ConfigException staleness =
        assertThrows(
            ConfigException.class,
            () -> load("[cache.max_staleness]\nmetrics = \"soon\"\n", Map.of(), Map.of()));
    assertTrue(staleness.getMessage().contains("metrics = 'soon'"), staleness.getMessage());
  }
}
