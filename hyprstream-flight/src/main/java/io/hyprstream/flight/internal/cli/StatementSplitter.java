package io.hyprstream.flight.internal.cli;

import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Cuts SQL text into statements at the semicolons that end them, fed a line at a time: a {@code ;}
 * inside a string ({@code '...'}, {@code E'...'}, {@code $tag$...$tag$}), a quoted identifier or a
 * comment ({@code --}, nested block comments) does not end a statement.
 *
 * <p>Only where statements end is decided here, as psql does on its side of the wire; the text of
 * each statement goes to the server unchanged, and the server's parser (DuckDB's) says what it
 * means and whether it is valid.
 */
final class StatementSplitter {
  /** A statement without its {@code ;}, and the line (from 1) where its text starts. */
  record Statement(String text, int line) {}

  private enum State {
    CODE,
    STRING,
    ESCAPE_STRING,
    IDENTIFIER,
    LINE_COMMENT,
    BLOCK_COMMENT,
    DOLLAR_STRING
  }

  private final StringBuilder pending = new StringBuilder();
  private State state = State.CODE;
  private int commentDepth;
  private String dollarTag = "";
  private int line = 1;
  private int startLine;

  /** Whether the pending text holds more than white space and comments. */
  private boolean hasContent;

  /**
   * Adds {@code text} (one or more whole lines, each ended by {@code \n}) and returns the
   * statements it completed, in order; the unfinished rest stays pending.
   */
  List<Statement> add(String text) {
    List<Statement> done = new ArrayList<>();
    int n = text.length();
    for (int i = 0; i < n; i++) {
      char c = text.charAt(i);
      char next = i + 1 < n ? text.charAt(i + 1) : '\0';
      switch (state) {
        case CODE:
          if (c == ';') {
            if (hasContent) {
              done.add(new Statement(pending.toString().strip(), startLine));
            }
            pending.setLength(0);
            hasContent = false;
            countLine(c);
            continue;
          }
          if (c == '-' && next == '-') {
            state = State.LINE_COMMENT;
          } else if (c == '/' && next == '*') {
            state = State.BLOCK_COMMENT;
            commentDepth = 1;
            pending.append(c).append(next);
            i++;
            continue;
          } else if (!Character.isWhitespace(c)) {
            if (!hasContent) {
              // Leading white space and comments are not sent: the statement starts here.
              pending.setLength(0);
              hasContent = true;
              startLine = line;
            }
            if (c == '\'') {
              state = isEscapeStringPrefix() ? State.ESCAPE_STRING : State.STRING;
            } else if (c == '"') {
              state = State.IDENTIFIER;
            } else if (c == '$') {
              String tag = dollarTag(text, i, lastPending(0));
              if (tag != null) {
                state = State.DOLLAR_STRING;
                dollarTag = tag;
                pending.append(tag);
                i += tag.length() - 1;
                continue;
              }
            }
          }
          break;
        case STRING:
          if (c == '\'') {
            if (next == '\'') {
              pending.append(c);
              i++;
            } else {
              state = State.CODE;
            }
          }
          break;
        case ESCAPE_STRING:
          if (c == '\\' && i + 1 < n) {
            pending.append(c);
            c = next;
            i++;
          } else if (c == '\'') {
            if (next == '\'') {
              pending.append(c);
              i++;
            } else {
              state = State.CODE;
            }
          }
          break;
        case IDENTIFIER:
          if (c == '"') {
            state = State.CODE; // "" re-enters at once: the next quote opens it again
          }
          break;
        case LINE_COMMENT:
          if (c == '\n') {
            state = State.CODE;
          }
          break;
        case BLOCK_COMMENT:
          if (c == '*' && next == '/') {
            pending.append(c).append(next);
            i++;
            if (--commentDepth == 0) {
              state = State.CODE;
            }
            continue;
          } else if (c == '/' && next == '*') {
            pending.append(c).append(next);
            i++;
            commentDepth++;
            continue;
          }
          break;
        case DOLLAR_STRING:
          if (c == '$' && text.startsWith(dollarTag, i)) {
            pending.append(dollarTag);
            i += dollarTag.length() - 1;
            state = State.CODE;
            continue;
          }
          break;
      }
      pending.append(c);
      countLine(c);
    }
    return done;
  }

  private void countLine(char c) {
    if (c == '\n') {
      line++;
    }
  }

  /** A character already read ({@code back} before the current one), or NUL before the start. */
  private char lastPending(int back) {
    int at = pending.length() - 1 - back;
    return at >= 0 ? pending.charAt(at) : '\0';
  }

  /**
   * True when the {@code '} being read opens {@code E'...'}: the text before it is a word {@code
   * E}.
   */
  private boolean isEscapeStringPrefix() {
    char before = lastPending(0);
    return (before == 'E' || before == 'e') && !isWordChar(lastPending(1));
  }

  /**
   * The opening {@code $tag$} at {@code i}, or null when the {@code $} is something else (a
   * positional parameter {@code $1}, or part of a word).
   */
  private static @Nullable String dollarTag(String text, int i, char before) {
    if (isWordChar(before)) {
      return null;
    }
    int j = i + 1;
    while (j < text.length() && isWordChar(text.charAt(j))) {
      j++;
    }
    if (j >= text.length() || text.charAt(j) != '$') {
      return null;
    }
    if (j > i + 1 && Character.isDigit(text.charAt(i + 1))) {
      return null;
    }
    return text.substring(i, j + 1);
  }

  private static boolean isWordChar(char c) {
    return Character.isLetterOrDigit(c) || c == '_';
  }

  /**
   * Whether nothing but white space and comments is pending, outside any string or block comment: a
   * line added now starts fresh (where a backslash command may stand).
   */
  boolean isIdle() {
    return !hasContent && (state == State.CODE || state == State.LINE_COMMENT);
  }

  /** Whether the text so far ends inside a string, quoted identifier or block comment. */
  boolean isInsideQuoteOrComment() {
    return state != State.CODE && state != State.LINE_COMMENT;
  }

  /** The line (from 1) where the pending statement starts; meaningful when something is pending. */
  int pendingLine() {
    return startLine;
  }

  /** Whether a statement has begun and not ended. */
  boolean hasPendingStatement() {
    return hasContent;
  }

  /** Forgets the pending text (the line count goes on). */
  void discard() {
    pending.setLength(0);
    hasContent = false;
    state = State.CODE;
    commentDepth = 0;
  }

  /**
   * The unfinished statement at the end of input (a script's last statement may lack its {@code
   * ;}), or null when only white space and comments are left.
   */
  @Nullable Statement finish() {
    Statement last = hasContent ? new Statement(pending.toString().strip(), startLine) : null;
    discard();
    return last;
  }
}
