package io.hyprstream.testing;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;

/** A clock tests move by hand. */
public final class ManualClock implements InstantSource {
  private volatile Instant now;

  /** A clock at the current time. */
  public ManualClock() {
    this(Instant.now());
  }

  /** A clock at {@code start}. */
  public ManualClock(Instant start) {
    this.now = start;
  }

  @Override
  public Instant instant() {
    return now;
  }

  /** Moves the clock forward by {@code d}. */
  public void advance(Duration d) {
    now = now.plus(d);
  }

  /** Sets the clock to {@code instant}. */
  public void set(Instant instant) {
    now = instant;
  }
}
