package io.hyprstream.internal.query;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Ticker;
import io.hyprstream.QueryResult;
import io.hyprstream.api.CacheStatistics;
import io.hyprstream.api.Freshness;
import io.hyprstream.internal.arrow.ArrowCopy;
import io.hyprstream.internal.arrow.BatchListReader;
import io.hyprstream.internal.arrow.ForwardingReader;
import io.hyprstream.internal.table.ChangeVersions;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * Query results kept as Arrow batches and served again without running the query. Bounded by the
 * bytes of the buffers held, evicting by Caffeine's W-TinyLFU, expiring after a TTL.
 *
 * <p>Never stale by surprise: each entry records the change versions of every name its SQL mentions
 * (see {@link ChangeVersions}); a lookup whose current versions differ is a miss, unless the caller
 * allows a bounded staleness, in which case the answer says it is stale.
 *
 * <p>A result is copied into the cache while the caller reads it (the first batch is not delayed),
 * and kept only when the caller read it to the end and it stayed under the per-entry bound.
 */
public final class ResultCache implements AutoCloseable {
  /** The normalised SQL and bound parameters a result was computed for. */
  public static final class Key {
    final String sql;
    final List<@Nullable Object> parameters;
    private final int hash;

    Key(String normalizedSql, List<@Nullable Object> parameters) {
      this.sql = normalizedSql;
      List<@Nullable Object> copy = new ArrayList<>(parameters.size());
      for (@Nullable Object p : parameters) {
        // byte[] compares by identity; its contents are the key.
        copy.add(p instanceof byte[] ? java.nio.ByteBuffer.wrap(((byte[]) p).clone()) : p);
      }
      this.parameters = Collections.unmodifiableList(copy);
      this.hash = 31 * sql.hashCode() + this.parameters.hashCode();
    }

    @Override
    public boolean equals(@Nullable Object o) {
      if (!(o instanceof Key)) {
        return false;
      }
      Key k = (Key) o;
      if (hash != k.hash || !sql.equals(k.sql) || parameters.size() != k.parameters.size()) {
        return false;
      }
      for (int i = 0; i < parameters.size(); i++) {
        @Nullable Object a = parameters.get(i);
        @Nullable Object b = k.parameters.get(i);
        // 1 and 1L, or 1 and "1", bind differently: the class is part of the key.
        if (!Objects.equals(a, b) || (a != null && b != null && a.getClass() != b.getClass())) {
          return false;
        }
      }
      return true;
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }

  private static final class Entry {
    final Schema schema;
    final List<VectorSchemaRoot> batches;
    final long[] versions;
    final Freshness freshness;
    final long bytes;
    final long rows;
    final long createdNanos;
    boolean released; // guarded by this: its buffers were freed on removal

    Entry(
        Schema schema,
        List<VectorSchemaRoot> batches,
        long[] versions,
        Freshness freshness,
        long bytes,
        long rows,
        long createdNanos) {
      this.schema = schema;
      this.batches = batches;
      this.versions = versions;
      this.freshness = freshness;
      this.bytes = bytes;
      this.rows = rows;
      this.createdNanos = createdNanos;
    }
  }

  private final BufferAllocator cacheAllocator;
  private final Cache<Key, Entry> cache;
  private final Ticker ticker;
  private final long maxEntryBytes;
  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder evictedSize = new LongAdder();
  private final LongAdder evictedExpired = new LongAdder();
  private final LongAdder evictedInvalidated = new LongAdder();
  private final AtomicLong bytesHeld = new AtomicLong();
  private final AtomicLong rowsHeld = new AtomicLong();

  /**
   * @param maxBytes the bound on the bytes of all results held; one result may take at most a
   *     sixteenth of it (at least 1 MiB), so a single large scan cannot flush the cache
   * @param ttl how long a result is kept after it was computed
   * @param ticker the time source of the TTL and of staleness (a manual one in tests)
   */
  public ResultCache(BufferAllocator parent, long maxBytes, Duration ttl, Ticker ticker) {
    this.cacheAllocator = parent.newChildAllocator("result-cache", 0, Long.MAX_VALUE);
    this.ticker = ticker;
    this.maxEntryBytes = Math.max(Math.min(maxBytes, 1L << 20), maxBytes / 16);
    this.cache =
        Caffeine.newBuilder()
            .maximumWeight(maxBytes)
            .weigher((Key k, Entry e) -> (int) Math.min(Integer.MAX_VALUE, Math.max(1, e.bytes)))
            .expireAfterWrite(ttl)
            .ticker(ticker)
            .executor(Runnable::run) // free evicted buffers on the caller's thread, not later
            .removalListener(this::removed)
            .build();
  }

  private void removed(@Nullable Key key, @Nullable Entry e, RemovalCause cause) {
    if (e == null) {
      return;
    }
    synchronized (e) { // a lookup may be sharing the entry's buffers right now
      e.released = true;
      e.batches.forEach(VectorSchemaRoot::close);
    }
    bytesHeld.addAndGet(-e.bytes);
    rowsHeld.addAndGet(-e.rows);
    if (cause == RemovalCause.SIZE) {
      evictedSize.increment();
    } else if (cause == RemovalCause.EXPIRED) {
      evictedExpired.increment();
    } else if (cause == RemovalCause.REPLACED || cause == RemovalCause.EXPLICIT) {
      evictedInvalidated.increment();
    }
  }

