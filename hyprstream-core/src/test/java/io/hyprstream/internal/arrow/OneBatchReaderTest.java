package io.hyprstream.internal.arrow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.arrow.c.ArrowArrayStream;
import org.apache.arrow.c.Data;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A one-batch reader yields its batch once, as its own root, and releases it when closed. */
final class OneBatchReaderTest {
  private BufferAllocator root;

  @BeforeEach
  void setUp() {
    root = new RootAllocator();
  }

  @AfterEach
  void tearDown() {
    root.close(); // fails the test if the batch was not released
  }

  private VectorSchemaRoot batch(long... values) {
    VectorSchemaRoot b =
        VectorSchemaRoot.create(
            new Schema(List.of(Field.nullable("n", new ArrowType.Int(64, true)))), root);
    b.allocateNew();
    for (int i = 0; i < values.length; i++) {
      ((BigIntVector) b.getVector(0)).set(i, values[i]);
    }
    b.setRowCount(values.length);
    return b;
  }

  @Test
  void loadNextBatch_yieldsTheBatchOnce_andCloseReleasesIt() throws Exception {
    try (ArrowReader reader = new OneBatchReader(root, batch(3, 4))) {
      assertTrue(reader.loadNextBatch());
      VectorSchemaRoot r = reader.getVectorSchemaRoot();
      assertEquals(2, r.getRowCount());
      assertEquals(4L, ((BigIntVector) r.getVector(0)).get(1));
      assertFalse(reader.loadNextBatch());
    }
  }

  @Test
  void closedUnread_releasesTheBatch() throws Exception {
    new OneBatchReader(root, batch(1)).close();
  }

  /**
   * The way a result leaves through Arrow's C stream interface (DuckDB, ADBC, Flight producers).
   */
  @Test
  void exportedAsACStream_readsBackTheSameRows() throws Exception {
    try (ArrowArrayStream stream = ArrowArrayStream.allocateNew(root)) {
      Data.exportArrayStream(root, new OneBatchReader(root, batch(7, 8, 9)), stream);
      try (ArrowReader imported = Data.importArrayStream(root, stream)) {
        long sum = 0;
        int batches = 0;
        while (imported.loadNextBatch()) {
          batches++;
          BigIntVector v = (BigIntVector) imported.getVectorSchemaRoot().getVector(0);
          for (int i = 0; i < v.getValueCount(); i++) {
            sum += v.get(i);
          }
        }
        assertEquals(1, batches);
        assertEquals(24, sum);
      }
    }
  }
}
