package io.hyprstream.internal.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.testing.TestAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Rows go where Kafka's producer would put a record keyed by the row's key, and split intact. */
final class KeyPartitionerTest {
  private static final Schema SCHEMA =
      new Schema(
          List.of(
              Field.nullable("metric_id", new ArrowType.Utf8()),
              Field.nullable("seq", new ArrowType.Int(64, true))));

  @RegisterExtension final TestAllocator allocator = new TestAllocator();

  private VectorSchemaRoot batch(List<String> ids) {
    VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator);
    root.allocateNew();
    for (int i = 0; i < ids.size(); i++) {
      ((VarCharVector) root.getVector(0)).setSafe(i, ids.get(i).getBytes(StandardCharsets.UTF_8));
      ((BigIntVector) root.getVector(1)).setSafe(i, i);
    }
    root.setRowCount(ids.size());
    return root;
  }

  @Test
  void partitionOfRows_equalsKafkasDefaultPartitionForTheKey() {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      ids.add(i % 7 == 0 ? "cpü-" + i : "m" + i); // some non-ASCII keys: UTF-8 bytes count
    }
    try (VectorSchemaRoot b = batch(ids);
        StringSerializer keys = new StringSerializer()) {
      for (int partitions : new int[] {1, 6, 48, 97}) {
        int[] p =
            new KeyPartitioner(partitions).partitionOfRows("metrics", b, List.of("metric_id"));
        for (int i = 0; i < ids.size(); i++) {
          int kafkas =
              BuiltInPartitioner.partitionForKey(keys.serialize("t", ids.get(i)), partitions);
          assertEquals(kafkas, p[i], ids.get(i) + " of " + partitions);
        }
      }
    }
  }

  @Test
  void split_keepsEveryRowOnceInOrderWithinItsPartition() {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      ids.add("k" + (i * 31 % 53));
    }
    try (VectorSchemaRoot b = batch(ids)) {
      int[] p = new KeyPartitioner(6).partitionOfRows("metrics", b, List.of("METRIC_ID"));
      Map<Integer, VectorSchemaRoot> parts = KeyPartitioner.split(b, p, allocator);
      try {
        int total = 0;
        for (Map.Entry<Integer, VectorSchemaRoot> e : parts.entrySet()) {
          VectorSchemaRoot part = e.getValue();
          long lastSeq = -1;
          for (int r = 0; r < part.getRowCount(); r++) {
            int seq = (int) ((BigIntVector) part.getVector(1)).get(r);
            assertTrue(seq > lastSeq, "rows keep their order");
            lastSeq = seq;
            assertEquals(ids.get(seq), part.getVector(0).getObject(r).toString(), "row " + seq);
            assertEquals(e.getKey(), p[seq], "row " + seq + " in its partition");
          }
          total += part.getRowCount();
          // Through the log's encoding and back, unchanged.
          try (VectorSchemaRoot back = ArrowIpc.decode(ArrowIpc.encode(part), allocator)) {
            assertEquals(part.contentToTSVString(), back.contentToTSVString());
          }
        }
        assertEquals(ids.size(), total);
        assertTrue(parts.size() > 1, "53 keys over 6 partitions use several");
      } finally {
        parts.values().forEach(VectorSchemaRoot::close);
      }
    }
  }

  @Test
  void missingKeyColumn_isASchemaMismatchNamingIt() {
    try (VectorSchemaRoot b = batch(List.of("a"))) {
      SchemaMismatchException e =
          assertThrows(
              SchemaMismatchException.class,
              () -> new KeyPartitioner(6).partitionOfRows("t", b, List.of("host")));
      assertEquals("host", e.column());
      assertEquals("t", e.table());
    }
  }
}
