package io.hyprstream.internal.table;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A change counter per table or view name, and one for the whole catalog. A cached result records
 * the counters of every word its SQL mentions; a change to any of them makes it out of date. Words
 * that are not tables cost a map miss and never change.
 *
 * <p>Counters move before the change is acknowledged, and a query reads them before it runs, so a
 * result that may predate a change never matches the counters after it.
 */
public final class ChangeVersions {
  private final ConcurrentHashMap<String, AtomicLong> byName = new ConcurrentHashMap<>();
  private final AtomicLong catalog = new AtomicLong();

  /** Marks a change to the rows of the relation called {@code lowerCaseName}. */
  public void changed(String lowerCaseName) {
    byName.computeIfAbsent(lowerCaseName, k -> new AtomicLong()).incrementAndGet();
  }

  /** Marks a change that may touch any relation (a SQL statement run on the cache). */
  public void changedAny() {
    catalog.incrementAndGet();
  }

  /** The counters of {@code words} (in the given order), preceded by the catalog's. */
  public long[] snapshot(List<String> words) {
    long[] out = new long[words.size() + 1];
    out[0] = catalog.get();
    for (int i = 0; i < words.size(); i++) {
      AtomicLong v = byName.get(words.get(i));
      out[i + 1] = v == null ? 0 : v.get();
    }
    return out;
  }
}
