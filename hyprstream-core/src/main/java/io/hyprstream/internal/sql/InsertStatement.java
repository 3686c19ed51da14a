package io.hyprstream.internal.sql;

import io.hyprstream.internal.sql.SqlTokens.Kind;
import io.hyprstream.internal.sql.SqlTokens.Token;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The head of an SQL {@code INSERT}: its target table, its column list, and the text of the rows it
 * inserts ({@code VALUES ...} or a query), which is handed to DuckDB unchanged.
 *
 * <p>DuckDB's own parser is reachable from Java only through {@code json_serialize_sql}, and that
 * serialises SELECT statements only ("Only SELECT statements can be serialized to json!" in DuckDB
 * 2.0.0.1). So this class recognises just the prefix {@code [WITH ...] INSERT [OR action] INTO name
 * [AS alias] [(columns)] [BY NAME | BY POSITION]} over {@link SqlTokens} (quoted identifiers,
 * comments and {@code catalog.schema.table} names included) and leaves everything after it, the row
 * source, to DuckDB's parser: the engine checks with {@code json_serialize_sql} that it is exactly
 * one SELECT. Clauses that would make the statement more than "add these rows" ({@code ON
 * CONFLICT}, {@code RETURNING}, {@code OR REPLACE}, {@code DEFAULT VALUES}) are reported, not
 * interpreted.
 */
public final class InsertStatement {
  /** Words that start a row source where a parenthesis could also open a column list. */
  private static final Set<String> SOURCE_WORDS =
      Set.of("SELECT", "WITH", "VALUES", "FROM", "TABLE");

  /** {@link #unsupported} when another statement follows the INSERT. */
  public static final String MORE_STATEMENTS = "a second statement after the INSERT";

  public final @Nullable String catalog;
  public final @Nullable String schema;
  public final String table;

  /** The listed target columns, unquoted, or null when the statement lists none. */
  public final @Nullable List<String> columns;

  /** {@code BY NAME}: source columns are matched to table columns by their names. */
  public final boolean byName;

  /** The rows to insert as a stand-alone query: the leading WITH clause, if any, and the source. */
  public final String source;

  /**
   * Why the statement asks for more than adding rows ({@code OR REPLACE}, {@code ON CONFLICT},
   * {@code RETURNING}, {@code DEFAULT VALUES}) or is followed by another statement, or null.
   */
  public final @Nullable String unsupported;

  private InsertStatement(
      @Nullable String catalog,
      @Nullable String schema,
      String table,
      @Nullable List<String> columns,
      boolean byName,
      String source,
      @Nullable String unsupported) {
    this.catalog = catalog;
    this.schema = schema;
    this.table = table;
    this.columns = columns;
    this.byName = byName;
    this.source = source;
    this.unsupported = unsupported;
  }

  /**
   * Reads the head of {@code sql}; null when it is not an INSERT (or one whose head this class
   * cannot read, which the caller then treats like any other statement).
   */
  public static @Nullable InsertStatement parse(String sql) {
    List<Token> t = new ArrayList<>();
    for (Token token : SqlTokens.tokenize(sql)) {
      if (token.kind() != Kind.COMMENT) {
        t.add(token);
      }
    }
    int i = 0;
    String with = "";
    if (word(t, 0, "WITH")) {
      // A leading CTE belongs to the source: find the INSERT outside every parenthesis.
      int depth = 0;
      int j = 1;
      while (j < t.size() && !(depth == 0 && word(t, j, "INSERT"))) {
        depth += t.get(j).depthChange();
        j++;
      }
      if (j == t.size()) {
        return null;
      }
      with = sql.substring(t.get(0).start(), t.get(j).start());
      i = j;
    }
    if (!word(t, i++, "INSERT")) {
      return null;
    }
    String unsupported = null;
    if (word(t, i, "OR")) {
      Token action = at(t, i + 1);
      unsupported = "INSERT OR " + (action == null ? "" : action.text().toUpperCase(Locale.ROOT));
      i += 2;
    }
    if (!word(t, i++, "INTO")) {
      return null;
    }
    List<String> parts = new ArrayList<>();
    Token name = at(t, i++);
    if (name == null || !name.isIdentifier()) {
      return null;
    }
    parts.add(name.text());
    while (symbol(t, i, ".")) {
      Token part = at(t, i + 1);
      if (part == null || !part.isIdentifier()) {
        return null;
      }
      parts.add(part.text());
      i += 2;
    }
    if (parts.size() > 3) {
      return null;
    }
    if (word(t, i, "AS")) {
      i += 2; // an alias only matters to ON CONFLICT, which is refused below
    }
    List<String> columns = null;
    if (symbol(t, i, "(") && !startsSource(t, i + 1)) {
      columns = new ArrayList<>();
      i++;
      while (true) {
        Token c = at(t, i++);
        if (c == null || !c.isIdentifier()) {
          return null;
        }
        columns.add(c.text());
        if (symbol(t, i, ",")) {
          i++;
        } else if (symbol(t, i++, ")")) {
          break;
        } else {
          return null;
        }
      }
    }
    boolean byName = false;
    if (word(t, i, "BY") && (word(t, i + 1, "NAME") || word(t, i + 1, "POSITION"))) {
      byName = word(t, i + 1, "NAME");
      i += 2;
    }
    if (word(t, i, "DEFAULT") && word(t, i + 1, "VALUES")) {
      unsupported = unsupported != null ? unsupported : "INSERT ... DEFAULT VALUES";
    }
    if (i >= t.size()) {
      return null;
    }
    int sourceStart = t.get(i).start();
    int sourceEnd = sql.length();
    int depth = 0;
    for (int j = i; j < t.size(); j++) {
      Token k = t.get(j);
      if (depth == 0 && unsupported == null) {
        if (k.isWord("RETURNING")) {
          unsupported = "INSERT ... RETURNING";
        } else if (k.isWord("ON") && word(t, j + 1, "CONFLICT")) {
          unsupported = "INSERT ... ON CONFLICT";
        }
      }
      if (depth == 0 && k.isSymbol(";")) {
        if (j == t.size() - 1) {
          sourceEnd = k.start(); // a trailing ';' ends the statement
        } else {
          unsupported = unsupported != null ? unsupported : MORE_STATEMENTS;
        }
        break;
      }
      depth += k.depthChange();
    }
    String catalog = parts.size() == 3 ? parts.get(0) : null;
    String schema = parts.size() >= 2 ? parts.get(parts.size() - 2) : null;
    String source = with + sql.substring(sourceStart, sourceEnd).strip();
    return new InsertStatement(
        catalog, schema, parts.get(parts.size() - 1), columns, byName, source, unsupported);
  }

  private static boolean startsSource(List<Token> t, int i) {
    Token k = at(t, i);
    return k != null
        && (k.isSymbol("(")
            || (k.kind() == Kind.WORD && SOURCE_WORDS.contains(k.text().toUpperCase(Locale.ROOT))));
  }

  private static boolean word(List<Token> t, int i, String upper) {
    Token k = at(t, i);
    return k != null && k.isWord(upper);
  }

  private static boolean symbol(List<Token> t, int i, String s) {
    Token k = at(t, i);
    return k != null && k.isSymbol(s);
  }

  private static @Nullable Token at(List<Token> t, int i) {
    return i >= 0 && i < t.size() ? t.get(i) : null;
  }
}
