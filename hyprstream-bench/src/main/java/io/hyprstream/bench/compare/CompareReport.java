package io.hyprstream.bench.compare;

import io.hyprstream.bench.MetricsData;
import io.hyprstream.bench.RunEnv;
import io.hyprstream.bench.Stats;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import org.jspecify.annotations.Nullable;

/** The comparison's Markdown report and its latency chart. */
final class CompareReport {
  /** The line after which the output file's hand-written text is kept across runs. */
  static final String ANALYSIS_MARKER =
      "<!-- analysis: kept when the runner rewrites this file -->";

  private final CompareOptions options;
  private final MetricsData data;
  private final List<Column> columns;
  private final List<String> notes;
  private final String started;
  private final String loadAtStart;
  private final long wallNanos;

  CompareReport(
      CompareOptions options,
      MetricsData data,
      List<Column> columns,
      List<String> notes,
      String started,
      String loadAtStart,
      long wallNanos) {
    this.options = options;
    this.data = data;
    this.columns = columns;
    this.notes = notes;
    this.started = started;
    this.loadAtStart = loadAtStart;
    this.wallNanos = wallNanos;
  }

  /** A row of the table: how to read a figure from a column, and which way is better. */
  private static final class Figure {
    final String name;
    final boolean higherIsBetter;
    final ToDoubleFunction<Column> value;
    final String unit;
    final boolean fromIngest;

    Figure(
        String name,
        boolean higherIsBetter,
        String unit,
        boolean fromIngest,
        ToDoubleFunction<Column> value) {
      this.name = name;
      this.higherIsBetter = higherIsBetter;
      this.unit = unit;
      this.fromIngest = fromIngest;
      this.value = value;
    }
  }

  private List<Figure> figures() {
    String rows = String.format(Locale.ROOT, "%,d", data.rows());
    return List.of(
        new Figure(
            "W1 ingest of " + rows + " rows, M rows/s (higher is better)",
            true,
            "M rows/s",
            true,
            c -> c.w1RowsPerSecond / 1e6),
        new Figure(
            "W1 CPU time per row, ns (lower is better; every core and server process counted)",
            false,
            "ns",
            true,
            c -> c.w1CpuNanosPerRow),
        new Figure(
            "W2 last 24 hourly windows of one metric, p50 ms",
            false,
            "ms",
            false,
            c -> ms(c.w2, 50)),
        new Figure("W2 same, p99 ms", false, "ms", false, c -> ms(c.w2, 99)),
        new Figure(
            "W3 every 5-minute window of every metric, median s",
            false,
            "s",
            false,
            c -> ms(c.w3, 50) / 1000),
        new Figure(
            "W4 ingest 100 rows until their window shows them, p50 ms",
            false,
            "ms",
            false,
            c -> ms(c.w4, 50)),
        new Figure("W4 same, p99 ms", false, "ms", false, c -> ms(c.w4, 99)),
        new Figure(
            "W5 memory held after W1, MiB", false, "MiB", true, c -> c.w5Bytes() / 1048576.0));
  }

  private static double ms(@Nullable Stats s, double p) {
    return s == null ? Double.NaN : s.percentile(p) / 1e6;
  }

  private static String num(double v) {
    if (Double.isNaN(v)) {
      return "–";
    }
    double a = Math.abs(v);
    if (a >= 100) {
      return String.format(Locale.ROOT, "%,.0f", v);
    }
    if (a >= 10) {
      return String.format(Locale.ROOT, "%.1f", v);
    }
    if (a >= 1) {
      return String.format(Locale.ROOT, "%.2f", v);
    }
    return String.format(Locale.ROOT, "%.3f", v);
  }

  private static String ratio(double r) {
    if (Double.isNaN(r) || Double.isInfinite(r)) {
      return "";
    }
    return r >= 10
        ? String.format(Locale.ROOT, " (%.0fx)", r)
        : String.format(Locale.ROOT, " (%.2fx)", r);
  }

  private @Nullable Column hyprstream() {
    for (Column c : columns) {
      if (c.ran() && c.label.startsWith("Hyprstream (in-process)")) {
        return c;
      }
    }
    return null;
  }

