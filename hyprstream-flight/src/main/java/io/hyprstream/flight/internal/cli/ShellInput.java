package io.hyprstream.flight.internal.cli;

import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What the user typed at the prompt, once it is complete: the statements it ends with {@code ;},
 * and a backslash command when its last line is one. Input is complete when it ends a statement, is
 * blank, or ends with a command line (outside any string or comment); until then the shell shows a
 * continuation prompt.
 *
 * @param unfinished text of a statement begun but not ended before the command, which is dropped
 */
record ShellInput(
    List<StatementSplitter.Statement> statements,
    @Nullable String command,
    @Nullable String unfinished) {

  /** Whether {@code buffer} is ready to run. */
  static boolean isComplete(String buffer) {
    return parse(buffer) != null;
  }

  /** {@code buffer} cut into statements and a command, or null while a statement is unfinished. */
  static @Nullable ShellInput parse(String buffer) {
    int lastLineStart = buffer.lastIndexOf('\n') + 1;
    String lastLine = buffer.substring(lastLineStart);
    StatementSplitter splitter = new StatementSplitter();
    List<StatementSplitter.Statement> statements =
        new ArrayList<>(splitter.add(buffer.substring(0, lastLineStart)));
    if (!splitter.isInsideQuoteOrComment() && BackslashCommands.isCommand(lastLine)) {
      StatementSplitter.Statement rest = splitter.finish();
      return new ShellInput(statements, lastLine.strip(), rest == null ? null : rest.text());
    }
    statements.addAll(splitter.add(lastLine + "\n"));
    return splitter.isIdle() ? new ShellInput(statements, null, null) : null;
  }
}
