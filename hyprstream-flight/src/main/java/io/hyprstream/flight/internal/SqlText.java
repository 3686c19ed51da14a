package io.hyprstream.flight.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Just enough lexical analysis of SQL text for the server: whether a statement returns rows, where
 * its {@code ?} parameters are and what they are compared with, and whether it is a plain {@code
 * INSERT INTO t [(cols)] VALUES (?, ...)} that can be run as an ingest of the bound batch.
 */
public final class SqlText {
  private static final Set<String> QUERY_KEYWORDS =
      Set.of(
          "SELECT",
          "WITH",
          "FROM",
          "VALUES",
          "TABLE",
          "SHOW",
          "DESCRIBE",
          "DESC",
          "EXPLAIN",
          "SUMMARIZE",
          "PIVOT",
          "UNPIVOT",
          "(");
  private static final Set<String> COMPARISONS =
      Set.of("=", "==", "<>", "!=", "<", "<=", ">", ">=");

  /** A token kind. */
  enum Kind {
    WORD,
    QUOTED,
    STRING,
    NUMBER,
    SYMBOL,
    PARAM
  }

  /** One token: its kind and its text (unquoted for quoted identifiers). */
  static final class Token {
    final Kind kind;
    final String text;

    Token(Kind kind, String text) {
      this.kind = kind;
      this.text = text;
    }

    boolean isWord(String upper) {
      return kind == Kind.WORD && text.equalsIgnoreCase(upper);
    }

    boolean isSymbol(String s) {
      return kind == Kind.SYMBOL && text.equals(s);
    }

    boolean isIdentifier() {
      return kind == Kind.WORD || kind == Kind.QUOTED;
    }

    @Override
    public String toString() {
      return kind + ":" + text;
    }
  }

  private final List<Token> tokens;

  private SqlText(List<Token> tokens) {
    this.tokens = tokens;
  }

  /** Splits {@code sql} into tokens, dropping comments and white space. */
  public static SqlText parse(String sql) {
    return new SqlText(tokenize(sql));
  }

  /** Statements a leading WITH clause may introduce that return no rows. */
  private static final Set<String> WRITE_AFTER_WITH = Set.of("INSERT", "UPDATE", "DELETE", "MERGE");

  /**
   * True when the statement returns rows (SELECT, WITH ... SELECT, VALUES, SHOW ...); {@code WITH
   * ... INSERT} (or UPDATE, DELETE) is a statement, not a query.
   */
  public boolean isQuery() {
    if (tokens.isEmpty()) {
      return false;
    }
    Token first = tokens.get(0);
    if (first.isWord("WITH")) {
      int depth = 0;
      for (Token t : tokens) {
        if (t.isSymbol("(")) {
          depth++;
        } else if (t.isSymbol(")")) {
          depth--;
        } else if (depth == 0
            && t.kind == Kind.WORD
            && WRITE_AFTER_WITH.contains(t.text.toUpperCase(Locale.ROOT))) {
          return false;
        }
      }
    }
    return QUERY_KEYWORDS.contains(first.text.toUpperCase(Locale.ROOT))
        && (first.kind == Kind.WORD || first.isSymbol("("));
  }

  /** Words that make a statement change data or settings wherever they appear unquoted. */
  private static final Set<String> CHANGING_KEYWORDS =
      Set.of(
          "INSERT",
          "UPDATE",
          "DELETE",
          "MERGE",
          "UPSERT",
          "CREATE",
          "DROP",
          "ALTER",
          "TRUNCATE",
          "COPY",
          "ATTACH",
          "DETACH",
          "INSTALL",
          "LOAD",
          "IMPORT",
          "EXPORT",
          "PRAGMA",
          "SET",
          "RESET",
          "CALL",
          "CHECKPOINT",
          "VACUUM",
          "USE");

  /**
   * True when the statement is a query that cannot change anything: it returns rows and no unquoted
   * word in it starts a change ({@code INSERT ... RETURNING}, a second statement after a {@code
   * ;}). Errs on the side of refusing: a column named {@code update} must be quoted.
   */
  public boolean isReadOnlyQuery() {
    if (!isQuery()) {
      return false;
    }
    for (Token t : tokens) {
      if (t.kind == Kind.WORD && CHANGING_KEYWORDS.contains(t.text.toUpperCase(Locale.ROOT))) {
        return false;
      }
    }
    return true;
  }

  /** The number of {@code ?} parameters. */
  public int parameterCount() {
    int n = 0;
    for (Token t : tokens) {
      if (t.kind == Kind.PARAM) {
        n++;
      }
    }
    return n;
  }

