package io.hyprstream;

import io.hyprstream.api.CacheStore;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * A decorating {@link CacheStore}, as an embedder would write one for metrics: counts the calls of
 * each method and the rows upserted into each table, and passes every call to the store it wraps,
 * unchanged, except an upsert a test asked it to refuse (to see the engine recover from a failing
 * store).
 */
final class CountingCacheStore implements CacheStore {
  private final CacheStore inner;
  private final Map<String, AtomicLong> calls = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> upsertedRows = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> upsertsToRefuse = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> largestUpsert = new ConcurrentHashMap<>();

  CountingCacheStore(CacheStore inner) {
    this.inner = inner;
  }

  /** How often {@code method} was called. */
  long calls(String method) {
    AtomicLong n = calls.get(method);
    return n == null ? 0 : n.get();
  }

  /** Rows passed to successful upserts into {@code table}. */
  long upsertedRows(String table) {
    AtomicLong n = upsertedRows.get(table);
    return n == null ? 0 : n.get();
  }

  /** The most rows one successful upsert into {@code table} carried. */
  long largestUpsert(String table) {
    AtomicLong n = largestUpsert.get(table);
    return n == null ? 0 : n.get();
  }

  /** Makes the next {@code times} upserts into {@code table} that carry rows fail. */
  void refuseUpserts(String table, int times) {
    upsertsToRefuse.computeIfAbsent(table, t -> new AtomicLong()).addAndGet(times);
  }

  /** Upserts into {@code table} still to be refused. */
  long upsertsToRefuse(String table) {
    AtomicLong n = upsertsToRefuse.get(table);
    return n == null ? 0 : n.get();
  }

  private void count(String method) {
    calls.computeIfAbsent(method, m -> new AtomicLong()).incrementAndGet();
  }

  @Override
  public void ensureTable(String table, Schema schema) {
    count("ensureTable");
    inner.ensureTable(table, schema);
  }

  @Override
  public void append(String table, List<VectorSchemaRoot> batches) {
    count("append");
    inner.append(table, batches);
  }

  @Override
  public void upsert(String table, List<String> keyColumns, VectorSchemaRoot rows) {
    count("upsert");
    AtomicLong refuse = upsertsToRefuse.get(table);
    if (rows.getRowCount() > 0
        && refuse != null
        && refuse.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0) {
      throw new IllegalStateException("upsert into '" + table + "' refused by the test");
    }
    inner.upsert(table, keyColumns, rows);
    upsertedRows.computeIfAbsent(table, t -> new AtomicLong()).addAndGet(rows.getRowCount());
    largestUpsert
        .computeIfAbsent(table, t -> new AtomicLong())
        .accumulateAndGet(rows.getRowCount(), Math::max);
  }

  @Override
  public long delete(String table, String whereSql) {
    count("delete");
    return inner.delete(table, whereSql);
  }

  @Override
  public ArrowReader query(String sql, List<@Nullable Object> parameters, BufferAllocator alloc) {
    count("query");
    return inner.query(sql, parameters, alloc);
  }

  @Override
  public ArrowReader queryInSession(
      Map<String, ArrowReader> inputs,
      List<String> setup,
      String sql,
      List<@Nullable Object> parameters,
      BufferAllocator allocator) {
    count("queryInSession");
    return inner.queryInSession(inputs, setup, sql, parameters, allocator);
  }

  @Override
  public long execute(String sql, List<@Nullable Object> parameters) {
    count("execute");
    return inner.execute(sql, parameters);
  }

  @Override
  public Schema querySchema(String sql) {
    count("querySchema");
    return inner.querySchema(sql);
  }

  @Override
  public boolean cancelQueryOf(Thread thread) {
    count("cancelQueryOf");
    return inner.cancelQueryOf(thread);
  }

  @Override
  public @Nullable Schema tableSchema(String table) {
    count("tableSchema");
    return inner.tableSchema(table);
  }

  @Override
  public List<String> tables() {
    count("tables");
    return inner.tables();
  }

  @Override
  public long sizeBytes() {
    count("sizeBytes");
    return inner.sizeBytes();
  }

  @Override
  public void close() {
    count("close");
    inner.close();
  }
}
