package io.hyprstream.api;

import org.jspecify.annotations.Nullable;

/**
 * The root of every exception Hyprstream throws. Unchecked: callers catch the subclass they can act
 * on ({@link SchemaMismatchException}, {@link QueryRejectedException}, ...) and let the rest
 * propagate.
 */
public class HyprstreamException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public HyprstreamException(String message) {
    super(message);
  }

  public HyprstreamException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }
}
