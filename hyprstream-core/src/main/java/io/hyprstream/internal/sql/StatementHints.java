package io.hyprstream.internal.sql;

import java.time.Duration;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Hints written in comments, such as {@code /*+ max_staleness=5s *}{@code /}. DuckDB's parse tree
 * drops comments, so this is the one place that reads statement text itself: it only finds comments
 * (outside string literals and quoted names) and reads a hint from their body.
 */
final class StatementHints {
  private StatementHints() {}

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
   * text, skipping literals.
   */
  static @Nullable Duration maxStaleness(String sql) {
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
}
