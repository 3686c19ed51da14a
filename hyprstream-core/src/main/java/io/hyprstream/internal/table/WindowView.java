package io.hyprstream.internal.table;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.WindowSpec;

/** A window view: the table whose windows it shows, and which window. */
public record WindowView(AggregationSpec spec, WindowSpec window) {}