  String markdown() {
    StringBuilder md = new StringBuilder();
    md.append("# Hyprstream next to DuckDB, QuestDB and PostgreSQL\n\n");
    md.append(
        "Issue 6's comparison: one seeded data set, the same five workloads on every system, in"
            + " one JVM and one run (`BenchMain compare`). Each cell is the figure and, in"
            + " brackets, its ratio to Hyprstream in-process (system ÷ Hyprstream): above 1 is"
            + " more rows/s for W1, and slower or more memory for W2–W5.\n\n");
    md.append("| | |\n|---|---|\n");
    md.append("| Date (UTC) | ").append(started).append(" |\n");
    md.append("| Machine | ").append(RunEnv.machine()).append(" |\n");
    md.append("| Load average (1/5/15 min) | at start ")
        .append(loadAtStart)
        .append(", at end ")
        .append(RunEnv.loadAverage())
        .append(" |\n");
    md.append("| JDK | ")
        .append(RunEnv.jdk())
        .append(", flags `")
        .append(String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()))
        .append("` |\n");
    md.append("| Data | ")
        .append(
            String.format(
                Locale.ROOT,
                "%,d rows, %,d metrics, %d days ending %s, %,d rows (%.2f%%) out of order (up to"
                    + " %d min late), %,d-row Arrow batches, seed %d",
                data.rows(),
                data.metrics(),
                MetricsData.SPAN.toDays(),
                MetricsData.END,
                data.outOfOrderRows(),
                100.0 * data.outOfOrderRows() / data.rows(),
                MetricsData.MAX_LATENESS.toMinutes(),
                data.batchRows(),
                options.seed))
        .append(" |\n");
    md.append("| Runs | ")
        .append(
            String.format(
                Locale.ROOT,
                "W2 %,d timed after %,d warm-up; W3 %d timed after 1 cold; W4 %,d rounds after"
                    + " %,d warm-up; each system in this JVM first warmed up on a throwaway"
                    + " instance (%d batches ingested); the server jar, a process of its own,"
                    + " warmed up on %,d W2 lookups instead",
                options.w2Runs,
                options.w2Warmup,
                options.w3Runs,
                options.w4Rounds,
                options.w4Warmup,
                options.warmupBatches,
                options.ownProcessWarmup))
        .append(" |\n");
    md.append("| Command | `java -jar hyprstream-bench/target/benchmarks.jar compare")
        .append(options.args.isEmpty() ? "" : " " + String.join(" ", options.args))
        .append("` (")
        .append(String.format(Locale.ROOT, "%.1f min", wallNanos / 60e9))
        .append(") |\n\n");

    Column hs = hyprstream();
    md.append("| Workload |");
    for (Column c : columns) {
      md.append(' ').append(c.label).append(" |");
    }
    md.append("\n|---|");
    md.append("---|".repeat(columns.size()));
    md.append('\n');
    for (Figure f : figures()) {
      md.append("| ").append(f.name).append(" |");
      for (Column c : columns) {
        md.append(' ');
        if (!c.ran()) {
          md.append("not run");
        } else if (Double.isNaN(f.value.applyAsDouble(c)) && c.w3Failure != null) {
          md.append("failed (notes)");
        } else {
          double v = f.value.applyAsDouble(c);
          md.append(num(v));
          if (hs != null && c != hs) {
            md.append(ratio(v / f.value.applyAsDouble(hs)));
          }
          if (f.fromIngest && c.sharesIngest) {
            md.append(" (same ingest)");
          }
        }
        md.append(" |");
      }
      md.append('\n');
    }
    md.append('\n');
    if (hs != null) {
      md.append(behind(hs));
    }
    md.append("![W2 and W4 latency by percentile, log scale](").append(chartName()).append(")\n\n");
    md.append(
        "Every W2 answer and every W3 answer of every system was checked against an oracle"
            + " computed in Java from the generated rows (same windows, same counts, sums within"
            + " 1e-9 relative): ");
    List<String> checked = new ArrayList<>();
    for (Column c : columns) {
      if (c.ran()) {
        checked.add(c.label + " " + c.w2Checked + " + " + c.w3Checked);
      }
    }
    md.append(String.join(", ", checked)).append(" answers, all equal.\n\n");

