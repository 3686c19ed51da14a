package io.hyprstream.flight.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.policy.ServerLimits;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ServerPolicyTest {

  @Test
  void closedDeadlines_leaveTheTimer() {
    try (ServerPolicy policy =
        new ServerPolicy(
            AccessControl.open(), ServerLimits.defaults(), ServerMetrics.none(), t -> {})) {
      for (int i = 0; i < 10_000; i++) {
        policy.startDeadline().close();
      }
      // A long-running server answers thousands of queries a second, each with a deadline of
      // query_timeout (300 s by default); closed ones must not wait in the timer until then.
      assertEquals(0, policy.pendingDeadlines());

      ServerPolicy.Deadline open = policy.startDeadline();
      assertEquals(1, policy.pendingDeadlines());
      open.close();
      assertEquals(0, policy.pendingDeadlines());
    }
  }

  @Test
  void aDeadlineLeftOpen_stillFires_andCancelsItsThread() throws InterruptedException {
    CountDownLatch cancelled = new CountDownLatch(1);
    AtomicReference<Thread> cancelledThread = new AtomicReference<>();
    ServerLimits limits = ServerLimits.builder().queryTimeout(Duration.ofMillis(50)).build();
    try (ServerPolicy policy =
        new ServerPolicy(
            AccessControl.open(),
            limits,
            ServerMetrics.none(),
            t -> {
              cancelledThread.set(t);
              cancelled.countDown();
            })) {
      policy.startDeadline().close();
      ServerPolicy.Deadline open = policy.startDeadline();

      assertTrue(cancelled.await(10, TimeUnit.SECONDS));
      assertTrue(open.expired());
      assertSame(Thread.currentThread(), cancelledThread.get());
      assertTrue(open.message().contains("limits.query_timeout = 50 ms"), open.message());
      open.close();
    }
  }
}
