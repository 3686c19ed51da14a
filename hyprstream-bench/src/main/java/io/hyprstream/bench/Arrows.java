package io.hyprstream.bench;

import java.io.IOException;
import java.util.concurrent.locks.LockSupport;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorLoader;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;

/** Small Arrow chores the runners share. */
public final class Arrows {
  private Arrows() {}

  /**
   * A root referencing {@code batch}'s buffers (no copy), accounted to {@code allocator}. The
   * caller owns the returned root; {@code batch} stays the caller's too.
   */
  public static VectorSchemaRoot share(VectorSchemaRoot batch, BufferAllocator allocator) {
    VectorSchemaRoot copy = VectorSchemaRoot.create(batch.getSchema(), allocator);
    try (ArrowRecordBatch rb = new VectorUnloader(batch).getRecordBatch()) {
      new VectorLoader(copy).load(rb);
    }
    return copy;
  }

  /** The longest park between two looks at a {@code DoPut} stream's readiness. */
  private static final long MAX_PARK_NANOS = 100_000;

  /**
   * Sends the batch loaded in {@code put}'s root once gRPC will take it, parking between looks.
   * Arrow Java's {@code putNext} busy-waits for readiness instead (apache/arrow-java#362): while a
   * server drains a large {@code DoPut}, or while a new call's stream opens, the sending thread
   * takes a whole core, and on two cores that is the core the server needs. A client call's
   * on-ready handler cannot be set once Arrow has started the call, hence looking, with a park
   * growing from 1 µs to {@link #MAX_PARK_NANOS}. Stops waiting once {@code listener} has ended
   * (the server failed or finished the call), as Arrow's own loop does.
   */
  public static void putNextWhenReady(
      FlightClient.ClientStreamListener put, FlightClient.PutListener listener) {
    long park = 1_000;
    while (!put.isReady() && !listener.isCancelled()) {
      LockSupport.parkNanos(park);
      park = Math.min(park * 2, MAX_PARK_NANOS);
    }
    put.putNext();
  }

  /** Reads every batch; returns the row count. */
  public static long drain(ArrowReader r) throws IOException {
    long n = 0;
    while (r.loadNextBatch()) {
      n += r.getVectorSchemaRoot().getRowCount();
    }
    return n;
  }

  /** The first column of the first row, a BIGINT. */
  public static long readLong(ArrowReader r) throws IOException {
    if (!r.loadNextBatch()) {
      throw new IllegalStateException("no result");
    }
    return ((BigIntVector) r.getVectorSchemaRoot().getVector(0)).get(0);
  }
}
