package io.hyprstream;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.CacheStore;
import io.hyprstream.duckdb.DuckDbCacheStore;
import org.apache.arrow.memory.BufferAllocator;
import org.junit.jupiter.api.AfterEach;

/**
 * A decorating store passes the {@link CacheStore} contract, and the calls went through it (not
 * around it to the store it wraps).
 */
final class CountingCacheStoreContractTest extends CacheStoreContract {
  private CountingCacheStore counting;

  @Override
  CacheStore open(BufferAllocator allocator) {
    counting = new CountingCacheStore(DuckDbCacheStore.open(null, allocator));
    return counting;
  }

  @AfterEach
  void callsWentThroughTheDecorator() {
    long total = 0;
    for (String m :
        new String[] {"query", "execute", "ensureTable", "queryInSession", "tableSchema"}) {
      total += counting.calls(m);
    }
    assertTrue(total > 0, "the decorator saw the calls");
  }
}
