package io.hyprstream.internal.sql;

/**
 * A span of event time in microseconds since the epoch, {@code [fromMicros, toMicros]} inclusive;
 * an open end is {@code Long.MIN_VALUE} or {@code Long.MAX_VALUE}. A span a statement is proven to
 * stay within: it may be wider than what the statement reads, never narrower.
 */
public record TimeSpan(long fromMicros, long toMicros) {
  /** No bound proven. */
  public static final TimeSpan ALL = new TimeSpan(Long.MIN_VALUE, Long.MAX_VALUE);

  public boolean boundedBelow() {
    return fromMicros != Long.MIN_VALUE;
  }

  public boolean boundedAbove() {
    return toMicros != Long.MAX_VALUE;
  }

  TimeSpan intersect(TimeSpan o) {
    return new TimeSpan(Math.max(fromMicros, o.fromMicros), Math.min(toMicros, o.toMicros));
  }

  TimeSpan hull(TimeSpan o) {
    return new TimeSpan(Math.min(fromMicros, o.fromMicros), Math.max(toMicros, o.toMicros));
  }
}
