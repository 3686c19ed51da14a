/**
 * Hyprstream's contracts: the {@link io.hyprstream.api.CacheStore}, {@link
 * io.hyprstream.api.BackendStore} and {@link io.hyprstream.api.WindowAggregator} SPIs, the
 * immutable value types that configure them, and the {@link io.hyprstream.api.HyprstreamException}
 * hierarchy.
 *
 * <p>Nothing here knows DuckDB, ADBC or Flight; implementations live in {@code hyprstream-core}.
 */
@NullMarked
package io.hyprstream.api;

import org.jspecify.annotations.NullMarked;
