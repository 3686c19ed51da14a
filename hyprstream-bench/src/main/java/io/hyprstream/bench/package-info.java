/**
 * Benchmarks of the embedded engine: {@link io.hyprstream.bench.BenchMain} runs the core figures
 * runner ({@code core}) or JMH ({@code jmh}).
 */
@NullMarked
package io.hyprstream.bench;

import org.jspecify.annotations.NullMarked;