    md.append("## Systems: versions and settings\n\n");
    String last = "";
    for (Column c : columns) {
      String system = c.label.replaceAll(" \\(.*", "");
      if (c.sharesIngest && system.equals(last)) {
        continue;
      }
      last = system;
      if (!c.ran()) {
        md.append("- **").append(c.label).append("**: not run here: ").append(c.skipped);
        md.append("\n");
        continue;
      }
      md.append("- **")
          .append(c.label.startsWith("Hyprstream") ? c.label : system)
          .append("**: ")
          .append(c.version)
          .append(". ")
          .append(c.settings)
          .append(" W5 counts ")
          .append(c.memoryNote)
          .append(".\n");
    }
    md.append("\n## Notes\n\n");
    md.append(
        "- The same-JVM systems (Hyprstream, DuckDB, QuestDB) ran one at a time; PostgreSQL is"
            + " a separate server process on the same machine. Timestamps are naive UTC;"
            + " W2's \"last 24 hourly windows\" are the 24 hours before the data's end, which"
            + " every metric fills; peers that compute windows from raw rows get the"
            + " `timestamp >= end - 24h` bound so their index, zone maps or partitions apply;"
            + " Hyprstream gets its own lookup shape"
            + " (`"
            + HyprstreamPeer.LOOKUP_SQL
            + "`).\n");
    md.append(
        "- W3 reads every window into the client (metric, window start, count, sum); each run's"
            + " SQL carries a no-op predicate with the run number (`count > -run`), so no result"
            + " cache can answer a repeat. First (cold) runs: ");
    List<String> firsts = new ArrayList<>();
    for (Column c : columns) {
      if (c.ran() && c.w3Failure == null) {
        firsts.add(c.label + " " + num(c.w3FirstNanos / 1e9) + " s");
      }
    }
    md.append(String.join(", ", firsts)).append(".\n");
    md.append(
        "- W4: each round ingests a 100-row batch of one metric into a 5-minute window no earlier"
            + " round touched (after the data's end), then queries that window every 50 µs until"
            + " its count is 100; timed from before the ingest. Polls beyond the first: ");
    List<String> polls = new ArrayList<>();
    for (Column c : columns) {
      if (c.ran()) {
        polls.add(c.label + " " + c.w4ExtraPolls);
      }
    }
    md.append(String.join(", ", polls)).append(".\n");
    md.append("- W5 = heap growth across W1 (after GC) + each system's own off-heap figure: ");
    List<String> mem = new ArrayList<>();
    for (Column c : columns) {
      if (c.ran() && !c.sharesIngest) {
        mem.add(
            String.format(
                Locale.ROOT,
                "%s heap %+,.0f MiB, off-heap %,.0f MiB",
                c.label,
                c.w5HeapBytes / 1048576.0,
                c.w5NativeBytes / 1048576.0));
      }
    }
    md.append(String.join("; ", mem)).append(".\n");
    for (Column c : columns) {
      if (c.w3Failure != null) {
        md.append("- **")
            .append(c.label)
            .append(" could not answer W3**: ")
            .append(c.w3Failure)
            .append(" (its W3 answer was therefore not checked).\n");
      }
    }
    for (String n : notes) {
      md.append("- ").append(n).append('\n');
    }
    md.append("- Full percentiles (p50 / p99 / p99.9 / max / mean):\n");
    for (Column c : columns) {
      if (c.ran()) {
        md.append("  - ").append(c.label).append(": W2 ").append(summary(c.w2));
        md.append("; W3 ").append(summary(c.w3));
        md.append("; W4 ").append(summary(c.w4)).append('\n');
      }
    }
    return md.toString();
  }

  private static String summary(@Nullable Stats s) {
    return s == null ? "–" : s.summary();
  }

  /** Where Hyprstream is furthest behind the best other system, figure by figure. */
  private String behind(Column hs) {
    StringBuilder md = new StringBuilder();
    String worst = "";
    double worstFactor = 0;
    List<String> lines = new ArrayList<>();
    for (Figure f : figures()) {
      double mine = f.value.applyAsDouble(hs);
      Column best = null;
      double bestValue = Double.NaN;
      for (Column c : columns) {
        if (!c.ran() || c.label.startsWith("Hyprstream")) {
          continue;
        }
        double v = f.value.applyAsDouble(c);
        if (Double.isNaN(v)) {
          continue;
        }
        if (best == null || (f.higherIsBetter ? v > bestValue : v < bestValue)) {
          best = c;
          bestValue = v;
        }
      }
      if (best == null) {
        continue;
      }
      double factor = f.higherIsBetter ? bestValue / mine : mine / bestValue;
      lines.add(
          String.format(
              Locale.ROOT,
              "%s: best other system %s (%s %s)%s",
              f.name.replaceAll(", [^,]*$", ""),
              best.label,
              num(bestValue),
              f.unit,
              factor > 1
                  ? String.format(Locale.ROOT, ", Hyprstream %.2fx behind", factor)
                  : String.format(Locale.ROOT, ", Hyprstream %.2fx ahead", 1 / factor)));
      if (factor > worstFactor) {
        worstFactor = factor;
        worst = f.name + " (best: " + best.label + ")";
      }
    }
    if (worstFactor > 1) {
      md.append(
          String.format(
              Locale.ROOT,
              "**Where Hyprstream is furthest behind the best other system:** %s, by %.2fx.\n\n",
              worst,
              worstFactor));
    } else if (!lines.isEmpty()) {
      md.append("**Hyprstream is ahead of every other system on every figure.**\n\n");
    }
    for (String l : lines) {
      md.append("- ").append(l).append('\n');
    }
    md.append('\n');
    return md.toString();
  }

  private String chartName() {
    Path out = options.output;
    String base =
        out == null ? "benchmarks" : out.getFileName().toString().replaceAll("\\.md$", "");
    return base + "-latency.png";
  }

  void print() {
    System.out.println();
    System.out.println(markdown());
  }

  /** Writes the report and, next to it, the chart; text below {@link #ANALYSIS_MARKER} is kept. */
  void write(Path out) throws IOException {
    Path dir = out.toAbsolutePath().getParent();
    if (dir != null) {
      Files.createDirectories(dir);
    }
    String md = markdown();
    if (Files.exists(out)) {
      String previous = Files.readString(out, StandardCharsets.UTF_8);
      int at = previous.indexOf(ANALYSIS_MARKER);
      if (at >= 0) {
        md = md + '\n' + previous.substring(at);
      }
    }
    Files.writeString(out, md, StandardCharsets.UTF_8);
    Path chart = out.resolveSibling(chartName());
    LatencyChart.write(columns, chart);
    CompareRunner.log("wrote %s and %s", out.toAbsolutePath(), chart.toAbsolutePath());
  }
}
