package io.hyprstream.flight.internal;

import static io.hyprstream.flight.internal.FlightErrors.invalid;

import io.hyprstream.Hyprstream;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.apache.arrow.flight.CallHeaders;
import org.apache.arrow.flight.CallInfo;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightProducer.CallContext;
import org.apache.arrow.flight.FlightServerMiddleware;
import org.apache.arrow.flight.RequestContext;
import org.jspecify.annotations.Nullable;

/**
 * The client's ingest id of a call, from its {@value #NAME} header: a {@code DoPut} retried with
 * the same id after a lost acknowledgement stores nothing again ({@code Hyprstream.ingest(table,
 * batches, ingestId)}).
 */
public final class IngestIdHeader implements FlightServerMiddleware {
  /** The gRPC call header that carries the ingest id. */
  public static final String NAME = "hyprstream-ingest-id";

  /** The key the server registers this middleware under. */
  public static final FlightServerMiddleware.Key<IngestIdHeader> KEY =
      FlightServerMiddleware.Key.of(NAME);

  private final @Nullable String value;

  private IngestIdHeader(@Nullable String value) {
    this.value = value;
  }

  /** Reads the header of every call. */
  public static FlightServerMiddleware.Factory<IngestIdHeader> factory() {
    return (CallInfo info, CallHeaders incoming, RequestContext context) ->
        new IngestIdHeader(incoming.get(NAME));
  }

  /**
   * The ingest id of the call of {@code context}, or null when it sent none.
   *
   * @throws org.apache.arrow.flight.FlightRuntimeException INVALID_ARGUMENT when the id is empty or
   *     longer than {@value Hyprstream#MAX_INGEST_ID_LENGTH} characters
   */
  public static @Nullable String of(CallContext context) {
    IngestIdHeader header = context.getMiddleware(KEY);
    String id = header == null ? null : header.value;
    if (id != null && (id.isEmpty() || id.length() > Hyprstream.MAX_INGEST_ID_LENGTH)) {
      throw invalid(
          "header "
              + NAME
              + ": an ingest id must be 1 to "
              + Hyprstream.MAX_INGEST_ID_LENGTH
              + " characters, got "
              + id.length());
    }
    return id;
  }

  /**
   * The id of chunk {@code chunk} of a stream sent with {@code ingestId}: a long stream is stored
   * as several ingests, and each needs an id of its own that a retry of the same stream repeats.
   * The first chunk keeps the client's id; a later one gets a name-based UUID of the id and its
   * index (within the length limit whatever the client's id).
   */
  public static String ofChunk(String ingestId, int chunk) {
    return chunk == 0
        ? ingestId
        : UUID.nameUUIDFromBytes((ingestId + "#" + chunk).getBytes(StandardCharsets.UTF_8))
            .toString();
  }

  @Override
  public void onBeforeSendingHeaders(CallHeaders outgoingHeaders) {}

  @Override
  public void onCallCompleted(CallStatus status) {}

  @Override
  public void onCallErrored(Throwable err) {}
}
