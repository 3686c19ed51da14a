package io.hyprstream.bench.compare;

import java.io.IOException;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.ArrowType;

/**
 * Reads window answers out of Arrow results (Hyprstream in-process and over Flight SQL): columns
 * {@code metric_id}, {@code window_start}, {@code value_count}, {@code value_sum}.
 */
final class ArrowAnswers {
  private ArrowAnswers() {}

  /** Adds every row of every batch {@code next} loads into {@code into}. */
  interface BatchSource {
    boolean next() throws IOException;

    VectorSchemaRoot root();
  }

  static BatchSource of(ArrowReader r) {
    return new BatchSource() {
      @Override
      public boolean next() throws IOException {
        return r.loadNextBatch();
      }

      @Override
      public VectorSchemaRoot root() {
        try {
          return r.getVectorSchemaRoot();
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
      }
    };
  }

  static void hourly(BatchSource s, Hourly into) throws IOException {
    while (s.next()) {
      VectorSchemaRoot root = s.root();
      FieldVector start = root.getVector("window_start");
      BigIntVector count = (BigIntVector) root.getVector("value_count");
      Float8Vector sum = (Float8Vector) root.getVector("value_sum");
      for (int i = 0; i < root.getRowCount(); i++) {
        into.add(micros(start, i), count.get(i), sum.get(i));
      }
    }
  }

  static void grid(BatchSource s, WindowGrid into) throws IOException {
    byte[] id = new byte[64];
    while (s.next()) {
      VectorSchemaRoot root = s.root();
      VarCharVector ids = (VarCharVector) root.getVector("metric_id");
      FieldVector start = root.getVector("window_start");
      BigIntVector count = (BigIntVector) root.getVector("value_count");
      Float8Vector sum = (Float8Vector) root.getVector("value_sum");
      for (int i = 0; i < root.getRowCount(); i++) {
        int len = (int) (ids.getEndOffset(i) - ids.getStartOffset(i));
        ids.getDataBuffer().getBytes(ids.getStartOffset(i), id, 0, Math.min(len, id.length));
        into.add(WindowGrid.metricIndex(id, len), micros(start, i), count.get(i), sum.get(i));
      }
    }
  }

  /** The first row's {@code value_count}, or 0 when there is no row. */
  static long firstCount(BatchSource s) throws IOException {
    long c = -1;
    while (s.next()) {
      VectorSchemaRoot root = s.root();
      if (c < 0 && root.getRowCount() > 0) {
        c = ((BigIntVector) root.getVector("value_count")).get(0);
      }
    }
    return Math.max(c, 0);
  }

  /** A timestamp cell in epoch microseconds, whatever the vector's unit. */
  static long micros(FieldVector v, int i) {
    long raw = ((TimeStampVector) v).get(i);
    ArrowType.Timestamp t = (ArrowType.Timestamp) v.getField().getType();
    switch (t.getUnit()) {
      case SECOND:
        return raw * 1_000_000L;
      case MILLISECOND:
        return raw * 1_000L;
      case MICROSECOND:
        return raw;
      case NANOSECOND:
        return Math.floorDiv(raw, 1_000L);
      default:
        throw new IllegalStateException("unknown unit " + t.getUnit());
    }
  }
}
