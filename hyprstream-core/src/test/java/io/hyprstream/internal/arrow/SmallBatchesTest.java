package io.hyprstream.internal.arrow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.hyprstream.Allocators;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Small batches are concatenated in order, every value and null kept; large ones pass through. */
final class SmallBatchesTest {
  private static final Schema SCHEMA =
      new Schema(
          List.of(
              Field.notNullable("id", new ArrowType.Int(64, true)),
              Field.nullable("name", new ArrowType.Utf8()),
              Field.nullable("at", new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
              Field.nullable("value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
              Field.nullable("flag", new ArrowType.Bool()),
              new Field(
                  "embedding",
                  FieldType.nullable(new ArrowType.FixedSizeList(2)),
                  List.of(
                      Field.nullable(
                          "item", new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE))))));

  private BufferAllocator root;

  @BeforeEach
  void setUp() {
    // The recycling root hands out released memory unzeroed: dirty it first, so a concatenation
    // that relied on fresh zeroed memory for its validity bits would show nulls that are not.
    root = Allocators.newRoot();
    try (Float8Vector dirty = new Float8Vector("dirty", root)) {
      dirty.allocateNew(1 << 16);
      for (int i = 0; i < 1 << 16; i++) {
        dirty.set(i, Double.longBitsToDouble(-1L));
      }
      dirty.setValueCount(1 << 16);
    }
  }

  @AfterEach
  void tearDown() {
    root.close(); // fails the test if a batch was leaked
  }

  /** A batch of {@code rows} rows whose ids start at {@code first}; every third value null. */
  private VectorSchemaRoot batch(long first, int rows) {
    VectorSchemaRoot b = VectorSchemaRoot.create(SCHEMA, root);
    b.allocateNew();
    BigIntVector id = (BigIntVector) b.getVector("id");
    VarCharVector name = (VarCharVector) b.getVector("name");
    TimeStampMicroVector at = (TimeStampMicroVector) b.getVector("at");
    Float8Vector value = (Float8Vector) b.getVector("value");
    BitVector flag = (BitVector) b.getVector("flag");
    FixedSizeListVector embedding = (FixedSizeListVector) b.getVector("embedding");
    Float4Vector items = (Float4Vector) embedding.getDataVector();
    for (int r = 0; r < rows; r++) {
      long n = first + r;
      id.setSafe(r, n);
      if (n % 3 == 0) {
        name.setNull(r);
        at.setNull(r);
        value.setNull(r);
        flag.setNull(r);
        embedding.setNull(r);
      } else {
        name.setSafe(r, ("m" + n).repeat((int) (n % 5) + 1).getBytes(StandardCharsets.UTF_8));
        at.setSafe(r, 1_700_000_000_000_000L + n);
        value.setSafe(r, n * 0.5);
        flag.setSafe(r, (int) (n % 2));
        embedding.setNotNull(r);
        items.setSafe(2 * r, n);
        items.setSafe(2 * r + 1, -n);
      }
    }
    b.setRowCount(rows);
    return b;
  }

  private static List<String> rowsOf(List<VectorSchemaRoot> batches) {
    List<String> out = new ArrayList<>();
    for (VectorSchemaRoot b : batches) {
      for (int r = 0; r < b.getRowCount(); r++) {
        StringBuilder row = new StringBuilder();
        for (FieldVector v : b.getFieldVectors()) {
          row.append(v.getObject(r)).append('|');
        }
        out.add(row.toString());
      }
    }
    return out;
  }

  @Test
  void coalesce_concatenatesRunsOfSmallBatchesInOrder_keepingLargeOnesAsTheyAre() {
    List<VectorSchemaRoot> in = new ArrayList<>();
    long next = 0;
    for (int i = 0; i < 700; i++) { // 70,000 rows: more than one merged batch holds
      in.add(batch(next, 100));
      next += 100;
    }
    VectorSchemaRoot large = batch(next, SmallBatches.SMALL_ROWS);
    next += SmallBatches.SMALL_ROWS;
    in.add(large);
    in.add(batch(next, 7)); // a run of one after the large batch
    next += 7;
    in.add(batch(next, 0)); // an empty batch joins the run
    List<String> expected = rowsOf(in);

    List<VectorSchemaRoot> out = SmallBatches.coalesce(in, root);
    try {
      assertEquals(expected, rowsOf(out), "every row, value and null, in order");
      assertEquals(
          List.of(65_500, 4_500),
          List.of(out.get(0).getRowCount(), out.get(1).getRowCount()),
          "whole 100-row batches fill a merged batch up to MERGED_ROWS, then start the next");
      assertSame(large, out.get(2), "a batch that is not small is not copied");
      assertEquals(4, out.size(), "the last two small batches are merged into one");
      assertEquals(7, out.get(3).getRowCount());
    } finally {
      out.forEach(VectorSchemaRoot::close);
    }
  }

  @Test
  void coalesce_passesALoneSmallBatchThrough() {
    VectorSchemaRoot only = batch(0, 3);
    List<VectorSchemaRoot> out = SmallBatches.coalesce(new ArrayList<>(List.of(only)), root);
    try {
      assertEquals(List.of(only), out);
    } finally {
      out.forEach(VectorSchemaRoot::close);
    }
  }
}
