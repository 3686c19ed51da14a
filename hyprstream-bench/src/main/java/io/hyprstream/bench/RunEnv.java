package io.hyprstream.bench;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Properties;

/**
 * What a runner reports about the machine and the build it ran on, and the JVM chores it does
 * between measurements (a settled GC, the heap in use). Shared by the core and comparison runners.
 */
public final class RunEnv {
  private RunEnv() {}

  /** Now, UTC, ISO-8601. */
  public static String nowUtc() {
    return ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_INSTANT);
  }

  /** Cores, CPU model, OS, physical memory and max heap, in one line. */
  public static String machine() {
    return Runtime.getRuntime().availableProcessors()
        + " cores (nproc), "
        + cpuModel()
        + ", "
        + physicalMemory()
        + " RAM, "
        + System.getProperty("os.name")
        + ' '
        + System.getProperty("os.version")
        + ' '
        + System.getProperty("os.arch")
        + ", max heap "
        + (Runtime.getRuntime().maxMemory() >> 20)
        + " MiB";
  }

  /** The JVM's name and version. */
  public static String jdk() {
    return System.getProperty("java.vm.name") + ' ' + System.getProperty("java.runtime.version");
  }

  /** The version in a dependency's {@code pom.properties} on the class path, or "?". */
  public static String version(String group, String artifact) {
    String res = "/META-INF/maven/" + group + "/" + artifact + "/pom.properties";
    try (InputStream in = RunEnv.class.getResourceAsStream(res)) {
      if (in == null) {
        return "?";
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version", "?");
    } catch (IOException e) {
      return "?";
    }
  }

  /** The short hash of the working directory's git HEAD, or "?". */
  public static String gitHead() {
    try {
      Process p = new ProcessBuilder("git", "rev-parse", "--short", "HEAD").start();
      String s = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      return p.waitFor() == 0 && !s.isEmpty() ? s : "?";
    } catch (IOException e) {
      return "?";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "?";
    }
  }

  public static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).strip();
        }
      }
    } catch (IOException | RuntimeException e) {
      // Not Linux: the core count alone describes the machine.
    }
    return "unknown CPU";
  }

  public static String physicalMemory() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal:")) {
          long kib = Long.parseLong(line.replaceAll("[^0-9]", ""));
          return String.format(Locale.ROOT, "%.1f GiB", kib / 1024.0 / 1024.0);
        }
      }
    } catch (IOException | RuntimeException e) {
      // Not Linux.
    }
    return "? GiB";
  }

  /** The 1/5/15-minute load averages, or "?". */
  public static String loadAverage() {
    try {
      String[] parts = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return parts[0] + " " + parts[1] + " " + parts[2];
    } catch (IOException | RuntimeException e) {
      return "?";
    }
  }

  /** A few full GCs with pauses between, so the heap figure that follows has settled. */
  public static void gc() {
    for (int i = 0; i < 4; i++) {
      System.gc();
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Heap bytes in use now. */
  public static long heapUsed() {
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  public static String fmtRate(double rowsPerSecond) {
    return String.format(Locale.ROOT, "%.2f M rows/s", rowsPerSecond / 1e6);
  }
}
