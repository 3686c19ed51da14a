package io.hyprstream.api;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/**
 * What an ingest did: how many rows were stored, and how many of them were left out of the window
 * aggregates, by reason. Rows left out of the aggregates are still stored as raw rows.
 *
 * <p>An ingest that carried an ingest id already remembered for its table is a <em>repeat</em>: it
 * stored nothing, so its result is {@code rowsAccepted == 0} with {@link #repeated()} true. The
 * rows of the original ingest stay stored once; its counts are not kept.
 *
 * @param rowsAccepted rows stored in the cache (and, with a backend, queued for it)
 * @param notAggregated every reason with a non-zero count of rows stored but not aggregated
 * @param repeated true when the ingest was a repeat of one already stored, and stored nothing
 */
public record IngestResult(long rowsAccepted, Map<Reason, Long> notAggregated, boolean repeated) {
  /** Why a stored row did not update any window aggregate. */
  public enum Reason {
    /** Its event time is older than every retained window of its table. */
    TOO_LATE,
    /**
     * Its event time is further ahead of the clock than every window's retention: a clock or unit
     * error on the sender's side, kept out of the windows so it cannot pin them.
     */
    TOO_FAR_AHEAD,
    /** Its event time is null (only possible in tables whose time column is nullable). */
    NULL_TIME,
    /** Every value column of the row is null. */
    NULL_VALUE
  }

  private static final IngestResult EMPTY = new IngestResult(0, Map.of(), false);
  private static final IngestResult REPEATED = new IngestResult(0, Map.of(), true);

  /**
   * Keeps only the reasons with a non-zero count, in a map of its own that cannot be changed.
   *
   * @throws IllegalArgumentException if {@code rowsAccepted} is negative, or a repeat has rows
   */
  public IngestResult {
    if (rowsAccepted < 0) {
      throw new IllegalArgumentException("rowsAccepted must be >= 0, got " + rowsAccepted);
    }
    if (repeated && rowsAccepted != 0) {
      throw new IllegalArgumentException("a repeated ingest stores no rows, got " + rowsAccepted);
    }
    EnumMap<Reason, Long> counted = new EnumMap<>(Reason.class);
    notAggregated.forEach(
        (reason, n) -> {
          if (n > 0) {
            counted.put(reason, n);
          }
        });
    notAggregated = Collections.unmodifiableMap(counted);
  }

  /** A result of {@code rowsAccepted} rows, none left out of the aggregates. */
  public static IngestResult of(long rowsAccepted) {
    return rowsAccepted == 0 ? EMPTY : of(rowsAccepted, Map.of());
  }

  /** A result of {@code rowsAccepted} rows of which {@code notAggregated} skipped the windows. */
  public static IngestResult of(long rowsAccepted, Map<Reason, Long> notAggregated) {
    return new IngestResult(rowsAccepted, notAggregated, false);
  }

  /** The result of a repeat: an ingest whose id was remembered, so nothing was stored. */
  public static IngestResult repeat() {
    return REPEATED;
  }

  /** Rows stored but not aggregated for {@code reason}. */
  public long rowsNotAggregated(Reason reason) {
    return notAggregated.getOrDefault(reason, 0L);
  }

  /** Rows stored but too old for every retained window. */
  public long rowsTooLate() {
    return rowsNotAggregated(Reason.TOO_LATE);
  }

  /** The sum of this result and {@code other}, the parts of one ingest (never a repeat). */
  public IngestResult plus(IngestResult other) {
    EnumMap<Reason, Long> sum = new EnumMap<>(Reason.class);
    sum.putAll(notAggregated);
    other.notAggregated.forEach((r, n) -> sum.merge(r, n, Long::sum));
    return new IngestResult(rowsAccepted + other.rowsAccepted, sum, false);
  }
}
