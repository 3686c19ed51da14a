package io.hyprstream.api;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Where an answer came from and how current it is. Every query result carries one: in process as
 * {@code QueryResult.freshness()}, over Flight SQL as the JSON app metadata of the first batch.
 *
 * @param source where the rows were read when the answer was computed
 * @param resultCacheHit true when the answer was served from the result cache, without running the
 *     query
 * @param asOf the newest event time ingested into the tables the query read, when it was computed;
 *     null when unknown (backend-only tables, tables without a time column, nothing ingested yet)
 * @param computedAt when the answer was computed (earlier than now for a result-cache hit)
 * @param stale true when rows were ingested into the tables read after this answer was computed: it
 *     was served from the result cache under a {@code max_staleness} allowance
 * @param missing why rows may be missing from the answer (a range of raw rows evicted from the
 *     cache with no backend to read it from), or null when the answer is complete
 */
public record Freshness(
    Source source,
    boolean resultCacheHit,
    @Nullable Instant asOf,
    Instant computedAt,
    boolean stale,
    @Nullable String missing) {
  /** Where the rows of an answer were read. */
  public enum Source {
    /** The in-memory DuckDB cache (hot raw rows and window views). */
    CACHE,
    /** The window aggregator's state, without DuckDB (the single-key window lookup). */
    AGGREGATOR,
    /** The backend store: the query needed rows the cache does not hold. */
    BACKEND
  }

  public Freshness {
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(computedAt, "computedAt");
  }

  /**
   * A freshly computed answer.
   *
   * @param asOf the newest event time ingested into the tables read, or null when unknown
   * @param missing why rows may be missing from the answer, or null when it is complete
   */
  public static Freshness computed(
      Source source, @Nullable Instant asOf, Instant computedAt, @Nullable String missing) {
    return new Freshness(source, false, asOf, computedAt, false, missing);
  }

  /**
   * This answer served again from the result cache; {@code stale} when the tables it read have
   * changed since (allowed by a {@code max_staleness}).
   */
  public Freshness servedFromResultCache(boolean stale) {
    return new Freshness(source, true, asOf, computedAt, stale, missing);
  }

  /** How old the answer is at {@code now}. */
  public Duration age(Instant now) {
    Duration d = Duration.between(computedAt, now);
    return d.isNegative() ? Duration.ZERO : d;
  }

  /** A one-line JSON object with every field; the form sent as Flight app metadata. */
  public String toJson() {
    StringBuilder sb = new StringBuilder(160);
    sb.append("{\"source\":\"").append(source.name().toLowerCase(java.util.Locale.ROOT));
    sb.append("\",\"result_cache_hit\":").append(resultCacheHit);
    sb.append(",\"as_of\":");
    if (asOf == null) {
      sb.append("null");
    } else {
      sb.append('"').append(asOf).append('"');
    }
    sb.append(",\"computed_at\":\"").append(computedAt).append('"');
    sb.append(",\"stale\":").append(stale);
    sb.append(",\"missing\":");
    if (missing == null) {
      sb.append("null");
    } else {
      sb.append('"');
      for (char c : missing.toCharArray()) {
        if (c == '"' || c == '\\') {
          sb.append('\\').append(c);
        } else if (c < 0x20) {
          sb.append(String.format(java.util.Locale.ROOT, "\\u%04x", (int) c));
        } else {
          sb.append(c);
        }
      }
      sb.append('"');
    }
    return sb.append('}').toString();
  }

  @Override
  public String toString() {
    return toJson();
  }
}
