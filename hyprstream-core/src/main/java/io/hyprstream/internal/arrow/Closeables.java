package io.hyprstream.internal.arrow;

import org.jspecify.annotations.Nullable;

/** Closing on error paths and at shutdown, where the first failure is the one worth reporting. */
public final class Closeables {
  private Closeables() {}

  /** Closes {@code c} if it is not null, swallowing what closing throws. */
  public static void closeQuietly(@Nullable AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception ignored) {
      // An earlier failure is already on its way to the caller; this one would only hide it.
    }
  }
}
