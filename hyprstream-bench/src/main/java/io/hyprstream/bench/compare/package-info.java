/**
 * The side-by-side comparison ({@code benchmarks.jar compare}): one seeded data set, the same
 * workloads on Hyprstream (in-process and over Flight SQL), DuckDB, QuestDB and PostgreSQL in one
 * JVM and one run, every answer checked against an oracle computed from the generated rows.
 */
@NullMarked
package io.hyprstream.bench.compare;

import org.jspecify.annotations.NullMarked;
