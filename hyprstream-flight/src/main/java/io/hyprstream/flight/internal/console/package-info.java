/**
 * The web console on the server's HTTP port: a page at {@code /} (tables, an SQL editor, a live
 * window chart, the server's meters) and the JSON API under {@code /api/} it uses, which enforces
 * what Flight SQL does. Not API, may change without notice.
 */
@NullMarked
package io.hyprstream.flight.internal.console;

import org.jspecify.annotations.NullMarked;
