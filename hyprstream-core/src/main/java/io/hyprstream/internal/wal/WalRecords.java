package io.hyprstream.internal.wal;

import io.hyprstream.internal.arrow.ArrowCopy;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.jspecify.annotations.Nullable;

/**
 * The write-ahead log's record format: {@code [magic][header length][header][payload length]
 * [payload][CRC32C]}, the header naming the table and the batch id (and marking a re-send, and
 * holding the client's ingest id when there was one), the payload the batch as an Arrow IPC stream.
 * Decoding stops at the first torn or corrupt record.
 */
final class WalRecords {
  private static final int MAGIC = 0x48535731; // "HSW1"

  /** The header line that marks a {@linkplain WriteAheadLog.Record#resend re-sent} batch. */
  private static final String RESEND = "resend";

  private WalRecords() {}

  /**
   * One record as the parts a gathering write sends: the framing in small heap buffers, the Arrow
   * buffers as views of the batch's own memory, so the payload is not copied before the write.
   * Valid while the batch's buffers are: write it before the caller may release the batch.
   */
  record Encoded(ByteBuffer[] parts, int length) {
    /** Writes every part to {@code channel}. */
    void writeTo(GatheringByteChannel channel) throws IOException {
      long left = length;
      while (left > 0) {
        left -= channel.write(parts);
      }
    }
  }

  /**
   * Collects what Arrow's IPC writer writes: direct buffers (views of the batch's memory) as they
   * are, heap buffers (metadata, padding, which the writer may reuse) copied.
   */
  private static final class PartsChannel implements WritableByteChannel {
    final List<ByteBuffer> parts = new ArrayList<>();
    long length;

    @Override
    public int write(ByteBuffer src) {
      int n = src.remaining();
      if (src.isDirect()) {
        parts.add(src.slice());
      } else {
        ByteBuffer copy = ByteBuffer.allocate(n);
        copy.put(src.duplicate()).flip();
        parts.add(copy);
      }
      src.position(src.limit());
      length += n;
      return n;
    }

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public void close() {}
  }

  /**
   * One record: the prefix, the batch as an Arrow IPC stream straight from its buffers, the CRC32C
   * of both. The caller keeps {@code batch}, and writes the result before releasing it.
   */
  static Encoded encode(
      String table,
      String batchId,
      boolean resend,
      @Nullable String ingestId,
      VectorSchemaRoot batch) {
    try {
      // The ingest id comes last, so it may hold any character, a line break included.
      String flags = resend ? RESEND : "";
      String text =
          table
              + "\n"
              + batchId
              + (ingestId != null ? "\n" + flags + "\n" + ingestId : resend ? "\n" + RESEND : "");
      byte[] header = text.getBytes(StandardCharsets.UTF_8);
      PartsChannel payload = new PartsChannel();
      try (ArrowStreamWriter w = new ArrowStreamWriter(batch, null, payload)) {
        w.start();
        w.writeBatch();
        w.end();
      }
      if (8 + header.length + 8 + payload.length + 8 > Integer.MAX_VALUE - 16) {
        throw new IllegalArgumentException(
            "a batch of " + payload.length + " bytes is too large for one log record");
      }
      ByteBuffer prefix = ByteBuffer.allocate(4 + 4 + header.length + 8);
      prefix.putInt(MAGIC).putInt(header.length).put(header).putLong(payload.length).flip();
      CRC32C crc = new CRC32C();
      crc.update(prefix.duplicate());
      for (ByteBuffer part : payload.parts) {
        crc.update(part.duplicate());
      }
      ByteBuffer tail = ByteBuffer.allocate(8).putLong(0, crc.getValue());
      ByteBuffer[] parts = new ByteBuffer[payload.parts.size() + 2];
      parts[0] = prefix;
      for (int i = 0; i < payload.parts.size(); i++) {
        parts[i + 1] = payload.parts.get(i);
      }
      parts[parts.length - 1] = tail;
      return new Encoded(parts, (int) (prefix.remaining() + payload.length + 8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Receives each record decoded, with its first byte and length in the segment. */
  @FunctionalInterface
  interface RecordSink {
    void accept(WriteAheadLog.Record record, long offset, int length);
  }

  /** Every whole record of a segment; stops at the first torn or corrupt one. */
  static void readSegment(Path file, long seq, BufferAllocator allocator, RecordSink sink)
      throws IOException {
    byte[] data = Files.readAllBytes(file);
    decodeRecords(data, data.length, seq, allocator, sink);
  }

  /**
   * The whole records in {@code data[0, limit)} of segment {@code seq}, numbered from 0 (so pass a
   * whole segment for their positions to hold); stops at the first torn or corrupt one.
   */
  static void decodeRecords(
      byte[] data, int limit, long seq, BufferAllocator allocator, RecordSink sink)
      throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(data, 0, limit);
    int index = 0;
    while (buf.remaining() >= 16) {
      int start = buf.position();
      if (buf.getInt() != MAGIC) {
        break;
      }
      int headerLen = buf.getInt();
      if (headerLen < 0 || headerLen > buf.remaining() - 16) {
        break;
      }
      byte[] header = new byte[headerLen];
      buf.get(header);
      long payloadLen = buf.getLong();
      if (payloadLen < 0 || payloadLen > buf.remaining() - 8) {
        break;
      }
      int payloadAt = buf.position();
      buf.position(payloadAt + (int) payloadLen);
      CRC32C crc = new CRC32C();
      crc.update(data, start, buf.position() - start);
      if (buf.getLong() != crc.getValue()) {
        break;
      }
      String[] parts = new String(header, StandardCharsets.UTF_8).split("\n", 4);
      long position = (seq << 32) | index++;
      boolean resend = parts.length > 2 && parts[2].equals(RESEND);
      String ingestId = parts.length > 3 ? parts[3] : null;
      try (ArrowStreamReader reader =
          new ArrowStreamReader(
              new ByteArrayInputStream(data, payloadAt, (int) payloadLen), allocator)) {
        reader.loadNextBatch();
        // The reader's root is reused by the next load: keep a root of our own over its buffers.
        sink.accept(
            new WriteAheadLog.Record(
                parts[0],
                parts[1],
                position,
                resend,
                ingestId,
                ArrowCopy.share(reader.getVectorSchemaRoot(), allocator)),
            start,
            buf.position() - start);
      }
    }
  }
}
