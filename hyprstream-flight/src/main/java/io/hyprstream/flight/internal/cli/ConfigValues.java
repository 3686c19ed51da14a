package io.hyprstream.flight.internal.cli;

import io.hyprstream.flight.policy.Authentication;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.tomlj.TomlArray;
import org.tomlj.TomlTable;

/** A key's value read from TOML or from text (a flag, a variable), typed by its key's type. */
final class ConfigValues {
  private ConfigValues() {}

  static Object fromToml(String key, ConfigKey.Type type, Object raw, String where) {
    switch (type) {
      case STRING:
        if (raw instanceof String) {
          return raw;
        }
        break;
      case INT:
        if (raw instanceof Long) {
          long v = (Long) raw;
          if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new ConfigException(where + ": " + key + " = " + v + " is out of range");
          }
          return (int) v;
        }
        break;
      case LONG:
        if (raw instanceof Long) {
          return raw;
        }
        break;
      case USERS:
        if (raw instanceof TomlArray) {
          return usersFromToml((TomlArray) raw, where);
        }
        break;
      case BOOL:
        if (raw instanceof Boolean) {
          return raw;
        }
        break;
      case MAP:
        if (raw instanceof TomlTable) {
          TomlTable t = (TomlTable) raw;
          Map<String, String> map = new LinkedHashMap<>();
          for (String k : t.keySet()) {
            map.put(k, String.valueOf(t.get(List.of(k))));
          }
          return map;
        }
        break;
      case LIST:
        if (raw instanceof TomlArray) {
          List<String> items = new ArrayList<>();
          for (Object o : ((TomlArray) raw).toList()) {
            if (!(o instanceof String)) {
              break;
            }
            items.add((String) o);
          }
          if (items.size() == ((TomlArray) raw).size()) {
            return items;
          }
        }
        break;
    }
    throw new ConfigException(
        where + ": " + key + " must be " + describe(type) + ", got " + tomlText(raw));
  }

  static String tomlText(Object raw) {
    return raw instanceof String ? "\"" + raw + "\"" : String.valueOf(raw);
  }

  private static String describe(ConfigKey.Type type) {
    switch (type) {
      case STRING:
        return "a string (in double quotes)";
      case INT:
      case LONG:
        return "an integer";
      case USERS:
        return "an array of [[auth.users]] tables (name, password_hash, role)";
      case BOOL:
        return "true or false";
      case MAP:
        return "a table of options";
      case LIST:
        return "an array of strings, e.g. [\"5m:1d\", \"1h\"]";
    }
    throw new AssertionError(type);
  }

  /** Parses a value given as text (environment) for {@code key}. */
  static Object fromText(String key, ConfigKey.Type type, String text, String where) {
    String t = text.trim();
    switch (type) {
      case STRING:
        return text;
      case INT:
        try {
          return Integer.parseInt(t);
        } catch (NumberFormatException ex) {
          throw new ConfigException(where + ": " + key + " must be an integer, got '" + text + "'");
        }
      case LONG:
        try {
          return Long.parseLong(t);
        } catch (NumberFormatException ex) {
          throw new ConfigException(where + ": " + key + " must be an integer, got '" + text + "'");
        }
      case USERS:
        return usersFromText(t.isEmpty() ? List.of() : List.of(t.split(",")), where);
      case BOOL:
        if (t.equalsIgnoreCase("true") || t.equals("1") || t.equalsIgnoreCase("yes")) {
          return true;
        } else if (t.equalsIgnoreCase("false") || t.equals("0") || t.equalsIgnoreCase("no")) {
          return false;
        }
        throw new ConfigException(
            where + ": " + key + " must be true or false, got '" + text + "'");
      case MAP:
        return parseOptions(t, where + ": " + key);
      case LIST:
        List<String> items = new ArrayList<>();
        for (String item : t.split(",")) {
          if (!item.isBlank()) {
            items.add(item.trim());
          }
        }
        return items;
    }
    throw new AssertionError(type);
  }

  /** Users from {@code [[auth.users]]} tables: name, password_hash, role (default read_only). */
  private static List<Authentication.User> usersFromToml(TomlArray array, String where) {
    List<Authentication.User> users = new ArrayList<>();
    for (int i = 0; i < array.size(); i++) {
      String at = where + ": auth.users[" + i + "]";
      Object item = array.get(i);
      if (!(item instanceof TomlTable)) {
        throw new ConfigException(at + " must be a table with name, password_hash and role");
      }
      TomlTable t = (TomlTable) item;
      for (String k : t.keySet()) {
        if (!Set.of("name", "password_hash", "role").contains(k)) {
          throw new ConfigException(
              at + ": unknown key '" + k + "' (known: name, password_hash, role)");
        }
      }
      Object role = t.get(List.of("role"));
      users.add(
          user(
              AggregationsToml.requiredString(t, "name", at),
              AggregationsToml.requiredString(t, "password_hash", at),
              role == null ? "read_only" : String.valueOf(role),
              at));
    }
    return users;
  }

  /** Users from {@code name:bcrypt-hash:role} entries (flags, the environment). */
  static List<Authentication.User> usersFromText(List<String> entries, String where) {
    List<Authentication.User> users = new ArrayList<>();
    for (String entry : entries) {
      String[] parts = entry.trim().split(":", -1);
      if (parts.length != 3) {
        throw new ConfigException(
            where
                + ": "
                + Config.AUTH_USERS
                + " entries are NAME:BCRYPT_HASH:ROLE, got an entry with "
                + parts.length
                + " fields (password hash hidden)");
      }
      users.add(user(parts[0], parts[1], parts[2], where));
    }
    return users;
  }

  private static Authentication.User user(String name, String hash, String role, String where) {
    try {
      return new Authentication.User(name, hash, Authentication.Role.parse(role));
    } catch (IllegalArgumentException e) {
      throw new ConfigException(where + ": " + Config.AUTH_USERS + ": " + e.getMessage(), e);
    }
  }

  /** Parses {@code k=v,k=v} (empty text: no options). */
  static Map<String, String> parseOptions(String text, String where) {
    Map<String, String> map = new LinkedHashMap<>();
    if (text.isEmpty()) {
      return map;
    }
    for (String pair : text.split(",")) {
      int eq = pair.indexOf('=');
      if (eq <= 0) {
        throw new ConfigException(where + ": '" + pair + "' is not key=value");
      }
      map.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
    }
    return map;
  }
}
