package io.hyprstream.flight.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.internal.cli.DocumentedSettings.AliasRow;
import io.hyprstream.flight.internal.cli.DocumentedSettings.FlagRow;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Every flag, key and variable in docs/server.md's Flags table, and every Hyprstream (Rust) form in
 * its compatibility table, read from the markdown itself, is accepted and sets what the docs say,
 * naming its source; and the code has no flag or key the docs leave out.
 */
final class DocumentedConfigurationTest {
  private static final Path MD = DocumentedSettings.serverMd();
  private static final List<FlagRow> FLAGS = DocumentedSettings.flags(MD);
  private static final List<AliasRow> ALIASES = DocumentedSettings.aliases(MD);

  @TempDir Path dir;

  private Main main(Path systemFile, Map<String, String> env, List<String> args) {
    PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    Main m = new Main(env, systemFile, sink, sink);
    Main.commandLine(m).parseArgs(args.toArray(new String[0]));
    return m;
  }

  private Config load(Map<String, String> env, List<String> args) {
    return main(dir.resolve("absent.toml"), env, args).configuration(new ArrayList<>());
  }

  private static List<String> keys() {
    List<String> keys = new ArrayList<>();
    for (FlagRow r : FLAGS) {
      if (r.key() != null) {
        keys.add(r.key());
      }
    }
    return keys;
  }

  @Test
  void flagsTable_everyRowMatchesTheCode() {
    CommandLine cl = Main.commandLine(main(dir.resolve("absent.toml"), Map.of(), List.of()));
    for (FlagRow r : FLAGS) {
      if (r.flag() != null) {
        OptionSpec option = cl.getCommandSpec().findOption(r.flag());
        assertNotNull(option, "docs/server.md lists " + r.flag() + ", which hyprstream lacks");
        assertEquals(r.negatable(), option.negatable(), r.flag() + " negatable");
      }
      if (r.key() != null) {
        assertTrue(Config.keys().contains(r.key()), "documented key " + r.key() + " is unknown");
        assertEquals(
            r.flag() == null ? null : r.flag().substring(2),
            Config.flagName(r.key()),
            "the flag of " + r.key());
        assertEquals(Config.envName(r.key()), r.env(), "the variable of " + r.key());
      }
    }
  }

  /**
   * Each key's row in the Flags table writes its flag and value label, and starts its default
   * column with the declared default ({@code on}/{@code off} for a switch, the value in backticks
   * otherwise, nothing in backticks when the key has no default).
   */
  @Test
  void flagsTable_showsEachDeclaredFlagLabelAndDefault() {
    Map<String, List<String>> rows = new java.util.HashMap<>();
    for (List<String> row : DocumentedSettings.table(MD, "## Flags")) {
      String key = row.get(1).replaceAll("^`\\[*([^`\\]]*)\\]*`.*$", "$1");
      rows.put(key, row);
    }
    for (ConfigKey key : Config.declared()) {
      List<String> row = rows.get(key.name());
      assertNotNull(row, key.name() + " has no row in docs/server.md's Flags table");
      String flag = key.flag();
      String expectedFlag =
          flag == null
              ? ""
              : key.type() == ConfigKey.Type.BOOL
                  ? "`--[no-]" + flag + "`"
                  : "`--" + flag + " " + key.paramLabel() + "`";
      assertTrue(
          row.get(0).startsWith(expectedFlag),
          key.name() + ": docs write the flag as " + row.get(0) + ", the code " + expectedFlag);
      String cell = row.get(3);
      String text = key.defaultText();
      if (text.isEmpty()) {
        assertTrue(!cell.startsWith("`"), key.name() + " has no default, docs say " + cell);
      } else if (key.type() == ConfigKey.Type.BOOL) {
        assertTrue(cell.startsWith(text), key.name() + " defaults " + text + ", docs say " + cell);
      } else {
        assertTrue(
            cell.startsWith("`" + text + "`"),
            key.name() + " defaults to `" + text + "`, docs say " + cell);
      }
    }
  }

  /** Every declared default passes its own key's check, so a key cannot ship unusable. */
  @Test
  void everyDeclaredDefault_passesItsCheck() {
    for (ConfigKey key : Config.declared()) {
      assertEquals(null, key.check().problem(key.defaultValue()), key.name());
    }
  }

