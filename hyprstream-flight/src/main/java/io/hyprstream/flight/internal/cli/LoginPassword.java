package io.hyprstream.flight.internal.cli;

import java.io.Console;
import java.io.PrintStream;
import java.util.Map;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.reader.impl.LineReaderImpl;
import org.jline.terminal.Terminal;
import org.jspecify.annotations.Nullable;

/**
 * The password of {@code hyprstream sql --user NAME}: {@code HYPRSTREAM_PASSWORD} when set
 * (scripts, CI), else typed at the terminal without echo.
 */
final class LoginPassword {
  /** The environment variable holding the password. */
  static final String ENV = "HYPRSTREAM_PASSWORD";

  private LoginPassword() {}

  /**
   * The password for {@code settings.user()}, or null without a user. Warns on {@code err} when the
   * password would travel unencrypted beyond loopback, and when {@value #ENV} is set without a
   * user.
   *
   * @param term the shell's terminal, or null when standard input is a script
   * @throws IllegalStateException when a password is needed and there is no way to ask for it
   */
  static @Nullable String read(
      ServerConnection.Settings settings,
      Map<String, String> env,
      @Nullable Terminal term,
      PrintStream err) {
    String name = settings.user();
    String fromEnv = env.get(ENV);
    if (name == null) {
      if (fromEnv != null) {
        err.println(
            "hyprstream sql: warning: " + ENV + " is set but --user is not; not logging in");
      }
      return null;
    }
    if (!settings.tls() && !isLoopback(settings.host())) {
      err.println(
          "hyprstream sql: warning: the password goes to "
              + settings.uri()
              + " unencrypted; use --tls (or --tls-ca FILE)");
    }
    if (fromEnv != null) {
      return fromEnv;
    }
    String prompt = "Password for " + name + ": ";
    if (term != null) {
      // A reader of its own: no history, and none of the shell's rules about where input ends.
      LineReader reader =
          LineReaderBuilder.builder()
              .terminal(term)
              .variable(LineReader.DISABLE_HISTORY, true)
              .build();
      try {
        return reader.readLine(prompt, LineReaderImpl.NULL_MASK);
      } catch (UserInterruptException | EndOfFileException e) {
        throw new IllegalStateException("no password given", e);
      }
    }
    Console console = System.console();
    if (console != null) {
      char[] typed = console.readPassword(prompt);
      if (typed == null) {
        throw new IllegalStateException("no password given");
      }
      return new String(typed);
    }
    throw new IllegalStateException(
        "--user "
            + name
            + " needs a password: set "
            + ENV
            + " (standard input is the script, and there is no terminal to ask on)");
  }

  private static boolean isLoopback(String host) {
    return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
  }
}
