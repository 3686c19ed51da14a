package io.hyprstream;

import io.hyprstream.api.Freshness;
import io.hyprstream.internal.arrow.ForwardingReader;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.ipc.ArrowReader;

/**
 * The rows of a query, streamed batch by batch like any {@link ArrowReader}, with the answer's
 * {@link Freshness}: where it was read and how current it is. The caller closes it.
 */
public final class QueryResult extends ForwardingReader {
  private final Freshness freshness;

  private QueryResult(BufferAllocator allocator, ArrowReader rows, Freshness freshness) {
    super(allocator, rows);
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
}
