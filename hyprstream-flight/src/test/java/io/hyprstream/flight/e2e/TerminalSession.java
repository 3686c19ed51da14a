package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
import java.util.regex.Pattern;

/**
 * {@code java -jar hyprstream.jar args...} in a real pseudo-terminal, as a person at a terminal
 * runs it: util-linux {@code script} allocates the pty (sized 120x40 with {@code stty}, since a pty
 * made for a pipe has no size) and relays what the test types. What the program writes is kept,
 * with terminal escape sequences and carriage returns removed.
 *
 * <p>Needs {@code script} on the PATH: without it the test is skipped, or fails when {@code
 * CI=true}.
 */
final class TerminalSession implements AutoCloseable {
  /** CSI sequences ({@code ESC [ ? 2004 h}) and the two-byte keypad ones ({@code ESC =}). */
  private static final Pattern ESCAPES = Pattern.compile("\u001B\\[[?0-9;]*[A-Za-z]|\u001B[=>]");

  private final Process process;
  private final OutputStream keyboard;
  private final StringBuffer screen = new StringBuffer();
  private final Thread pump;

  private TerminalSession(Process process) {
    this.process = process;
    this.keyboard = process.getOutputStream();
    this.pump = new Thread(this::pumpScreen, "pty-screen");
    pump.setDaemon(true);
    pump.start();
  }

  /** Starts {@code hyprstream args} on a terminal of its own, with {@code env} added. */
  static TerminalSession start(List<String> args, Map<String, String> env) {
    Path script = Path.of("/usr/bin/script");
    if (!Files.isExecutable(script)) {
      String why = "util-linux `script` is needed to give the shell a pseudo-terminal";
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        throw new IllegalStateException(why + " (CI=true: the terminal tests must run)");
      }
      assumeTrue(false, why + " (set CI=true to make this a failure)");
    }
    ProcessBuilder pb = ShippedJar.processBuilder(args, env);
    pb.environment().put("TERM", "xterm");
    List<String> quoted = new ArrayList<>();
    for (String word : pb.command()) {
      quoted.add("'" + word.replace("'", "'\\''") + "'");
    }
    pb.command(
        script.toString(),
        "--quiet",
        "--flush",
        "--return",
        "--command",
        "stty cols 120 rows 40; exec " + String.join(" ", quoted),
        "/dev/null");
    pb.redirectErrorStream(true);
    try {
      return new TerminalSession(pb.start());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void pumpScreen() {
    byte[] buffer = new byte[8192];
    try (InputStream in = process.getInputStream()) {
      int n;
      while ((n = in.read(buffer)) >= 0) {
        screen.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
      }
    } catch (IOException ignored) {
      // The terminal closed; what it showed is kept.
    }
  }

  /** Everything shown so far, without escape sequences and carriage returns. */
  String screen() {
    return ESCAPES.matcher(screen).replaceAll("").replace("\r", "");
  }

  /** Types {@code keys} (a line ends with {@code \n}, which the pty delivers as Enter). */
  void type(String keys) {
    try {
      keyboard.write(keys.getBytes(StandardCharsets.UTF_8));
      keyboard.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Waits until {@code text} shows {@code times} times; fails with the screen after a minute. */
  void await(String text, int times) {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
    while (count(screen(), text) < times) {
      if (!process.isAlive()) {
        join(pump);
        if (count(screen(), text) >= times) {
          return;
        }
        throw new AssertionError(
            "the shell ended (exit "
                + process.exitValue()
                + ") before showing '"
                + text
                + "' "
                + times
                + " time(s); the screen:\n"
                + screen());
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "'" + text + "' was not shown " + times + " time(s); the screen:\n" + screen());
      }
      sleep(20);
    }
  }

  private static void join(Thread t) {
    try {
      t.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static int count(String haystack, String needle) {
    int n = 0;
    for (int at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) {
      n++;
    }
    return n;
  }

  /** Waits for the program to end and returns its exit code. */
  int awaitExit(Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError("the shell did not end within " + timeout + ":\n" + screen());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    join(pump);
    return process.exitValue();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Kills what is left of the program and its terminal. */
  @Override
  public void close() {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
  }
}
