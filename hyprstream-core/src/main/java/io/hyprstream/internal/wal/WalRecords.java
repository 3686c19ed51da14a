package io.hyprstream.internal.wal;

import io.hyprstream.internal.arrow.ArrowCopy;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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

  /** A byte stream whose array the record is framed in place, without copying it again. */
  private static final class RecordBuffer extends ByteArrayOutputStream {
    RecordBuffer(int size) {
      super(size);
    }

    byte[] array() {
      return buf;
    }
  }

  /**
   * One record, framed in a single array: the header and payload are written once, the length
   * fields patched in place, the CRC appended.
   */
  static ByteBuffer encode(
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
      long estimate = 64 + header.length + 4096;
      for (var v : batch.getFieldVectors()) {
        estimate += v.getBufferSize() + 64;
      }
      RecordBuffer out = new RecordBuffer((int) Math.min(Integer.MAX_VALUE - 16, estimate));
      ByteBuffer prefix = ByteBuffer.allocate(4 + 4 + header.length + 8);
      prefix.putInt(MAGIC).putInt(header.length).put(header).putLong(0);
      out.write(prefix.array());
      int payloadAt = out.size();
      try (ArrowStreamWriter w = new ArrowStreamWriter(batch, null, Channels.newChannel(out))) {
        w.start();
        w.writeBatch();
        w.end();
      }
      int payloadLen = out.size() - payloadAt;
      ByteBuffer framed = ByteBuffer.wrap(out.array(), 0, out.size());
      framed.putLong(payloadAt - 8, payloadLen);
      CRC32C crc = new CRC32C();
      crc.update(out.array(), 0, out.size());
      ByteBuffer tail = ByteBuffer.allocate(8).putLong(0, crc.getValue());
      out.write(tail.array());
      return ByteBuffer.wrap(out.array(), 0, out.size());
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
