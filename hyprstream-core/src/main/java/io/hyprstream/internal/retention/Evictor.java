package io.hyprstream.internal.retention;

import static io.hyprstream.api.SqlIdentifier.quote;

import io.hyprstream.api.CacheStore;
import io.hyprstream.internal.arrow.Columns;
import io.hyprstream.internal.ingest.Flusher;
import io.hyprstream.internal.sql.TimeLiterals;
import io.hyprstream.internal.table.ChangeVersions;
import io.hyprstream.internal.table.HotSet;
import io.hyprstream.internal.table.TableState;
import io.hyprstream.internal.table.Tables;
import java.time.Instant;
import java.util.Objects;
import org.apache.arrow.vector.types.pojo.Field;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The memory budget: when the cache's hot rows exceed it, whole partitions of event time leave
 * DuckDB, chosen by the eviction policy ({@link HotSet}); window state is never evicted.
 */
public final class Evictor {
  private static final Logger LOG = LoggerFactory.getLogger(Evictor.class);

  private final Tables tables;
  private final Flusher flusher;
  private final CacheStore cache;
  private final HotSet hotSet;
  private final ChangeVersions versions;

  public Evictor(
      Tables tables, Flusher flusher, CacheStore cache, HotSet hotSet, ChangeVersions versions) {
    this.tables = tables;
    this.flusher = flusher;
    this.cache = cache;
    this.hotSet = hotSet;
    this.versions = versions;
  }

  /** Serialises evictions: one pass at a time chooses and deletes partitions. */
  private final Object evictionLock = new Object();

  /**
   * While the hot rows exceed the memory budget, deletes the partition the policy chooses from
   * DuckDB (after flushing its table, so queued rows go too) and records it as evicted. Window
   * state is untouched. Runs on the ingesting thread once its rows are acknowledged ({@link
   * io.hyprstream.internal.ingest.IngestPipeline}).
   */
  public void enforceMemoryBudget() {
    if (!hotSet.overBudget()) {
      return;
    }
    synchronized (evictionLock) {
      HotSet.Victim v;
      while ((v = hotSet.nextVictim()) != null) {
        TableState ts = Objects.requireNonNull(tables.get(v.table()));
        String column = Objects.requireNonNull(tables.timeColumnOf(ts));
        Field time = Columns.field(Objects.requireNonNull(ts.schema), column);
        flusher.flush(ts);
        Instant from = TimeLiterals.instantOfMicros(v.startMicros());
        Instant to = TimeLiterals.instantOfMicros(v.endMicros());
        String col = quote(Objects.requireNonNull(time).getName());
        long deleted =
            cache.delete(
                ts.name,
                col
                    + " >= "
                    + TimeLiterals.timeLiteral(time, Tables.epochUnitOf(ts), from)
                    + " AND "
                    + col
                    + " < "
                    + TimeLiterals.timeLiteral(time, Tables.epochUnitOf(ts), to));
        hotSet.evicted(v, deleted);
        versions.changed(Tables.key(ts.name));
        LOG.debug(
            "evicted {} rows of '{}' in [{}, {}) for the memory budget",
            deleted,
            ts.name,
            from,
            to);
      }
    }
  }
}
