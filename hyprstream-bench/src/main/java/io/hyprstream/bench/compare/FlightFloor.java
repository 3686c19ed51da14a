package io.hyprstream.bench.compare;

import io.hyprstream.bench.Stats;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.ActionType;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightProducer.CallContext;
import org.apache.arrow.flight.FlightProducer.StreamListener;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.NoOpFlightProducer;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

/**
 * The floor under every Flight SQL call on this machine: a no-op Flight call ({@code ListActions})
 * to a trivial Arrow Flight server in a process of its own, next to the same call to the server
 * jar. A JDBC lookup makes three or four calls, so its latency cannot go below three or four times
 * this floor, whatever the server does; what the jar adds above the floor is ours to cut.
 */
final class FlightFloor {
  private static final String LISTENING = "trivial Flight server listening on port ";

  private FlightFloor() {}

  /** {@code runs} timed {@code ListActions} calls through {@code client}, after {@code warmup}. */
  static Stats noOpCalls(FlightClient client, int warmup, int runs) {
    long[] nanos = new long[runs];
    for (int i = 0; i < warmup + runs; i++) {
      long s = System.nanoTime();
      for (ActionType ignored : client.listActions()) {
        // drained: the call ends with its last message
      }
      if (i >= warmup) {
        nanos[i - warmup] = System.nanoTime() - s;
      }
    }
    return new Stats(nanos);
  }

  /**
   * The same calls to a trivial Arrow Flight server (Arrow's default executor, a one-action {@code
   * ListActions}) started as a child JVM from this one's class path, then stopped.
   */
  static Stats trivialServer(BufferAllocator allocator, int warmup, int runs) throws Exception {
    Process p =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-opens=java.base/java.nio=ALL-UNNAMED",
                "-cp",
                System.getProperty("java.class.path"),
                FlightFloor.class.getName())
            .redirectErrorStream(true)
            .start();
    try {
      int port = -1;
      StringBuilder seen = new StringBuilder();
      BufferedReader out =
          new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      for (String line; port < 0 && (line = out.readLine()) != null; ) {
        seen.append(line).append('\n');
        if (line.startsWith(LISTENING)) {
          port = Integer.parseInt(line.substring(LISTENING.length()).trim());
        }
      }
      if (port < 0) {
        throw new IllegalStateException("the trivial Flight server did not start:\n" + seen);
      }
      Thread drain = new Thread(() -> out.lines().forEach(l -> {}), "bench-floor-output");
      drain.setDaemon(true);
      drain.start();
      try (FlightClient client =
          FlightClient.builder(allocator, Location.forGrpcInsecure("127.0.0.1", port)).build()) {
        return noOpCalls(client, warmup, runs);
      }
    } finally {
      p.destroy();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }

  /** The trivial server: answers {@code ListActions} with one action until it is stopped. */
  public static void main(String[] args) throws Exception {
    NoOpFlightProducer producer =
        new NoOpFlightProducer() {
          @Override
          public void listActions(CallContext context, StreamListener<ActionType> listener) {
            listener.onNext(new ActionType("noop", "does nothing"));
            listener.onCompleted();
          }
        };
    try (BufferAllocator allocator = new RootAllocator();
        FlightServer server =
            FlightServer.builder(allocator, Location.forGrpcInsecure("127.0.0.1", 0), producer)
                .build()
                .start()) {
      System.out.println(LISTENING + server.getPort());
      System.out.flush();
      server.awaitTermination();
    }
  }

  /** "p50 X ms, p99 Y ms" of a sample. */
  static String p50p99(Stats s) {
    return "p50 " + Stats.ms(s.percentile(50)) + " ms, p99 " + Stats.ms(s.percentile(99)) + " ms";
  }
}
