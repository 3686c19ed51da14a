/**
 * SQL understood by DuckDB's own parser ({@code json_serialize_sql}), once per statement text: what
 * a statement is, which tables it reads and which event-time spans it provably stays within. One
 * analyser for the query router now, and for the statement guard and the window fast path later.
 */
@NullMarked
package io.hyprstream.internal.sql;

import org.jspecify.annotations.NullMarked;
