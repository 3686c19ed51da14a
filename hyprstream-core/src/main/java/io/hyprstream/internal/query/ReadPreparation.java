package io.hyprstream.internal.query;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.CacheStatistics;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.internal.ingest.Flusher;
import io.hyprstream.internal.ingest.ViewSync;
import io.hyprstream.internal.table.TableState;
import io.hyprstream.internal.table.Tables;
import io.hyprstream.writethrough.WriteThrough;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Read-your-writes before a statement runs on DuckDB: the raw tables it names are flushed, the
 * window views it names receive the windows changed since their last use, and the system tables it
 * names are rewritten from the current counters.
 */
public final class ReadPreparation {
  private final Tables tables;
  private final Flusher flusher;
  private final ViewSync viewSync;
  private final SystemTables systemTables;
  private final @Nullable WriteThrough writeThrough;
  private final java.util.function.Supplier<List<CacheStatistics>> statistics;

  public ReadPreparation(
      Tables tables,
      Flusher flusher,
      ViewSync viewSync,
      SystemTables systemTables,
      @Nullable WriteThrough writeThrough,
      java.util.function.Supplier<List<CacheStatistics>> statistics) {
    this.tables = tables;
    this.flusher = flusher;
    this.viewSync = viewSync;
    this.systemTables = systemTables;
    this.writeThrough = writeThrough;
    this.statistics = statistics;
  }

  /** Flushes the tables and syncs the views a statement naming {@code words} may read. */
  public void prepareFor(Set<String> words) {
    if (writeThrough != null && words.contains(SystemTables.BACKEND_STATUS_TABLE)) {
      systemTables.refreshBackendStatus(writeThrough.status());
    }
    if (writeThrough != null && words.contains(SystemTables.QUARANTINE_TABLE)) {
      systemTables.refreshQuarantine(writeThrough);
    }
    if (words.contains(SystemTables.CACHE_STATS_TABLE)) {
      systemTables.refreshCacheStats(statistics.get());
    }
    for (TableState ts : tables.all()) {
      if (words.contains(Tables.key(ts.name))) {
        flusher.flush(ts);
      }
      AggregationSpec spec = ts.specOrNull();
      if (spec != null && ts.aggregator != null) {
        for (WindowSpec w : spec.windows()) {
          if (words.contains(Tables.key(spec.viewName(w)))) {
            viewSync.syncView(ts, w);
          }
        }
      }
    }
  }
}
