/**
 * Running several Hyprstream instances as one cluster over Kafka: the configuration an embedder or
 * the server passes to {@code HyprstreamBuilder.cluster}. docs/cluster.md says what works so far.
 */
@NullMarked
package io.hyprstream.cluster;

import org.jspecify.annotations.NullMarked;
