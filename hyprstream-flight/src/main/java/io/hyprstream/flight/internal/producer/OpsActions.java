package io.hyprstream.flight.internal.producer;

import static io.hyprstream.flight.internal.FlightErrors.toFlight;

import io.hyprstream.Hyprstream;
import io.hyprstream.flight.internal.Health;
import io.hyprstream.flight.internal.QuarantineActions;
import io.hyprstream.flight.internal.ServerPolicy;
import java.nio.charset.StandardCharsets;
import org.apache.arrow.flight.Action;
import org.apache.arrow.flight.ActionType;
import org.apache.arrow.flight.FlightProducer.CallContext;
import org.apache.arrow.flight.FlightProducer.StreamListener;
import org.apache.arrow.flight.Result;

/**
 * The operator's Flight actions next to Flight SQL's: {@value #HEALTH} answers a JSON health
 * report, {@value QuarantineActions#REQUEUE} re-sends quarantined batches (writers only).
 */
public final class OpsActions {
  /** The action answering a small JSON health report. */
  public static final String HEALTH = "health";

  private final Hyprstream hyprstream;
  private final ServerPolicy policy;
  private final Health health;

  OpsActions(Hyprstream hyprstream, ServerPolicy policy, Health health) {
    this.hyprstream = hyprstream;
    this.policy = policy;
    this.health = health;
  }

  /** Sends the types of these actions, without completing {@code listener}. */
  public void list(StreamListener<ActionType> listener) {
    listener.onNext(new ActionType(HEALTH, "A JSON health report: status, ready, problems"));
    listener.onNext(new ActionType(QuarantineActions.REQUEUE, QuarantineActions.DESCRIPTION));
  }

  /** True when {@code action} is one of these, not Flight SQL's. */
  public boolean handles(Action action) {
    return action.getType().equals(HEALTH) || action.getType().equals(QuarantineActions.REQUEUE);
  }

  /** Runs one of these actions (see {@link #handles}). */
  public void run(CallContext context, Action action, StreamListener<Result> listener) {
    if (action.getType().equals(HEALTH)) {
      listener.onNext(new Result(health.check().json().getBytes(StandardCharsets.UTF_8)));
      listener.onCompleted();
      return;
    }
    try {
      policy.access().requireWrite(context, "requeue quarantined batches");
      listener.onNext(new Result(QuarantineActions.requeue(hyprstream, action.getBody())));
      listener.onCompleted();
    } catch (RuntimeException e) {
      listener.onError(toFlight(e));
    }
  }
}
