package io.hyprstream.internal.table;

/**
 * The span of event time a query may read, in microseconds, {@code [from, to]} inclusive; open ends
 * are {@code Long.MIN_VALUE} and {@code Long.MAX_VALUE}. Found from the literal bounds in the SQL
 * text, so it may be wider than what the query reads, never narrower.
 */
public record TimeRange(long from, long to) {
  public static final TimeRange ALL = new TimeRange(Long.MIN_VALUE, Long.MAX_VALUE);

  public boolean boundedBelow() {
    return from != Long.MIN_VALUE;
  }
}
