package io.hyprstream.flight.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Where statements end in a script, and where they do not. */
final class StatementSplitterTest {
  private static List<StatementSplitter.Statement> split(String script) {
    StatementSplitter splitter = new StatementSplitter();
    List<StatementSplitter.Statement> out = new ArrayList<>();
    for (String line : script.split("\n", -1)) {
      out.addAll(splitter.add(line + "\n"));
    }
    StatementSplitter.Statement last = splitter.finish();
    if (last != null) {
      out.add(last);
    }
    return out;
  }

  private static List<String> texts(String script) {
    return split(script).stream().map(StatementSplitter.Statement::text).toList();
  }

  @Test
  void add_semicolonsInStringsIdentifiersAndComments_doNotEndStatements() {
    assertEquals(
        List.of(
            "SELECT 'a;b', \"c;d\" -- e;f\nFROM t",
            "SELECT 'it''s; here' /* x; /* nested; */ y; */",
            "SELECT $$ a; b $$, $tag$ ; $$ ; $tag$",
            "SELECT E'a\\'; b'"),
        texts(
            "SELECT 'a;b', \"c;d\" -- e;f\nFROM t;\n"
                + "SELECT 'it''s; here' /* x; /* nested; */ y; */;\n"
                + "SELECT $$ a; b $$, $tag$ ; $$ ; $tag$;\n"
                + "SELECT E'a\\'; b';"));
  }

  @Test
  void add_positionalParameterAndDollarInWord_areNotQuotes() {
    assertEquals(List.of("SELECT $1, a$b$", "SELECT 2"), texts("SELECT $1, a$b$; SELECT 2;"));
  }

  @Test
  void add_statementsOnOneLineAndAcrossLines_keepTheirStartLine() {
    List<StatementSplitter.Statement> s =
        split("-- header\n\nSELECT 1; SELECT\n  2;\n\n  /* c */ SELECT 3");
    assertEquals(List.of("SELECT 1", "SELECT\n  2", "SELECT 3"), texts(s));
    assertEquals(List.of(3, 3, 6), s.stream().map(StatementSplitter.Statement::line).toList());
  }

  private static List<String> texts(List<StatementSplitter.Statement> s) {
    return s.stream().map(StatementSplitter.Statement::text).toList();
  }

  @Test
  void add_emptyStatementsAndTrailingComments_yieldNothing() {
    assertEquals(List.of("SELECT 1"), texts(";;\nSELECT 1;\n;\n-- done\n/* end */\n"));
  }

  @Test
  void states_unfinishedStringOrStatement_areReported() {
    StatementSplitter splitter = new StatementSplitter();
    assertTrue(splitter.isIdle());
    assertEquals(List.of(), splitter.add("SELECT 'open\n"));
    assertTrue(splitter.isInsideQuoteOrComment());
    assertTrue(splitter.hasPendingStatement());
    assertEquals(List.of(), splitter.add("still'\n"));
    assertFalse(splitter.isInsideQuoteOrComment());
    assertFalse(splitter.isIdle());
    assertEquals(List.of("SELECT 'open\nstill'"), texts(splitter.add(";\n")));
    assertTrue(splitter.isIdle());
    assertNull(splitter.finish());
  }

  @Test
  void shellInput_completeOnlyAtSemicolonOrCommandLine() {
    assertTrue(ShellInput.isComplete(""));
    assertFalse(ShellInput.isComplete("SELECT 1"));
    assertFalse(ShellInput.isComplete("SELECT ';\n"));
    assertTrue(ShellInput.isComplete("SELECT 1\n  + 1;"));
    assertTrue(ShellInput.isComplete("SELECT 1; -- trailing note"));
    assertTrue(ShellInput.isComplete("\\d metrics"));
    // A line starting with a backslash inside a string is SQL text.
    assertFalse(ShellInput.isComplete("SELECT 'a\n\\d"));
    ShellInput quit = java.util.Objects.requireNonNull(ShellInput.parse("SELECT 1;\nSELECT\n\\q"));
    assertEquals(List.of("SELECT 1"), texts(quit.statements()));
    assertEquals("\\q", quit.command());
    assertEquals("SELECT", quit.unfinished());
  }
}
