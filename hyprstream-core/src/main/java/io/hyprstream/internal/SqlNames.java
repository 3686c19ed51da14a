package io.hyprstream.internal;

import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * The names a SQL statement mentions, found by a small lexer that skips string literals and
 * comments. It over-approximates (every word counts), which is safe for its one use: deciding which
 * tables must be flushed and which views synchronised before the statement runs.
 */
final class SqlNames {
  private SqlNames() {}

  /** Every identifier-like word and quoted identifier in {@code sql}, lower-cased. */
  static Set<String> words(String sql) {
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
   * The first word of the statement, upper-cased ("SELECT", "INSERT", ...), or "". Leading comments
   * and parentheses are skipped, so a comment cannot hide what a statement does.
   */
  static String verb(String sql) {
    int n = sql.length();
    int i = bodyStart(sql, true);
    int start = i;
    while (i < n && Character.isLetter(sql.charAt(i))) {
      i++;
    }
    return sql.substring(start, i).toUpperCase(Locale.ROOT);
  }

  /**
   * The index of the statement's first token after leading white space and comments (and opening
   * parentheses when {@code parentheses} is true).
   */
  static int bodyStart(String sql, boolean parentheses) {
    int n = sql.length();
    int i = 0;
    while (i < n) {
      char c = sql.charAt(i);
      if (Character.isWhitespace(c) || (parentheses && c == '(')) {
        i++;
      } else if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
        while (i < n && sql.charAt(i) != '\n') {
          i++;
        }
      } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
        int end = sql.indexOf("*/", i + 2);
        i = end < 0 ? n : end + 2;
      } else {
        break;
      }
    }
    return i;
  }

  /**
   * {@code sql} in the form the result cache keys on: comments dropped, runs of white space made
   * one space, words outside quotes lower-cased (DuckDB folds unquoted names), trailing {@code ;}
   * removed. Literals and quoted names are kept exactly.
   */
  static String normalize(String sql) {
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
