package io.hyprstream.internal.cluster;

import io.hyprstream.internal.arrow.BatchListReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * The {@code hyprstream_cluster} system table: the cluster as the receiving instance's membership
 * says, one row per partition (its owner, the owner's location and generation, whether the owner is
 * this instance and, for this instance's partitions, whether it is still restoring the partition,
 * its lag: records in the partition's log not yet applied here, the log offset its newest
 * checkpoint here covers, and this instance's window state bytes, the same on each of its rows),
 * and one row without a partition per member that owns none.
 */
final class ClusterTable {
  static final String NAME = "hyprstream_cluster";

  static final Schema SCHEMA =
      new Schema(
          List.of(
              Field.nullable("partition", new ArrowType.Int(32, true)),
              Field.nullable("instance", ArrowType.Utf8.INSTANCE),
              Field.nullable("location", ArrowType.Utf8.INSTANCE),
              Field.nullable("generation", new ArrowType.Int(64, true)),
              Field.nullable("this_instance", ArrowType.Bool.INSTANCE),
              Field.nullable("restoring", ArrowType.Bool.INSTANCE),
              Field.nullable("lag", new ArrowType.Int(64, true)),
              Field.nullable("state_bytes", new ArrowType.Int(64, true)),
              Field.nullable("checkpoint_offset", new ArrowType.Int(64, true))));

  private ClusterTable() {}

  /** The table's rows now; the caller closes the reader. */
  static BatchListReader rows(
      Membership.Directory directory,
      int partitions,
      String self,
      Set<Integer> owned,
      java.util.function.IntPredicate restoring,
      java.util.function.IntFunction<@Nullable Long> lag,
      long stateBytes,
      java.util.function.IntFunction<@Nullable Long> checkpointOffset,
      BufferAllocator allocator) {
    List<Object[]> rows = new ArrayList<>();
    for (int p = 0; p < partitions; p++) {
      Membership.Member m = directory.ownerOf(p);
      boolean mine = owned.contains(p);
      String id = m != null ? m.instanceId() : mine ? self : null;
      rows.add(
          new Object[] {
            p,
            id,
            m == null ? null : m.location(),
            m == null ? null : m.generation(),
            id == null ? null : id.equals(self),
            mine ? restoring.test(p) : null,
            mine ? lag.apply(p) : null,
            mine ? stateBytes : null,
            mine ? checkpointOffset.apply(p) : null
          });
    }
    Map<String, Membership.Member> members = new TreeMap<>(directory.members());
    for (Membership.Member m : members.values()) {
      if (m.partitions().isEmpty()) {
        rows.add(
            new Object[] {
              null,
              m.instanceId(),
              m.location(),
              m.generation(),
              m.instanceId().equals(self),
              null,
              null,
              m.instanceId().equals(self) ? stateBytes : null,
              null
            });
      }
    }
    VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator);
    try {
      root.allocateNew();
      IntVector partition = (IntVector) root.getVector(0);
      VarCharVector instance = (VarCharVector) root.getVector(1);
      VarCharVector location = (VarCharVector) root.getVector(2);
      BigIntVector generation = (BigIntVector) root.getVector(3);
      BitVector thisInstance = (BitVector) root.getVector(4);
      BitVector restoringCol = (BitVector) root.getVector(5);
      BigIntVector lagCol = (BigIntVector) root.getVector(6);
      BigIntVector stateCol = (BigIntVector) root.getVector(7);
      BigIntVector checkpointCol = (BigIntVector) root.getVector(8);
      for (int i = 0; i < rows.size(); i++) {
        Object[] r = rows.get(i);
        if (r[0] != null) {
          partition.setSafe(i, (Integer) r[0]);
        } else {
          partition.setNull(i);
        }
        text(instance, i, (String) r[1]);
        text(location, i, (String) r[2]);
        number(generation, i, (Long) r[3]);
        bool(thisInstance, i, (Boolean) r[4]);
        bool(restoringCol, i, (Boolean) r[5]);
        number(lagCol, i, (Long) r[6]);
        number(stateCol, i, (Long) r[7]);
        number(checkpointCol, i, (Long) r[8]);
      }
      root.setRowCount(rows.size());
      return new BatchListReader(allocator, SCHEMA, List.of(root));
    } catch (RuntimeException e) {
      root.close();
      throw e;
    }
  }

  private static void text(VarCharVector v, int i, @Nullable String s) {
    if (s == null) {
      v.setNull(i);
    } else {
      v.setSafe(i, s.getBytes(StandardCharsets.UTF_8));
    }
  }

  private static void number(BigIntVector v, int i, @Nullable Long n) {
    if (n == null) {
      v.setNull(i);
    } else {
      v.setSafe(i, n);
    }
  }

  private static void bool(BitVector v, int i, @Nullable Boolean b) {
    if (b == null) {
      v.setNull(i);
    } else {
      v.setSafe(i, b ? 1 : 0);
    }
  }
}
