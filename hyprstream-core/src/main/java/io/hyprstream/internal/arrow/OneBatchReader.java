package io.hyprstream.internal.arrow;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * An {@link ArrowReader} over one batch whose root is that batch itself: nothing is moved into a
 * second root, so a small answer (a window lookup's 24 rows) costs no second set of vectors and no
 * unload and reload of its buffers. The root holds the rows from the start; {@link
 * #loadNextBatch()} returns true once.
 *
 * <p>Ownership: the reader owns the batch and closes it when it is closed.
 */
public final class OneBatchReader extends ArrowReader {
  private final VectorSchemaRoot batch;
  private boolean loaded;

  /** A reader over {@code batch}, which it owns from now on. */
  public OneBatchReader(BufferAllocator allocator, VectorSchemaRoot batch) {
    super(allocator);
    this.batch = batch;
  }

  @Override
  public VectorSchemaRoot getVectorSchemaRoot() {
    return batch;
  }

  @Override
  public boolean loadNextBatch() {
    if (loaded) {
      return false;
    }
    loaded = true;
    return true;
  }

  @Override
  public long bytesRead() {
    return 0;
  }

  @Override
  protected void closeReadSource() {
    batch.close();
  }

  @Override
  protected Schema readSchema() {
    return batch.getSchema();
  }
}
