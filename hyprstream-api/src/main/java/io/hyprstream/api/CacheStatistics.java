package io.hyprstream.api;

/**
 * Counters of one cache: a table's hot rows in the DuckDB cache, or the query result cache. The
 * same figures as the {@code hyprstream_cache_stats} system table.
 *
 * <p>For a table, a hit is a query on it answered locally and a miss one that had to read the
 * backend; evictions are rows removed by expiry ({@code evictedExpired}) or by the memory budget
 * ({@code evictedSize}). For the result cache, hits and misses are lookups, and evictions count
 * entries: dropped for the byte bound, expired by TTL, or replaced after their tables changed.
 */
public final class CacheStatistics {
  /** What a {@link CacheStatistics} row describes. */
  public enum Scope {
    /** One table's raw rows in the DuckDB cache. */
    TABLE,
    /** The query result cache. */
    RESULTS
  }

  private final Scope scope;
  private final String name;
  private final long hits;
  private final long misses;
  private final long evictedSize;
  private final long evictedExpired;
  private final long evictedInvalidated;
  private final long bytes;
  private final long rows;

  public CacheStatistics(
      Scope scope,
      String name,
      long hits,
      long misses,
      long evictedSize,
      long evictedExpired,
      long evictedInvalidated,
      long bytes,
      long rows) {
    this.scope = scope;
    this.name = name;
    this.hits = hits;
    this.misses = misses;
    this.evictedSize = evictedSize;
    this.evictedExpired = evictedExpired;
    this.evictedInvalidated = evictedInvalidated;
    this.bytes = bytes;
    this.rows = rows;
  }

  public Scope scope() {
    return scope;
  }

  /** The table's name, or {@code "results"} for the result cache. */
  public String name() {
    return name;
  }

  public long hits() {
    return hits;
  }

  public long misses() {
    return misses;
  }

  /** Hits over lookups, or 0 before the first lookup. */
  public double hitRatio() {
    long n = hits + misses;
    return n == 0 ? 0 : (double) hits / n;
  }

  /** Rows (table) or entries (results) evicted to stay within the memory bound. */
  public long evictedSize() {
    return evictedSize;
  }

  /** Rows (table) past the cache duration, or entries (results) past their TTL. */
  public long evictedExpired() {
    return evictedExpired;
  }

  /** Result entries dropped because a table they read changed (always 0 for a table). */
  public long evictedInvalidated() {
    return evictedInvalidated;
  }

  /** Bytes held: Arrow bytes of the hot rows, or of the cached results. */
  public long bytes() {
    return bytes;
  }

  /** Rows held: hot rows of the table, or rows of all cached results. */
  public long rows() {
    return rows;
  }

  @Override
  public String toString() {
    return scope
        + " "
        + name
        + ": hits="
        + hits
        + " misses="
        + misses
        + " evicted(size/expired/invalidated)="
        + evictedSize
        + "/"
        + evictedExpired
        + "/"
        + evictedInvalidated
        + " bytes="
        + bytes
        + " rows="
        + rows;
  }
}
