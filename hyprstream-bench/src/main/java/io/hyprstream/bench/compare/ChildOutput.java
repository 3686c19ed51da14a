package io.hyprstream.bench.compare;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The output of a server started as a child process, read to its end on a daemon thread (a child
 * whose pipe fills up stops), kept up to 64 KiB for error messages, and watched for the line that
 * says where it listens.
 */
final class ChildOutput {
  private static final int KEPT_CHARS = 64 * 1024;

  private final StringBuilder text = new StringBuilder();
  private final CompletableFuture<Matcher> listening = new CompletableFuture<>();

  private ChildOutput() {}

  /**
   * Starts reading {@code process}'s output (its standard error redirected into it) on a thread
   * named {@code threadName}, watching for the first line {@code listeningLine} finds a match in;
   * {@code name} says which server in the error if it exits first.
   */
  static ChildOutput follow(
      Process process, Pattern listeningLine, String name, String threadName) {
    ChildOutput out = new ChildOutput();
    Thread pump =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                  synchronized (out.text) {
                    if (out.text.length() < KEPT_CHARS) {
                      out.text.append(line).append('\n');
                    }
                  }
                  Matcher m = listeningLine.matcher(line);
                  if (m.find()) {
                    out.listening.complete(m);
                  }
                }
              } catch (IOException e) {
                // the process ended; the wait below reports it
              }
              out.listening.completeExceptionally(
                  new IllegalStateException(name + " exited before listening:\n" + out.text()));
            },
            threadName);
    pump.setDaemon(true);
    pump.start();
    return out;
  }

  /** The match of the listening line, once the child printed it. */
  Matcher awaitListening(Duration timeout) throws Exception {
    return listening.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** What the child printed so far (its first 64 KiB). */
  String text() {
    synchronized (text) {
      return text.toString();
    }
  }
}
