package io.hyprstream.flight.internal.producer;

import static io.hyprstream.flight.internal.FlightErrors.toFlight;

import io.hyprstream.ClusterMember;
import io.hyprstream.Hyprstream;
import io.hyprstream.QueryResult;
import io.hyprstream.flight.internal.QueryGate;
import io.hyprstream.flight.internal.ServerPolicy;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.BackpressureStrategy;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightProducer.ServerStreamListener;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
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
   * Result streams run here, not on the gRPC thread that called {@code getStream}: waiting for a
   * slow client blocks the thread, and gRPC delivers the client's "ready for more" signal on the
   * very thread the call came in on, so a wait there would never end.
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
   * Streams, on a result-stream thread, the result of {@code sql} run once per parameter row (once,
   * without parameters, when {@code parameterRows} is empty).
   */
  void submit(
      String sql, List<List<@Nullable Object>> parameterRows, ServerStreamListener listener) {
    List<List<@Nullable Object>> rows =
        parameterRows.isEmpty() ? List.of(List.of()) : parameterRows;
    streams.execute(
        () ->
            stream(sql, rows, params -> hyprstream.query(sql, params, allocator), true, listener));
  }

  /**
   * Streams, on a result-stream thread, the answer to a cluster's route ticket ({@link
   * ClusterMember#answerRoute}), in a query slot like any query a client sends.
   */
  void submitRoute(ClusterMember member, ClusterMember.Route route, ServerStreamListener listener) {
    streams.execute(
        () ->
            stream(
                route.sql(),
                List.of(List.of()),
                params -> member.answerRoute(route, allocator),
                true,
                listener));
  }

  /**
   * Streams, on a result-stream thread, this instance's answer to another cluster instance's read
   * (a peer ticket). It takes no query slot: the asking instance holds one for the whole query, and
   * two instances whose slots are all taken by queries waiting on each other's reads would wait for
   * the queue timeout.
   */
  public void submitPeer(ClusterMember member, byte[] ticket, ServerStreamListener listener) {
    streams.execute(
        () ->
            stream(
                "a read of another cluster instance",
                List.of(List.of()),
                params -> member.answerPeer(ticket, allocator),
                false,
                listener));
  }

  /** One run of a stream's query, with one row of parameters. */
  @FunctionalInterface
  private interface Run {
    QueryResult run(List<@Nullable Object> parameters);
  }

  /**
   * Streams the result of {@code sql} run once per parameter row, batch by batch, into one
   * response. At most one batch waits in gRPC's outbound buffer: the next is sent only once the
   * client has taken it. A query slot is held while DuckDB works, not while the stream waits for
   * its reader; a reader that takes nothing for {@code limits.stream_idle_timeout} loses the stream
   * (CANCELLED) and its result is closed. The whole stream is cancelled at the query time limit.
   * The first batch of each run carries the answer's {@link io.hyprstream.api.Freshness} as JSON
   * app metadata (an empty batch when the run has no rows).
   */
  private void stream(
      String sql,
      List<List<@Nullable Object>> parameterRows,
      Run run,
      boolean gated,
      ServerStreamListener listener) {
    long start = System.nanoTime();
    QuerySlot slot = new QuerySlot(gated);
    try {
      slot.take();
    } catch (FlightRuntimeException e) {
      listener.error(e);
      return;
    }
    try (slot;
        ServerPolicy.Deadline deadline = policy.startDeadline()) {
      if (streamRows(sql, parameterRows, run, listener, deadline, slot)) {
        policy.metrics().queried(System.nanoTime() - start);
      }
    }
  }

  /**
   * One result stream's hold on a query slot: taken while the stream runs its query and reads
   * batches from DuckDB, let go while it waits for its reader, so readers that stall cannot keep
   * other clients' queries out.
   */
  private final class QuerySlot implements AutoCloseable {
    private final boolean gated;
    private QueryGate.@Nullable Permit permit;

    /** A hold that takes slots when {@code gated}, and never otherwise. */
    QuerySlot(boolean gated) {
      this.gated = gated;
    }

    /** Takes a slot unless one is held, queueing like any query. */
    void take() {
      if (gated && permit == null) {
        try {
          permit = policy.gate().enter();
        } catch (FlightRuntimeException e) {
          policy.metrics().rejected("limits.max_concurrent_queries");
          throw e;
        }
      }
    }

    @Override
    public void close() {
      if (permit != null) {
        permit.close();
        permit = null;
      }
    }
  }

  /** The body of {@link #stream}; true when the whole result was sent. */
  private boolean streamRows(
      String sql,
      List<List<@Nullable Object>> parameterRows,
      Run run,
      ServerStreamListener listener,
      ServerPolicy.Deadline deadline,
      QuerySlot slot) {
    BackpressureStrategy backpressure = new BackpressureStrategy.CallbackBackpressureStrategy();
    backpressure.register(listener);
    long idleMillis = policy.limits().streamIdleTimeout().toMillis();
    VectorSchemaRoot out = null;
    try {
      for (List<@Nullable Object> params : parameterRows) {
        slot.take();
        try (QueryResult reader = run.run(params)) {
          VectorSchemaRoot in = reader.getVectorSchemaRoot();
          if (out == null) {
            out = VectorSchemaRoot.create(in.getSchema(), allocator);
            listener.start(out);
          }
          VectorUnloader unloader = new VectorUnloader(in);
          VectorLoader loader = new VectorLoader(out);
          boolean freshnessSent = false;
          while (reader.loadNextBatch()) {
            if (deadline.expired()) {
              throw timedOut(deadline);
            }
            if (!listener.isReady()) {
              slot.close(); // waiting for the reader takes no query slot
              BackpressureStrategy.WaitResult ready = backpressure.waitForListener(idleMillis);
              if (ready == BackpressureStrategy.WaitResult.CANCELLED) {
                LOG.debug("client cancelled the result stream of {}", sql);
                return false;
              } else if (ready != BackpressureStrategy.WaitResult.READY) {
                policy.metrics().rejected("limits.stream_idle_timeout");
                listener.error(idle());
                return false;
              }
              slot.take();
            }
            try (ArrowRecordBatch batch = unloader.getRecordBatch()) {
              loader.load(batch);
            }
            if (freshnessSent) {
              listener.putNext();
            } else {
              listener.putNext(freshnessMetadata(reader));
              freshnessSent = true;
            }
          }
          if (!freshnessSent) {
            out.setRowCount(0); // no rows: an empty batch still carries the freshness
            listener.putNext(freshnessMetadata(reader));
          }
        }
      }
      if (deadline.expired()) {
        throw timedOut(deadline);
      }
      if (out == null) {
        out = VectorSchemaRoot.create(EMPTY_SCHEMA, allocator);
        listener.start(out);
      }
      listener.completed();
      return true;
    } catch (Exception | OutOfMemoryError e) {
      // OutOfMemoryError: the JVM's direct memory ran out under the Arrow bound (gRPC's buffers
      // share it); the client is told, and this thread lives on.
      listener.error(deadline.expired() ? timedOut(deadline) : toFlight(e));
      return false;
    } finally {
      if (out != null) {
        out.close();
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
