package io.hyprstream.internal.sql;

import java.time.Duration;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Hints written in comments, such as {@code /*+ max_staleness=5s *}{@code /}. DuckDB's parse tree
 * drops comments, so the hints are read from the comments {@link SqlTokens} finds (outside string
 * literals and quoted names).
 */
final class StatementHints {
  private StatementHints() {}

  /**
   * The result age a query accepts by a {@code /*+ max_staleness=5s *}{@code /} hint in a comment
   * ({@code ms}, {@code s}, {@code m} or {@code h}; seconds without a unit; {@code =} or {@code :}
   * optional, the value optionally in single quotes), or null when it has none.
   */
  static @Nullable Duration maxStaleness(String sql) {
    for (SqlTokens.Token t : SqlTokens.tokenize(sql)) {
      if (t.kind() == SqlTokens.Kind.COMMENT) {
        Duration hint = hint(t.text());
        if (hint != null) {
          return hint;
        }
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
