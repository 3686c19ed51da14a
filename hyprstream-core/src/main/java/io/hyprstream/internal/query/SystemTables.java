package io.hyprstream.internal.query;

import io.hyprstream.api.CacheStatistics;
import io.hyprstream.api.CacheStore;
import io.hyprstream.writethrough.Quarantine;
import io.hyprstream.writethrough.WriteThrough;
import java.util.List;
import java.util.Locale;

/**
 * The system tables the engine keeps in DuckDB for SQL clients: cache statistics, write-through
 * status and the quarantine. Each is rewritten from the engine's counters before a statement that
 * names it runs.
 */
public final class SystemTables {
  private final CacheStore cache;

  public SystemTables(CacheStore cache) {
    this.cache = cache;
  }

  /** The system table that shows write-through backlog, lag and errors (with a backend). */
  public static final String BACKEND_STATUS_TABLE = "hyprstream_backend_status";

  /** The system table that lists batches the backend refused as data, kept for a re-send. */
  public static final String QUARANTINE_TABLE = "hyprstream_quarantine";

  /** The system table of cache hits, misses, evictions and bytes held. */
  public static final String CACHE_STATS_TABLE = "hyprstream_cache_stats";

  /** Rewrites the cache statistics table from the current counters. */
  public void refreshCacheStats(List<CacheStatistics> statistics) {
    StringBuilder sql =
        new StringBuilder("CREATE OR REPLACE TABLE ")
            .append(CACHE_STATS_TABLE)
            .append(
                " AS SELECT NULL::VARCHAR AS scope, NULL::VARCHAR AS name, NULL::BIGINT AS hits,"
                    + " NULL::BIGINT AS misses, NULL::DOUBLE AS hit_ratio, NULL::BIGINT AS"
                    + " evicted_size, NULL::BIGINT AS evicted_expired, NULL::BIGINT AS"
                    + " evicted_invalidated, NULL::BIGINT AS bytes, NULL::BIGINT AS rows"
                    + " WHERE false");
    for (CacheStatistics c : statistics) {
      sql.append(" UNION ALL SELECT '")
          .append(c.scope().name().toLowerCase(Locale.ROOT))
          .append("', '")
          .append(c.name().replace("'", "''"))
          .append("', ")
          .append(c.hits())
          .append(", ")
          .append(c.misses())
          .append(", ")
          .append(c.hitRatio())
          .append(", ")
          .append(c.evictedSize())
          .append(", ")
          .append(c.evictedExpired())
          .append(", ")
          .append(c.evictedInvalidated())
          .append(", ")
          .append(c.bytes())
          .append(", ")
          .append(c.rows());
    }
    cache.execute(sql.toString(), List.of());
  }

  /** Rewrites the one-row status table from the pipeline's current figures. */
  public void refreshBackendStatus(WriteThrough.Status st) {
    String error = st.lastError() == null ? "NULL" : "'" + st.lastError().replace("'", "''") + "'";
    cache.execute(
        "CREATE OR REPLACE TABLE "
            + BACKEND_STATUS_TABLE
            + " AS SELECT '"
            + st.backend().replace("'", "''")
            + "' AS backend, "
            + st.backlogBatches()
            + "::BIGINT AS backlog_batches, "
            + st.backlogRows()
            + "::BIGINT AS backlog_rows, "
            + st.lagMillis()
            + "::BIGINT AS lag_ms, "
            + st.committedBatches()
            + "::BIGINT AS committed_batches, "
            + st.committedRows()
            + "::BIGINT AS committed_rows, "
            + st.failures()
            + "::BIGINT AS failures, "
            + error
            + "::VARCHAR AS last_error, "
            + st.walBytes()
            + "::BIGINT AS wal_bytes, "
            + st.backlogBytes()
            + "::BIGINT AS backlog_bytes, "
            + st.maxLagMillis()
            + "::BIGINT AS max_lag_ms, "
            + st.callMillis()
            + "::BIGINT AS call_ms, "
            + st.quarantinedBatches()
            + "::BIGINT AS quarantined_batches, "
            + st.quarantinedRows()
            + "::BIGINT AS quarantined_rows, "
            + st.spilledBatches()
            + "::BIGINT AS spilled_batches, "
            + st.spilledBytes()
            + "::BIGINT AS spilled_bytes, "
            + st.heldBytes()
            + "::BIGINT AS held_bytes, now() AS as_of",
        List.of());
  }

  /** Rewrites the quarantine table: one row per batch the backend refused as data. */
  public void refreshQuarantine(WriteThrough wt) {
    StringBuilder sql =
        new StringBuilder("CREATE OR REPLACE TABLE ")
            .append(QUARANTINE_TABLE)
            .append(
                " (table_name VARCHAR, batch_id VARCHAR, row_count BIGINT, error VARCHAR,"
                    + " quarantined_at TIMESTAMPTZ)");
    synchronized (quarantineTableLock) {
      cache.execute(sql.toString(), List.of());
      for (Quarantine.Entry e : wt.quarantined()) {
        cache.execute(
            "INSERT INTO " + QUARANTINE_TABLE + " VALUES (?, ?, ?, ?, to_timestamp(?))",
            List.of(e.table(), e.batchId(), e.rows(), e.error(), e.when().toEpochMilli() / 1000.0));
      }
    }
  }

  /** One rewrite of the quarantine table at a time, so readers never see two interleaved. */
  private final Object quarantineTableLock = new Object();

  /** True for the name of one of these tables. */
  public static boolean isSystemTable(String name) {
    return name.equalsIgnoreCase(CACHE_STATS_TABLE)
        || name.equalsIgnoreCase(BACKEND_STATUS_TABLE)
        || name.equalsIgnoreCase(QUARANTINE_TABLE);
  }
}
