package io.hyprstream.flight.internal.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Runs a script: SQL statements separated by {@code ;} and backslash commands on lines of their
 * own, read to the end (standard input, or the statement given as an argument). A failed statement
 * is reported with its line and the script goes on; the exit code says whether any failed.
 */
final class ScriptRunner {
  private static final String PREFIX = "hyprstream sql: ";

  private final StatementRunner statements;
  private final BackslashCommands commands;
  private final ShellOutput output;
  private final boolean numberLines;
  private boolean failed;

  /**
   * @param numberLines whether errors name the line of the statement ({@code hyprstream sql: line
   *     3: }); a one-line argument has no use for it
   */
  ScriptRunner(
      StatementRunner statements,
      BackslashCommands commands,
      ShellOutput output,
      boolean numberLines) {
    this.statements = statements;
    this.commands = commands;
    this.output = output;
    this.numberLines = numberLines;
  }

  /** Runs everything {@code in} holds; returns 0 when every statement succeeded, else 1. */
  int run(BufferedReader in) {
    StatementSplitter splitter = new StatementSplitter();
    int lineNumber = 0;
    try {
      String line;
      while ((line = in.readLine()) != null) {
        lineNumber++;
        if (!splitter.isInsideQuoteOrComment() && BackslashCommands.isCommand(line)) {
          if (splitter.hasPendingStatement()) {
            failed = true;
            output
                .err()
                .println(
                    where(splitter.pendingLine())
                        + "the statement has no ';' before the command on line "
                        + lineNumber
                        + "; it was not run");
            splitter.discard();
          }
          BackslashCommands.Outcome outcome = commands.run(line, where(lineNumber));
          if (outcome == BackslashCommands.Outcome.QUIT) {
            return exitCode();
          }
          failed |= outcome == BackslashCommands.Outcome.FAILED;
          splitter.add("\n");
          continue;
        }
        for (StatementSplitter.Statement s : splitter.add(line + "\n")) {
          run(s);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    StatementSplitter.Statement last = splitter.finish();
    if (last != null) {
      run(last);
    }
    return exitCode();
  }

  private void run(StatementSplitter.Statement s) {
    failed |= !statements.run(s.text(), where(s.line()));
  }

  private String where(int line) {
    return numberLines ? PREFIX + "line " + line + ": " : PREFIX;
  }

  private int exitCode() {
    output.out().flush();
    return failed ? 1 : 0;
  }
}
