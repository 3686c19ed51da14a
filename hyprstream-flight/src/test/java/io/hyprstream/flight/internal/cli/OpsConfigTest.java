package io.hyprstream.flight.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import at.favre.lib.crypto.bcrypt.BCrypt;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The [tls], [auth] and [limits] keys are checked at start-up with messages naming what is wrong,
 * and {@code hyprstream hash-password} makes hashes the server accepts.
 */
final class OpsConfigTest {
  @TempDir Path dir;

  private ConfigException refused(@Nullable String toml, Map<String, Object> flags)
      throws IOException {
    Path file = null;
    if (toml != null) {
      file = dir.resolve("ops.toml");
      Files.writeString(file, toml);
    }
    Path f = file;
    return assertThrows(
        ConfigException.class,
        () -> Config.load(dir.resolve("absent.toml"), f, Map.of(), flags, new ArrayList<>()));
  }

  @Test
  void tls_needsBothHalvesAndReadableFiles() throws IOException {
    Path cert = Files.writeString(dir.resolve("cert.pem"), "not checked here");
    ConfigException noKey = refused(null, Map.of(Config.TLS_CERT, cert.toString()));
    assertTrue(noKey.getMessage().contains("tls.key"), noKey.getMessage());
    assertTrue(noKey.getMessage().contains("is required with tls.cert"), noKey.getMessage());

    ConfigException missing =
        refused(
            null,
            Map.of(
                Config.TLS_CERT, cert.toString(),
                Config.TLS_KEY, dir.resolve("absent.key").toString()));
    assertTrue(missing.getMessage().contains("not a readable file"), missing.getMessage());

    ConfigException caAlone = refused(null, Map.of(Config.TLS_CLIENT_CA, cert.toString()));
    assertTrue(caAlone.getMessage().contains("mutual TLS is TLS first"), caAlone.getMessage());
  }

  @Test
  void auth_needsUsers_eachOnce() throws IOException {
    ConfigException none = refused("[auth]\nenabled = true\n", Map.of());
    assertTrue(none.getMessage().contains("auth.enabled"), none.getMessage());
    assertTrue(none.getMessage().contains("hash-password"), none.getMessage());

    String hash = io.hyprstream.flight.policy.Authentication.hash("pw".toCharArray(), 4);
    String user = "{ name = \"ann\", password_hash = \"" + hash + "\", role = \"read_only\" }";
    ConfigException twice =
        refused("[auth]\nenabled = true\nusers = [" + user + ", " + user + "]\n", Map.of());
    assertTrue(twice.getMessage().contains("'ann' twice"), twice.getMessage());
    assertFalse(twice.getMessage().contains(hash), "a password hash is never shown");
  }

  @Test
  void limits_areCheckedAndNamed() throws IOException {
    ConfigException slots = refused("[limits]\nmax_concurrent_queries = 0\n", Map.of());
    assertTrue(slots.getMessage().contains("limits.max_concurrent_queries"), slots.getMessage());
    assertTrue(slots.getMessage().contains("must be positive"), slots.getMessage());
    assertTrue(slots.getMessage().contains("ops.toml"), "names the file: " + slots.getMessage());

    ConfigException queue = refused(null, Map.of(Config.LIMITS_QUERY_QUEUE, -1));
    assertTrue(queue.getMessage().contains("limits.query_queue"), queue.getMessage());

    ConfigException memory = refused(null, Map.of(Config.LIMITS_MAX_MEMORY_BYTES, -5L));
    assertTrue(memory.getMessage().contains("limits.max_memory_bytes"), memory.getMessage());
  }

  @Test
  void hashPassword_printsABcryptHashOfTheLineRead() {
    ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
    ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
    PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);
    InputStream stdin = System.in;
    try {
      System.setIn(new ByteArrayInputStream("s3cret pass\n".getBytes(StandardCharsets.UTF_8)));
      Main main = new Main(Map.of(), dir.resolve("absent.toml"), out, err);
      assertEquals(0, Main.commandLine(main).execute("hash-password", "--cost", "4"));
      String hash = outBytes.toString(StandardCharsets.UTF_8).strip();
      assertTrue(BCrypt.verifyer().verify("s3cret pass".toCharArray(), hash).verified, hash);
      assertFalse(BCrypt.verifyer().verify("s3cret".toCharArray(), hash).verified);
      // The server accepts it as a user's hash.
      new io.hyprstream.flight.policy.Authentication.User(
          "ann", hash, io.hyprstream.flight.policy.Authentication.Role.READ_ONLY);

      System.setIn(new ByteArrayInputStream(new byte[0]));
      Main empty = new Main(Map.of(), dir.resolve("absent.toml"), out, err);
      assertEquals(2, Main.commandLine(empty).execute("hash-password"));
      assertTrue(errBytes.toString(StandardCharsets.UTF_8).contains("no password given"));
      assertEquals(2, Main.commandLine(empty).execute("hash-password", "--cost", "3"));
    } finally {
      System.setIn(stdin);
    }
  }
}