  /**
   * The cached answer to {@code key}, or null. An entry computed at other {@code versions} is
   * served only when it is at most {@code maxStaleness} old, marked stale; otherwise it is dropped.
   */
  public @Nullable QueryResult get(
      Key key, long[] versions, Duration maxStaleness, BufferAllocator alloc) {
    Entry e = cache.getIfPresent(key);
    if (e == null) {
      misses.increment();
      return null;
    }
    boolean stale = !Arrays.equals(e.versions, versions);
    if (stale
        && (maxStaleness.isZero() || ticker.read() - e.createdNanos > maxStaleness.toNanos())) {
      cache.asMap().remove(key, e);
      misses.increment();
      return null;
    }
    List<VectorSchemaRoot> served = new ArrayList<>(e.batches.size());
    synchronized (e) {
      if (e.released) {
        misses.increment(); // evicted between the lookup and now
        return null;
      }
      for (VectorSchemaRoot b : e.batches) {
        served.add(copyFor(b, alloc));
      }
    }
    hits.increment();
    return QueryResult.of(
        alloc,
        new BatchListReader(alloc, e.schema, served),
        e.freshness.servedFromResultCache(stale));
  }

  /** Buffers shared when the allocators have one root (no copy), copied otherwise. */
  private VectorSchemaRoot copyFor(VectorSchemaRoot b, BufferAllocator alloc) {
    return alloc.getRoot() == cacheAllocator.getRoot()
        ? ArrowCopy.share(b, alloc)
        : ArrowCopy.deepCopy(b, alloc);
  }

  /**
   * Returns a reader over {@code source} that keeps a copy of what passes through it, cached under
   * {@code key} once the reader reaches the end. Takes ownership of {@code source}.
   *
   * @param versions the change versions read before the query ran
   */
  public QueryResult put(
      Key key, long[] versions, ArrowReader source, Freshness freshness, BufferAllocator alloc) {
    return QueryResult.of(alloc, new Tee(alloc, key, versions, source, freshness), freshness);
  }

  /** Counters for the {@code hyprstream_cache_stats} table. */
  public CacheStatistics statistics() {
    cache.cleanUp(); // apply pending expiry so the counters are current
    return new CacheStatistics(
        CacheStatistics.Scope.RESULTS,
        "results",
        hits.sum(),
        misses.sum(),
        evictedSize.sum(),
        evictedExpired.sum(),
        evictedInvalidated.sum(),
        bytesHeld.get(),
        rowsHeld.get());
  }

  @Override
  public void close() {
    cache.invalidateAll();
    cache.cleanUp();
    cacheAllocator.close();
  }

  /** Passes batches on to the caller while copying them into the cache. */
  private final class Tee extends ForwardingReader {
    private final Key key;
    private final long[] versions;
    private final Freshness freshness;
    private final long startedNanos = ticker.read();
    private final AtomicBoolean closed = new AtomicBoolean();
    private @Nullable List<VectorSchemaRoot> kept = new ArrayList<>();
    private long bytes;
    private long rows;

    Tee(BufferAllocator alloc, Key key, long[] versions, ArrowReader source, Freshness freshness) {
      super(alloc, source);
      this.key = key;
      this.versions = versions;
      this.freshness = freshness;
    }

    @Override
    public boolean loadNextBatch() throws IOException {
      if (!super.loadNextBatch()) {
        finish();
        return false;
      }
      VectorSchemaRoot batch = getVectorSchemaRoot();
      List<VectorSchemaRoot> k = kept;
      if (k != null) {
        for (FieldVector v : batch.getFieldVectors()) {
          bytes += v.getBufferSize();
        }
        rows += batch.getRowCount();
        if (bytes > maxEntryBytes) {
          k.forEach(VectorSchemaRoot::close); // too large to keep; stream the rest through
          kept = null;
        } else {
          k.add(ArrowCopy.deepCopy(batch, cacheAllocator));
        }
      }
      return true;
    }

    private void finish() throws IOException {
      List<VectorSchemaRoot> k = kept;
      if (k == null) {
        return;
      }
      kept = null;
      Entry e =
          new Entry(
              getVectorSchemaRoot().getSchema(), k, versions, freshness, bytes, rows, startedNanos);
      bytesHeld.addAndGet(bytes);
      rowsHeld.addAndGet(rows);
      cache.put(key, e);
    }

    @Override
    protected void closeReadSource() throws IOException {
      if (!closed.compareAndSet(false, true)) {
        return;
      }
      List<VectorSchemaRoot> k = kept;
      kept = null;
      if (k != null) {
        k.forEach(VectorSchemaRoot::close); // not read to the end: nothing is kept
      }
      super.closeReadSource();
    }
  }
}
