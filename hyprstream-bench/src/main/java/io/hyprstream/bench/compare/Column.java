package io.hyprstream.bench.compare;

import io.hyprstream.bench.Stats;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** One column of the results table: a system in one query mode, and what it measured. */
final class Column {
  final String label;
  String version = "";
  String settings = "";

  /** Why the system did not run, or null when it ran. */
  @Nullable String skipped;

  /** True for the second mode of a system: W1 and W5 are the first mode's. */
  boolean sharesIngest;

  double w1RowsPerSecond;

  /** CPU time of W1 per row, ns: this JVM's process plus the system's own server processes. */
  double w1CpuNanosPerRow;

  @Nullable Stats w2;
  @Nullable Stats w3;
  long w3FirstNanos;

  /** Why W3 has no figure, or null. */
  @Nullable String w3Failure;

  @Nullable Stats w4;
  long w4ExtraPolls;
  long w5HeapBytes;
  long w5NativeBytes;
  String memoryNote = "";
  final List<String> notes = new ArrayList<>();

  /** Answers checked against the oracle. */
  long w2Checked;

  long w3Checked;

  Column(String label) {
    this.label = label;
  }

  boolean ran() {
    return skipped == null;
  }

  long w5Bytes() {
    return w5HeapBytes + w5NativeBytes;
  }
}
