package io.hyprstream.internal.cluster;

import io.hyprstream.ClusterMember;
import io.hyprstream.Operations;
import io.hyprstream.writethrough.Quarantine;
import io.hyprstream.writethrough.WriteThrough;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** The engine's operations, with the instance's part in the cluster. */
final class ClusterOperations implements Operations {
  private final Operations engine;
  private final ClusterMember member;

  ClusterOperations(Operations engine, ClusterMember member) {
    this.engine = engine;
    this.member = member;
  }

  @Override
  public ClusterMember cluster() {
    return member;
  }

  @Override
  public WriteThrough.@Nullable Status writeThrough() {
    return engine.writeThrough();
  }

  @Override
  public long windowStateBytes() {
    return engine.windowStateBytes();
  }

  @Override
  public long windowCount() {
    return engine.windowCount();
  }

  @Override
  public long cacheMemoryBytes() {
    return engine.cacheMemoryBytes();
  }

  @Override
  public ColdReads coldReads() {
    return engine.coldReads();
  }

  @Override
  public List<Quarantine.Entry> quarantined() {
    return engine.quarantined();
  }

  @Override
  public List<Quarantine.Entry> requeueQuarantine(@Nullable String batchId) {
    return engine.requeueQuarantine(batchId);
  }

  @Override
  public void cancelQueryOf(Thread thread) {
    engine.cancelQueryOf(thread);
  }
}
