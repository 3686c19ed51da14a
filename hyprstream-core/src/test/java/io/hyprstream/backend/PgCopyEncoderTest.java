package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.testing.TestAllocator;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.copy.CopyIn;
import org.postgresql.util.ByteStreamWriter;

final class PgCopyEncoderTest {
  @RegisterExtension final TestAllocator allocator = new TestAllocator();

  /** Binary COPY read from the buffers' memory is byte for byte what the per-value writers give. */
  @Test
  void writeTo_binaryFromMemory_equalsThePerValueWriters_withAndWithoutNulls() throws Exception {
    try (VectorSchemaRoot every = Batches.everyType(allocator, 50, true);
        VectorSchemaRoot metrics = Batches.metrics(allocator, 70_000, 0)) {
      for (VectorSchemaRoot batch : List.of(every, metrics)) {
        List<String> columns = new ArrayList<>();
        for (FieldVector v : batch.getFieldVectors()) {
          columns.add(v.getName());
        }
        byte[] direct = encode(batch, columns, true);
        byte[] perValue = encode(batch, columns, false);
        assertTrue(direct.length > 1 << 20 || batch == every, "crosses a flush: " + direct.length);
        assertArrayEquals(perValue, direct);
      }
    }
  }

  /** Batches written as one stream carry one header and one trailer, each batch's rows between. */
  @Test
  void writeTo_severalBatchesAsOneStream_oneHeaderAndTrailer() throws Exception {
    try (VectorSchemaRoot a = Batches.metrics(allocator, 300, 0);
        VectorSchemaRoot b = Batches.metrics(allocator, 500, 300)) {
      List<String> columns = List.of("metric_id", "timestamp", "value");
      for (boolean direct : List.of(true, false)) {
        Capture both = new Capture();
        new PgCopyEncoder("t", a, columns, PgCopyEncoder.Format.BINARY, direct)
            .writeTo(both, a.getRowCount(), true, false);
        new PgCopyEncoder("t", b, columns, PgCopyEncoder.Format.BINARY, direct)
            .writeTo(both, b.getRowCount(), false, true);
        byte[] alone = encode(a, columns, direct);
        byte[] second = encode(b, columns, direct);
        int header = 19;
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        expected.write(alone, 0, alone.length - 2); // a's header and rows
        expected.write(second, header, second.length - header); // b's rows and the trailer
        assertArrayEquals(expected.toByteArray(), both.bytes.toByteArray());
      }
    }
  }

  private static byte[] encode(VectorSchemaRoot batch, List<String> columns, boolean direct)
      throws Exception {
    Capture out = new Capture();
    new PgCopyEncoder("t", batch, columns, PgCopyEncoder.Format.BINARY, direct)
        .writeTo(out, batch.getRowCount());
    return out.bytes.toByteArray();
  }

  /** A {@link CopyIn} that keeps what is written. */
  private static final class Capture implements CopyIn {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    @Override
    public void writeToCopy(byte[] buf, int off, int siz) {
      bytes.write(buf, off, siz);
    }

    @Override
    public void writeToCopy(ByteStreamWriter from) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void flushCopy() {}

    @Override
    public long endCopy() {
      return 0;
    }

    @Override
    public int getFieldCount() {
      return 0;
    }

    @Override
    public int getFormat() {
      return 1;
    }

    @Override
    public int getFieldFormat(int field) {
      return 1;
    }

    @Override
    public boolean isActive() {
      return true;
    }

    @Override
    public void cancelCopy() {}

    @Override
    public long getHandledRowCount() {
      return 0;
    }
  }
}
