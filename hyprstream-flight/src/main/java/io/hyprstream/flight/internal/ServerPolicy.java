package io.hyprstream.flight.internal;

import io.hyprstream.Hyprstream;
import io.hyprstream.flight.policy.ServerLimits;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * What a producer enforces and records around each request: who may do what ({@link
 * AccessControl}), the {@link ServerLimits} (with the query slots and the query time limit's
 * timer), and the {@link ServerMetrics}. Owned and closed by the producer.
 */
public final class ServerPolicy implements AutoCloseable {
  private final AccessControl access;
  private final ServerLimits limits;
  private final ServerMetrics metrics;
  private final QueryGate gate;
  private final Consumer<Thread> canceller;
  private final ScheduledThreadPoolExecutor timer;

  /**
   * @param canceller cancels the cache statement a thread is executing ({@link
   *     #cancellerOf(Hyprstream)})
   */
  public ServerPolicy(
      AccessControl access,
      ServerLimits limits,
      ServerMetrics metrics,
      Consumer<Thread> canceller) {
    this.access = access;
    this.limits = limits;
    this.metrics = metrics;
    this.canceller = canceller;
    this.gate =
        new QueryGate(
            limits.maxConcurrentQueries(), limits.queryQueue(), limits.queryQueueTimeout());
    this.timer =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "hyprstream-query-deadline");
              t.setDaemon(true);
              return t;
            });
    // Nearly every deadline is closed long before it would fire. Without this, each closed one
    // stayed queued (holding its query's thread) for the whole query_timeout: 300 s of queries.
    timer.setRemoveOnCancelPolicy(true);
  }

  /** No authentication, default limits, no meters. */
  public static ServerPolicy defaults(Hyprstream hyprstream) {
    return new ServerPolicy(
        AccessControl.open(),
        ServerLimits.defaults(),
        ServerMetrics.none(),
        cancellerOf(hyprstream));
  }

  /** Cancels the cache statement a thread runs. */
  public static Consumer<Thread> cancellerOf(Hyprstream hyprstream) {
    return hyprstream.operations()::cancelQueryOf;
  }

  public AccessControl access() {
    return access;
  }

  public ServerLimits limits() {
    return limits;
  }

  public ServerMetrics metrics() {
    return metrics;
  }

  public QueryGate gate() {
    return gate;
  }

  /**
   * Starts the query time limit for the calling thread: when it passes, the cache statement the
   * thread is executing is cancelled and {@link Deadline#expired()} turns true.
   */
  public Deadline startDeadline() {
    return new Deadline(Thread.currentThread());
  }

  /** One query's time limit; close it when the query is done. */
  public final class Deadline implements AutoCloseable {
    private final AtomicBoolean expired = new AtomicBoolean();
    private final ScheduledFuture<?> task;

    /** The thread running the query now: a result stream may move to another part way. */
    private volatile Thread thread;

    private Deadline(Thread thread) {
      this.thread = thread;
      this.task =
          timer.schedule(
              () -> {
                expired.set(true);
                canceller.accept(this.thread);
              },
              limits.queryTimeout().toNanos(),
              TimeUnit.NANOSECONDS);
    }

    /** Moves the limit to the calling thread, which runs the rest of the query. */
    public void followCallingThread() {
      thread = Thread.currentThread();
    }

    public boolean expired() {
      return expired.get();
    }

    /** The DEADLINE_EXCEEDED message naming the limit. */
    public String message() {
      return "the query ran longer than limits.query_timeout = "
          + limits.queryTimeout().toMillis()
          + " ms and was cancelled";
    }

    @Override
    public void close() {
      task.cancel(false);
    }
  }

  /** Deadlines started and not yet closed or fired: what the timer holds. */
  int pendingDeadlines() {
    return timer.getQueue().size();
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
