/** Implementation of the Flight SQL server; not API, may change without notice. */
@NullMarked
package io.hyprstream.flight.internal;

import org.jspecify.annotations.NullMarked;
