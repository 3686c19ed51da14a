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

  /**
   * {@code sql} with each {@code ?} placeholder (outside literals, quoted names and comments)
   * replaced by the literal of its parameter, in order.
   *
   * @throws IllegalArgumentException when the placeholders and the parameters differ in number
   */
  public static String inline(String sql, List<@Nullable Object> parameters) {
    if (parameters.isEmpty()) {
      return sql;
    }
    StringBuilder out = new StringBuilder(sql.length() + 16 * parameters.size());
    int next = 0;
    int copied = 0;
    for (SqlTokens.Token t : SqlTokens.tokenize(sql)) {
      if (!t.isSymbol("?")) {
        continue;
      }
      if (next >= parameters.size()) {
        throw new IllegalArgumentException(
            "the SQL has more ? than the " + parameters.size() + " parameters bound");
      }
      out.append(sql, copied, t.start()).append(literal(parameters.get(next++)));
      copied = t.end();
    }
    if (next != parameters.size()) {
      throw new IllegalArgumentException(parameters.size() + " parameters bound to " + next + " ?");
    }
    return out.append(sql, copied, sql.length()).toString();
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
