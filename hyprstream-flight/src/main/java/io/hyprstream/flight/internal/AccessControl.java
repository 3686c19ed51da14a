package io.hyprstream.flight.internal;

import io.hyprstream.Hyprstream;
import io.hyprstream.flight.policy.Authentication;
import java.util.Map;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightProducer.CallContext;
import org.jspecify.annotations.Nullable;

/**
 * Decides what the caller of a Flight call may do, from the identity Flight's authenticator
 * established ({@link CallContext#peerIdentity()}). Without authentication every caller may do
 * everything. A read-only user may query and read metadata; ingest and changing statements are
 * PERMISSION_DENIED, naming the user and the role.
 */
public final class AccessControl {
  private static final AccessControl OPEN = new AccessControl(Map.of(), false);

  private final Map<String, Authentication.Role> roles;
  private final boolean enabled;

  private AccessControl(Map<String, Authentication.Role> roles, boolean enabled) {
    this.roles = roles;
    this.enabled = enabled;
  }

  /** Every caller may do everything (no authentication). */
  public static AccessControl open() {
    return OPEN;
  }

  /** Roles of {@code auth}'s users. */
  public static AccessControl of(Authentication auth) {
    Map<String, Authentication.Role> roles = new java.util.HashMap<>();
    auth.users().forEach((name, user) -> roles.put(name, user.role()));
    return new AccessControl(Map.copyOf(roles), true);
  }

  /**
   * Refuses {@code action} (e.g. "ingest into 'metrics'") unless the caller may change data.
   *
   * @throws org.apache.arrow.flight.FlightRuntimeException PERMISSION_DENIED for read-only users
   */
  public void requireWrite(CallContext context, String action) {
    requireWrite(context.peerIdentity(), action);
  }

  /**
   * {@link #requireWrite(CallContext, String)} for {@code user} as another front end (the web
   * console) authenticated it.
   */
  public void requireWrite(String user, String action) {
    if (!enabled) {
      return;
    }
    Authentication.Role role = roles.get(user);
    if (role == null) {
      // The authenticator lets only known users through; anything else is a bug, fail closed.
      throw CallStatus.UNAUTHENTICATED
          .withDescription("no authenticated user on this call")
          .toRuntimeException();
    }
    if (role != Authentication.Role.READ_WRITE) {
      throw CallStatus.UNAUTHORIZED
          .withDescription(
              "user '"
                  + user
                  + "' has role "
                  + role.configName()
                  + ", which may query and read metadata but not "
                  + action)
          .toRuntimeException();
    }
  }

  /**
   * Refuses {@code sql} for a read-only caller unless it only reads, as the engine's SQL analyser
   * ({@link Hyprstream#describe}) says.
   */
  public void requireQuery(CallContext context, String sql, Hyprstream hyprstream) {
    requireQuery(context.peerIdentity(), sql, hyprstream);
  }

  /** {@link #requireQuery(CallContext, String, Hyprstream)} for {@code user}. */
  public void requireQuery(String user, String sql, Hyprstream hyprstream) {
    if (enabled && !hyprstream.describe(sql).readOnly()) {
      requireWrite(user, "run statements that change data: " + abbreviate(sql));
    }
  }

  /** Whether callers must authenticate (the server has users). */
  public boolean enabled() {
    return enabled;
  }

  /** {@code user}'s role, or null when unknown or authentication is off. */
  public Authentication.@Nullable Role roleOf(String user) {
    return roles.get(user);
  }

  private static String abbreviate(String sql) {
    String s = sql.strip().replaceAll("\\s+", " ");
    return s.length() > 80 ? s.substring(0, 80) + "..." : s;
  }
}
