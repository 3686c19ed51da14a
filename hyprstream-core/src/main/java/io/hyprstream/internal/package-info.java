/** Engine internals: public for the other modules, not API. Expect changes without notice. */
@NullMarked
package io.hyprstream.internal;

import org.jspecify.annotations.NullMarked;
