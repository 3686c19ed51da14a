package io.hyprstream.flight.internal.cli;

import java.io.PrintStream;

/**
 * The shell's own commands, psql's names: {@code \d}, {@code \d NAME}, {@code \?} and {@code \q}.
 * They stand alone on a line, outside any statement; in a script too.
 */
final class BackslashCommands {
  /** What a command asks of the session. */
  enum Outcome {
    DONE,
    FAILED,
    QUIT
  }

  static final String HELP =
      """
      SQL statements end with ';' and may span lines. Commands:
        \\d          list tables, views and system tables
        \\d NAME     describe one: columns, types and whether they may be NULL
        \\?          this help
        \\q          quit (Ctrl-D too)""";

  private final SchemaBrowser browser;
  private final PrintStream out;
  private final PrintStream err;

  BackslashCommands(SchemaBrowser browser, PrintStream out, PrintStream err) {
    this.browser = browser;
    this.out = out;
    this.err = err;
  }

  /** True when {@code line} is a command rather than SQL. */
  static boolean isCommand(String line) {
    return line.strip().startsWith("\\");
  }

  /** Runs the command on {@code line}; failures are printed after {@code where}. */
  Outcome run(String line, String where) {
    String text = line.strip();
    // A trailing ';' is a habit from SQL (`\d metrics;`), not part of the command.
    if (text.endsWith(";")) {
      text = text.substring(0, text.length() - 1).strip();
    }
    int space = indexOfWhitespace(text);
    String name = space < 0 ? text : text.substring(0, space);
    String argument = space < 0 ? "" : text.substring(space).strip();
    return switch (name) {
      case "\\q" -> Outcome.QUIT;
      case "\\?" -> {
        out.println(HELP);
        out.flush();
        yield Outcome.DONE;
      }
      case "\\d" -> {
        boolean ok = argument.isEmpty() ? browser.list(where) : browser.describe(argument, where);
        yield ok ? Outcome.DONE : Outcome.FAILED;
      }
      default -> {
        err.println(where + "unknown command " + name + " (\\? lists the commands)");
        err.flush();
        yield Outcome.FAILED;
      }
    };
  }

  private static int indexOfWhitespace(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (Character.isWhitespace(s.charAt(i))) {
        return i;
      }
    }
    return -1;
  }
}
