package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.internal.cli.DocumentedSettings;
import io.hyprstream.flight.internal.cli.DocumentedSettings.AliasRow;
import io.hyprstream.flight.internal.cli.DocumentedSettings.FlagRow;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every flag, key and variable of docs/server.md's Flags table, and every form of its Hyprstream
 * (Rust) compatibility table, read from the markdown, given to {@code java -jar hyprstream.jar}:
 * one server per source kind (a command line with every flag, an environment with every variable, a
 * file with every key; the compatibility forms in groups that set each key once), each start-up log
 * listing every setting with its value and source.
 */
final class DocumentedConfigurationIT {
  private static final Path MD = DocumentedSettings.serverMd();
  private static final List<FlagRow> FLAGS = DocumentedSettings.flags(MD);
  private static final List<AliasRow> ALIASES = DocumentedSettings.aliases(MD);

  @TempDir Path dir;

  private static void assertShown(ServerProcess server, String key, String source) {
    String bannerKey = DocumentedSettings.bannerKey(key);
    String value = DocumentedSettings.bannerValue(key);
    String prefix = "  " + bannerKey + " = " + (value == null ? "" : value);
    for (String line : server.log().split("\n")) {
      int at = line.indexOf(prefix);
      if (at >= 0 && line.indexOf("  (" + source, at) >= 0) {
        return;
      }
    }
    throw new AssertionError(
        "the start-up log lacks '" + prefix + " ... (" + source + "':\n" + server.log());
  }

  @Test
  void everyDocumentedFlag_onOneCommandLine() {
    List<String> args = new ArrayList<>(DocumentedSettings.args(FLAGS));
    args.add("--demo"); // documented, without a key
    try (ServerProcess server = ServerProcess.builder().args(args).start()) {
      for (FlagRow r : FLAGS) {
        if (r.flag() != null && r.key() != null) {
          assertShown(server, r.key(), "flag " + r.flag());
        }
      }
      assertEquals(0, server.terminate(), server.log());
    }
  }

  @Test
  void everyDocumentedVariable_inOneEnvironment() {
    ServerProcess.Builder b = ServerProcess.builder();
    DocumentedSettings.env(FLAGS).forEach(b::env);
    try (ServerProcess server = b.start()) {
      for (FlagRow r : FLAGS) {
        if (r.env() != null && r.key() != null) {
          assertShown(server, r.key(), "environment variable " + r.env());
        }
      }
      assertTrue(!server.log().contains("warning"), server.log());
      assertEquals(0, server.terminate(), server.log());
    }
  }

  @Test
  void everyDocumentedKey_inOneFile() throws Exception {
    List<String> keys = new ArrayList<>();
    FLAGS.forEach(
        r -> {
          if (r.key() != null) {
            keys.add(r.key());
          }
        });
    Path file = Files.writeString(dir.resolve("every-key.toml"), DocumentedSettings.toml(keys));
    try (ServerProcess server = ServerProcess.start("--config", file.toString())) {
      for (String key : keys) {
        assertShown(server, key, file + " (line ");
      }
      assertEquals(0, server.terminate(), server.log());
    }
  }

  @Test
  void everyCompatibilityForm_inGroupsThatSetEachKeyOnce() throws Exception {
    try (PostgresDatabase db = PostgresDatabase.create()) {
      Map<String, String> pg = Map.of("engine.connection", db.uri(), "engine.database", db.name());
      for (List<AliasRow> group : DocumentedSettings.groups(ALIASES)) {
        Map<String, String> baseline = DocumentedSettings.baseline(group, pg);
        ServerProcess.Builder b = ServerProcess.builder();
        @Nullable Path file = null;
        switch (group.get(0).kind()) {
          case TOML:
            file =
                Files.writeString(
                    Files.createTempFile(dir, "aliases", ".toml"),
                    DocumentedSettings.aliasToml(group, pg));
            b.args("--config", file.toString(), "--port", "0", "--http-port", "0");
            b.args(canonicalFlags(baseline));
            break;
          case ENV:
            DocumentedSettings.aliasEnv(group, pg).forEach(b::env);
            b.args(canonicalFlags(baseline));
            break;
          case FLAG:
            b.args(DocumentedSettings.aliasArgs(group, pg));
            baseline.forEach((k, v) -> b.env(envName(k), v));
            break;
        }
        try (ServerProcess server = b.start()) {
          for (AliasRow row : group) {
            String source = DocumentedSettings.aliasSource(row) + (file == null ? "" : file);
            String key = DocumentedSettings.bannerKey(row);
            boolean shown = false;
            for (String line : server.log().split("\n")) {
              shown |= line.contains("  " + key + " = ") && line.contains("  (" + source);
            }
            assertTrue(shown, row + ": no '" + key + " = ... (" + source + "':\n" + server.log());
          }
          assertEquals(0, server.terminate(), server.log());
        }
      }
    }
  }

  private static List<String> canonicalFlags(Map<String, String> baseline) {
    List<String> args = new ArrayList<>();
    baseline.forEach(
        (k, v) -> {
          String name = k.substring(k.indexOf('.') + 1);
          args.add(name.equals("engine") ? "--engine" : "--engine-" + name);
          args.add(v);
        });
    return args;
  }

  private static String envName(String key) {
    return key.equals("engine.engine")
        ? "HYPRSTREAM_ENGINE"
        : "HYPRSTREAM_" + key.replace('.', '_').toUpperCase(java.util.Locale.ROOT);
  }
}
