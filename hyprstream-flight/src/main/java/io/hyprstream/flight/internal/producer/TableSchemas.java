package io.hyprstream.flight.internal.producer;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.hyprstream.Hyprstream;
import java.time.Duration;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * Table schemas for adapting incoming batches, kept a second: a stream of small DoPuts must not pay
 * a catalog lookup each. Dropped after DDL through this server and after a rejected ingest.
 */
final class TableSchemas {
  private final Hyprstream hyprstream;
  private final Cache<String, Schema> schemas =
      Caffeine.newBuilder().expireAfterWrite(Duration.ofSeconds(1)).maximumSize(10_000).build();

  TableSchemas(Hyprstream hyprstream) {
    this.hyprstream = hyprstream;
  }

  /** The schema of {@code table} as recently seen, or null when it does not exist. */
  @Nullable Schema get(String table) {
    Schema schema = schemas.getIfPresent(table);
    if (schema == null) {
      schema = hyprstream.tableSchema(table);
      if (schema != null) {
        schemas.put(table, schema);
      }
    }
    return schema;
  }

  /** Forgets {@code table}'s schema (it may have changed). */
  void invalidate(String table) {
    schemas.invalidate(table);
  }

  /** Forgets every schema (after DDL, which may have changed any table). */
  void invalidateAll() {
    schemas.invalidateAll();
  }
}
