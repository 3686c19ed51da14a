package io.hyprstream.flight.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * A Hyprstream server started from the shipped jar ({@code java -jar hyprstream.jar}) as a child
 * process, in a working directory of its own, on ports the OS picks, with every line it prints
 * kept.
 *
 * <p>{@link #start} returns once the server printed {@code Hyprstream listening on ...}; {@link
 * #terminate} sends SIGTERM and returns the exit code; {@link #close} kills what is left.
 */
public final class ServerProcess implements AutoCloseable {
  private static final Pattern LISTENING =
      Pattern.compile("Hyprstream listening on (grpc(?:\\+tls)?)://([^:\\s]+|\\[[^]]+]):(\\d+)");
  private static final Pattern HTTP =
      Pattern.compile("event=http_listening url=(https?)://\\S+:(\\d+)/");
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

  private final Process process;
  private final Path workDir;
  private final boolean ownsWorkDir;
  private final StringBuffer log = new StringBuffer();
  private final List<Thread> pumps = new ArrayList<>();
  private int port = -1;
  private int httpPort = -1;
  private boolean https;
  private boolean tls;

  private ServerProcess(Process process, Path workDir, boolean ownsWorkDir) {
    this.process = process;
    this.workDir = workDir;
    this.ownsWorkDir = ownsWorkDir;
  }

  /** A server with {@code args}, in the environment of {@link ShippedJar#processBuilder}. */
  public static ServerProcess start(String... args) {
    return builder().args(args).start();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Options of a server to start. */
  public static final class Builder {
    private final List<String> args = new ArrayList<>();
    private final Map<String, String> env = new LinkedHashMap<>();
    private @Nullable Path workDir;

    private Builder() {}

    public Builder args(String... more) {
      args.addAll(List.of(more));
      return this;
    }

    public Builder args(List<String> more) {
      args.addAll(more);
      return this;
    }

    public Builder env(String name, String value) {
      env.put(name, value);
      return this;
    }

    /** The process's working directory (default: a new temporary directory, deleted at close). */
    public Builder workDir(Path dir) {
      workDir = dir;
      return this;
    }

    /**
     * Starts the jar. {@code --port 0} and {@code --http-port 0} are added unless the arguments, a
     * {@code --config} file or the environment could set them (then the caller chose).
     */
    public ServerProcess start() {
      List<String> all = new ArrayList<>(args);
      boolean portsChosen =
          args.contains("--config")
              || env.containsKey("HYPRSTREAM_SERVER_PORT")
              || env.containsKey("HYPRSTREAM_SERVER_HTTP_PORT");
      if (!portsChosen && !args.contains("--port")) {
        all.add("--port");
        all.add("0");
      }
      if (!portsChosen && !args.contains("--http-port")) {
        all.add("--http-port");
        all.add("0");
      }
      try {
        Path dir = workDir == null ? Files.createTempDirectory("hyprstream-e2e") : workDir;
        ProcessBuilder pb = ShippedJar.processBuilder(all, env).directory(dir.toFile());
        ServerProcess server = new ServerProcess(pb.start(), dir, workDir == null);
        server.awaitListening();
        return server;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private void awaitListening() {
    pumps.add(pump(process.getInputStream(), "stdout"));
    pumps.add(pump(process.getErrorStream(), "stderr"));
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      Matcher m = LISTENING.matcher(log);
      if (m.find()) {
        tls = m.group(1).equals("grpc+tls");
        port = Integer.parseInt(m.group(3));
        Matcher h = HTTP.matcher(log);
        if (h.find()) {
          https = h.group(1).equals("https");
          httpPort = Integer.parseInt(h.group(2));
        }
        return;
      }
      if (!process.isAlive()) {
        waitForPumps();
        throw new AssertionError(
            "the server exited with " + process.exitValue() + " before listening:\n" + log);
      }
      sleep(50);
    }
    process.destroyForcibly();
    throw new AssertionError("the server did not listen within " + START_TIMEOUT + ":\n" + log);
  }

  private Thread pump(InputStream from, String name) {
    Thread t =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(new InputStreamReader(from, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                  log.append(line).append('\n');
                }
              } catch (IOException ignored) {
                // The process ended.
              }
            },
            "server-" + name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  /** The Flight SQL port. */
  public int port() {
    return port;
  }

  /** The HTTP port of /health, /ready and /metrics; -1 when HTTP is off. */
  public int httpPort() {
    return httpPort;
  }

  /** Whether the server said {@code grpc+tls://}. */
  public boolean tls() {
    return tls;
  }

  /** {@code grpc://127.0.0.1:PORT} (or {@code grpc+tls://localhost:PORT}). */
  public String grpcUri() {
    return tls ? "grpc+tls://localhost:" + port : "grpc://127.0.0.1:" + port;
  }

  /** The Flight SQL JDBC driver's URL for this plaintext server. */
  public String jdbcUrl() {
    return "jdbc:arrow-flight-sql://127.0.0.1:" + port + "?useEncryption=false";
  }

  /**
   * {@code http://127.0.0.1:HTTP_PORT} + {@code path}; {@code https://localhost:HTTP_PORT} (the
   * test certificates' name) when the server has a certificate.
   */
  public String httpUrl(String path) {
    return (https ? "https://localhost:" : "http://127.0.0.1:") + httpPort + path;
  }

  /** One unlabelled sample of {@code name} from the server's /metrics. */
  public double metric(String name) throws IOException, InterruptedException {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(httpUrl("/metrics"))).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    if (r.statusCode() != 200) {
      throw new AssertionError("/metrics answered " + r.statusCode() + ": " + r.body());
    }
    for (String line : r.body().split("\n")) {
      if (line.startsWith(name + " ")) {
        return Double.parseDouble(line.substring(name.length() + 1).trim());
      }
    }
    throw new AssertionError("/metrics has no " + name + ":\n" + r.body());
  }

  /** The process's working directory (relative paths such as the default data directory). */
  public Path workDir() {
    return workDir;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** Everything the server printed so far, stdout and stderr interleaved by line. */
  public String log() {
    return log.toString();
  }

  /**
   * The end of the log, for a failure message: a server whose Kafka is down logs every
   * reconnection, and a whole log can be too large for the test runner to report.
   */
  public String logTail() {
    String all = log.toString();
    int keep = 8_000;
    return all.length() <= keep
        ? all
        : "… ("
            + all.length()
            + " characters of log; the last "
            + keep
            + ")\n"
            + all.substring(all.length() - keep);
  }

  /** One answer of {@code /ready} on the ops port. */
  public HttpResponse<String> ready() throws IOException, InterruptedException {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create(httpUrl("/ready"))).build(),
            HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
  }

  /**
   * Polls {@code /ready} until its answer satisfies {@code until}, and returns that answer; fails
   * after {@code timeout} with {@code what}, the last answer and the end of the log.
   */
  public HttpResponse<String> awaitReady(
      java.util.function.Predicate<HttpResponse<String>> until, Duration timeout, String what)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      HttpResponse<String> r = ready();
      if (until.test(r)) {
        return r;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            what + ": /ready answered " + r.statusCode() + " " + r.body() + "\n" + logTail());
      }
      sleep(100);
    }
  }

  /** Waits until the log contains {@code text}; fails with the log after {@code timeout}. */
  public void awaitLog(String text, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (log.indexOf(text) < 0) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the server never printed '" + text + "':\n" + log);
      }
      sleep(50);
    }
  }

  /** Sends SIGTERM and returns the exit code (fails if the server is still up after a minute). */
  public int terminate() {
    // Through the handle: Process.destroy() also closes our ends of the pipes, which would lose
    // everything the server logs while it shuts down.
    process.toHandle().destroy();
    return awaitExit(Duration.ofSeconds(60));
  }

  /** Sends SIGKILL ({@code kill -9}) and waits for the process to end. */
  public void kill() {
    process.toHandle().destroyForcibly();
    awaitExit(Duration.ofSeconds(30));
  }

  private int awaitExit(Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new AssertionError("the server did not exit within " + timeout + ":\n" + log);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    waitForPumps();
    return process.exitValue();
  }

  private void waitForPumps() {
    for (Thread t : pumps) {
      try {
        t.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Kills the process if it still runs and deletes the working directory it was given. */
  @Override
  public void close() {
    if (process.isAlive()) {
      kill();
    }
    if (ownsWorkDir) {
      deleteTree(workDir);
    }
  }

  static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
