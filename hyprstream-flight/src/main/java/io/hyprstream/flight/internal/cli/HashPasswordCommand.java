package io.hyprstream.flight.internal.cli;

import io.hyprstream.flight.policy.Authentication;
import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code hyprstream hash-password}: reads a password (from the terminal without echo, or one line
 * of standard input) and prints its bcrypt hash, for {@code [[auth.users]] password_hash}, {@code
 * --auth-user NAME:HASH:ROLE} or {@code HYPRSTREAM_AUTH_USERS}.
 */
@Command(
    name = "hash-password",
    mixinStandardHelpOptions = true,
    description = {
      "Prints the bcrypt hash of a password read from the terminal (or one line of standard"
          + " input), for a user in [[auth.users]], --auth-user or HYPRSTREAM_AUTH_USERS."
    })
final class HashPasswordCommand implements Callable<Integer> {
  @ParentCommand private @Nullable Main parent;

  @Option(
      names = "--cost",
      paramLabel = "N",
      description = "bcrypt cost, 4 to 31 (default 12: about a quarter second per check).")
  private int cost = Authentication.BCRYPT_COST;

  @Override
  public Integer call() throws IOException {
    Main parent =
        java.util.Objects.requireNonNull(this.parent, "run as a subcommand of hyprstream");
    if (cost < 4 || cost > 31) {
      parent.err().println("hyprstream hash-password: --cost must be between 4 and 31");
      return 2;
    }
    char[] password;
    Console console = System.console();
    if (console != null) {
      password = console.readPassword("Password: ");
    } else {
      BufferedReader in =
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      String line = in.readLine();
      password = line == null ? null : line.toCharArray();
    }
    if (password == null || password.length == 0) {
      parent.err().println("hyprstream hash-password: no password given");
      return 2;
    }
    parent.out().println(Authentication.hash(password, cost));
    java.util.Arrays.fill(password, '\0');
    return 0;
  }
}
