package io.hyprstream.internal.table;

import io.hyprstream.api.CacheStatistics;
import io.hyprstream.api.EvictionPolicy;
import io.hyprstream.internal.arrow.Columns;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.NavigableSet;
import java.util.TreeMap;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * Our own accounting of the hot raw rows in the DuckDB cache, in fixed time partitions per table
 * (by event time), and the choice of what leaves when they would exceed the memory budget. The
 * engine deletes the chosen partition's rows from DuckDB and records it here as evicted, which
 * shrinks the table's coverage: queries that reach into an evicted range go to the backend.
 *
 * <p>Bytes are the Arrow buffer bytes of the rows as stored, which is close to what an in-memory
 * DuckDB table holds (it does not compress in memory). Window state is not counted: it is never
 * evicted. One lock guards it all; ingest takes it once per batch, a query once.
 */
public final class HotSet {
  /** A partition chosen for eviction: rows of {@code table} in {@code [startMicros, endMicros)}. */
  /** A partition of event time the policy chose to leave the cache. */
  public record Victim(String table, long startMicros, long endMicros) {}

  /** Rows without an event time: counted, never evicted. */
  private static final long UNPARTITIONED = Long.MIN_VALUE;

  private static final class Partition {
    long bytes;
    long rows;
    long lastRead; // tick of the last query that read it (its creation before any)
    long reads;
  }

  private static final class Table {
    final String name;
    final TreeMap<Long, Partition> partitions = new TreeMap<>();
    final NavigableSet<Long> evicted = new TreeSet<>(); // starts of evicted partitions
    long newestMicros = Long.MIN_VALUE;
    long bytes;
    long rows;
    long hits;
    long misses;
    long evictedSizeRows;
    long evictedExpiredRows;

    Table(String name) {
      this.name = name;
    }
  }

  private final long budgetBytes;
  private final EvictionPolicy policy;
  private final long widthMicros;
  private final Map<String, Table> tables = new HashMap<>();
  private long bytes;
  private long tick;

  /**
   * @param budgetBytes the bound on hot raw bytes across all tables ({@code Long.MAX_VALUE}: none)
   * @param widthMicros the span of event time one partition covers
   */
  public HotSet(long budgetBytes, EvictionPolicy policy, long widthMicros) {
    this.budgetBytes = budgetBytes;
    this.policy = policy;
    this.widthMicros = widthMicros;
  }

  private Table table(String key) {
    return tables.computeIfAbsent(key, Table::new);
  }

  private long partitionOf(long micros) {
    return Math.floorDiv(micros, widthMicros) * widthMicros;
  }

  /**
   * Counts rows stored in {@code table}: {@code micros} are their event times (null when the table
   * has no time column), {@code batchBytes} their bytes, spread evenly over the rows.
   */
  public synchronized void stored(
      String table, long @Nullable [] micros, int rowCount, long batchBytes) {
    if (rowCount == 0) {
      return;
    }
    Table t = table(table);
    double perRow = (double) batchBytes / rowCount;
    long tickNow = ++tick;
    long current = Long.MIN_VALUE;
    long run = 0;
    // The partition of the last timed row: most rows fall in it, so they skip the division.
    long lastStart = 0;
    boolean haveLast = false;
    long newest = t.newestMicros;
    for (int i = 0; i <= rowCount; i++) {
      long p;
      if (i == rowCount) {
        p = Long.MAX_VALUE; // flush the last run
      } else if (micros == null || micros[i] == Columns.NULL_TIME) {
        p = UNPARTITIONED;
      } else {
        long m = micros[i];
        long sinceStart =
            m - lastStart; // negative when m >= lastStart but the difference overflowed
        if (!haveLast || m < lastStart || sinceStart < 0 || sinceStart >= widthMicros) {
          lastStart = partitionOf(m);
          haveLast = true;
        }
        p = lastStart;
        newest = Math.max(newest, m);
      }
      if (p != current && run > 0) {
        Partition part = t.partitions.get(current);
        if (part == null) {
          part = new Partition();
          part.lastRead = tickNow;
          t.partitions.put(current, part);
        }
        long b = Math.round(run * perRow);
        part.rows += run;
        part.bytes += b;
        t.rows += run;
        t.bytes += b;
        bytes += b;
        run = 0;
      }
      current = p;
      run++;
    }
    t.newestMicros = newest;
  }

  /** Records a query that read {@code range} of {@code table}, answered here or by the backend. */
  public synchronized void read(String table, TimeRange range, boolean hit) {
    Table t = tables.get(table);
    if (t == null) {
      return;
    }
    if (hit) {
      t.hits++;
    } else {
      t.misses++;
      return;
    }
    long tickNow = ++tick;
    for (Partition p : partitionsIn(t.partitions, range).values()) {
      p.lastRead = tickNow;
      p.reads++;
    }
  }

  /** The partitions of {@code parts} that hold rows of {@code range}. */
  private <V> NavigableMap<Long, V> partitionsIn(TreeMap<Long, V> parts, TimeRange range) {
    long from = range.from() == Long.MIN_VALUE ? Long.MIN_VALUE : partitionOf(range.from());
    long to = range.to() == Long.MAX_VALUE ? Long.MAX_VALUE : partitionOf(range.to());
    return parts.subMap(from, true, to, true);
  }

  /** True when the hot rows exceed the budget. */
  public synchronized boolean overBudget() {
    return bytes > budgetBytes;
  }

