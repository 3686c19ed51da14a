package io.hyprstream.bench;

import java.io.IOException;
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
