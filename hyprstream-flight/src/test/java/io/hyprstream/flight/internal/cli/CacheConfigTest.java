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

  private ConfigException refused(
      @Nullable String toml, Map<String, String> env, Map<String, Object> flags) {
    return assertThrows(ConfigException.class, () -> load(toml, env, flags));
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
        "[cache]\nresult_cache_bytes = 67108864\nresult_cache_ttl = 30\n"
            + "memory_bytes = 1073741824\neviction = \"lfu\"\n"
            + "[cache.max_staleness]\nmetrics = 5\ntrades = \"0\"\n";
    Config fromFile = load(toml, Map.of(), Map.of());
    assertEquals(64L << 20, fromFile.resultCacheBytes());
    assertEquals(Duration.ofSeconds(30), fromFile.resultCacheTtl());
    assertEquals(1L << 30, fromFile.cacheMemory());
    assertEquals(EvictionPolicy.LFU, fromFile.cacheEviction());
    assertEquals(
        Map.of("metrics", Duration.ofSeconds(5), "trades", Duration.ZERO), fromFile.maxStaleness());

    Map<String, String> env =
        Map.of("HYPRSTREAM_CACHE_MEMORY_BYTES", "2147483648", "HYPRSTREAM_CACHE_EVICTION", "LRU");
    Config fromEnv = load(toml, env, Map.of());
    assertEquals(2L << 30, fromEnv.cacheMemory());
    assertEquals(EvictionPolicy.LRU, fromEnv.cacheEviction());

    Config fromFlags =
        load(
            toml,
            env,
            Map.of(Config.CACHE_MEMORY_BYTES, 512L << 20, Config.CACHE_RESULT_BYTES, 0L));
    assertEquals(512L << 20, fromFlags.cacheMemory());
    assertEquals(0, fromFlags.resultCacheBytes());
  }

  @Test
  void badValues_nameTheKeyTheValueAndWhereItCameFrom() {
    ConfigException eviction =
        refused(null, Map.of("HYPRSTREAM_CACHE_EVICTION", "random"), Map.of());
    assertTrue(eviction.getMessage().contains("cache.eviction"), eviction.getMessage());
    assertTrue(eviction.getMessage().contains("'random'"), eviction.getMessage());
    assertTrue(eviction.getMessage().contains("HYPRSTREAM_CACHE_EVICTION"), eviction.getMessage());

    ConfigException size = refused("[cache]\nresult_cache_bytes = \"lots\"\n", Map.of(), Map.of());
    assertTrue(size.getMessage().contains("cache.result_cache_bytes"), size.getMessage());
    assertTrue(size.getMessage().contains("lots"), size.getMessage());

    ConfigException small = refused(null, Map.of(), Map.of(Config.CACHE_MEMORY_BYTES, 1000L));
    assertTrue(small.getMessage().contains(">= 1 MiB"), small.getMessage());

    ConfigException belowBudget =
        refused(
            "[cache]\nmemory_bytes = 2147483648\n[limits]\nduckdb_memory_limit_bytes = 1073741824\n",
            Map.of(),
            Map.of());
    assertTrue(
        belowBudget.getMessage().contains("limits.duckdb_memory_limit_bytes"),
        belowBudget.getMessage());
    assertTrue(belowBudget.getMessage().contains("before eviction"), belowBudget.getMessage());

    ConfigException staleness =
        refused("[cache.max_staleness]\nmetrics = \"soon\"\n", Map.of(), Map.of());
    assertTrue(staleness.getMessage().contains("metrics = 'soon'"), staleness.getMessage());
  }
}
