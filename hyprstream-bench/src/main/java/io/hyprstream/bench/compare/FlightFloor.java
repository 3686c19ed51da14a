package io.hyprstream.bench.compare;

import io.hyprstream.bench.Stats;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.arrow.flight.Action;
import org.apache.arrow.flight.ActionType;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightProducer.CallContext;
import org.apache.arrow.flight.FlightProducer.StreamListener;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.NoOpFlightProducer;
import org.apache.arrow.flight.Result;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

/**
 * The floor under every Flight SQL call on this machine: a call answered with one message by a
 * trivial Arrow Flight server in a process of its own; and {@code ListActions} answered with as
 * many actions by that server and by the server jar, which shows what the jar adds to a call. A
 * JDBC lookup makes three or four calls, so its latency cannot go below three or four times this
 * floor, whatever the server does; what the jar adds above the floor is ours to cut.
 */
final class FlightFloor {
  private static final String LISTENING_TEXT = "trivial Flight server listening on port ";
  private static final Pattern LISTENING = Pattern.compile(LISTENING_TEXT + "(\\d+)");
  private static final String NOOP = "noop";

  /**
   * The trivial server's times: a call answered with one message (the floor of one round trip), and
   * {@code ListActions} answered with as many actions as the compared server lists.
   */
  record Trivial(Stats oneMessage, Stats listActions) {}

  private FlightFloor() {}

  /** How many actions the server behind {@code client} lists. */
  static int actionCount(FlightClient client) {
    int n = 0;
    for (ActionType ignored : client.listActions()) {
      n++;
    }
    return n;
  }

  /** {@code runs} timed {@code ListActions} calls through {@code client}, after {@code warmup}. */
  static Stats listActionsCalls(FlightClient client, int warmup, int runs) {
    return time(
        warmup,
        runs,
        () -> {
          for (ActionType ignored : client.listActions()) {
            // drained: the call ends with its last message
          }
        });
  }

  /** {@code runs} timed one-message calls (a {@value #NOOP} action), after {@code warmup}. */
  private static Stats oneMessageCalls(FlightClient client, int warmup, int runs) {
    return time(
        warmup,
        runs,
        () -> {
          Iterator<Result> results = client.doAction(new Action(NOOP));
          while (results.hasNext()) {
            results.next();
          }
        });
  }

  private static Stats time(int warmup, int runs, Runnable call) {
    long[] nanos = new long[runs];
    for (int i = 0; i < warmup + runs; i++) {
      long s = System.nanoTime();
      call.run();
      if (i >= warmup) {
        nanos[i - warmup] = System.nanoTime() - s;
      }
    }
    return new Stats(nanos);
  }

  /**
   * The same calls to a trivial Arrow Flight server (Arrow's default executor) started as a child
   * JVM from this one's class path, then stopped. It lists {@code actions} actions, as many as the
   * server it is compared with: gRPC sends each as a message of its own, so the count shows in the
   * call's time.
   */
  static Trivial trivialServer(BufferAllocator allocator, int actions, int warmup, int runs)
      throws Exception {
    Process p =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-opens=java.base/java.nio=ALL-UNNAMED",
                "-cp",
                System.getProperty("java.class.path"),
                FlightFloor.class.getName(),
                Integer.toString(actions))
            .redirectErrorStream(true)
            .start();
    try {
      int port =
          Integer.parseInt(
              ChildOutput.follow(p, LISTENING, "the trivial Flight server", "bench-floor-output")
                  .awaitListening(Duration.ofSeconds(60))
                  .group(1));
      try (FlightClient client =
          FlightClient.builder(allocator, Location.forGrpcInsecure("127.0.0.1", port)).build()) {
        Stats oneMessage = oneMessageCalls(client, warmup, runs);
        return new Trivial(oneMessage, listActionsCalls(client, warmup, runs));
      }
    } finally {
      p.destroy();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }

  /**
   * The trivial server: answers {@code ListActions} with {@code args[0]} actions until it is
   * stopped.
   */
  public static void main(String[] args) throws Exception {
    int actions = Integer.parseInt(args[0]);
    NoOpFlightProducer producer =
        new NoOpFlightProducer() {
          @Override
          public void listActions(CallContext context, StreamListener<ActionType> listener) {
            for (int i = 0; i < actions; i++) {
              listener.onNext(new ActionType("noop_" + i, "does nothing"));
            }
            listener.onCompleted();
          }

          @Override
          public void doAction(
              CallContext context, Action action, StreamListener<Result> listener) {
            listener.onNext(new Result(new byte[0]));
            listener.onCompleted();
          }
        };
    try (BufferAllocator allocator = new RootAllocator();
        FlightServer server =
            FlightServer.builder(allocator, Location.forGrpcInsecure("127.0.0.1", 0), producer)
                .build()
                .start()) {
      System.out.println(LISTENING_TEXT + server.getPort());
      System.out.flush();
      server.awaitTermination();
    }
  }

  /** "p50 X ms, p99 Y ms" of a sample. */
  static String p50p99(Stats s) {
    return "p50 " + Stats.ms(s.percentile(50)) + " ms, p99 " + Stats.ms(s.percentile(99)) + " ms";
  }
}
