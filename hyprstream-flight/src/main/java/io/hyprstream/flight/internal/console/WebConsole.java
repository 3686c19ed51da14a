package io.hyprstream.flight.internal.console;

import com.sun.net.httpserver.HttpExchange;
import io.hyprstream.flight.internal.FrontEnd;
import io.hyprstream.flight.internal.OpsHttpServer;
import java.io.IOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.arrow.memory.BufferAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The web console on the server's HTTP port: the page at {@code /} and its API under {@code /api/}
 * ({@link ConsoleApi}). API requests run on the console's own threads, so a long query never keeps
 * a health probe or a metrics scrape waiting; what they may do is what the server's Flight SQL port
 * allows ({@link FrontEnd}). Close it before the server it shares with.
 */
public final class WebConsole implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WebConsole.class);

  /** Console requests handled at once; more wait in a queue of {@value #QUEUE}, then get 503. */
  private static final int THREADS = 4;

  private static final int QUEUE = 64;

  private final BufferAllocator allocator;
  private final ThreadPoolExecutor workers;
  private final ScheduledExecutorService timer;

  private WebConsole(
      BufferAllocator allocator, ThreadPoolExecutor workers, ScheduledExecutorService timer) {
    this.allocator = allocator;
    this.workers = workers;
    this.timer = timer;
  }

  /**
   * Serves the console on {@code http}, for the server {@code frontEnd} describes.
   *
   * @param tls whether {@code http} speaks HTTPS (the page says so)
   */
  public static WebConsole mount(OpsHttpServer http, FrontEnd frontEnd, boolean tls) {
    StaticAssets assets = StaticAssets.load();
    BufferAllocator allocator =
        frontEnd.allocator().newChildAllocator("web-console", 0, Long.MAX_VALUE);
    ServerPanel panel =
        new ServerPanel(frontEnd.policy().metrics().registry(), frontEnd.hyprstream());
    ConsoleApi api =
        new ConsoleApi(
            frontEnd.hyprstream(),
            new ConsoleAuth(frontEnd.authenticator(), frontEnd.policy().access()),
            new ConsoleQueries(frontEnd.hyprstream(), frontEnd.policy(), allocator),
            panel,
            tls);
    AtomicInteger n = new AtomicInteger();
    ThreadPoolExecutor workers =
        new ThreadPoolExecutor(
            THREADS,
            THREADS,
            0,
            TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(QUEUE),
            r -> {
              Thread t = new Thread(r, "hyprstream-console-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    ScheduledExecutorService timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "hyprstream-console-meters");
              t.setDaemon(true);
              return t;
            });
    timer.scheduleAtFixedRate(
        () -> {
          try {
            panel.sample(System.currentTimeMillis(), System.nanoTime());
          } catch (RuntimeException e) {
            LOG.warn("console: reading the server's meters failed", e);
          }
        },
        0,
        1,
        TimeUnit.SECONDS);
    http.mount("/api/", ex -> dispatch(workers, api, ex));
    http.mount("/", assets::serve);
    return new WebConsole(allocator, workers, timer);
  }

  /** Hands an API request to the console's threads (the exchange stays open until answered). */
  private static void dispatch(ThreadPoolExecutor workers, ConsoleApi api, HttpExchange ex)
      throws IOException {
    try {
      workers.execute(() -> api.handle(ex));
    } catch (RejectedExecutionException e) {
      ConsoleHttp.sendError(
          ex,
          503,
          "UNAVAILABLE",
          "the console is busy: " + (THREADS + QUEUE) + " requests are open; try again later");
    }
  }

  /** Stops answering API requests and frees the console's buffers. */
  @Override
  public void close() {
    timer.shutdownNow();
    workers.shutdown();
    try {
      if (!workers.awaitTermination(10, TimeUnit.SECONDS)) {
        workers.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    allocator.close();
  }
}
