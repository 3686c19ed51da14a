package io.hyprstream.bench.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The quick comparison's correctness check, as CI runs it: every system ingests the same seeded
 * rows and every W2 and W3 answer must equal the oracle's (the runner throws otherwise). Timings
 * are not looked at. PostgreSQL must answer when {@code CI=true}; elsewhere its column is skipped
 * with the reason when it does not.
 */
final class CompareQuickTest {
  private final BufferAllocator root = new RootAllocator();

  @AfterEach
  void closeAllocator() {
    root.close(); // fails the test if any system leaked an Arrow buffer
  }

  @Test
  void run_quickData_everySystemAgreesWithTheOracle() throws Exception {
    boolean ci = "true".equalsIgnoreCase(System.getenv("CI"));
    CompareOptions options =
        CompareOptions.quick().checkOnly().rows(200_000).requirePostgres(ci).output(null);

    CompareRunner.Outcome outcome = new CompareRunner(options).run(root);

    assertEquals(List.of(), outcome.mismatches());
    List<String> expected =
        new ArrayList<>(
            List.of(
                "Hyprstream (in-process)",
                "Hyprstream (Flight SQL)",
                "Hyprstream (server jar, JDBC) (Statement)",
                "Hyprstream (server jar, JDBC) (PreparedStatement)",
                "DuckDB",
                "QuestDB (materialized views)",
                "QuestDB (SAMPLE BY)"));
    if (outcome.skipped().isEmpty()) {
      expected.add("PostgreSQL");
    } else {
      System.out.println("skipped: " + outcome.skipped());
      assertTrue(!ci, "CI=true: PostgreSQL must run");
      assertTrue(outcome.skipped().get(0).startsWith("PostgreSQL: PostgreSQL is not reachable"));
    }
    assertEquals(expected, outcome.ran());
  }
}
