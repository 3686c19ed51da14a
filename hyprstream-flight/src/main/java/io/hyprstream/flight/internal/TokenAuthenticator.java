package io.hyprstream.flight.internal;

import at.favre.lib.crypto.bcrypt.BCrypt;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.hyprstream.flight.policy.Authentication;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.CallHeaders;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.auth2.Auth2Constants;
import org.apache.arrow.flight.auth2.AuthUtilities;
import org.apache.arrow.flight.auth2.CallHeaderAuthenticator;
import org.jspecify.annotations.Nullable;

/**
 * Flight's header authenticator for {@link Authentication}: a call carrying {@code Basic
 * user:password} is checked against the user's bcrypt hash and answered with a fresh bearer token
 * in the {@code authorization} response header; a call carrying {@code Bearer token} is let through
 * while the token lives. Anything else is UNAUTHENTICATED.
 *
 * <p>The token is also set as the cookie {@value #TOKEN_COOKIE}, and a call carrying that cookie is
 * let through like one carrying the bearer header. Some clients send calls that bypass their own
 * bearer-token option but never their cookie middleware: ADBC Java 0.20's bulk ingest sends its
 * prepared statement's parameters with no call options, so with authentication on it works only
 * through the cookie (ADBC option {@code adbc.flight.sql.rpc.with_cookie_middleware = true}).
 *
 * <p>Written here rather than Flight's {@code GeneratedBearerTokenAuthenticator} because token
 * expiry must follow an injectable clock (tests expire a token without sleeping) and the TTL is
 * configured in seconds, not whole minutes.
 */
public final class TokenAuthenticator implements CallHeaderAuthenticator {
  /**
   * Compared against when the user is unknown, so that a wrong name costs as long as a wrong
   * password.
   */
  static final String TOKEN_COOKIE = "hyprstream_token";

  private static final String DUMMY_HASH =
      "$2a$12$C6UzMDM.H6dfI/f/IKcEeO5uV1b3ZkF0nZ0Pa4yTLjWd0HBCqnB5m";

  private final Authentication auth;
  private final Cache<String, String> userByToken;
  private final SecureRandom random = new SecureRandom();

  public TokenAuthenticator(Authentication auth) {
    this.auth = auth;
    this.userByToken =
        Caffeine.newBuilder()
            .expireAfterWrite(auth.tokenTtl())
            .ticker(() -> TimeUnit.MILLISECONDS.toNanos(auth.clock().millis()))
            .maximumSize(1_000_000)
            .build();
  }

  @Override
  public AuthResult authenticate(CallHeaders headers) {
    String bearer = AuthUtilities.getValueFromAuthHeader(headers, Auth2Constants.BEARER_PREFIX);
    if (bearer == null) {
      bearer = tokenCookie(headers);
    }
    if (bearer != null) {
      String user = userByToken.getIfPresent(bearer);
      if (user == null) {
        throw unauthenticated(
            "the bearer token is unknown or expired (tokens live auth.token_ttl = "
                + auth.tokenTtl().toSeconds()
                + " s); authenticate again with a username and password");
      }
      return result(user, null);
    }
    String basic = AuthUtilities.getValueFromAuthHeader(headers, Auth2Constants.BASIC_PREFIX);
    if (basic != null) {
      String user = checkPassword(basic);
      String token = newToken();
      userByToken.put(token, user);
      return result(user, token);
    }
    throw unauthenticated(
        "authentication required: send a username and password (Flight basic auth; JDBC: user and"
            + " password properties) or a bearer token");
  }

  /** The value of the {@value #TOKEN_COOKIE} cookie, or null. */
  private static @Nullable String tokenCookie(CallHeaders headers) {
    Iterable<String> cookies = headers.getAll("cookie");
    if (cookies == null) {
      return null;
    }
    for (String header : cookies) {
      for (String cookie : header.split(";")) {
        String c = cookie.trim();
        if (c.startsWith(TOKEN_COOKIE + "=")) {
          return c.substring(TOKEN_COOKIE.length() + 1);
        }
      }
    }
    return null;
  }

  /** The user named by {@code Base64(user:password)}, when the password matches its hash. */
  private String checkPassword(String encoded) {
    String decoded;
    try {
      decoded = new String(Base64.getDecoder().decode(encoded.trim()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw unauthenticated("the basic credentials are not valid Base64");
    }
    int colon = decoded.indexOf(':');
    String name = colon < 0 ? decoded : decoded.substring(0, colon);
    char[] password = colon < 0 ? new char[0] : decoded.substring(colon + 1).toCharArray();
    Authentication.User user = auth.users().get(name);
    String hash = user == null ? DUMMY_HASH : user.passwordHash();
    boolean verified = BCrypt.verifyer().verify(password, hash.toCharArray()).verified;
    java.util.Arrays.fill(password, '\0');
    if (user == null || !verified) {
      throw unauthenticated("invalid username or password");
    }
    return name;
  }

  private String newToken() {
    byte[] bytes = new byte[32];
    random.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  private static AuthResult result(String user, @Nullable String newToken) {
    return new AuthResult() {
      @Override
      public String getPeerIdentity() {
        return user;
      }

      @Override
      public void appendToOutgoingHeaders(CallHeaders outgoing) {
        if (newToken != null) {
          outgoing.insert(
              Auth2Constants.AUTHORIZATION_HEADER, Auth2Constants.BEARER_PREFIX + newToken);
          outgoing.insert("set-cookie", TOKEN_COOKIE + "=" + newToken + "; HttpOnly");
        }
      }
    };
  }

  private static FlightRuntimeException unauthenticated(String message) {
    return CallStatus.UNAUTHENTICATED.withDescription(message).toRuntimeException();
  }
}
