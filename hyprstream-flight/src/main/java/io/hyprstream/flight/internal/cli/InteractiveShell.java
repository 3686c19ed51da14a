package io.hyprstream.flight.internal.cli;

import java.nio.file.Path;
import org.jline.reader.EOFError;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.ParsedLine;
import org.jline.reader.UserInterruptException;
import org.jline.reader.impl.DefaultParser;
import org.jline.terminal.Terminal;
import org.jspecify.annotations.Nullable;

/**
 * The interactive {@code hyprstream sql}: a prompt with line editing and history (JLine), where a
 * statement may span lines until its {@code ;}, and the backslash commands. Errors are printed and
 * the session goes on; {@code \q} or Ctrl-D ends it, Ctrl-C drops the line being typed.
 */
final class InteractiveShell {
  static final String PROMPT = "hyprstream> ";

  /** Pads to the prompt's width: {@code " -> "} under {@code "hyprstream> "}. */
  private static final String CONTINUATION = "%P -> ";

  private final LineReader reader;
  private final StatementRunner statements;
  private final BackslashCommands commands;
  private final ShellOutput output;

  InteractiveShell(
      LineReader reader,
      StatementRunner statements,
      BackslashCommands commands,
      ShellOutput output) {
    this.reader = reader;
    this.statements = statements;
    this.commands = commands;
    this.output = output;
  }

  /** A line reader on {@code terminal} keeping its history in {@code historyFile} (none: none). */
  static LineReader reader(Terminal terminal, @Nullable Path historyFile) {
    LineReaderBuilder builder =
        LineReaderBuilder.builder()
            .terminal(terminal)
            .appName("hyprstream")
            .parser(new StatementParser())
            .variable(LineReader.SECONDARY_PROMPT_PATTERN, CONTINUATION)
            // `!` starts csh-style history expansion by default, which would rewrite `a != b`.
            .option(LineReader.Option.DISABLE_EVENT_EXPANSION, true)
            // Tab inserts itself inside SQL text rather than listing completions of nothing.
            .option(LineReader.Option.INSERT_TAB, true);
    if (historyFile != null) {
      builder.variable(LineReader.HISTORY_FILE, historyFile);
    }
    return builder.build();
  }

  /** Prints {@code banner}, then reads and runs input until {@code \q} or end of input. */
  void run(String banner) {
    output.out().println(banner);
    output.out().flush();
    while (true) {
      String buffer;
      try {
        buffer = reader.readLine(PROMPT);
      } catch (UserInterruptException e) {
        continue;
      } catch (EndOfFileException e) {
        return;
      }
      ShellInput input = ShellInput.parse(buffer);
      if (input == null) {
        // Only at end of input, where JLine hands over what it has.
        output.err().println("(the unfinished statement was not run: it has no ';')");
        return;
      }
      for (StatementSplitter.Statement s : input.statements()) {
        statements.run(s.text(), "ERROR: ");
      }
      String command = input.command();
      if (command == null) {
        continue;
      }
      if (input.unfinished() != null) {
        output.err().println("(the unfinished statement before " + command + " was dropped)");
      }
      if (commands.run(command, "ERROR: ") == BackslashCommands.Outcome.QUIT) {
        return;
      }
    }
  }

  /**
   * JLine's parser, told where statements end: Enter on an unfinished statement opens a
   * continuation line instead of accepting the buffer. Quotes and backslashes are SQL's business
   * ({@link StatementSplitter}'s), not the word splitting JLine does for completion.
   */
  private static final class StatementParser extends DefaultParser {
    StatementParser() {
      setQuoteChars(new char[0]);
      setEscapeChars(new char[0]);
      setEofOnUnclosedQuote(false);
      setEofOnEscapedNewLine(false);
    }

    @Override
    public ParsedLine parse(String line, int cursor, ParseContext context) {
      if (context == ParseContext.ACCEPT_LINE && !ShellInput.isComplete(line)) {
        throw new EOFError(-1, -1, "the statement has no ';' yet", ";");
      }
      return super.parse(line, cursor, context);
    }
  }
}
