package io.hyprstream.internal.sql;

import org.jspecify.annotations.Nullable;

/**
 * One thing a statement changes, as DuckDB's binder resolved it ({@code json_serialize_plan}): the
 * operator that does it and the catalog entry it acts on, with catalog and schema filled in.
 *
 * @param operation DuckDB's logical operator without its {@code LOGICAL_} prefix: {@code INSERT},
 *     {@code UPDATE}, {@code DELETE}, {@code MERGE_INTO}, {@code CREATE_TABLE}, {@code
 *     CREATE_VIEW}, {@code CREATE_INDEX}, {@code CREATE_MACRO}, {@code DROP}, {@code ALTER}, {@code
 *     SET}, {@code RESET}, {@code TRANSACTION}, {@code ATTACH} ...
 * @param entryType the kind of catalog entry, as DuckDB names it ({@code TABLE_ENTRY}, {@code
 *     VIEW_ENTRY}, {@code SCHEMA_ENTRY}, {@code MACRO_ENTRY}, {@code ALTER_TABLE} ...), or ""
 * @param target the entry acted on; for an index, the table it indexes; for a setting, its name
 * @param replaces true for {@code CREATE OR REPLACE}
 * @param temporary true for a temporary entry (one connection's, which the server's connection pool
 *     would show to other clients)
 * @param newName the new name a rename gives the entry, else null
 */
public record Change(
    String operation,
    String entryType,
    TableRef target,
    boolean replaces,
    boolean temporary,
    @Nullable String newName) {}
