/** The {@code hyprstream} command: configuration, the server command and the SQL client. */
@NullMarked
package io.hyprstream.flight.internal.cli;

import org.jspecify.annotations.NullMarked;
