package io.hyprstream.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * Results of queries answered by the backend, kept as Arrow batches so a repeated read-through is
 * served from memory. Bounded by bytes (W-TinyLFU eviction), expiring after a TTL (the backend can
 * change behind our back), and invalidated when an ingest touches a table an entry read.
 */
final class BackendResultCache implements AutoCloseable {
  private final BufferAllocator allocator;
  private final Cache<String, Entry> cache;

  private static final class Entry {
    final Schema schema;
    final List<VectorSchemaRoot> batches;
    final Set<String> words;
    final long bytes;

    Entry(Schema schema, List<VectorSchemaRoot> batches, Set<String> words, long bytes) {
      this.schema = schema;
      this.batches = batches;
      this.words = words;
      this.bytes = bytes;
    }

    void close() {
      batches.forEach(VectorSchemaRoot::close);
    }
  }

  BackendResultCache(BufferAllocator parent, long maxBytes, Duration ttl) {
    this.allocator = parent.newChildAllocator("backend-results", 0, Long.MAX_VALUE);
    this.cache =
        Caffeine.newBuilder()
            .maximumWeight(maxBytes)
            .weigher((String k, Entry e) -> (int) Math.min(Integer.MAX_VALUE, e.bytes))
            .expireAfterWrite(ttl)
            .executor(Runnable::run) // close evicted buffers on the caller's thread, not later
            .removalListener(
                (@Nullable String k, @Nullable Entry e, RemovalCause c) -> {
                  if (e != null) {
                    e.close();
                  }
                })
            .build();
  }

  private static String key(String sql, List<@Nullable Object> parameters) {
    return parameters.isEmpty() ? sql : sql + "\u0000" + parameters;
  }

  /** A reader over a cached result, or null; the caller closes it. */
  @Nullable ArrowReader get(String sql, List<@Nullable Object> parameters, BufferAllocator alloc) {
    Entry e = cache.getIfPresent(key(sql, parameters));
    if (e == null) {
      return null;
    }
    synchronized (e) {
      List<VectorSchemaRoot> shared = new ArrayList<>(e.batches.size());
      for (VectorSchemaRoot b : e.batches) {
        shared.add(ArrowCopy.share(b, alloc));
      }
      return new BatchListReader(alloc, e.schema, shared);
    }
  }

  /**
   * Reads {@code source} to the end, keeps a copy, and returns a reader over the result. Takes
   * ownership of {@code source}; the caller closes the returned reader.
   */
  ArrowReader put(
      String sql, List<@Nullable Object> parameters, ArrowReader source, BufferAllocator alloc)
      throws IOException {
    List<VectorSchemaRoot> kept = new ArrayList<>();
    Schema schema;
    long bytes = 0;
    try (source) {
      schema = source.getVectorSchemaRoot().getSchema();
      while (source.loadNextBatch()) {
        VectorSchemaRoot copy = ArrowCopy.deepCopy(source.getVectorSchemaRoot(), allocator);
        kept.add(copy);
        bytes += copy.getFieldVectors().stream().mapToLong(v -> v.getBufferSize()).sum();
      }
    } catch (IOException | RuntimeException e) {
      kept.forEach(VectorSchemaRoot::close);
      throw e;
    }
    List<VectorSchemaRoot> served = new ArrayList<>(kept.size());
    for (VectorSchemaRoot b : kept) {
      served.add(ArrowCopy.share(b, alloc));
    }
    cache.put(key(sql, parameters), new Entry(schema, kept, SqlNames.words(sql), bytes));
    return new BatchListReader(alloc, schema, served);
  }

  /** Drops every entry whose SQL names {@code table}. */
  void invalidate(String table) {
    String t = table.toLowerCase(Locale.ROOT);
    for (var en : cache.asMap().entrySet()) {
      if (en.getValue().words.contains(t)) {
        cache.invalidate(en.getKey()); // the removal listener closes the buffers
      }
    }
  }

  @Override
  public void close() {
    cache.invalidateAll();
    cache.cleanUp();
    allocator.close();
  }
}
