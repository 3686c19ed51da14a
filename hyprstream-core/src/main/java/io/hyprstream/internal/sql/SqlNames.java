package io.hyprstream.internal.sql;

import java.time.Duration;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The names a SQL statement mentions, found by a small lexer that skips string literals and
 * comments. It over-approximates (every word counts), which is safe for its one use: deciding which
 * tables must be flushed and which views synchronised before the statement runs.
 */
public final class SqlNames {
  private SqlNames() {}

  /** Every identifier-like word and quoted identifier in {@code sql}, lower-cased. */
  public static Set<String> words(String sql) {
    Set<String> out = new HashSet<>();
    int n = sql.length();
    int i = 0;
    while (i < n) {
      char c = sql.charAt(i);
      if (c == '\'') {
        i = skipQuoted(sql, i, '\'');
      } else if (c == '"') {
        int end = skipQuoted(sql, i, '"');
        out.add(
            sql.substring(i + 1, Math.max(i + 1, end - 1))
                .replace("\"\"", "\"")
                .toLowerCase(Locale.ROOT));
        i = end;
      } else if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
        while (i < n && sql.charAt(i) != '\n') {
          i++;
        }
      } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
        int end = sql.indexOf("*/", i + 2);
        i = end < 0 ? n : end + 2;
      } else if (Character.isLetter(c) || c == '_') {
        int start = i;
        while (i < n
            && (Character.isLetterOrDigit(sql.charAt(i))
                || sql.charAt(i) == '_'
                || sql.charAt(i) == '$')) {
          i++;
        }
        out.add(sql.substring(start, i).toLowerCase(Locale.ROOT));
      } else {
        i++;
      }
    }
    return out;
  }

  /** The index just past the quoted run starting at {@code start} (doubled quotes escape). */
  private static int skipQuoted(String sql, int start, char quote) {
    int i = start + 1;
    while (i < sql.length()) {
      if (sql.charAt(i) == quote) {
        if (i + 1 < sql.length() && sql.charAt(i + 1) == quote) {
          i += 2;
          continue;
        }
        return i + 1;
      }
      i++;
    }
    return sql.length();
  }

  /**
   * The result age a query accepts by a {@code /*+ max_staleness=5s *}{@code /} hint in a comment
   * ({@code ms}, {@code s}, {@code m} or {@code h}; seconds without a unit; {@code =} or {@code :}
   * optional, the value optionally in single quotes), or null when it has none. One pass over the
   * text: comments are found as {@link #words} finds them, skipping literals.
   */
  public static @Nullable Duration stalenessHint(String sql) {
    int n = sql.length();
    int i = 0;
    while (i < n) {
      char c = sql.charAt(i);
      if (c == '\'' || c == '"') {
        i = skipQuoted(sql, i, c);
      } else if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
        while (i < n && sql.charAt(i) != '\n') {
          i++;
        }
      } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
        int end = sql.indexOf("*/", i + 2);
        int stop = end < 0 ? n : end;
        Duration hint = hint(sql.substring(i + 2, stop));
        if (hint != null) {
          return hint;
        }
        i = end < 0 ? n : end + 2;
      } else {
        i++;
      }
    }
    return null;
  }

  /** The hint a comment's body holds: {@code [+] max_staleness [=|:] ['] digits [unit] [']}. */
  private static @Nullable Duration hint(String body) {
    String b = body.strip();
    if (b.startsWith("+")) {
      b = b.substring(1).stripLeading();
    }
    String key = "max_staleness";
    if (!b.regionMatches(true, 0, key, 0, key.length())) {
      return null;
    }
    b = b.substring(key.length()).stripLeading();
    if (b.startsWith("=") || b.startsWith(":")) {
      b = b.substring(1).stripLeading();
    }
    boolean quoted = b.startsWith("'");
    if (quoted) {
      b = b.substring(1);
    }
    int digits = 0;
    while (digits < b.length() && digits < 18 && Character.isDigit(b.charAt(digits))) {
      digits++;
    }
    if (digits == 0) {
      return null;
    }
    long amount = Long.parseLong(b.substring(0, digits));
    String rest = b.substring(digits).stripLeading();
    if (quoted && rest.endsWith("'")) {
      rest = rest.substring(0, rest.length() - 1).stripTrailing();
    }
    switch (rest.toLowerCase(Locale.ROOT)) {
      case "ms":
        return Duration.ofMillis(amount);
      case "":
      case "s":
        return Duration.ofSeconds(amount);
      case "m":
        return Duration.ofMinutes(amount);
      case "h":
        return Duration.ofHours(amount);
      default:
        return null;
    }
  }

  /**
   * {@code sql} in the form the result cache keys on: comments dropped, runs of white space made
   * one space, words outside quotes lower-cased (DuckDB folds unquoted names), trailing {@code ;}
   * removed. Literals and quoted names are kept exactly.
   */
  public static String normalize(String sql) {
    StringBuilder out = new StringBuilder(sql.length());
    int n = sql.length();
    int i = 0;
    boolean space = false;
    while (i < n) {
      char c = sql.charAt(i);
      if (c == '\'' || c == '"') {
        int end = skipQuoted(sql, i, c);
        if (space && out.length() > 0) {
          out.append(' ');
        }
        space = false;
        out.append(sql, i, end);
        i = end;
      } else if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
        while (i < n && sql.charAt(i) != '\n') {
          i++;
        }
        space = true;
      } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
        int end = sql.indexOf("*/", i + 2);
        i = end < 0 ? n : end + 2;
        space = true;
      } else if (Character.isWhitespace(c)) {
        space = true;
        i++;
      } else {
        if (space && out.length() > 0) {
          out.append(' ');
        }
        space = false;
        out.append(Character.toLowerCase(c));
        i++;
      }
    }
    int end = out.length();
    while (end > 0 && (out.charAt(end - 1) == ';' || out.charAt(end - 1) == ' ')) {
      end--;
    }
    out.setLength(end);
    return out.toString();
  }
}
