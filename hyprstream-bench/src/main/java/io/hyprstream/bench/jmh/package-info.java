/** JMH benchmarks of the ingest and query hot paths; run through {@code BenchMain jmh}. */
@NullMarked
package io.hyprstream.bench.jmh;

import org.jspecify.annotations.NullMarked;
