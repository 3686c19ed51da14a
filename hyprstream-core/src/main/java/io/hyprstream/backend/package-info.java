/**
 * {@link io.hyprstream.api.BackendStore} implementations: PostgreSQL through binary {@code COPY},
 * any JDBC database and Flight SQL server through ADBC, and an embedded DuckDB file. Open one with
 * {@link io.hyprstream.backend.BackendStores#open}.
 *
 * <p>Every store appends exactly once: the rows of a batch and a row naming its batch id in the
 * ledger table {@code hyprstream_ledger} are committed in one transaction, and a batch id already
 * in the ledger is skipped.
 */
@NullMarked
package io.hyprstream.backend;

import org.jspecify.annotations.NullMarked;
