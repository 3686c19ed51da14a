/**
 * The handlers behind {@link io.hyprstream.flight.HyprstreamFlightSqlProducer}, one per concern:
 * ad-hoc statements ({@link io.hyprstream.flight.internal.producer.StatementHandler}), prepared
 * statements ({@link io.hyprstream.flight.internal.producer.PreparedStatements}), result streaming
 * ({@link io.hyprstream.flight.internal.producer.ResultStreamer}), ingest ({@link
 * io.hyprstream.flight.internal.producer.IngestHandler}), catalog and metadata ({@link
 * io.hyprstream.flight.internal.producer.CatalogHandler}) and actions ({@link
 * io.hyprstream.flight.internal.producer.OpsActions}). Access checks, limits and metrics are the
 * {@link io.hyprstream.flight.internal.ServerPolicy} each handler is given. Not API.
 */
@NullMarked
package io.hyprstream.flight.internal.producer;

import org.jspecify.annotations.NullMarked;
