package io.hyprstream.api;

import org.jspecify.annotations.Nullable;

/** The backend store could not be reached or refused the operation. */
public final class BackendUnavailableException extends HyprstreamException {
  private static final long serialVersionUID = 1L;

  public BackendUnavailableException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }
}
