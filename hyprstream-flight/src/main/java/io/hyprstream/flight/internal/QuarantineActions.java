package io.hyprstream.flight.internal;

import io.hyprstream.Hyprstream;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.writethrough.Quarantine;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The Flight action {@value #REQUEUE} puts batches the backend refused as data (listed in {@code
 * hyprstream_quarantine}) back in the write-through queue. The action's body is a batch id, or
 * empty for every quarantined batch; the answer is JSON naming what was requeued.
 */
public final class QuarantineActions {
  /** The action type. */
  public static final String REQUEUE = "requeue_quarantine";

  /** The description {@code ListActions} gives. */
  public static final String DESCRIPTION =
      "Re-send quarantined batches to the backend: body = a batch id from hyprstream_quarantine,"
          + " or empty for all (read_write users only)";

  private QuarantineActions() {}

  /**
   * Requeues what {@code body} names.
   *
   * @return {@code {"requeued":[{"table":..,"batch_id":..,"rows":..}]}}
   * @throws QueryRejectedException without a backend, or when no such batch is quarantined
   */
  public static byte[] requeue(Hyprstream hyprstream, byte[] body) {
    String id = new String(body, StandardCharsets.UTF_8).strip();
    List<Quarantine.Entry> done =
        hyprstream.operations().requeueQuarantine(id.isEmpty() ? null : id);
    StringBuilder json = new StringBuilder("{\"requeued\":[");
    for (int i = 0; i < done.size(); i++) {
      Quarantine.Entry e = done.get(i);
      json.append(i == 0 ? "" : ",")
          .append("{\"table\":")
          .append(quote(e.table()))
          .append(",\"batch_id\":")
          .append(quote(e.batchId()))
          .append(",\"rows\":")
          .append(e.rows())
          .append('}');
    }
    return json.append("]}").toString().getBytes(StandardCharsets.UTF_8);
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
