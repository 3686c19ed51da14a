package io.hyprstream.flight.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.google.protobuf.ByteString;
import java.security.SecureRandom;
import java.time.Duration;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightProducer.CallContext;

/**
 * The statement handles in the tickets of ad-hoc queries: random, server-issued, bound to the user
 * who asked for the FlightInfo, and valid for a while. A handle never carries SQL, so a hand-made
 * one cannot run a statement the query path did not check. (A cluster's route tickets, {@code
 * ClusterMember.Endpoint}, do carry their query, for another instance to redeem; it is checked like
 * a statement the caller sends.)
 */
public final class StatementTickets {
  private static final int HANDLE_BYTES = 16;

  /** What a handle stands for: the query and who may read it. */
  private record Issued(String sql, String user) {}

  private final Cache<ByteString, Issued> issued;
  private final SecureRandom random = new SecureRandom();

  /**
   * @param ttl how long a handle may be redeemed after its FlightInfo
   * @param maxHandles how many handles are held at most (the oldest go first)
   */
  public StatementTickets(Duration ttl, long maxHandles) {
    this.issued = Caffeine.newBuilder().expireAfterWrite(ttl).maximumSize(maxHandles).build();
  }

  /** A new handle for {@code sql}, redeemable by the caller of {@code context}. */
  public ByteString issue(String sql, CallContext context) {
    byte[] bytes = new byte[HANDLE_BYTES];
    random.nextBytes(bytes);
    ByteString handle = ByteString.copyFrom(bytes);
    issued.put(handle, new Issued(sql, context.peerIdentity()));
    return handle;
  }

  /**
   * The query of {@code handle}. Handles stay valid until they expire, so a client may read a
   * FlightInfo's endpoint more than once.
   *
   * @throws org.apache.arrow.flight.FlightRuntimeException INVALID_ARGUMENT for a handle this
   *     server did not issue to this user, or one that expired
   */
  public String redeem(ByteString handle, CallContext context) {
    Issued i = issued.getIfPresent(handle);
    if (i == null || !i.user().equals(context.peerIdentity())) {
      throw CallStatus.INVALID_ARGUMENT
          .withDescription(
              "unknown or expired statement handle: tickets are issued by GetFlightInfo and hold"
                  + " for a limited time; ask for the FlightInfo again")
          .toRuntimeException();
    }
    return i.sql();
  }
}
