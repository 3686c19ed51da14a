package io.hyprstream.internal.arrow;

import java.io.IOException;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * An {@link ArrowReader} that passes on the batches of another reader (its very root) and, when
 * closed, closes that reader and then the resources it depends on (a JDBC result set, statement,
 * pooled connection). Lets a reader we cannot subclass carry its own clean-up; a reader that adds
 * to the batches it passes on (a freshness, a copy into a cache) extends it.
 */
public class ForwardingReader extends ArrowReader {
  private static final AutoCloseable NOTHING = () -> {};

  private final ArrowReader source;
  private final AutoCloseable onClose;

  /**
   * Forwards {@code source}, which this reader owns from now on; {@code onClose} runs after it is
   * closed.
   */
  public ForwardingReader(BufferAllocator allocator, ArrowReader source, AutoCloseable onClose) {
    super(allocator);
    this.source = source;
    this.onClose = onClose;
  }

  /** Forwards {@code source}, which this reader owns from now on, and closes only it. */
  public ForwardingReader(BufferAllocator allocator, ArrowReader source) {
    this(allocator, source, NOTHING);
  }

  /** The source's own root: batches are not moved into a second one (no transfer, no copy). */
  @Override
  public VectorSchemaRoot getVectorSchemaRoot() throws IOException {
    return source.getVectorSchemaRoot();
  }

  @Override
  public boolean loadNextBatch() throws IOException {
    return source.loadNextBatch();
  }

  @Override
  public long bytesRead() {
    return source.bytesRead();
  }

  @Override
  protected void closeReadSource() throws IOException {
    Closeables.closeInOrder(source, onClose);
  }

  @Override
  protected Schema readSchema() throws IOException {
    return source.getVectorSchemaRoot().getSchema();
  }
}
