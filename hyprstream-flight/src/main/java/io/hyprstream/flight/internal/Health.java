package io.hyprstream.flight.internal;

import io.hyprstream.ClusterMember;
import io.hyprstream.Hyprstream;
import io.hyprstream.writethrough.WriteThrough;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Whether the server is live and ready. Live: the process answers. Ready: the instance is built
 * (the cache is open and the write-ahead log replayed, both done before {@link #serving} is
 * called), the Flight port is open, it is not shutting down, and the backend, when there is one, is
 * taking writes: write-through is no further behind than its bound ({@code engine.max_lag}, the
 * builder's {@code maxWriteThroughLag}), whether the backend refuses the writes or stalls on them.
 * In a cluster, also: it reaches the cluster's Kafka, has restored the partitions it owns, applies
 * them, and writes them to its backend ({@link ClusterMember#problems}, which never waits on
 * Kafka).
 */
public final class Health {
  private volatile @Nullable Hyprstream serving;
  private volatile String stage = "starting: opening the cache and replaying the write-ahead log";

  /** The instance is built and its port open. */
  public void serving(Hyprstream hyprstream) {
    this.serving = hyprstream;
  }

  /** The server is draining: load balancers should stop sending requests. */
  public void stopping() {
    this.serving = null;
    this.stage = "shutting down";
  }

  /** The current state. */
  public Report check() {
    Hyprstream hs = serving;
    List<String> problems = new ArrayList<>();
    if (hs == null) {
      problems.add(stage);
    } else {
      WriteThrough.Status s = hs.operations().writeThrough();
      if (s != null && s.overLag()) {
        problems.add(
            "backend "
                + s.backend()
                + ": write-through is "
                + s.lagMillis() / 1000
                + " s behind, over engine.max_lag of "
                + s.maxLagMillis() / 1000
                + " s ("
                + s.backlogRows()
                + " rows waiting, "
                + s.spilledBatches()
                + " batches spilled to the log"
                + (s.callMillis() > 0
                    ? "; a call has been waiting " + s.callMillis() / 1000 + " s"
                    : "")
                + ")"
                + (s.lastError() == null ? "" : "; last error: " + s.lastError()));
      }
      ClusterMember member = hs.operations().cluster();
      if (member != null) {
        problems.addAll(member.problems());
      }
    }
    return new Report(problems);
  }

  /** One health answer. */
  public static final class Report {
    private final List<String> problems;

    Report(List<String> problems) {
      this.problems = List.copyOf(problems);
    }

    public boolean ready() {
      return problems.isEmpty();
    }

    /** What is not ready, one line each; empty when ready. */
    public List<String> problems() {
      return problems;
    }

    /** {@code {"status":"ok","ready":true,"problems":[]}}. */
    public String json() {
      StringBuilder sb = new StringBuilder("{\"status\":\"ok\",\"ready\":").append(ready());
      sb.append(",\"problems\":[");
      for (int i = 0; i < problems.size(); i++) {
        sb.append(i == 0 ? "" : ",").append(quote(problems.get(i)));
      }
      return sb.append("]}").toString();
    }

    private static String quote(String s) {
      StringBuilder sb = new StringBuilder("\"");
      for (char c : s.toCharArray()) {
        if (c == '"' || c == '\\') {
          sb.append('\\').append(c);
        } else if (c < 0x20) {
          sb.append(String.format("\\u%04x", (int) c));
        } else {
          sb.append(c);
        }
      }
      return sb.append('"').toString();
    }
  }
}
