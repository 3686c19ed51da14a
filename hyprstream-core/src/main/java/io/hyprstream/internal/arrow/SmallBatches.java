package io.hyprstream.internal.arrow;

import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.util.VectorSchemaRootAppender;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Concatenates runs of small batches of one schema into fewer, larger batches before they are
 * handed to DuckDB's Arrow scan.
 *
 * <p>Why: DuckDB reads an exported Arrow stream on its own worker threads, and every {@code
 * get_next} and {@code release} callback Arrow's C data interface makes from such a thread attaches
 * it to the JVM and detaches it again. Each attach creates a {@code Thread} object and hands the
 * thread a fresh TLAB that the detach throws away, so a flush of hundreds of 100-row batches (one
 * per tiny {@code ingest}) filled the young generation at gigabytes per second with nothing a heap
 * profile could attribute, and the young pauses that followed were the in-process ingest's tail
 * latency. One batch per run costs one attach, and a copy of a few kilobytes.
 */
public final class SmallBatches {
  private static final Logger LOG = LoggerFactory.getLogger(SmallBatches.class);

  /** Batches with fewer rows than this are concatenated with their small neighbours. */
  public static final int SMALL_ROWS = 16 * 1024;

  /** A concatenated batch holds at most this many rows. */
  public static final int MERGED_ROWS = 64 * 1024;

  private SmallBatches() {}

  /**
   * {@code batches} (all of one schema) with each run of consecutive batches under {@link
   * #SMALL_ROWS} rows replaced by concatenations of at most {@link #MERGED_ROWS} rows, in {@code
   * allocator}; batches that are not small, and runs of one, are passed on as they are. Takes
   * ownership of {@code batches} (the ones replaced are closed) and gives ownership of the returned
   * list's batches to the caller. When Arrow cannot concatenate a vector type, the run is passed on
   * unchanged.
   */
  public static List<VectorSchemaRoot> coalesce(
      List<VectorSchemaRoot> batches, BufferAllocator allocator) {
    if (batches.size() < 2) {
      return batches;
    }
    List<VectorSchemaRoot> out = new ArrayList<>(batches.size());
    int i = 0;
    int start = 0; // batches from here on are neither passed on nor closed
    try {
      while (i < batches.size()) {
        start = i;
        long rows = 0;
        while (i < batches.size()
            && batches.get(i).getRowCount() < SMALL_ROWS
            && rows + batches.get(i).getRowCount() <= MERGED_ROWS) {
          rows += batches.get(i).getRowCount();
          i++;
        }
        if (i - start >= 2) {
          List<VectorSchemaRoot> run = batches.subList(start, i);
          VectorSchemaRoot merged = concatenate(run, (int) rows, allocator);
          if (merged == null) {
            out.addAll(run);
          } else {
            out.add(merged);
            run.forEach(VectorSchemaRoot::close);
          }
        } else if (i == start) {
          out.add(batches.get(i++)); // not small
        } else {
          out.add(batches.get(start)); // a run of one: nothing to gain from a copy
        }
        start = i;
      }
    } catch (RuntimeException e) {
      // A failed allocation: close everything, as the caller handed it over.
      for (int j = start; j < batches.size(); j++) {
        batches.get(j).close();
      }
      out.forEach(VectorSchemaRoot::close);
      throw e;
    }
    return out;
  }

  /** The rows of {@code run}, in order, in one new batch; null when Arrow cannot append a type. */
  private static @Nullable VectorSchemaRoot concatenate(
      List<VectorSchemaRoot> run, int rows, BufferAllocator allocator) {
    VectorSchemaRoot merged = VectorSchemaRoot.create(run.get(0).getSchema(), allocator);
    try {
      for (FieldVector v : merged.getFieldVectors()) {
        v.setInitialCapacity(rows);
        v.allocateNew();
      }
      VectorSchemaRootAppender.append(
          false, merged, run.toArray(new VectorSchemaRoot[0])); // one schema: the caller's group
      return merged;
    } catch (UnsupportedOperationException e) {
      merged.close();
      LOG.debug("cannot concatenate batches of {}: {}", merged.getSchema(), e.getMessage());
      return null;
    } catch (RuntimeException e) {
      merged.close();
      throw e;
    }
  }
}
