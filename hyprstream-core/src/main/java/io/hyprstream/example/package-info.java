/** A runnable in-process example: generated metrics in, window aggregates out. */
@NullMarked
package io.hyprstream.example;

import org.jspecify.annotations.NullMarked;
