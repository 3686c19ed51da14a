package io.hyprstream.api;

/** A configured limit (memory, queue, disk) was reached; the request was refused, not truncated. */
public final class ResourceExhaustedException extends HyprstreamException {
  private static final long serialVersionUID = 1L;

  public ResourceExhaustedException(String message) {
    super(message);
  }
}
