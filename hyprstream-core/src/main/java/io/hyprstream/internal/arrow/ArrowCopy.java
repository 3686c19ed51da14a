package io.hyprstream.internal.arrow;

import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorLoader;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;

/** Copies and shared views of Arrow batches in an allocator of ours. */
public final class ArrowCopy {
  private ArrowCopy() {}

  /**
   * A deep copy of {@code source}'s rows, buffer by buffer (works for every vector type and across
   * root allocators). The caller keeps {@code source} and owns the copy.
   */
  public static VectorSchemaRoot deepCopy(VectorSchemaRoot source, BufferAllocator allocator) {
    VectorSchemaRoot copy = VectorSchemaRoot.create(source.getSchema(), allocator);
    List<ArrowBuf> buffers = new ArrayList<>();
    try (ArrowRecordBatch batch = new VectorUnloader(source).getRecordBatch()) {
      for (ArrowBuf b : batch.getBuffers()) {
        long len = b.readableBytes();
        ArrowBuf nb = allocator.buffer(len);
        nb.setBytes(0, b, 0, len);
        nb.writerIndex(len);
        buffers.add(nb);
      }
      try (ArrowRecordBatch copied =
          new ArrowRecordBatch(batch.getLength(), batch.getNodes(), buffers)) {
        new VectorLoader(copy).load(copied);
      }
    } catch (RuntimeException e) {
      copy.close();
      throw e;
    } finally {
      buffers.forEach(ArrowBuf::close);
    }
    return copy;
  }

  /**
   * A second root over {@code source}'s buffers, accounted to {@code allocator} (reference-counted,
   * not copied; both allocators must share a root). The caller keeps {@code source} and owns the
   * new root.
   */
  public static VectorSchemaRoot share(VectorSchemaRoot source, BufferAllocator allocator) {
    VectorSchemaRoot shared = VectorSchemaRoot.create(source.getSchema(), allocator);
    try (ArrowRecordBatch batch = new VectorUnloader(source).getRecordBatch()) {
      new VectorLoader(shared).load(batch);
    }
    return shared;
  }
}
