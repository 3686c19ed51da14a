/**
 * The cluster's implementation: the Kafka ingest log (batches split by key partition), the
 * partition owner that applies its partitions' records to the local engine, and the instance that
 * ties them to an engine. Public for the other modules, not API.
 */
@NullMarked
package io.hyprstream.internal.cluster;

import org.jspecify.annotations.NullMarked;
