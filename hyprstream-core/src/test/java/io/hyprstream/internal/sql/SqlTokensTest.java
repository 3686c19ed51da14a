package io.hyprstream.internal.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * The one lexer, through its four users: what sits inside a literal, a quoted name, a dollar-quoted
 * string or a comment is never syntax, and a comment is where a hint is read.
 */
final class SqlTokensTest {

  private static List<@Nullable Object> params(@Nullable Object... values) {
    List<@Nullable Object> out = new ArrayList<>();
    for (Object v : values) {
      out.add(v);
    }
    return out;
  }

  @Test
  void inline_replacesOnlyPlaceholders() {
    assertEquals(
        "SELECT '?', \"a?\", $$?$$ FROM t /* ? */ WHERE a = 1 AND b = 'it''s' -- ?\n",
        SqlLiterals.inline(
            "SELECT '?', \"a?\", $$?$$ FROM t /* ? */ WHERE a = ? AND b = ? -- ?\n",
            params(1, "it's")));
    assertEquals("SELECT NULL", SqlLiterals.inline("SELECT ?", params((Object) null)));
    assertThrows(IllegalArgumentException.class, () -> SqlLiterals.inline("SELECT '?'", params(1)));
    assertThrows(
        IllegalArgumentException.class, () -> SqlLiterals.inline("SELECT ?, ?", params(1)));
  }

  @Test
  void nesting_countsOnlyParenthesesThatAreSyntax() {
    assertEquals(2, SqlTokens.nesting("SELECT ((1))"));
    assertEquals(1, SqlTokens.nesting("SELECT ('((((' || \"((\") -- ((((\n /* (((( */"));
    assertEquals(0, SqlTokens.nesting("SELECT $x$ (((( $x$"));
  }

  @Test
  void maxStaleness_isReadFromCommentsOnly() {
    assertEquals(
        Duration.ofSeconds(5), StatementHints.maxStaleness("SELECT 1 /*+ max_staleness=5s */"));
    assertEquals(
        Duration.ofMillis(250), StatementHints.maxStaleness("SELECT 1 -- max_staleness: 250ms"));
    assertNull(StatementHints.maxStaleness("SELECT '/*+ max_staleness=5s */'"));
    assertNull(StatementHints.maxStaleness("SELECT \"-- max_staleness=5s\" FROM t"));
  }

  @Test
  void insertHead_ignoresCommentsAndQuotedKeywords() {
    InsertStatement insert =
        InsertStatement.parse(
            "/* INSERT INTO wrong */ INSERT -- INTO x\n INTO \"my table\" (\"a)\", b)"
                + " VALUES ('INSERT INTO y', 2)");
    assertEquals("my table", insert.table);
    assertEquals(List.of("a)", "b"), insert.columns);
    assertEquals("VALUES ('INSERT INTO y', 2)", insert.source);
  }

  @Test
  void tokens_keepTheirPlaceInTheText() {
    String sql = "SELECT \"x\"\"y\" -- c\n";
    List<SqlTokens.Token> tokens = SqlTokens.tokenize(sql);
    assertEquals(3, tokens.size());
    assertEquals(new SqlTokens.Token(SqlTokens.Kind.QUOTED, "x\"y", 7, 13), tokens.get(1));
    assertEquals(new SqlTokens.Token(SqlTokens.Kind.COMMENT, " c", 14, 18), tokens.get(2));
  }
}
