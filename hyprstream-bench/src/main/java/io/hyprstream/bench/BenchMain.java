package io.hyprstream.bench;

import java.util.Arrays;

/** Entry point of {@code benchmarks.jar}: the core figures runner, the comparison, or JMH. */
public final class BenchMain {
  private BenchMain() {}

  public static void main(String[] args) throws Exception {
    // JMH reads its own -h; every other command's options are listed by usage().
    boolean help =
        args.length == 0
            || isHelp(args[0])
            || (!args[0].equals("jmh") && Arrays.stream(args).anyMatch(BenchMain::isHelp));
    if (help) {
      usage();
      return;
    }
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    switch (args[0]) {
      case "jmh":
        org.openjdk.jmh.Main.main(rest);
        break;
      case "compare":
        {
          io.hyprstream.bench.compare.CompareOptions o =
              io.hyprstream.bench.compare.CompareOptions.parse(rest);
          org.apache.arrow.memory.BufferAllocator root = io.hyprstream.Allocators.newRoot();
          new io.hyprstream.bench.compare.CompareRunner(o).run(root);
          try {
            root.close();
          } catch (IllegalStateException e) {
            // Tests fail on a leak (CompareQuickTest); here the report is written: say it loudly.
            System.err.println("WARNING: Arrow memory still held at exit: " + e.getMessage());
          }
          break;
        }
      case "cache":
        new CacheRunner(CacheRunner.Options.parse(rest)).run();
        break;
      case "readthrough":
        new ReadThroughRunner(ReadThroughRunner.Options.parse(rest)).run();
        break;
      case "cluster":
        {
          org.apache.arrow.memory.BufferAllocator root = io.hyprstream.Allocators.newRoot();
          new ClusterRunner(ClusterRunner.Options.parse(rest)).run(root);
          root.close();
          break;
        }
      case "core":
        CoreRunner.Options options = CoreRunner.Options.parse(rest);
        new CoreRunner(options).run();
        break;
      default:
        usage();
        System.exit(2);
    }
  }

  private static boolean isHelp(String arg) {
    return arg.equals("--help") || arg.equals("-h");
  }

  private static void usage() {
    System.out.println(
        String.join(
            "\n",
            "usage: java -jar benchmarks.jar <command> [args]",
            "  readthrough [OUTPUT.md] [--rows N] [--metrics N] [--seed N] [--unbounded-runs N]"
                + " [--hot-runs N] [--hot-only] [--postgres-url URL]",
            "       an unbounded count(*) with 1 h hot next to PostgreSQL alone, and a query inside"
                + " the hot hour next to plain DuckDB; needs PostgreSQL",
            "  core [OUTPUT.md] [--rows N] [--metrics N] [--seed N] [--query-runs N]"
                + " [--visible-rounds N]",
            "       runs the core figures (ingest, window lookup, ingest-to-visible, state size)",
            "       in one JVM and writes a Markdown table to OUTPUT.md (default: print only)",
            "  compare [OUTPUT.md] [--quick] [--rows N] [--metrics N] [--seed N] [--batch-rows N]"
                + " [--w2-runs N] [--w2-warmup N] [--warmup-batches N] [--w3-runs N] [--w4-rounds N] [--peers flight,jar,duckdb,questdb,postgres]"
                + " [--postgres-url URL] [--require-postgres] [--server-jar JAR]"
                + " [--jdbc-driver-jar JAR] [--server-jvm-options \"OPTIONS\"]",
            "       Hyprstream next to DuckDB, QuestDB and PostgreSQL on one seeded data set, in"
                + " one JVM; writes OUTPUT.md (default docs/benchmarks.md; --quick: print only)"
                + " and a latency chart next to it",
            "  cluster [OUTPUT.md] --kafka BOOTSTRAP [--kafka-pid PID] [--rows N] [--metrics N]"
                + " [--seed N] [--partitions N] [--lookup-runs N] [--fan-out-runs N]",
            "       issue 16's figures: ingest in single-node mode and through Kafka with 1 and 3"
                + " instances (CPU per row), routed and fanned-out queries, leave and join",
            "  cache [OUTPUT.md] [--rows N] [--repeats N] [--trace N] [--distinct N]",
            "       the result cache: a repeated query next to DuckDB, W-TinyLFU next to LRU on a"
                + " Zipf trace, ingest with the result cache on and off",
            "  jmh [JMH args]",
            "       runs the JMH benchmarks in io.hyprstream.bench.jmh, e.g. `jmh -l`",
            "       or `jmh WindowLookup`"));
  }
}
