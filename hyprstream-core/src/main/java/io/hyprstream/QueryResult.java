package io.hyprstream;

import io.hyprstream.api.Freshness;
import java.io.IOException;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * The rows of a query, streamed batch by batch like any {@link ArrowReader}, with the answer's
 * {@link Freshness}: where it was read and how current it is. The caller closes it.
 */
public final class QueryResult extends ArrowReader {
  private final ArrowReader rows;
  private final Freshness freshness;

  private QueryResult(BufferAllocator allocator, ArrowReader rows, Freshness freshness) {
    super(allocator);
    this.rows = rows;
    this.freshness = freshness;
  }

  /** Wraps {@code rows}, which the result owns from now on. */
  public static QueryResult of(BufferAllocator allocator, ArrowReader rows, Freshness freshness) {
    return new QueryResult(allocator, rows, freshness);
  }

  /** Where the answer came from and how current it is. */
  public Freshness freshness() {
    return freshness;
  }

  /** The rows' own root: batches are not moved into a second one (no transfer, no copy). */
  @Override
  public VectorSchemaRoot getVectorSchemaRoot() throws IOException {
    return rows.getVectorSchemaRoot();
  }

  @Override
  public boolean loadNextBatch() throws IOException {
    return rows.loadNextBatch();
  }

  @Override
  public long bytesRead() {
    return rows.bytesRead();
  }

  @Override
  protected void closeReadSource() throws IOException {
    rows.close();
  }

  @Override
  protected Schema readSchema() throws IOException {
    return rows.getVectorSchemaRoot().getSchema();
  }
}
