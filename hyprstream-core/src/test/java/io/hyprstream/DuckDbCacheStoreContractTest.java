package io.hyprstream;

import io.hyprstream.api.CacheStore;
import io.hyprstream.duckdb.DuckDbCacheStore;
import org.apache.arrow.memory.BufferAllocator;

/** The default store passes the {@link CacheStore} contract. */
final class DuckDbCacheStoreContractTest extends CacheStoreContract {
  @Override
  CacheStore open(BufferAllocator allocator) {
    return DuckDbCacheStore.open(null, allocator);
  }
}
