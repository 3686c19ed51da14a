/**
 * An Arrow Flight SQL server around an embedded {@link io.hyprstream.Hyprstream}: {@link
 * io.hyprstream.flight.HyprstreamServer} opens a port, {@link
 * io.hyprstream.flight.HyprstreamFlightSqlProducer} answers Flight SQL.
 */
@NullMarked
package io.hyprstream.flight;

import org.jspecify.annotations.NullMarked;
