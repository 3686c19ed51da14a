package io.hyprstream.flight.e2e;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The server jar exactly as users run it: {@code java -jar hyprstream.jar ...}, as a child process
 * with no JVM flag of ours (the jar's manifest carries what Arrow needs).
 *
 * <p>The end-to-end suite ({@code *IT} classes in this package) runs in {@code mvn verify} after
 * {@code package}, through maven-failsafe. To run one: {@code mvn -B -pl hyprstream-flight -am
 * -Dtest=None -Dsurefire.failIfNoSpecifiedTests=false -Dit.test=BackendFormsIT verify}. {@code
 * -Dhyprstream.e2e.jar=/path/to/hyprstream.jar} points the suite at another build of the jar (how
 * it was checked against older releases).
 */
public final class ShippedJar {
  private ShippedJar() {}

  /** What a finished command printed, and its exit code. */
  public record Result(int exitCode, String stdout, String stderr) {
    /** Both streams, for assertion messages. */
    public String output() {
      return "exit " + exitCode + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
    }
  }

  /** The jar under test: {@code target/hyprstream.jar} unless {@code hyprstream.e2e.jar} says. */
  public static Path path() {
    String configured = System.getProperty("hyprstream.e2e.jar");
    Path jar = Path.of(configured == null ? "target/hyprstream.jar" : configured).toAbsolutePath();
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(
          jar + " does not exist: the end-to-end suite runs after `mvn package` (use verify)");
    }
    return jar;
  }

  /** {@code java -jar hyprstream.jar args...}, with this JVM's java. */
  public static List<String> command(List<String> args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-jar");
    command.add(path().toString());
    command.addAll(args);
    return command;
  }

  /**
   * A process builder for {@code java -jar hyprstream.jar args} whose environment is this one's
   * without any Hyprstream or ADBC variable (so a developer's shell cannot change a test), plus
   * {@code env}.
   */
  public static ProcessBuilder processBuilder(List<String> args, Map<String, String> env) {
    ProcessBuilder pb = new ProcessBuilder(command(args));
    Map<String, String> environment = pb.environment();
    environment.keySet().removeIf(k -> k.startsWith("HYPRSTREAM_") || k.startsWith("ADBC_"));
    environment.putAll(env);
    return pb;
  }

  /** A bcrypt hash of {@code password} made by the jar's {@code hash-password} (cost 4: fast). */
  public static String hashPassword(String password) {
    Result r =
        run(
            List.of("hash-password", "--cost", "4"),
            Map.of(),
            password + "\n",
            Duration.ofMinutes(1));
    if (r.exitCode() != 0) {
      throw new AssertionError("hash-password failed: " + r.output());
    }
    return r.stdout().trim();
  }

  /** Runs a command that ends by itself (a subcommand, {@code --help}, a bad flag). */
  public static Result run(List<String> args) {
    return run(args, Map.of(), null, Duration.ofMinutes(2));
  }

  /**
   * Runs a command that ends by itself, with {@code stdin} written to its standard input (then
   * closed), and waits at most {@code timeout}.
   */
  public static Result run(
      List<String> args, Map<String, String> env, @Nullable String stdin, Duration timeout) {
    try {
      Process p = processBuilder(args, env).start();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      Thread outPump = pump(p.getInputStream(), out, "stdout");
      Thread errPump = pump(p.getErrorStream(), err, "stderr");
      try (OutputStream in = p.getOutputStream()) {
        if (stdin != null) {
          in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
      }
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly().waitFor();
        throw new AssertionError(
            "`hyprstream " + String.join(" ", args) + "` did not end within " + timeout);
      }
      outPump.join();
      errPump.join();
      return new Result(
          p.exitValue(),
          out.toString(StandardCharsets.UTF_8),
          err.toString(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static Thread pump(InputStream from, OutputStream to, String name) {
    Thread t =
        new Thread(
            () -> {
              try {
                from.transferTo(to);
              } catch (IOException ignored) {
                // The process ended; what it printed is kept.
              }
            },
            "jar-" + name);
    t.setDaemon(true);
    t.start();
    return t;
  }
}
