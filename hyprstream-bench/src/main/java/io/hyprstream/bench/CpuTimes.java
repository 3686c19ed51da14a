package io.hyprstream.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * CPU time of this JVM's process and of each of its Java threads, read at one moment. Two readings
 * apart say where a phase's CPU went: each named thread, and the rest of the process (native
 * threads such as DuckDB's workers, the GC and the JIT compilers), which no Java thread reports.
 */
public final class CpuTimes {
  private final long process;
  private final Map<Long, Long> byThread = new HashMap<>();
  private final Map<Long, String> names = new HashMap<>();

  private CpuTimes() {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    this.process = RunEnv.processCpuNanos();
    for (long id : threads.getAllThreadIds()) {
      ThreadInfo info = threads.getThreadInfo(id);
      long cpu = threads.getThreadCpuTime(id);
      if (info != null && cpu >= 0) {
        byThread.put(id, cpu);
        names.put(id, info.getThreadName());
      }
    }
  }

  public static CpuTimes now() {
    return new CpuTimes();
  }

  /** Process CPU time since {@code before}, ns per row. */
  public double processPerRow(CpuTimes before, long rows) {
    return (process - before.process) / (double) rows;
  }

  /**
   * Where the CPU time since {@code before} went, ns per row: each thread that used at least 1 ns
   * per row (by name, threads of one name added up), then {@code other} for the rest.
   */
  public String breakdown(CpuTimes before, long rows) {
    Map<String, Long> byName = new TreeMap<>();
    long javaThreads = 0;
    for (Map.Entry<Long, Long> e : byThread.entrySet()) {
      long used = e.getValue() - before.byThread.getOrDefault(e.getKey(), 0L);
      javaThreads += used;
      byName.merge(names.get(e.getKey()), used, Long::sum);
    }
    StringBuilder out = new StringBuilder();
    byName.entrySet().stream()
        .filter(e -> e.getValue() >= rows)
        .sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
        .forEach(
            e ->
                out.append(
                    String.format(
                        Locale.ROOT, "%s %.0f, ", e.getKey(), e.getValue() / (double) rows)));
    long other = process - before.process - javaThreads;
    return out.append(
            String.format(
                Locale.ROOT,
                "other (DuckDB's native workers, GC, JIT) %.0f",
                Math.max(0, other) / (double) rows))
        .toString();
  }
}
