package io.hyprstream.internal.ingest;

import io.hyprstream.api.IngestResult;
import java.util.List;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;

/**
 * Where a client's ingest is made durable before it is acknowledged, when that is not this
 * instance's own pipeline. Without one (single-node mode) the {@link IngestPipeline} aggregates the
 * rows itself and, with a backend, writes them to the local write-ahead log under the table's lock.
 * In cluster mode the pipeline hands live ingests to the cluster's log instead; the owner of each
 * key partition applies them later through {@link IngestPipeline#applyLogged}.
 */
public interface IngestLog {

  /**
   * Makes {@code batches} of {@code table} durable and returns once they are. Takes ownership of
   * the batches and closes them on every path.
   *
   * @param ingestId the client's id of this ingest, or null: carried with the batches so that
   *     whoever applies them can skip a repeat
   * @throws io.hyprstream.api.HyprstreamException when the log did not take them (nothing is
   *     acknowledged then)
   */
  IngestResult append(String table, List<VectorSchemaRoot> batches, @Nullable String ingestId);
}
