package io.hyprstream.internal.cluster;

import io.hyprstream.api.HyprstreamException;
import io.hyprstream.internal.ClusterFacet.PartitionShare;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * What one partition's owner holds of it at a log offset: every ingested table's share of the
 * partition's keys (their windows and hot rows) and the client ingest ids its records brought. A
 * new owner that loads it holds what replaying the partition's records before {@code nextOffset}
 * would have built, and replays only from there. Closing it closes the shares' batches.
 *
 * <p>The bytes are {@code [magic][version][partition][next offset][share count]}, then per share
 * {@code [table][schema][window batch count][window batches][row batch count][row batches]}, then
 * {@code [id count]} and per id {@code [id][attempt]}. Each schema and batch is a length-prefixed
 * Arrow IPC stream; {@link CheckpointTopic} checks the whole with a CRC.
 */
record PartitionCheckpoint(
    int partition, long nextOffset, List<PartitionShare> shares, Map<String, String> ingestIds)
    implements AutoCloseable {
  private static final int MAGIC = 0x48534350; // "HSCP"
  private static final int VERSION = 1;

  @Override
  public void close() {
    shares.forEach(PartitionShare::close);
  }

  /** The checkpoint's bytes; the shares stay open. {@code allocator} serves the schema sections. */
  byte[] encode(BufferAllocator allocator) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeInt(MAGIC);
      out.writeInt(VERSION);
      out.writeInt(partition);
      out.writeLong(nextOffset);
      out.writeInt(shares.size());
      for (PartitionShare s : shares) {
        out.writeUTF(s.table());
        writeSchema(out, s.schema(), allocator);
        writeBatches(out, s.windows());
        writeBatches(out, s.rows());
      }
      out.writeInt(ingestIds.size());
      for (Map.Entry<String, String> e : ingestIds.entrySet()) {
        out.writeUTF(e.getKey());
        out.writeUTF(e.getValue());
      }
    } catch (IOException e) {
      throw new HyprstreamException("cannot encode the checkpoint of partition " + partition, e);
    }
    return bytes.toByteArray();
  }

  /**
   * The checkpoint {@link #encode} wrote, its batches allocated from {@code allocator}.
   *
   * @throws HyprstreamException when the bytes are not a checkpoint
   */
  static PartitionCheckpoint decode(byte[] bytes, BufferAllocator allocator) {
    List<PartitionShare> shares = new ArrayList<>();
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
      if (in.readInt() != MAGIC || in.readInt() != VERSION) {
        throw new HyprstreamException("not a partition checkpoint of this version");
      }
      int partition = in.readInt();
      long nextOffset = in.readLong();
      int count = in.readInt();
      for (int i = 0; i < count; i++) {
        String table = in.readUTF();
        Schema schema = readSchema(in, allocator);
        List<VectorSchemaRoot> windows = readBatches(in, allocator);
        List<VectorSchemaRoot> rows;
        try {
          rows = readBatches(in, allocator);
        } catch (IOException | RuntimeException e) {
          windows.forEach(VectorSchemaRoot::close);
          throw e;
        }
        shares.add(new PartitionShare(table, schema, windows, rows));
      }
      int ids = in.readInt();
      Map<String, String> ingestIds = new LinkedHashMap<>();
      for (int i = 0; i < ids; i++) {
        ingestIds.put(in.readUTF(), in.readUTF());
      }
      return new PartitionCheckpoint(partition, nextOffset, shares, ingestIds);
    } catch (IOException | RuntimeException e) {
      shares.forEach(PartitionShare::close);
      throw e instanceof HyprstreamException h
          ? h
          : new HyprstreamException("a partition checkpoint cannot be read: " + e, e);
    }
  }

  private static void writeSchema(DataOutputStream out, Schema schema, BufferAllocator allocator)
      throws IOException {
    try (VectorSchemaRoot empty = VectorSchemaRoot.create(schema, allocator)) {
      byte[] b = ArrowIpc.encode(empty);
      out.writeInt(b.length);
      out.write(b);
    }
  }

  private static Schema readSchema(DataInputStream in, BufferAllocator allocator)
      throws IOException {
    try (VectorSchemaRoot empty = ArrowIpc.decode(readBytes(in), allocator)) {
      return empty.getSchema();
    }
  }

  private static void writeBatches(DataOutputStream out, List<VectorSchemaRoot> batches)
      throws IOException {
    out.writeInt(batches.size());
    for (VectorSchemaRoot b : batches) {
      byte[] bytes = ArrowIpc.encode(b);
      out.writeInt(bytes.length);
      out.write(bytes);
    }
  }

  private static List<VectorSchemaRoot> readBatches(DataInputStream in, BufferAllocator allocator)
      throws IOException {
    int n = in.readInt();
    List<VectorSchemaRoot> out = new ArrayList<>(n);
    try {
      for (int i = 0; i < n; i++) {
        out.add(ArrowIpc.decode(readBytes(in), allocator));
      }
      return out;
    } catch (IOException | RuntimeException e) {
      out.forEach(VectorSchemaRoot::close);
      throw e;
    }
  }

  private static byte[] readBytes(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0) {
      throw new IOException("a negative length " + n);
    }
    byte[] b = new byte[n];
    in.readFully(b);
    return b;
  }
}
