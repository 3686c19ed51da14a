package io.hyprstream.window;

import io.hyprstream.api.IngestResult;
import java.util.EnumMap;
import java.util.Map;

/** How a batch's rows fared in an update, counted by {@link IngestResult.Reason}. */
final class RowOutcomes {
  long tooLate;
  long tooFarAhead;
  long nullTime;
  long nullValue;

  /**
   * Counts a row with a time whose window is older than retention in {@code late} of the {@code
   * sizes} window sizes and further ahead than retention allows in {@code ahead} of them.
   */
  void count(int late, int ahead, int sizes, boolean anyValue) {
    if (late == sizes) {
      tooLate++;
    } else if (ahead == sizes || late + ahead == sizes) {
      tooFarAhead++;
    } else if (!anyValue) {
      nullValue++;
    }
  }

  IngestResult result(int rows) {
    Map<IngestResult.Reason, Long> reasons = new EnumMap<>(IngestResult.Reason.class);
    reasons.put(IngestResult.Reason.TOO_LATE, tooLate);
    reasons.put(IngestResult.Reason.TOO_FAR_AHEAD, tooFarAhead);
    reasons.put(IngestResult.Reason.NULL_TIME, nullTime);
    reasons.put(IngestResult.Reason.NULL_VALUE, nullValue);
    return IngestResult.of(rows, reasons);
  }
}
