package io.hyprstream.flight.internal;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.arrow.flight.CallStatus;
import org.jspecify.annotations.Nullable;

/**
 * Bounds the queries running at once: {@code maxConcurrent} run, up to {@code maxQueued} more wait
 * (first come, first served) for at most {@code queueTimeout}, and any other is refused at once
 * with RESOURCE_EXHAUSTED naming the limit. Waiting is cheaper than failing for a short burst;
 * refusing is kinder than queueing without bound when the server is overloaded.
 */
public final class QueryGate {
  private final Semaphore slots;
  private final AtomicInteger queued = new AtomicInteger();
  private final int maxConcurrent;
  private final int maxQueued;
  private final Duration queueTimeout;

  public QueryGate(int maxConcurrent, int maxQueued, Duration queueTimeout) {
    this.slots = new Semaphore(maxConcurrent, true);
    this.maxConcurrent = maxConcurrent;
    this.maxQueued = maxQueued;
    this.queueTimeout = queueTimeout;
  }

  /** A held query slot; closing it frees the slot. */
  public interface Permit extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * Takes a slot, waiting in the queue when all are busy.
   *
   * @throws org.apache.arrow.flight.FlightRuntimeException RESOURCE_EXHAUSTED when the queue is
   *     full or the wait times out
   */
  public Permit enter() {
    if (!slots.tryAcquire()) {
      if (queued.incrementAndGet() > maxQueued) {
        queued.decrementAndGet();
        throw exhausted(
            "the server is busy: limits.max_concurrent_queries = "
                + maxConcurrent
                + " queries are running and limits.query_queue = "
                + maxQueued
                + " are waiting; try again later");
      }
      try {
        if (!slots.tryAcquire(queueTimeout.toNanos(), TimeUnit.NANOSECONDS)) {
          throw exhausted(
              "the server is busy: waited limits.query_queue_timeout = "
                  + queueTimeout.toMillis()
                  + " ms for one of limits.max_concurrent_queries = "
                  + maxConcurrent
                  + " query slots; try again later");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw CallStatus.CANCELLED
            .withDescription("interrupted while waiting for a query slot")
            .toRuntimeException();
      } finally {
        queued.decrementAndGet();
      }
    }
    return slots::release;
  }

  /** Takes a slot if one is free now, or returns null without queueing. */
  public @Nullable Permit tryEnter() {
    return slots.tryAcquire() ? slots::release : null;
  }

  /** Queries running now. */
  public int running() {
    return maxConcurrent - slots.availablePermits();
  }

  /** Queries waiting for a slot now. */
  public int waiting() {
    return queued.get();
  }

  private static RuntimeException exhausted(String message) {
    return CallStatus.RESOURCE_EXHAUSTED.withDescription(message).toRuntimeException();
  }
}
