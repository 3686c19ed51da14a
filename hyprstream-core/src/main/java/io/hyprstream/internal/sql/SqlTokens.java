package io.hyprstream.internal.sql;

import java.util.ArrayList;
import java.util.List;

/**
 * The one lexer for the statement text DuckDB's parse tree does not give us: comments (where hints
 * live), the head of an {@code INSERT} (DuckDB serialises only SELECT), parenthesis depth (checked
 * before DuckDB parses, since deep nesting crashes its parser) and the {@code ?} placeholders a
 * backend without parameters needs inlined. It knows string literals, quoted identifiers,
 * dollar-quoted strings and both comment forms, so none of those users mistakes a quoted {@code (},
 * {@code ?} or {@code INSERT} for syntax.
 */
final class SqlTokens {
  private SqlTokens() {}

  enum Kind {
    /** An unquoted word: a keyword or a name, case kept. */
    WORD,
    /** A double-quoted identifier; its text is unquoted. */
    QUOTED,
    /** A string literal (its text unquoted) or a dollar-quoted string (its text as written). */
    STRING,
    /** A {@code --} or {@code /* *}{@code /} comment; its text is the body. */
    COMMENT,
    /** Any other single character outside white space. */
    SYMBOL
  }

  /** One token: its kind, its text, and where it starts and ends ({@code [start, end)}). */
  record Token(Kind kind, String text, int start, int end) {
    boolean isWord(String upper) {
      return kind == Kind.WORD && text.equalsIgnoreCase(upper);
    }

    boolean isSymbol(String s) {
      return kind == Kind.SYMBOL && text.equals(s);
    }

    boolean isIdentifier() {
      return kind == Kind.WORD || kind == Kind.QUOTED;
    }

    int depthChange() {
      return isSymbol("(") ? 1 : isSymbol(")") ? -1 : 0;
    }
  }

  /** Every token of {@code sql}, comments included, white space left out. */
  static List<Token> tokenize(String sql) {
    List<Token> out = new ArrayList<>();
    int n = sql.length();
    int i = 0;
    while (i < n) {
      char c = sql.charAt(i);
      int start = i;
      if (Character.isWhitespace(c)) {
        i++;
      } else if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
        int end = sql.indexOf('\n', i);
        i = end < 0 ? n : end;
        out.add(new Token(Kind.COMMENT, sql.substring(start + 2, i), start, i));
      } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
        int end = sql.indexOf("*/", i + 2);
        i = end < 0 ? n : end + 2;
        out.add(new Token(Kind.COMMENT, sql.substring(start + 2, end < 0 ? n : end), start, i));
      } else if (c == '\'' || c == '"') {
        StringBuilder text = new StringBuilder();
        i++;
        while (i < n) {
          char d = sql.charAt(i);
          if (d == c) {
            if (i + 1 < n && sql.charAt(i + 1) == c) { // a doubled quote is one quote
              text.append(c);
              i += 2;
              continue;
            }
            i++;
            break;
          }
          text.append(d);
          i++;
        }
        out.add(new Token(c == '"' ? Kind.QUOTED : Kind.STRING, text.toString(), start, i));
      } else if (c == '$' && dollarTagEnd(sql, i) > 0) {
        // A dollar-quoted string ($$...$$ or $tag$...$tag$): its text is no keyword.
        int tagEnd = dollarTagEnd(sql, i);
        String tag = sql.substring(i, tagEnd);
        int close = sql.indexOf(tag, tagEnd);
        i = close < 0 ? n : close + tag.length();
        out.add(new Token(Kind.STRING, sql.substring(start, i), start, i));
      } else if (Character.isLetter(c) || c == '_') {
        while (i < n
            && (Character.isLetterOrDigit(sql.charAt(i))
                || sql.charAt(i) == '_'
                || sql.charAt(i) == '$')) {
          i++;
        }
        out.add(new Token(Kind.WORD, sql.substring(start, i), start, i));
      } else {
        i++;
        out.add(new Token(Kind.SYMBOL, String.valueOf(c), start, i));
      }
    }
    return out;
  }

  /** The deepest parenthesis nesting outside string literals, quoted names and comments. */
  static int nesting(String sql) {
    int depth = 0;
    int max = 0;
    for (Token t : tokenize(sql)) {
      depth = Math.max(0, depth + t.depthChange());
      max = Math.max(max, depth);
    }
    return max;
  }

  /** The index just past a dollar-quote opening tag at {@code i}, or -1 when there is none. */
  private static int dollarTagEnd(String sql, int i) {
    int j = i + 1;
    while (j < sql.length() && (Character.isLetterOrDigit(sql.charAt(j)) || sql.charAt(j) == '_')) {
      j++;
    }
    return j < sql.length() && sql.charAt(j) == '$' ? j + 1 : -1;
  }
}
