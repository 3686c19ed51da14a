/**
 * The embeddable engine: {@link io.hyprstream.Hyprstream} and its builder.
 *
 * <p>Start with {@code Hyprstream.builder().build()}: an in-memory DuckDB cache with the built-in
 * {@code metrics} table and its window views {@code metrics_5m} ... {@code metrics_1w}.
 */
@NullMarked
package io.hyprstream;

import org.jspecify.annotations.NullMarked;
