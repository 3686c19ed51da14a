package io.hyprstream.internal.cluster;

import io.hyprstream.api.HyprstreamException;
import io.hyprstream.internal.arrow.ArrowCopy;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.Channels;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;

/** One batch as the bytes of an Arrow IPC stream (its schema, then the batch): a log record. */
final class ArrowIpc {
  private ArrowIpc() {}

  /** The IPC stream of {@code batch}; the caller keeps the batch. */
  static byte[] encode(VectorSchemaRoot batch) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ArrowStreamWriter writer = new ArrowStreamWriter(batch, null, Channels.newChannel(out))) {
      writer.start();
      writer.writeBatch();
      writer.end();
    } catch (IOException e) {
      throw new HyprstreamException("cannot encode a batch as Arrow IPC: " + e, e);
    }
    return out.toByteArray();
  }

  /**
   * The one batch of an IPC stream, allocated from {@code allocator}; the caller owns it.
   *
   * @throws HyprstreamException when the bytes are not an IPC stream of one batch
   */
  static VectorSchemaRoot decode(byte[] bytes, BufferAllocator allocator) {
    try (ArrowStreamReader reader =
        new ArrowStreamReader(new ByteArrayInputStream(bytes), allocator)) {
      if (!reader.loadNextBatch()) {
        throw new HyprstreamException("a cluster log record holds no Arrow batch");
      }
      return ArrowCopy.deepCopy(reader.getVectorSchemaRoot(), allocator);
    } catch (IOException e) {
      throw new HyprstreamException("a cluster log record is not an Arrow IPC stream: " + e, e);
    }
  }
}
