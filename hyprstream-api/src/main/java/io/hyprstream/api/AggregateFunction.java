package io.hyprstream.api;

import java.util.Locale;

/**
 * The functions a window view exposes for each value column, as columns named {@code
 * <value>_<suffix>} (for example {@code value_avg}).
 *
 * <p>All are maintained from one mergeable state per (key, window), so choosing fewer saves view
 * columns, not ingest work. Their semantics follow SQL over the window's raw rows:
 */
public enum AggregateFunction {
  /** Non-null values, like {@code COUNT(value)}. */
  COUNT,
  /** {@code SUM(value)}; NULL when the window holds no value. */
  SUM,
  /** {@code AVG(value)}. */
  AVG,
  /** {@code MIN(value)}. */
  MIN,
  /** {@code MAX(value)}. */
  MAX,
  /** Sample standard deviation, {@code STDDEV_SAMP(value)}; NULL for fewer than two values. */
  STDDEV,
  /**
   * Least-squares slope of value over time, {@code REGR_SLOPE(value, x)} with x the seconds since
   * the window start: the live trend's weight.
   */
  SLOPE,
  /** {@code REGR_INTERCEPT(value, x)}: the live trend's bias at the window start. */
  INTERCEPT;

  /** The suffix of this function's view column, e.g. {@code "avg"}. */
  public String columnSuffix() {
    return name().toLowerCase(Locale.ROOT);
  }
}
