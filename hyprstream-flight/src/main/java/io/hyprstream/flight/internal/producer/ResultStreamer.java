package io.hyprstream.flight.internal.producer;

import static io.hyprstream.flight.internal.FlightErrors.toFlight;

import io.hyprstream.ClusterMember;
import io.hyprstream.Hyprstream;
import io.hyprstream.QueryResult;
import io.hyprstream.flight.internal.QueryGate;
import io.hyprstream.flight.internal.ServerPolicy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.BackpressureStrategy;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightProducer.ServerStreamListener;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.util.AutoCloseables;
import org.apache.arrow.vector.VectorLoader;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams query results to Flight clients, with a query slot while DuckDB works, back-pressure, an
 * idle-reader timeout, the query deadline and the answer's freshness as app metadata.
 */
public final class ResultStreamer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ResultStreamer.class);
  private static final Schema EMPTY_SCHEMA = new Schema(List.of());

  private final Hyprstream hyprstream;
  private final BufferAllocator allocator;
  private final ServerPolicy policy;

  /**
   * Result streams continue here once they must wait: for a query slot, or for a slow client. Not
   * on the gRPC thread that called {@code getStream}: gRPC delivers the client's "ready for more"
   * signal on the very thread the call came in on, so a wait there would never end.
   */
  private final ExecutorService streams =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "hyprstream-result-stream");
            t.setDaemon(true);
            return t;
          });

  /** A streamer answering from {@code hyprstream} with buffers of {@code allocator}. */
  public ResultStreamer(Hyprstream hyprstream, BufferAllocator allocator, ServerPolicy policy) {
    this.hyprstream = hyprstream;
    this.allocator = allocator;
    this.policy = policy;
  }

  /**
   * Streams the result of {@code sql} run once per parameter row (once, without parameters, when
   * {@code parameterRows} is empty). It starts on the calling thread, the call's gRPC executor
   * thread: a result gRPC takes without making the stream wait (a window lookup's few rows) is sent
   * and completed there, sparing a thread hand-off per query. At its first wait, for a query slot
   * or for the client to take what was sent, the stream moves to a result-stream thread.
   */
  void submit(
      String sql, List<List<@Nullable Object>> parameterRows, ServerStreamListener listener) {
    List<List<@Nullable Object>> rows =
        parameterRows.isEmpty() ? List.of(List.of()) : parameterRows;
    ResultStream stream =
        new ResultStream(
            sql, rows, params -> hyprstream.query(sql, params, allocator), true, listener);
    if (!stream.sendWithoutWaiting()) {
      try {
        streams.execute(stream::sendToEnd);
      } catch (RejectedExecutionException e) {
        // Closing: the stream already holds its result and buffers, which must go back.
        stream.fail(
            CallStatus.UNAVAILABLE
                .withDescription("the server is shutting down")
                .toRuntimeException());
      }
    }
  }

  /**
   * Streams, on a result-stream thread, the answer to a cluster's route ticket ({@link
   * ClusterMember#answerRoute}), in a query slot like any query a client sends. It reads other
   * instances over the network, so it never runs on the gRPC thread.
   */
  void submitRoute(ClusterMember member, ClusterMember.Route route, ServerStreamListener listener) {
    ResultStream stream =
        new ResultStream(
            route.sql(),
            List.of(List.of()),
            params -> member.answerRoute(route, allocator),
            true,
            listener);
    streams.execute(stream::sendToEnd);
  }

  /**
   * Streams, on a result-stream thread, this instance's answer to another cluster instance's read
   * (a peer ticket). It takes no query slot: the asking instance holds one for the whole query, and
   * two instances whose slots are all taken by queries waiting on each other's reads would wait for
   * the queue timeout.
   */
  public void submitPeer(ClusterMember member, byte[] ticket, ServerStreamListener listener) {
    ResultStream stream =
        new ResultStream(
            "a read of another cluster instance",
            List.of(List.of()),
            params -> member.answerPeer(ticket, allocator),
            false,
            listener);
    streams.execute(stream::sendToEnd);
  }

  /** One run of a stream's query, with one row of parameters. */
  @FunctionalInterface
  private interface Run {
    QueryResult run(List<@Nullable Object> parameters);
  }

  /**
   * One response: the result of a query run once per parameter row, batch by batch. At most one
   * batch waits in gRPC's outbound buffer: the next is sent only once the client has taken it. A
   * query slot is held while DuckDB works, not while the stream waits for its reader; a reader that
   * takes nothing for {@code limits.stream_idle_timeout} loses the stream (CANCELLED) and its
   * result is closed. The whole stream is cancelled at the query time limit. The first batch of
   * each run carries the answer's {@link io.hyprstream.api.Freshness} as JSON app metadata (an
   * empty batch when the run has no rows).
   *
   * <p>A stream keeps its place between calls of {@link #send}, so it can start on one thread and
   * continue on another. Each call either ends the stream (completed or failed, everything closed)
   * or stops before a wait, holding no query slot.
   */
  private final class ResultStream {
    private final String sql;
    private final List<List<@Nullable Object>> parameterRows;
    private final Run run;
    private final boolean gated;
    private final ServerStreamListener listener;
    private final long startNanos = System.nanoTime();
    private final BackpressureStrategy backpressure =
        new BackpressureStrategy.CallbackBackpressureStrategy();
    private QueryGate.@Nullable Permit permit;
    private ServerPolicy.@Nullable Deadline deadline;
    private @Nullable VectorSchemaRoot out;

    /** The parameter row of the next run. */
    private int nextRow;

    /** The current run's result, null between runs. */
    private @Nullable QueryResult reader;

    private @Nullable VectorUnloader unloader;
    private @Nullable VectorLoader loader;
    private boolean freshnessSent;

    /** A batch of {@link #reader} is loaded and waits for the client to take it. */
    private boolean batchLoaded;

    ResultStream(
        String sql,
        List<List<@Nullable Object>> parameterRows,
        Run run,
        boolean gated,
        ServerStreamListener listener) {
      this.sql = sql;
      this.parameterRows = parameterRows;
      this.run = run;
      this.gated = gated;
      this.listener = listener;
      backpressure.register(listener);
    }

    /** Sends as far as it can without waiting; true when the stream ended. */
    boolean sendWithoutWaiting() {
      return send(false);
    }

    /** Sends the rest of the stream, waiting for a query slot and for the client as needed. */
    void sendToEnd() {
      if (deadline != null) {
        deadline.followCallingThread(); // DuckDB now works for this stream on this thread
      }
      send(true);
    }

    /** Ends the stream with {@code error} and closes what it holds. */
    void fail(FlightRuntimeException error) {
      listener.error(error);
      closeAll();
    }

    /** The body of {@link #sendWithoutWaiting} and {@link #sendToEnd}; true when it ended. */
    private boolean send(boolean mayWait) {
      try {
        while (true) {
          QueryResult current = reader;
          if (current == null) {
            if (nextRow == parameterRows.size()) {
              break;
            }
            if (!takeSlot(mayWait)) {
              return false;
            }
            current = startRun(parameterRows.get(nextRow++));
          }
          if (!batchLoaded) {
            if (!takeSlot(mayWait)) {
              return false;
            }
            if (!current.loadNextBatch()) {
              endRun(current);
              continue;
            }
            batchLoaded = true;
          }
          checkDeadline();
          if (!listener.isReady()) {
            releaseSlot(); // waiting for the reader takes no query slot
            if (!mayWait) {
              return false;
            }
            if (!awaitReader()) {
              closeAll();
              return true;
            }
          }
          sendLoadedBatch(current);
        }
        checkDeadline();
        if (out == null) {
          out = VectorSchemaRoot.create(EMPTY_SCHEMA, allocator);
          listener.start(out);
        }
        listener.completed();
        policy.metrics().queried(System.nanoTime() - startNanos);
      } catch (Exception | OutOfMemoryError e) {
        // OutOfMemoryError: the JVM's direct memory ran out under the Arrow bound (gRPC's buffers
        // share it); the client is told, and this thread lives on.
        ServerPolicy.Deadline d = deadline;
        listener.error(d != null && d.expired() ? timedOut(d) : toFlight(e));
      }
      closeAll();
      return true;
    }

    /**
     * Holds a query slot (an ungated stream needs none) and starts the time limit with the first;
     * false when no slot is free and the stream may not wait for one.
     */
    private boolean takeSlot(boolean mayWait) {
      if (gated && permit == null) {
        if (mayWait) {
          try {
            permit = policy.gate().enter();
          } catch (FlightRuntimeException e) {
            policy.metrics().rejected("limits.max_concurrent_queries");
            throw e;
          }
        } else {
          permit = policy.gate().tryEnter();
          if (permit == null) {
            return false;
          }
        }
      }
      if (deadline == null) {
        deadline = policy.startDeadline();
      }
      return true;
    }

    private void releaseSlot() {
      QueryGate.Permit held = permit;
      permit = null;
      if (held != null) {
        held.close();
      }
    }

    /** Runs the query with one parameter row; the first run starts the response. */
    private QueryResult startRun(List<@Nullable Object> parameters) throws IOException {
      QueryResult result = run.run(parameters);
      reader = result;
      VectorSchemaRoot in = result.getVectorSchemaRoot();
      VectorSchemaRoot response = out;
      if (response == null) {
        response = VectorSchemaRoot.create(in.getSchema(), allocator);
        out = response;
        listener.start(response);
      }
      unloader = new VectorUnloader(in);
      loader = new VectorLoader(response);
      freshnessSent = false;
      return result;
    }

    /** Sends the batch {@code current} loaded, with the run's freshness if it is the first. */
    private void sendLoadedBatch(QueryResult current) {
      try (ArrowRecordBatch batch = Objects.requireNonNull(unloader).getRecordBatch()) {
        Objects.requireNonNull(loader).load(batch);
      }
      batchLoaded = false;
      if (freshnessSent) {
        listener.putNext();
      } else {
        listener.putNext(freshnessMetadata(current));
        freshnessSent = true;
      }
    }

    /** Ends a run; a run without rows still sends its freshness, in an empty batch. */
    private void endRun(QueryResult current) throws IOException {
      if (!freshnessSent) {
        Objects.requireNonNull(out).setRowCount(0);
        listener.putNext(freshnessMetadata(current));
      }
      reader = null;
      unloader = null;
      loader = null;
      current.close();
    }

    private void checkDeadline() {
      ServerPolicy.Deadline d = deadline;
      if (d != null && d.expired()) {
        throw timedOut(d);
      }
    }

    /**
     * Waits until the client takes what was sent; false when the stream ended instead: the client
     * cancelled, or read nothing for the idle timeout (and was told).
     */
    private boolean awaitReader() {
      BackpressureStrategy.WaitResult ready =
          backpressure.waitForListener(policy.limits().streamIdleTimeout().toMillis());
      if (ready == BackpressureStrategy.WaitResult.READY) {
        return true;
      }
      if (ready == BackpressureStrategy.WaitResult.CANCELLED) {
        LOG.debug("client cancelled the result stream of {}", sql);
      } else {
        policy.metrics().rejected("limits.stream_idle_timeout");
        listener.error(idle());
      }
      return false;
    }

    /** Closes the current run's result and the response root, then frees the limit and slot. */
    private void closeAll() {
      QueryResult current = reader;
      reader = null;
      VectorSchemaRoot response = out;
      out = null;
      ServerPolicy.Deadline d = deadline;
      deadline = null;
      QueryGate.Permit held = permit;
      permit = null;
      try {
        AutoCloseables.close(current, response, d, held);
      } catch (Exception e) {
        LOG.warn("closing the result stream of {} failed", sql, e);
      }
    }
  }

  /** The CANCELLED status of a stream whose reader stopped reading. */
  private FlightRuntimeException idle() {
    return CallStatus.CANCELLED
        .withDescription(
            "the client read nothing for limits.stream_idle_timeout = "
                + policy.limits().streamIdleTimeout().toMillis()
                + " ms; the result stream was cancelled and its query slot and memory freed")
        .toRuntimeException();
  }

  /** The answer's freshness as JSON in a buffer whose ownership passes to Flight. */
  private ArrowBuf freshnessMetadata(QueryResult result) {
    byte[] json = result.freshness().toJson().getBytes(StandardCharsets.UTF_8);
    ArrowBuf buf = allocator.buffer(json.length);
    buf.writeBytes(json);
    return buf;
  }

  private FlightRuntimeException timedOut(ServerPolicy.Deadline deadline) {
    policy.metrics().rejected("limits.query_timeout");
    return CallStatus.TIMED_OUT.withDescription(deadline.message()).toRuntimeException();
  }

  /**
   * Stops taking streams and waits up to 10 s for those running: the server stopped taking calls,
   * and streams still running end at their deadline or cancel.
   */
  @Override
  public void close() {
    streams.shutdown();
    try {
      if (!streams.awaitTermination(10, TimeUnit.SECONDS)) {
        LOG.warn("result streams still running at close; their buffers may be reported leaked");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
