package io.hyprstream.flight.internal.console;

import com.sun.net.httpserver.HttpExchange;
import io.hyprstream.flight.internal.AccessControl;
import io.hyprstream.flight.internal.TokenAuthenticator;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightCallHeaders;
import org.apache.arrow.flight.auth2.Auth2Constants;
import org.apache.arrow.flight.auth2.CallHeaderAuthenticator;
import org.jspecify.annotations.Nullable;

/**
 * Who calls the console's API: the same users, bearer tokens and roles as the Flight SQL port,
 * checked by the server's own {@link TokenAuthenticator} (a token from either works on both). Only
 * the {@code Authorization} header counts, never a cookie, so another site cannot make a browser
 * send an authenticated request.
 */
final class ConsoleAuth {
  /** An authenticated caller and the token to use from now on (null when one was sent). */
  record Login(String user, @Nullable String token) {}

  private final @Nullable TokenAuthenticator authenticator;
  private final AccessControl access;

  ConsoleAuth(@Nullable TokenAuthenticator authenticator, AccessControl access) {
    this.authenticator = authenticator;
    this.access = access;
  }

  /** Whether callers must authenticate. */
  boolean enabled() {
    return authenticator != null;
  }

  AccessControl access() {
    return access;
  }

  /**
   * The caller of {@code ex}, from {@code Authorization: Bearer TOKEN} (or {@code Basic}, which is
   * checked against the password hash and mints a token); the empty name when authentication is
   * off.
   *
   * @throws org.apache.arrow.flight.FlightRuntimeException UNAUTHENTICATED, saying why
   */
  Login authenticate(HttpExchange ex) {
    if (authenticator == null) {
      return new Login("", null);
    }
    String header = ex.getRequestHeaders().getFirst("Authorization");
    if (header == null || header.isBlank()) {
      throw CallStatus.UNAUTHENTICATED
          .withDescription(
              "authentication required: log in (POST /api/login with HTTP basic credentials) and"
                  + " send its token as Authorization: Bearer TOKEN")
          .toRuntimeException();
    }
    FlightCallHeaders headers = new FlightCallHeaders();
    headers.insert(Auth2Constants.AUTHORIZATION_HEADER, header);
    CallHeaderAuthenticator.AuthResult result = authenticator.authenticate(headers);
    FlightCallHeaders outgoing = new FlightCallHeaders();
    result.appendToOutgoingHeaders(outgoing);
    String minted = outgoing.get(Auth2Constants.AUTHORIZATION_HEADER);
    String token =
        minted != null && minted.startsWith(Auth2Constants.BEARER_PREFIX)
            ? minted.substring(Auth2Constants.BEARER_PREFIX.length())
            : null;
    return new Login(result.getPeerIdentity(), token);
  }
}
