package io.hyprstream.flight.internal.cli;

/** A configuration key or value is wrong; start-up stops with exit code 2 and this message. */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The exit code for configuration errors. */
  public static final int EXIT_CODE = 2;

  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }

  /** Never null: every configuration error has a message. */
  @Override
  public String getMessage() {
    return String.valueOf(super.getMessage());
  }
}
