package io.hyprstream.api;

import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/** {@link BackendStore#none()}: writes go nowhere, queries are refused. */
final class NoBackend implements BackendStore {
  static final NoBackend INSTANCE = new NoBackend();

  private NoBackend() {}

  @Override
  public String name() {
    return "none";
  }

  @Override
  public void append(String table, String batchId, VectorSchemaRoot batch) {}

  @Override
  public boolean contains(String batchId) {
    return false; // nothing is kept, so a restart keeps what its log holds
  }

  @Override
  public ArrowReader query(String sql, BufferAllocator allocator) {
    throw new QueryRejectedException("no backend is configured to answer: " + sql, null);
  }

  @Override
  public List<String> tables() {
    return List.of();
  }

  @Override
  public @Nullable Schema tableSchema(String table) {
    return null;
  }

  @Override
  public void close() {}
}