  /**
   * The partition to evict next by the policy, or null when within budget or nothing may go. A
   * table's newest partition is never chosen: it is where rows are arriving.
   */
  public synchronized @Nullable Victim nextVictim() {
    if (bytes <= budgetBytes) {
      return null;
    }
    Table bestTable = null;
    long bestStart = 0;
    Partition best = null;
    for (Table t : tables.values()) {
      Long newest = t.partitions.isEmpty() ? null : t.partitions.lastKey();
      for (Map.Entry<Long, Partition> e : t.partitions.entrySet()) {
        long start = e.getKey();
        if (start == UNPARTITIONED || (newest != null && start == newest)) {
          continue;
        }
        Partition p = e.getValue();
        if (best == null || before(p, start, best, bestStart)) {
          bestTable = t;
          bestStart = start;
          best = p;
        }
      }
    }
    return bestTable == null
        ? null
        : new Victim(bestTable.name, bestStart, bestStart + widthMicros);
  }

  /** True when partition {@code a} should leave before {@code b} under the policy. */
  private boolean before(Partition a, long aStart, Partition b, long bStart) {
    switch (policy) {
      case LRU:
        if (a.lastRead != b.lastRead) {
          return a.lastRead < b.lastRead;
        }
        break;
      case LFU:
        if (a.reads != b.reads) {
          return a.reads < b.reads;
        }
        if (a.lastRead != b.lastRead) {
          return a.lastRead < b.lastRead;
        }
        break;
      case TIME:
      default:
        break;
    }
    return aStart < bStart;
  }

  /** Records that {@code v}'s rows were deleted from the cache ({@code rows} of them). */
  public synchronized void evicted(Victim v, long rows) {
    Table t = table(v.table);
    Partition p = t.partitions.remove(v.startMicros);
    if (p != null) {
      t.bytes -= p.bytes;
      t.rows -= p.rows;
      bytes -= p.bytes;
    }
    t.evicted.add(v.startMicros);
    t.evictedSizeRows += rows;
  }

  /**
   * Records that expiry deleted {@code rows} of {@code table} older than {@code cutoffMicros}:
   * partitions wholly before it are dropped from the accounting, and so are evicted marks (the
   * cache would not hold those rows anyway).
   */
  public synchronized void expired(String table, long cutoffMicros, long rows) {
    Table t = tables.get(table);
    if (t == null) {
      return;
    }
    t.evictedExpiredRows += rows;
    long lastGone = partitionOf(cutoffMicros) - widthMicros; // the last partition wholly before
    var gone =
        t.partitions.subMap(UNPARTITIONED, false, lastGone, true); // rows without a time stay
    for (Partition p : gone.values()) {
      t.bytes -= p.bytes;
      t.rows -= p.rows;
      bytes -= p.bytes;
    }
    gone.clear();
    t.evicted.headSet(lastGone, true).clear();
  }

  /** Forgets a table (dropped by SQL). */
  public synchronized void dropped(String table) {
    Table t = tables.remove(table);
    if (t != null) {
      bytes -= t.bytes;
    }
  }

  /**
   * The first evicted partition of {@code table} a read of {@code range} would reach, as {@code
   * [start, end)} in microseconds, or null when it reaches none.
   */
  public synchronized @Nullable TimeRange evictedWithin(String table, TimeRange range) {
    Table t = tables.get(table);
    if (t == null || t.evicted.isEmpty()) {
      return null;
    }
    Long start =
        range.from() == Long.MIN_VALUE
            ? t.evicted.first()
            : t.evicted.ceiling(partitionOf(range.from()));
    return start == null || start > range.to() ? null : new TimeRange(start, start + widthMicros);
  }

  /**
   * The end (exclusive, in microseconds) of the latest evicted partition of {@code table} a read of
   * {@code range} would reach, or null when it reaches none: the cache holds every row of the range
   * from there on.
   */
  public synchronized @Nullable Long evictedEndWithin(String table, TimeRange range) {
    Table t = tables.get(table);
    if (t == null || t.evicted.isEmpty()) {
      return null;
    }
    Long start =
        t.evicted.floor(range.to() == Long.MAX_VALUE ? Long.MAX_VALUE : partitionOf(range.to()));
    if (start == null || start + widthMicros <= range.from()) {
      return null;
    }
    return start + widthMicros;
  }

  /** How many rows of {@code table} expiry has deleted from the cache so far. */
  public synchronized long expiredRows(String table) {
    Table t = tables.get(table);
    return t == null ? 0 : t.evictedExpiredRows;
  }

  /** The newest event time stored into {@code table}, or null. */
  public synchronized @Nullable Instant newest(String table) {
    Table t = tables.get(table);
    return t == null || t.newestMicros == Long.MIN_VALUE
        ? null
        : Instant.EPOCH.plusNanos(Math.multiplyExact(t.newestMicros, 1000L));
  }

  public synchronized List<CacheStatistics> statistics(Collection<String> names) {
    List<CacheStatistics> out = new ArrayList<>();
    for (String n : names) {
      Table t = tables.get(n);
      if (t != null) {
        out.add(
            new CacheStatistics(
                CacheStatistics.Scope.TABLE,
                t.name,
                t.hits,
                t.misses,
                t.evictedSizeRows,
                t.evictedExpiredRows,
                0,
                t.bytes,
                t.rows));
      }
    }
    return out;
  }
}
