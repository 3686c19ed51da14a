package io.hyprstream.internal.sql;

import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Binds {@code ?} parameters by writing them into the SQL as literals, for backends whose query
 * path takes no parameters. Only plain value types are accepted; anything else is refused rather
 * than guessed.
 */
public final class SqlLiterals {
  private SqlLiterals() {}

  public static String inline(String sql, List<@Nullable Object> parameters) {
    if (parameters.isEmpty()) {
      return sql;
    }
    StringBuilder out = new StringBuilder(sql.length() + 16 * parameters.size());
    int next = 0;
    char quote = 0;
    for (int i = 0; i < sql.length(); i++) {
      char c = sql.charAt(i);
      if (quote != 0) {
        if (c == quote) {
          quote = 0;
        }
        out.append(c);
      } else if (c == '\'' || c == '"') {
        quote = c;
        out.append(c);
      } else if (c == '?') {
        if (next >= parameters.size()) {
          throw new IllegalArgumentException(
              "the SQL has more ? than the " + parameters.size() + " parameters bound");
        }
        out.append(literal(parameters.get(next++)));
      } else {
        out.append(c);
      }
    }
    if (next != parameters.size()) {
      throw new IllegalArgumentException(parameters.size() + " parameters bound to " + next + " ?");
    }
    return out.toString();
  }

  private static String literal(@Nullable Object p) {
    if (p == null) {
      return "NULL";
    }
    if (p instanceof Number || p instanceof Boolean) {
      return p.toString();
    }
    if (p instanceof Instant) {
      return "'"
          + LocalDateTime.ofInstant((Instant) p, ZoneOffset.UTC).toString().replace('T', ' ')
          + "'";
    }
    if (p instanceof LocalDateTime) {
      return "'" + p.toString().replace('T', ' ') + "'";
    }
    if (p instanceof OffsetDateTime) {
      return literal(((OffsetDateTime) p).toInstant());
    }
    if (p instanceof LocalDate) {
      return "'" + p + "'";
    }
    if (p instanceof CharSequence) {
      return "'" + p.toString().replace("'", "''") + "'";
    }
    throw new IllegalArgumentException(
        "cannot send a parameter of type " + p.getClass().getName() + " to the backend");
  }
}