  @Test
  void docs_listEveryKeyAndEveryFlagTheCodeHas() {
    assertEquals(new TreeSet<>(Config.keys()), new TreeSet<>(keys()), "keys in the Flags table");
    Set<String> documented = new HashSet<>();
    FLAGS.forEach(r -> documented.add(r.flag()));
    ALIASES.forEach(r -> documented.add(r.form().split(" ")[0]));
    CommandLine cl = Main.commandLine(main(dir.resolve("absent.toml"), Map.of(), List.of()));
    for (OptionSpec o : cl.getCommandSpec().options()) {
      String name = o.longestName();
      if (o.hidden()) { // only a removed flag, kept to say what replaced it, may be undocumented
        assertTrue(ConfigLoader.removedBecause(name) != null, name + " is hidden but not removed");
        continue;
      }
      if (!name.equals("--help") && !name.equals("--version")) {
        assertTrue(documented.contains(name), name + " is not in docs/server.md");
      }
    }
    for (ConfigLoader.Alias a : ConfigLoader.aliases()) {
      assertTrue(
          ALIASES.stream()
              .anyMatch(
                  r -> r.form().replace("[adbc.options]", "[adbc] options").startsWith(a.form())),
          "alias " + a.form() + " is not in the compatibility table");
    }
  }

  @Test
  void everyDocumentedFlag_setsItsKeyNamingTheFlag() {
    Config c = load(Map.of(), DocumentedSettings.args(FLAGS));
    List<String> banner = Main.banner(c);
    for (FlagRow r : FLAGS) {
      if (r.flag() == null || r.key() == null) {
        continue;
      }
      assertShown(banner, r.key(), "flag " + r.flag());
    }
  }

  @Test
  void everyDocumentedVariable_setsItsKeyNamingTheVariable() {
    List<String> warnings = new ArrayList<>();
    Config c =
        main(dir.resolve("absent.toml"), DocumentedSettings.env(FLAGS), List.of())
            .configuration(warnings);
    assertEquals(List.of(), warnings);
    List<String> banner = Main.banner(c);
    for (FlagRow r : FLAGS) {
      if (r.env() != null && r.key() != null) {
        assertShown(banner, r.key(), "environment variable " + r.env());
      }
    }
  }

  @Test
  void everyDocumentedKey_setsItFromAFileNamingTheFileAndLine() throws IOException {
    Path file = Files.writeString(dir.resolve("every-key.toml"), DocumentedSettings.toml(keys()));
    Config c = load(Map.of(), List.of("--config", file.toString()));
    List<String> banner = Main.banner(c);
    for (String key : keys()) {
      assertShown(banner, key, file + " (line ");
    }
  }

  @Test
  void everyCompatibilityForm_setsItsKeyNamingTheAlias() throws IOException {
    Path system =
        Files.writeString(
            dir.resolve("system.toml"),
            "[engine]\nengine = \"adbc\"\nconnection = \"postgresql://127.0.0.1:5432/test\"\n"
                + "username = \"postgres\"\n");
    for (AliasRow row : ALIASES) {
      List<String> args = new ArrayList<>();
      Map<String, String> env = Map.of();
      switch (row.kind()) {
        case TOML:
          Path file =
              Files.writeString(
                  dir.resolve("alias.toml"), DocumentedSettings.aliasToml(List.of(row), Map.of()));
          args.add("--config");
          args.add(file.toString());
          break;
        case ENV:
          env = DocumentedSettings.aliasEnv(List.of(row), Map.of());
          break;
        case FLAG:
          args.addAll(DocumentedSettings.aliasArgs(List.of(row), Map.of()));
          break;
      }
      Config c = main(system, env, args).configuration(new ArrayList<>());
      String key = DocumentedSettings.bannerKey(row);
      assertTrue(
          c.sourceOf(key).startsWith(DocumentedSettings.aliasSource(row)),
          row + ": " + key + " came from " + c.sourceOf(key));
      if (row.target().startsWith("engine.options.")) {
        String option = row.target().substring("engine.options.".length());
        assertEquals(
            DocumentedSettings.sample(row.target()), c.engineOptions().get(option), row.form());
      } else if (!row.target().equals(Config.ENGINE_OPTIONS)) {
        assertEquals(DocumentedSettings.bannerValue(row.target()), c.shown().get(key), row.form());
      }
    }
  }

  /** The banner has {@code key = sample (source...)} for {@code key} set with its sample. */
  private static void assertShown(List<String> banner, String key, String source) {
    String bannerKey = DocumentedSettings.bannerKey(key);
    String value = DocumentedSettings.bannerValue(key);
    String prefix = "  " + bannerKey + " = " + (value == null ? "" : value);
    for (String line : banner) {
      if (line.startsWith(prefix) && line.contains("  (" + source)) {
        return;
      }
    }
    throw new AssertionError(
        "the banner does not show "
            + prefix
            + "  ("
            + source
            + "...):\n"
            + String.join("\n", banner));
  }
}
