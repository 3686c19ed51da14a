/**
 * The write-ahead log: every batch bound for a backend is on disk (Arrow IPC, fsync'd) before its
 * ingest is acknowledged, and stays there until the backend has committed it.
 */
@NullMarked
package io.hyprstream.internal.wal;

import org.jspecify.annotations.NullMarked;
