/**
 * The default {@link io.hyprstream.api.WindowAggregator}: tumbling-window state on the heap, in
 * primitive arrays, updated row by row at ingest.
 */
@NullMarked
package io.hyprstream.window;

import org.jspecify.annotations.NullMarked;
