/** The DuckDB-backed {@link io.hyprstream.api.CacheStore}. */
@NullMarked
package io.hyprstream.duckdb;

import org.jspecify.annotations.NullMarked;
