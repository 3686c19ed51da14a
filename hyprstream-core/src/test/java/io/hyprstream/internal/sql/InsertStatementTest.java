package io.hyprstream.internal.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Objects;
import org.junit.jupiter.api.Test;

/** The INSERT head recogniser: target, column list and the source handed to DuckDB. */
final class InsertStatementTest {
  private static InsertStatement parse(String sql) {
    return Objects.requireNonNull(InsertStatement.parse(sql), sql);
  }

  @Test
  void parse_qualifiedQuotedNamesAndComments_findTheTargetAndColumns() {
    InsertStatement s =
        parse(
            "/* a */ insert -- b\n into \"memory\" . \"main\".\"my \"\"odd\"\" t\" (\"Value\","
                + " metric_id) values (1, 'x');");
    assertEquals("memory", s.catalog);
    assertEquals("main", s.schema);
    assertEquals("my \"odd\" t", s.table);
    assertEquals(List.of("Value", "metric_id"), s.columns);
    assertEquals("values (1, 'x')", s.source);
    assertNull(s.unsupported);
  }

  @Test
  void parse_parenthesisedQueryAfterTheName_isTheSourceNotAColumnList() {
    InsertStatement s = parse("INSERT INTO metrics (SELECT * FROM staging)");
    assertNull(s.columns);
    assertEquals("(SELECT * FROM staging)", s.source);
    InsertStatement v = parse("INSERT INTO metrics ((SELECT 1, 2, 3))");
    assertNull(v.columns);
  }

  @Test
  void parse_leadingCte_isKeptWithTheSource() {
    InsertStatement s =
        parse("WITH s AS (SELECT 1 AS a) INSERT INTO main.metrics (a) SELECT a FROM s");
    assertNull(s.catalog);
    assertEquals("main", s.schema);
    assertEquals("WITH s AS (SELECT 1 AS a) SELECT a FROM s", s.source);
  }

  @Test
  void parse_byName_andAlias() {
    InsertStatement s = parse("INSERT INTO t AS x BY NAME SELECT 1 AS a");
    assertTrue(s.byName);
    assertEquals("SELECT 1 AS a", s.source);
    assertFalse(parse("INSERT INTO t BY POSITION SELECT 1").byName);
  }

  @Test
  void parse_clausesBeyondAddingRows_areReported() {
    assertEquals(
        "INSERT ... ON CONFLICT",
        parse("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING").unsupported);
    assertEquals("INSERT ... RETURNING", parse("INSERT INTO t SELECT 1 RETURNING *").unsupported);
    assertEquals("INSERT OR REPLACE", parse("INSERT OR REPLACE INTO t VALUES (1)").unsupported);
    assertEquals("INSERT ... DEFAULT VALUES", parse("INSERT INTO t DEFAULT VALUES").unsupported);
    assertEquals(
        InsertStatement.MORE_STATEMENTS,
        parse("INSERT INTO t VALUES (1); DROP TABLE t").unsupported);
  }

  @Test
  void parse_keywordsInsideLiteralsOrSubqueries_areNotClauses() {
    assertNull(parse("INSERT INTO t VALUES ('ON CONFLICT', $$ RETURNING $$, 'a;b')").unsupported);
    assertNull(
        parse("INSERT INTO t SELECT a FROM u JOIN v ON u.id = v.id WHERE a > 1").unsupported);
  }

  @Test
  void parse_otherStatements_areNotInserts() {
    assertNull(InsertStatement.parse("SELECT 1"));
    assertNull(InsertStatement.parse("UPDATE t SET a = 1"));
    assertNull(InsertStatement.parse("WITH s AS (SELECT 1) SELECT * FROM s"));
    assertNull(InsertStatement.parse("INSERT INTO"));
  }
}
