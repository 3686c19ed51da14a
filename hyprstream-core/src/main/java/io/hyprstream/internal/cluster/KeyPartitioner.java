package io.hyprstream.internal.cluster;

import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.internal.arrow.ArrowCopy;
import io.hyprstream.internal.arrow.Columns;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.util.TransferPair;
import org.apache.kafka.common.utils.Utils;

/**
 * Which key partition each row belongs to, and the split of a batch into one sub-batch per
 * partition.
 *
 * <p>A row's partition is Kafka's own default partition for a record whose key is the row's key
 * bytes: {@code toPositive(murmur2(key)) % partitions}. With one key column of text (the metrics
 * table's {@code metric_id}) the key bytes are the text's UTF-8 bytes, so a Kafka producer that
 * keys its records by {@code metric_id} with the default partitioner puts each key in the same
 * partition Hyprstream does. Other key columns are keyed by their values' text; several key columns
 * by their texts joined with a NUL byte; a null key value by the empty text.
 */
final class KeyPartitioner {
  private final int partitions;

  KeyPartitioner(int partitions) {
    this.partitions = partitions;
  }

  /** Kafka's default partition for a record with key {@code key}. */
  static int partitionOfKey(byte[] key, int partitions) {
    return Utils.toPositive(Utils.murmur2(key)) % partitions;
  }

  /**
   * The partition of every row of {@code batch} by its {@code keyColumns}.
   *
   * @throws SchemaMismatchException naming the key column the batch lacks
   */
  int[] partitionOfRows(String table, VectorSchemaRoot batch, List<String> keyColumns) {
    List<FieldVector> keys = new ArrayList<>(keyColumns.size());
    for (String column : keyColumns) {
      FieldVector v = Columns.vector(batch, column);
      if (v == null) {
        throw new SchemaMismatchException(
            table,
            column,
            "key column '"
                + column
                + "' of table '"
                + table
                + "' is missing: the cluster places rows by it");
      }
      keys.add(v);
    }
    int rows = batch.getRowCount();
    int[] partitionOf = new int[rows];
    ByteArrayOutputStream joined = new ByteArrayOutputStream();
    for (int row = 0; row < rows; row++) {
      byte[] key;
      if (keys.size() == 1) {
        key = keyBytes(keys.get(0), row);
      } else {
        joined.reset();
        for (int k = 0; k < keys.size(); k++) {
          if (k > 0) {
            joined.write(0);
          }
          joined.writeBytes(keyBytes(keys.get(k), row));
        }
        key = joined.toByteArray();
      }
      partitionOf[row] = partitionOfKey(key, partitions);
    }
    return partitionOf;
  }

  private static byte[] keyBytes(FieldVector vector, int row) {
    if (vector.isNull(row)) {
      return new byte[0];
    }
    if (vector instanceof VarCharVector) {
      return ((VarCharVector) vector).get(row); // the UTF-8 bytes as stored
    }
    return String.valueOf(vector.getObject(row)).getBytes(StandardCharsets.UTF_8);
  }

  /**
   * One sub-batch per partition that has rows, rows in their original order, in partition order of
   * first appearance. The caller keeps {@code batch} and owns the sub-batches.
   */
  static Map<Integer, VectorSchemaRoot> split(
      VectorSchemaRoot batch, int[] partitionOfRow, BufferAllocator allocator) {
    int slots = 0;
    for (int p : partitionOfRow) {
      slots = Math.max(slots, p + 1);
    }
    int[] counts = new int[slots];
    List<Integer> order = new ArrayList<>();
    for (int p : partitionOfRow) {
      if (counts[p]++ == 0) {
        order.add(p);
      }
    }
    Map<Integer, VectorSchemaRoot> parts = new LinkedHashMap<>();
    try {
      if (order.size() == 1) {
        // One partition: no row-by-row copy.
        parts.put(order.get(0), ArrowCopy.share(batch, allocator));
        return parts;
      }
      TransferPair[][] copiers = new TransferPair[slots][];
      int[] next = new int[slots];
      int columns = batch.getFieldVectors().size();
      for (int p : order) {
        VectorSchemaRoot part = VectorSchemaRoot.create(batch.getSchema(), allocator);
        parts.put(p, part);
        copiers[p] = new TransferPair[columns];
        for (int c = 0; c < columns; c++) {
          FieldVector target = part.getVector(c);
          target.setInitialCapacity(counts[p]);
          target.allocateNew();
          copiers[p][c] = batch.getVector(c).makeTransferPair(target);
        }
      }
      for (int row = 0; row < partitionOfRow.length; row++) {
        int p = partitionOfRow[row];
        for (TransferPair pair : copiers[p]) {
          pair.copyValueSafe(row, next[p]);
        }
        next[p]++;
      }
      for (Map.Entry<Integer, VectorSchemaRoot> e : parts.entrySet()) {
        int n = counts[e.getKey()];
        for (FieldVector v : e.getValue().getFieldVectors()) {
          v.setValueCount(n);
        }
        e.getValue().setRowCount(n);
      }
      return parts;
    } catch (RuntimeException e) {
      parts.values().forEach(VectorSchemaRoot::close);
      throw e;
    }
  }
}
