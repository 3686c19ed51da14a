package io.hyprstream;

import io.hyprstream.writethrough.Quarantine;
import io.hyprstream.writethrough.WriteThrough;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What an operator asks of an instance beyond SQL: the figures behind a server's {@code /health},
 * {@code /ready} and {@code /metrics}, the quarantine's actions, and cancelling a statement. An
 * instance that keeps none of these answers with {@link #NONE}'s empty figures.
 */
public interface Operations {

  /**
   * How many queries read what the cache no longer holds from the backend, since the start: as the
   * rows themselves, or as partial aggregates the backend computed.
   */
  record ColdReads(long rows, long partialAggregates) {}

  /** Write-through's state, or null without a backend. */
  WriteThrough.@Nullable Status writeThrough();

  /** Heap bytes held by window state. */
  long windowStateBytes();

  /** The (key, window) states held across all tables. */
  long windowCount();

  /** Bytes the cache's database reports in use. */
  long cacheMemoryBytes();

  ColdReads coldReads();

  /** The batches the backend refused as data; empty without a backend. */
  List<Quarantine.Entry> quarantined();

  /**
   * Puts quarantined batches back in the write-through queue: {@code batchId}'s, or all when null.
   *
   * @throws io.hyprstream.api.QueryRejectedException without a backend, or when no such batch is
   *     quarantined
   */
  List<Quarantine.Entry> requeueQuarantine(@Nullable String batchId);

  /** Cancels the cache statement {@code thread} runs, if it runs one. */
  void cancelQueryOf(Thread thread);

  /** The instance's part in a cluster, or null for an instance that is not in one. */
  default @Nullable ClusterMember cluster() {
    return null;
  }

  /** The answers of an instance that keeps none of these figures. */
  Operations NONE =
      new Operations() {
        @Override
        public WriteThrough.@Nullable Status writeThrough() {
          return null;
        }

        @Override
        public long windowStateBytes() {
          return 0;
        }

        @Override
        public long windowCount() {
          return 0;
        }

        @Override
        public long cacheMemoryBytes() {
          return 0;
        }

        @Override
        public ColdReads coldReads() {
          return new ColdReads(0, 0);
        }

        @Override
        public List<Quarantine.Entry> quarantined() {
          return List.of();
        }

        @Override
        public List<Quarantine.Entry> requeueQuarantine(@Nullable String batchId) {
          throw new io.hyprstream.api.QueryRejectedException(
              "this instance keeps no quarantine", null);
        }

        @Override
        public void cancelQueryOf(Thread thread) {}
      };
}
