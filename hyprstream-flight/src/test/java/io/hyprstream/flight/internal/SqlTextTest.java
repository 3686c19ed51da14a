package io.hyprstream.flight.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.junit.jupiter.api.Test;

final class SqlTextTest {

  private static List<String> uses(String sql) {
    List<String> out = new ArrayList<>();
    for (SqlText.ParameterUse u : SqlText.parse(sql).parameterUses()) {
      out.add(u.isInteger() ? "INT" : String.valueOf(u.column()));
    }
    return out;
  }

  @Test
  void isQuery_selectWithValuesAndParenthesis_areQueries() {
    assertTrue(SqlText.parse("  -- comment\n SELECT 1").isQuery());
    assertTrue(SqlText.parse("with x as (select 1) select * from x").isQuery());
    assertTrue(SqlText.parse("(SELECT 1) UNION (SELECT 2)").isQuery());
    assertFalse(SqlText.parse("INSERT INTO t VALUES (1)").isQuery());
    assertFalse(SqlText.parse("WITH s AS (SELECT 1) INSERT INTO t SELECT * FROM s").isQuery());
    assertTrue(SqlText.parse("WITH s AS (INSERT INTO t VALUES (1)) SELECT 1").isQuery());
    assertFalse(SqlText.parse("/* SELECT */ CREATE TABLE t (a INT)").isQuery());
  }

  @Test
  void parameterUses_commonShapes_nameTheColumn() {
    assertEquals(
        List.of("metric_id", "INT"),
        uses("SELECT * FROM metrics_1h WHERE metric_id = ? ORDER BY window_start DESC LIMIT ?"));
    assertEquals(
        List.of("a", "b", "b", "c", "c"),
        uses("SELECT * FROM t WHERE ? < a AND b IN (?, ?) AND c BETWEEN ? AND ?"));
    assertEquals(List.of("body", "id"), uses("UPDATE notes SET body = ? WHERE t.id = ?"));
    assertEquals(
        List.of("name", "null"), uses("SELECT * FROM t WHERE name NOT LIKE ? OR ? IS NULL"));
  }

  @Test
  void parameterUses_inStringsAndComments_areNotParameters() {
    assertEquals(0, SqlText.parse("SELECT '?', \"?\" -- ?\n /* ? */").parameterCount());
    assertEquals(1, SqlText.parse("SELECT 'it''s ?' WHERE x = ?").parameterCount());
  }

  @Test
  void asParameterisedInsert_plainInserts_areRecognised() {
    SqlText.Insert a =
        Objects.requireNonNull(
            SqlText.parse("insert into \"My Table\" (\"a b\", c) values (?, ?);")
                .asParameterisedInsert());
    assertEquals("My Table", a.table());
    assertEquals(List.of("a b", "c"), a.columns());
    SqlText.Insert b =
        Objects.requireNonNull(
            SqlText.parse("INSERT INTO main.metrics VALUES (?, ?, ?)").asParameterisedInsert());
    assertEquals("metrics", b.table());
    assertNull(b.columns());
    assertEquals(3, b.parameters());
  }

  @Test
  void asParameterisedInsert_otherStatements_areNot() {
    assertNull(SqlText.parse("INSERT INTO t VALUES (?, 'x')").asParameterisedInsert());
    assertNull(SqlText.parse("INSERT INTO t VALUES (?), (?)").asParameterisedInsert());
    assertNull(SqlText.parse("INSERT INTO t SELECT ?").asParameterisedInsert());
    assertNull(SqlText.parse("INSERT INTO t (a) VALUES (?, ?)").asParameterisedInsert());
    assertNull(
        SqlText.parse("INSERT INTO t VALUES (?) ON CONFLICT DO NOTHING").asParameterisedInsert());
  }

  @Test
  void like_patterns_matchAsSqlDoes() {
    assertTrue(SqlText.like("metrics_1h", "metrics%"));
    assertTrue(SqlText.like("metrics_1h", "metrics_1_"));
    assertFalse(SqlText.like("metrics", "metrics_%"));
    assertTrue(SqlText.like("a_b", "a\\_b"));
    assertFalse(SqlText.like("axb", "a\\_b"));
    assertTrue(SqlText.like("x.y", "x.y"));
    assertFalse(SqlText.like("xzy", "x.y"));
  }
}
