package io.hyprstream.internal.arrow;

import java.io.IOException;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * An {@link ArrowReader} over batches held in memory. Each batch is loaded into the reader's root
 * by reference (no copy).
 *
 * <p>Ownership: the reader owns the batches it is given and closes them when it is closed.
 */
public final class BatchListReader extends ArrowReader {
  private final Schema schema;
  private final List<VectorSchemaRoot> batches;
  private int next;

  /** A reader over {@code batches}, which must all have {@code schema}. Takes ownership of them. */
  public BatchListReader(BufferAllocator allocator, Schema schema, List<VectorSchemaRoot> batches) {
    super(allocator);
    this.schema = schema;
    this.batches = List.copyOf(batches);
  }

  @Override
  public boolean loadNextBatch() throws IOException {
    prepareLoadNextBatch();
    if (next >= batches.size()) {
      return false;
    }
    VectorSchemaRoot batch = batches.get(next++);
    ArrowRecordBatch unloaded = new VectorUnloader(batch).getRecordBatch();
    loadRecordBatch(unloaded); // takes and closes the unloaded batch
    return true;
  }

  @Override
  public long bytesRead() {
    return 0;
  }

  @Override
  protected void closeReadSource() {
    for (VectorSchemaRoot b : batches) {
      b.close();
    }
  }

  @Override
  protected Schema readSchema() {
    return schema;
  }
}