  /** Every identifier in the statement, unquoted, in order (used to find the tables it names). */
  public List<String> identifiers() {
    List<String> out = new ArrayList<>();
    for (Token t : tokens) {
      if (t.isIdentifier()) {
        out.add(t.text);
      }
    }
    return out;
  }

  /** What a parameter is compared with or assigned to, as far as the text tells. */
  public static final class ParameterUse {
    private final @Nullable String column;
    private final boolean integer;

    ParameterUse(@Nullable String column, boolean integer) {
      this.column = column;
      this.integer = integer;
    }

    /** The column the parameter is compared with or assigned to, or null. */
    public @Nullable String column() {
      return column;
    }

    /** True for a LIMIT or OFFSET parameter. */
    public boolean isInteger() {
      return integer;
    }
  }

  /** One entry per {@code ?}, in order: the column each one meets, when the text says. */
  public List<ParameterUse> parameterUses() {
    List<ParameterUse> uses = new ArrayList<>();
    for (int i = 0; i < tokens.size(); i++) {
      if (tokens.get(i).kind == Kind.PARAM) {
        uses.add(useAt(i));
      }
    }
    return uses;
  }

  private ParameterUse useAt(int i) {
    Token prev = at(i - 1);
    if (prev != null && (prev.isWord("LIMIT") || prev.isWord("OFFSET"))) {
      return new ParameterUse(null, true);
    }
    // col <op> ?
    if (prev != null && prev.kind == Kind.SYMBOL && COMPARISONS.contains(prev.text)) {
      Token col = at(i - 2);
      if (col != null && col.isIdentifier()) {
        return new ParameterUse(col.text, false);
      }
    }
    // ? <op> col
    Token next = at(i + 1);
    if (next != null && next.kind == Kind.SYMBOL && COMPARISONS.contains(next.text)) {
      Token col = at(i + 2);
      if (col != null && col.isIdentifier() && !isKeywordAfterComparison(col)) {
        return new ParameterUse(col.text, false);
      }
    }
    // col [NOT] LIKE ?, col BETWEEN ? AND ?, col IN (?, ?, ...)
    int j = i - 1;
    while (j >= 0 && (at(j) != null) && (tokens.get(j).kind == Kind.PARAM || isComma(j))) {
      j--;
    }
    Token t = at(j);
    if (t != null && t.isSymbol("(")) {
      Token in = at(j - 1);
      if (in != null && in.isWord("IN")) {
        Token col = columnBefore(j - 2);
        return new ParameterUse(col == null ? null : col.text, false);
      }
    }
    if (prev != null && (prev.isWord("BETWEEN") || prev.isWord("LIKE") || prev.isWord("ILIKE"))) {
      Token col = columnBefore(i - 2);
      return new ParameterUse(col == null ? null : col.text, false);
    }
    if (prev != null && prev.isWord("AND")) {
      Token p = at(i - 2);
      Token between = at(i - 3);
      if (p != null && p.kind == Kind.PARAM && between != null && between.isWord("BETWEEN")) {
        Token col = columnBefore(i - 4);
        return new ParameterUse(col == null ? null : col.text, false);
      }
    }
    return new ParameterUse(null, false);
  }

  private static boolean isKeywordAfterComparison(Token t) {
    return t.kind == Kind.WORD
        && Set.of("ANY", "ALL", "SOME", "SELECT", "NULL").contains(t.text.toUpperCase(Locale.ROOT));
  }

  private @Nullable Token columnBefore(int k) {
    Token t = at(k);
    if (t != null && t.isWord("NOT")) {
      t = at(k - 1);
    }
    return t != null && t.isIdentifier() ? t : null;
  }

  private boolean isComma(int j) {
    return tokens.get(j).isSymbol(",");
  }

  private @Nullable Token at(int i) {
    return i >= 0 && i < tokens.size() ? tokens.get(i) : null;
  }

  /** A plain parameterised insert: {@code INSERT INTO t [(c1, ...)] VALUES (?, ...)}. */
  public static final class Insert {
    private final String table;
    private final @Nullable List<String> columns;
    private final int parameters;

    Insert(String table, @Nullable List<String> columns, int parameters) {
      this.table = table;
      this.columns = columns;
      this.parameters = parameters;
    }

    /** The target table, unquoted and without catalog or schema. */
    public String table() {
      return table;
    }

    /** The listed columns, or null when the statement lists none. */
    public @Nullable List<String> columns() {
      return columns;
    }

    /** The number of {@code ?}. */
    public int parameters() {
      return parameters;
    }
  }

