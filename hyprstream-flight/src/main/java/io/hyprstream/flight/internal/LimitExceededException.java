package io.hyprstream.flight.internal;

import io.hyprstream.api.HyprstreamException;

/** A request went past one of the server's limits; {@link #limit()} is its configuration key. */
public final class LimitExceededException extends HyprstreamException {
  private static final long serialVersionUID = 1L;

  private final String limit;

  public LimitExceededException(String limit, String message) {
    super(message);
    this.limit = limit;
  }

  /** The limit's configuration key, e.g. {@code limits.max_batch_bytes}. */
  public String limit() {
    return limit;
  }
}
