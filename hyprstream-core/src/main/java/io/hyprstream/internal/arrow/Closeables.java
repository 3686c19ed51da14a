package io.hyprstream.internal.arrow;

import java.io.IOException;
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

  /**
   * Closes {@code first}, then {@code then} even when closing {@code first} failed: what an Arrow
   * reader's {@code closeReadSource} needs for its source and the resources behind it. A checked
   * failure other than an {@link IOException} comes out wrapped in one.
   */
  public static void closeInOrder(AutoCloseable first, AutoCloseable then) throws IOException {
    try {
      closeAsIo(first);
    } finally {
      closeAsIo(then);
    }
  }

  private static void closeAsIo(AutoCloseable c) throws IOException {
    try {
      c.close();
    } catch (IOException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException(e.getMessage(), e);
    }
  }
}
