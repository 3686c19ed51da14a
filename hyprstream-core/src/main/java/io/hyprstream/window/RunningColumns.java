package io.hyprstream.window;

import io.hyprstream.internal.arrow.Columns;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * The running columns of a stored batch: per row, the count, sum and avg of the first value column
 * in the row's running window, as of that row.
 */
final class RunningColumns {
  private final Float8Vector sum;
  private final Float8Vector avg;
  private final BigIntVector count;

  RunningColumns(VectorSchemaRoot running, String value) {
    this.sum = (Float8Vector) Columns.require(running, value + "_running_window_sum");
    this.avg = (Float8Vector) Columns.require(running, value + "_running_window_avg");
    this.count = (BigIntVector) Columns.require(running, value + "_running_window_count");
  }

  /** The row's running window is not kept (too late, too far ahead, or no time). */
  void setNull(int row) {
    sum.setNull(row);
    avg.setNull(row);
    count.setNull(row);
  }

  /** A window without values so far has a count of 0 and a NULL sum and avg. */
  void set(int row, long c, double total) {
    count.set(row, c);
    if (c == 0) {
      sum.setNull(row);
      avg.setNull(row);
    } else {
      sum.set(row, total);
      avg.set(row, total / c);
    }
  }
}