  /**
   * The statement as a plain parameterised insert, or null when it is anything else (other values
   * than {@code ?}, several rows, SELECT, RETURNING, ON CONFLICT ...).
   */
  public @Nullable Insert asParameterisedInsert() {
    int i = 0;
    if (!word(i++, "INSERT") || !word(i++, "INTO")) {
      return null;
    }
    Token name = at(i++);
    if (name == null || !name.isIdentifier()) {
      return null;
    }
    String table = name.text;
    while (symbol(i, ".")) {
      Token part = at(i + 1);
      if (part == null || !part.isIdentifier()) {
        return null;
      }
      table = part.text;
      i += 2;
    }
    List<String> columns = null;
    if (symbol(i, "(")) {
      columns = new ArrayList<>();
      i++;
      while (true) {
        Token c = at(i++);
        if (c == null || !c.isIdentifier()) {
          return null;
        }
        columns.add(c.text);
        if (symbol(i, ",")) {
          i++;
        } else if (symbol(i, ")")) {
          i++;
          break;
        } else {
          return null;
        }
      }
    }
    if (!word(i++, "VALUES") || !symbol(i++, "(")) {
      return null;
    }
    int params = 0;
    while (true) {
      Token p = at(i++);
      if (p == null || p.kind != Kind.PARAM) {
        return null;
      }
      params++;
      if (symbol(i, ",")) {
        i++;
      } else if (symbol(i, ")")) {
        i++;
        break;
      } else {
        return null;
      }
    }
    if (symbol(i, ";")) {
      i++;
    }
    if (i != tokens.size()) {
      return null;
    }
    if (columns != null && columns.size() != params) {
      return null;
    }
    return new Insert(table, columns, params);
  }

  private boolean word(int i, String upper) {
    Token t = at(i);
    return t != null && t.isWord(upper);
  }

  private boolean symbol(int i, String s) {
    Token t = at(i);
    return t != null && t.isSymbol(s);
  }

  /** Quotes {@code name} as a SQL identifier. */
  public static String quoteIdentifier(String name) {
    return '"' + name.replace("\"", "\"\"") + '"';
  }

  /**
   * True when {@code value} matches the SQL LIKE {@code pattern} ({@code %} any run, {@code _} one
   * character, backslash escapes), as Flight SQL's metadata filters use it.
   */
  public static boolean like(String value, String pattern) {
    StringBuilder regex = new StringBuilder();
    for (int i = 0; i < pattern.length(); i++) {
      char c = pattern.charAt(i);
      if (c == '\\' && i + 1 < pattern.length()) {
        regex.append(Pattern.quote(String.valueOf(pattern.charAt(++i))));
      } else if (c == '%') {
        regex.append(".*");
      } else if (c == '_') {
        regex.append('.');
      } else {
        regex.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return Pattern.compile(regex.toString(), Pattern.DOTALL).matcher(value).matches();
  }

  static List<Token> tokenize(String sql) {
    List<Token> out = new ArrayList<>();
    int n = sql.length();
    int i = 0;
    while (i < n) {
      char c = sql.charAt(i);
      if (Character.isWhitespace(c)) {
        i++;
      } else if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
        while (i < n && sql.charAt(i) != '\n') {
          i++;
        }
      } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
        int end = sql.indexOf("*/", i + 2);
        i = end < 0 ? n : end + 2;
      } else if (c == '\'' || c == '"') {
        StringBuilder text = new StringBuilder();
        i++;
        while (i < n) {
          char d = sql.charAt(i);
          if (d == c) {
            if (i + 1 < n && sql.charAt(i + 1) == c) {
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
        out.add(new Token(c == '"' ? Kind.QUOTED : Kind.STRING, text.toString()));
      } else if (c == '?') {
        out.add(new Token(Kind.PARAM, "?"));
        i++;
      } else if (Character.isLetter(c) || c == '_') {
        int start = i;
        while (i < n && (Character.isLetterOrDigit(sql.charAt(i)) || sql.charAt(i) == '_')) {
          i++;
        }
        out.add(new Token(Kind.WORD, sql.substring(start, i)));
      } else if (Character.isDigit(c)) {
        int start = i;
        while (i < n && (Character.isLetterOrDigit(sql.charAt(i)) || sql.charAt(i) == '.')) {
          i++;
        }
        out.add(new Token(Kind.NUMBER, sql.substring(start, i)));
      } else {
        String two = i + 1 < n ? sql.substring(i, i + 2) : "";
        if (two.equals("<=")
            || two.equals(">=")
            || two.equals("<>")
            || two.equals("!=")
            || two.equals("==")
            || two.equals("::")) {
          out.add(new Token(Kind.SYMBOL, two));
          i += 2;
        } else {
          out.add(new Token(Kind.SYMBOL, String.valueOf(c)));
          i++;
        }
      }
    }
    return out;
  }
}
