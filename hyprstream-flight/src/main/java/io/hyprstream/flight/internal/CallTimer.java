package io.hyprstream.flight.internal;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.CallHeaders;
import org.apache.arrow.flight.CallInfo;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightMethod;
import org.apache.arrow.flight.FlightServerMiddleware;
import org.apache.arrow.flight.RequestContext;

/**
 * Times every Flight call on the server, from its headers to its completion, per Flight method
 * ({@code hyprstream.flight.call{method=...}}): the server's share of a client's round trip. A
 * client's wall-clock latency minus this is gRPC, the network and the client itself; that split is
 * what tells a slow server from a slow client (docs/server.md, "Latency").
 */
public final class CallTimer implements FlightServerMiddleware {
  /** The key the server registers this middleware under. */
  public static final FlightServerMiddleware.Key<CallTimer> KEY =
      FlightServerMiddleware.Key.of("hyprstream-call-timer");

  private final Timer timer;
  private final long startNanos = System.nanoTime();

  private CallTimer(Timer timer) {
    this.timer = timer;
  }

  /** Makes a timer per call, recording into {@code registry}. */
  public static FlightServerMiddleware.Factory<CallTimer> factory(MeterRegistry registry) {
    Map<FlightMethod, Timer> timers = new EnumMap<>(FlightMethod.class);
    for (FlightMethod m : FlightMethod.values()) {
      timers.put(
          m,
          Timer.builder("hyprstream.flight.call")
              .description("Server-side time of each Flight call, from its headers to its end")
              .tag("method", m.name())
              .register(registry));
    }
    return new Factory(timers);
  }

  @Override
  public void onBeforeSendingHeaders(CallHeaders outgoingHeaders) {}

  @Override
  public void onCallCompleted(CallStatus status) {
    timer.record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void onCallErrored(Throwable err) {}

  private static final class Factory implements FlightServerMiddleware.Factory<CallTimer> {
    private final Map<FlightMethod, Timer> timers;

    Factory(Map<FlightMethod, Timer> timers) {
      this.timers = timers;
    }

    @Override
    public CallTimer onCallStarted(
        CallInfo info, CallHeaders incomingHeaders, RequestContext context) {
      // Every FlightMethod has a timer (built from FlightMethod.values()).
      return new CallTimer(java.util.Objects.requireNonNull(timers.get(info.method())));
    }
  }
}
