package io.hyprstream.api;

import org.jspecify.annotations.Nullable;

/**
 * A SQL statement was refused: it does not parse, names something that does not exist, or tries
 * something the sandbox forbids (files, network, extensions). Nothing was changed.
 */
public final class QueryRejectedException extends HyprstreamException {
  private static final long serialVersionUID = 1L;

  public QueryRejectedException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }
}
