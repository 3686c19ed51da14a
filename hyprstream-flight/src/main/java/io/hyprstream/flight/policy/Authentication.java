package io.hyprstream.flight.policy;

import at.favre.lib.crypto.bcrypt.BCrypt;
import java.time.Duration;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Who may call a {@link HyprstreamServer}: users with bcrypt password hashes and a role, and how
 * long the bearer tokens they receive live. Clients send a username and password once (Flight basic
 * auth, as the Flight SQL JDBC driver's {@code user}/{@code password} and ADBC's {@code username}
 * /{@code password} do) and get a bearer token back, which authenticates their later calls.
 *
 * <pre>{@code
 * Authentication auth = Authentication.of(
 *     List.of(new Authentication.User("alice", Authentication.hash("s3cret".toCharArray()),
 *         Authentication.Role.READ_WRITE)),
 *     Duration.ofHours(1));
 * }</pre>
 */
public final class Authentication {
  /** The bcrypt cost {@link #hash} uses: about a quarter of a second per check on one core. */
  public static final int BCRYPT_COST = 12;

  /** How long a bearer token lives by default. */
  public static final Duration DEFAULT_TOKEN_TTL = Duration.ofHours(1);

  /** What a user may do. */
  public enum Role {
    /** Query, read metadata, ingest and change tables. */
    READ_WRITE,
    /** Query and read metadata only: every ingest path and every changing statement is refused. */
    READ_ONLY;

    /** The configuration name: {@code read_write} or {@code read_only}. */
    public String configName() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** The role named {@code name} ({@code read_write}, {@code read_only}; any case). */
    public static Role parse(String name) {
      switch (name.trim().toLowerCase(Locale.ROOT).replace('-', '_')) {
        case "read_write":
          return READ_WRITE;
        case "read_only":
          return READ_ONLY;
        default:
          throw new IllegalArgumentException(
              "role must be read_write or read_only, got '" + name + "'");
      }
    }
  }

  /** A user: a name, a bcrypt hash of the password (never the password) and a role. */
  public static final class User {
    private final String name;
    private final String passwordHash;
    private final Role role;

    /**
     * @param passwordHash a bcrypt hash ({@code $2a$}, {@code $2b$} or {@code $2y$}), as {@link
     *     #hash} or {@code hyprstream hash-password} make
     */
    public User(String name, String passwordHash, Role role) {
      if (name.isBlank() || name.contains(":")) {
        throw new IllegalArgumentException(
            "a user name must be non-blank and hold no ':', got '" + name + "'");
      }
      if (!passwordHash.matches("\\$2[aby]\\$\\d\\d\\$[./A-Za-z0-9]{53}")) {
        throw new IllegalArgumentException(
            "the password hash of user '"
                + name
                + "' is not a bcrypt hash (make one with `hyprstream hash-password`)");
      }
      this.name = name;
      this.passwordHash = passwordHash;
      this.role = Objects.requireNonNull(role, "role");
    }

    public String name() {
      return name;
    }

    /** The bcrypt hash; a secret too: do not log it. */
    public String passwordHash() {
      return passwordHash;
    }

    public Role role() {
      return role;
    }

    /** The name and role, never the hash. */
    @Override
    public String toString() {
      return name + " (" + role.configName() + ")";
    }
  }

  private final Map<String, User> users;
  private final Duration tokenTtl;
  private final InstantSource clock;

  private Authentication(Map<String, User> users, Duration tokenTtl, InstantSource clock) {
    this.users = users;
    this.tokenTtl = tokenTtl;
    this.clock = clock;
  }

  /**
   * Users (at least one, names unique) whose tokens live {@code tokenTtl}.
   *
   * @throws IllegalArgumentException when there is no user, a name repeats or the TTL is not
   *     positive
   */
  public static Authentication of(List<User> users, Duration tokenTtl) {
    if (users.isEmpty()) {
      throw new IllegalArgumentException("authentication needs at least one user");
    }
    if (tokenTtl.isNegative() || tokenTtl.isZero()) {
      throw new IllegalArgumentException("tokenTtl must be positive, got " + tokenTtl);
    }
    Map<String, User> byName = new LinkedHashMap<>();
    for (User u : users) {
      if (byName.put(u.name(), u) != null) {
        throw new IllegalArgumentException("user '" + u.name() + "' is defined twice");
      }
    }
    return new Authentication(Map.copyOf(byName), tokenTtl, InstantSource.system());
  }

  /** The same users with token expiry measured on {@code clock} (tests). */
  public Authentication withClock(InstantSource clock) {
    return new Authentication(users, tokenTtl, Objects.requireNonNull(clock, "clock"));
  }

  /** A bcrypt hash of {@code password} at {@link #BCRYPT_COST}. */
  public static String hash(char[] password) {
    return hash(password, BCRYPT_COST);
  }

  /** A bcrypt hash of {@code password} at {@code cost} (4 to 31; tests use 4). */
  public static String hash(char[] password, int cost) {
    return BCrypt.withDefaults().hashToString(cost, password);
  }

  /** The users by name. */
  public Map<String, User> users() {
    return users;
  }

  public Duration tokenTtl() {
    return tokenTtl;
  }

  public InstantSource clock() {
    return clock;
  }

  /** The users and the TTL, never a hash. */
  @Override
  public String toString() {
    return "Authentication{users=" + users.values() + ", tokenTtl=" + tokenTtl + "}";
  }
}
