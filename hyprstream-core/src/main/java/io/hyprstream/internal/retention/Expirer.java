package io.hyprstream.internal.retention;

import static io.hyprstream.api.SqlIdentifier.quote;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.CacheStore;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.internal.arrow.Columns;
import io.hyprstream.internal.ingest.Flusher;
import io.hyprstream.internal.sql.TimeLiterals;
import io.hyprstream.internal.table.ChangeVersions;
import io.hyprstream.internal.table.HotSet;
import io.hyprstream.internal.table.TableState;
import io.hyprstream.internal.table.Tables;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.arrow.vector.types.pojo.Field;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Expiry: raw rows leave the cache once older than the cache duration, window rows once past their
 * window's retention. Runs on a thread of its own every interval, and when asked.
 */
public final class Expirer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Expirer.class);

  private final Tables tables;
  private final Flusher flusher;
  private final CacheStore cache;
  private final HotSet hotSet;
  private final ChangeVersions versions;
  private final InstantSource clock;
  private final Duration cacheDuration;
  private final Duration interval;
  private final AtomicBoolean closed = new AtomicBoolean();
  private @Nullable ScheduledExecutorService executor;

  /**
   * @param interval how often the pass runs on its own; zero for never (tests call expire)
   */
  public Expirer(
      Tables tables,
      Flusher flusher,
      CacheStore cache,
      HotSet hotSet,
      ChangeVersions versions,
      InstantSource clock,
      Duration cacheDuration,
      Duration interval) {
    this.tables = tables;
    this.flusher = flusher;
    this.cache = cache;
    this.hotSet = hotSet;
    this.versions = versions;
    this.clock = clock;
    this.cacheDuration = cacheDuration;
    this.interval = interval;
  }

  /** Starts the periodic pass, unless the interval is zero. */
  public void start() {
    if (interval.isZero()) {
      return;
    }
    ScheduledExecutorService e =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "hyprstream-expiry");
              t.setDaemon(true);
              return t;
            });
    long ms = interval.toMillis();
    e.scheduleWithFixedDelay(this::expireQuietly, ms, ms, TimeUnit.MILLISECONDS);
    executor = e;
  }

  /**
   * One pass: deletes the raw rows older than the cache duration and the window rows past their
   * retention, and drops expired window state.
   */
  public void expire() {
    Instant now = clock.instant();
    Instant rawCutoff = now.minus(cacheDuration);
    for (TableState ts : tables.all()) {
      AggregationSpec spec = ts.specOrNull();
      String timeColumn = tables.timeColumnOf(ts);
      if (timeColumn == null || ts.schema == null) {
        continue;
      }
      flusher.flush(ts);
      Field time = Columns.field(ts.schema, timeColumn);
      if (time != null) {
        long deleted =
            cache.delete(
                ts.name,
                quote(time.getName())
                    + " < "
                    + TimeLiterals.timeLiteral(time, Tables.epochUnitOf(ts), rawCutoff));
        hotSet.expired(Tables.key(ts.name), TimeLiterals.micros(rawCutoff), deleted);
        if (deleted > 0) {
          versions.changed(Tables.key(ts.name));
        }
      }
      if (spec == null || ts.aggregator == null) {
        continue;
      }
      ts.viewLock.lock();
      try {
        ts.lock.lock();
        try {
          ts.aggregator.expire(now);
        } finally {
          ts.lock.unlock();
        }
        for (WindowSpec w : spec.windows()) {
          if (cache.delete(
                  spec.viewName(w),
                  "window_end <= " + TimeLiterals.timestampLiteral(now.minus(w.retention())))
              > 0) {
            versions.changed(Tables.key(spec.viewName(w)));
          }
        }
      } finally {
        ts.viewLock.unlock();
      }
    }
  }

  private void expireQuietly() {
    try {
      if (!closed.get()) {
        expire();
      }
    } catch (RuntimeException e) {
      LOG.warn("expiry pass failed; it runs again in {}", interval, e);
    }
  }

  /** Stops the periodic pass; one in progress finishes first, before the cache closes. */
  @Override
  public void close() {
    closed.set(true);
    ScheduledExecutorService e = executor;
    if (e == null) {
      return;
    }
    e.shutdownNow();
    try {
      e.awaitTermination(30, TimeUnit.SECONDS);
    } catch (InterruptedException ex) {
      Thread.currentThread().interrupt();
    }
  }
}
