package io.hyprstream.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * CPU time of this JVM's process and of each of its Java threads, read at one moment. Two readings
 * apart say where a phase's CPU went: each named thread, and the rest of the process (native
 * threads: the JIT compilers and the garbage collector, told apart by the names the JVM gives them,
 * and DuckDB's workers, the rest), which no Java thread reports.
 */
public final class CpuTimes {
  private final long process;
  private final long jitCompilers;
  private final long garbageCollector;
  private final Map<Long, Long> byThread = new HashMap<>();
  private final Map<Long, String> names = new HashMap<>();

  private CpuTimes() {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    this.process = RunEnv.processCpuNanos();
    long[] jvmThreads = jvmServiceThreadNanos();
    this.jitCompilers = jvmThreads[0];
    this.garbageCollector = jvmThreads[1];
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
    return breakdown(before, rows, name -> name);
  }

  /**
   * {@link #breakdown(CpuTimes, long)} with threads added up under {@code group}'s name for them
   * (for example every partition owner's thread as one).
   */
  public String breakdown(
      CpuTimes before, long rows, java.util.function.UnaryOperator<String> group) {
    Map<String, Long> byName = new TreeMap<>();
    long javaThreads = 0;
    for (Map.Entry<Long, Long> e : byThread.entrySet()) {
      long used = e.getValue() - before.byThread.getOrDefault(e.getKey(), 0L);
      javaThreads += used;
      byName.merge(group.apply(names.get(e.getKey())), used, Long::sum);
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
    long jit = jitCompilers - before.jitCompilers;
    long gc = garbageCollector - before.garbageCollector;
    long other = process - before.process - javaThreads - jit - gc;
    return out.append(
            String.format(
                Locale.ROOT,
                "JIT compilers %.0f, GC %.0f, other (DuckDB's native workers) %.0f",
                jit / (double) rows,
                gc / (double) rows,
                Math.max(0, other) / (double) rows))
        .toString();
  }

  /**
   * CPU time of the JVM's own threads, which no {@link ThreadMXBean} reports: {@code [0]} its JIT
   * compilers, {@code [1]} its garbage collector (worker, concurrent and VM threads), read from
   * {@code /proc/self/task/<tid>/stat} by the names the JVM gives them. Zeros where /proc is
   * unreadable; the kernel's clock tick (10 ms) is the resolution.
   */
  private static long[] jvmServiceThreadNanos() {
    long[] ticks = new long[2];
    try (var tasks = Files.list(Path.of("/proc/self/task"))) {
      for (Path task : (Iterable<Path>) tasks::iterator) {
        String stat;
        try {
          stat = Files.readString(task.resolve("stat"));
        } catch (IOException gone) {
          continue; // the thread ended between the listing and the read
        }
        int open = stat.indexOf('(');
        int close = stat.lastIndexOf(')');
        String name = stat.substring(open + 1, close);
        String[] fields = stat.substring(close + 2).split(" ");
        long used = Long.parseLong(fields[11]) + Long.parseLong(fields[12]); // utime + stime
        if (name.startsWith("C1 Compiler") || name.startsWith("C2 Compiler")) {
          ticks[0] += used;
        } else if (name.startsWith("GC Thread")
            || name.startsWith("G1 ")
            || name.equals("VM Thread")) {
          ticks[1] += used;
        }
      }
    } catch (IOException | RuntimeException unreadable) {
      return new long[2];
    }
    long nanosPerTick = 10_000_000L; // USER_HZ is 100 on Linux
    return new long[] {ticks[0] * nanosPerTick, ticks[1] * nanosPerTick};
  }
}
