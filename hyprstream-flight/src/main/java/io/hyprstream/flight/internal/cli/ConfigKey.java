package io.hyprstream.flight.internal.cli;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * One configuration key, declared once in {@link ConfigKeys}: its name ({@code section.name}), the
 * type and default of its value, its command-line flag, whether the value is a secret, the check of
 * a single value, and the line that documents it. The environment variable, the {@code --help} text
 * and the docs check derive from it.
 *
 * @param name {@code section.name}, as written in TOML
 * @param type how the value is written and read
 * @param defaultValue the built-in default, of {@link Type#javaType}
 * @param flag the flag without {@code --}; null when only files and the environment set the key
 * @param paramLabel the flag's value as {@code --help} and docs/server.md write it (empty for a
 *     boolean, whose flag is negatable)
 * @param secret a value never shown (the banner and errors say {@code (hidden)})
 * @param check the rule a single value must meet; rules between keys are in {@link Config}
 * @param doc what the key does, one sentence for {@code --help}
 */
record ConfigKey(
    String name,
    Type type,
    Object defaultValue,
    @Nullable String flag,
    String paramLabel,
    boolean secret,
    Check check,
    String doc) {

  private static final String ENV_PREFIX = "HYPRSTREAM_";

  ConfigKey {
    if (!type.javaType.isInstance(defaultValue)) {
      throw new IllegalArgumentException(
          name + ": default " + defaultValue + " is not a " + type.javaType.getSimpleName());
    }
  }

  /** The type of a key's value. */
  enum Type {
    STRING(String.class),
    INT(Integer.class),
    LONG(Long.class),
    BOOL(Boolean.class),
    MAP(Map.class),
    /** Users: TOML {@code [[auth.users]]} tables, or {@code name:hash:role,...} as text. */
    USERS(List.class),
    /** A list of text items: a TOML array of strings, or {@code a,b,c} as text. */
    LIST(List.class);

    /** The Java type of a value once read. */
    final Class<?> javaType;

    Type(Class<?> javaType) {
      this.javaType = javaType;
    }
  }

  /** The rule one value must meet. */
  @FunctionalInterface
  interface Check {
    /** What is wrong with {@code value}, completing "KEY = VALUE ...", or null when it is fine. */
    @Nullable String problem(Object value);

    /** Any value. */
    static Check none() {
      return v -> null;
    }

    /** A number at least {@code min}. */
    static Check atLeast(long min, String problem) {
      return v -> ((Number) v).longValue() >= min ? null : problem;
    }

    /** A number from {@code min} to {@code max}. */
    static Check between(long min, long max, String problem) {
      return v -> {
        long n = ((Number) v).longValue();
        return n >= min && n <= max ? null : problem;
      };
    }

    /** Text that is not blank. */
    static Check notBlank(String problem) {
      return v -> ((String) v).isBlank() ? problem : null;
    }

    /** Text that is one of {@code allowed}, in any case. */
    static Check oneOf(Set<String> allowed, String problem) {
      return v -> allowed.contains(((String) v).trim().toLowerCase(Locale.ROOT)) ? null : problem;
    }
  }

  /** The environment variable that sets this key ({@code engine.engine}: HYPRSTREAM_ENGINE). */
  String env() {
    if (name.equals(Config.ENGINE_ENGINE)) {
      return ENV_PREFIX + "ENGINE";
    }
    return ENV_PREFIX + name.replace('.', '_').toUpperCase(Locale.ROOT);
  }

  String section() {
    return name.substring(0, name.indexOf('.'));
  }

  /** The default as docs/server.md and {@code --help} write it; empty when there is none. */
  String defaultText() {
    switch (type) {
      case BOOL:
        return (Boolean) defaultValue ? "on" : "off";
      case LIST:
      case USERS:
        return String.join(",", strings((List<?>) defaultValue));
      case MAP:
        return ((Map<?, ?>) defaultValue).isEmpty() ? "" : defaultValue.toString();
      default:
        return String.valueOf(defaultValue);
    }
  }

  private static List<String> strings(List<?> items) {
    return items.stream().map(Objects::toString).toList();
  }

  /** The {@code --help} description: the doc line and the default. */
  String help() {
    String d = defaultText();
    return d.isEmpty() ? doc : doc + " Default: " + d + ".";
  }

  /** Prefix of {@link ConfigKeys}' one-line declarations. */
  static Builder key(String name, Type type, Object defaultValue) {
    return new Builder(name, type, defaultValue);
  }

  /** Collects the optional parts of a key before its doc line ends the declaration. */
  static final class Builder {
    private final String name;
    private final Type type;
    private final Object defaultValue;
    private @Nullable String flag;
    private String paramLabel = "";
    private boolean secret;
    private Check check = Check.none();

    private Builder(String name, Type type, Object defaultValue) {
      this.name = name;
      this.type = type;
      this.defaultValue = defaultValue;
    }

    /** The flag {@code --name} taking {@code paramLabel} (empty for a negatable boolean). */
    Builder flag(String flag, String paramLabel) {
      this.flag = flag;
      this.paramLabel = paramLabel;
      return this;
    }

    Builder secret() {
      this.secret = true;
      return this;
    }

    Builder check(Check check) {
      this.check = check;
      return this;
    }

    ConfigKey doc(String doc) {
      return new ConfigKey(name, type, defaultValue, flag, paramLabel, secret, check, doc);
    }
  }
}
