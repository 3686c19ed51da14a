package io.hyprstream.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The runners' command lines, read one way: {@code --name value} options, {@code --flag} switches
 * and one positional argument, the report file. An option the runner does not declare, or one
 * without its value, is refused with its name. Numbers may be written with underscores ({@code
 * 10_000_000}).
 */
public final class BenchArgs {
  private final Map<String, String> values = new HashMap<>();
  private final Set<String> flags = new HashSet<>();
  private final List<String> all;
  private @Nullable Path output;

  private BenchArgs(String[] args) {
    this.all = List.of(args);
  }

  /**
   * Reads {@code args}, which may hold the options {@code valued} (each followed by its value) and
   * the switches {@code switches}.
   *
   * @throws IllegalArgumentException naming an unknown option or one without a value
   */
  public static BenchArgs parse(String[] args, Set<String> valued, Set<String> switches) {
    BenchArgs out = new BenchArgs(args);
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (switches.contains(a)) {
        out.flags.add(a);
      } else if (valued.contains(a)) {
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException(a + " needs a value");
        }
        out.values.put(a, args[++i]);
      } else if (a.startsWith("--")) {
        throw new IllegalArgumentException("unknown option " + a);
      } else {
        out.output = Path.of(a);
      }
    }
    return out;
  }

  /** The arguments as given, for the report. */
  public List<String> all() {
    return new ArrayList<>(all);
  }

  /** The report file, or null when none was named. */
  public @Nullable Path output() {
    return output;
  }

  public boolean has(String flag) {
    return flags.contains(flag);
  }

  public long longValue(String name, long otherwise) {
    String v = values.get(name);
    return v == null ? otherwise : Long.parseLong(v.replace("_", ""));
  }

  public int intValue(String name, int otherwise) {
    String v = values.get(name);
    return v == null ? otherwise : Integer.parseInt(v.replace("_", ""));
  }

  public String string(String name, String otherwise) {
    String v = values.get(name);
    return v == null ? otherwise : v;
  }

  public @Nullable String string(String name) {
    return values.get(name);
  }
}
