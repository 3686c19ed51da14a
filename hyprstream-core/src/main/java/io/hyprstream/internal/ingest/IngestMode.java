package io.hyprstream.internal.ingest;

/** What an ingest does with its batches. */
public enum IngestMode {
  /** A client's rows: checked, counted in the windows, cached, logged and sent to the backend. */
  LIVE,
  /** Restored rows no window holds yet: counted in the windows and cached. */
  RESTORE,
  /** Restored rows the windows hold already (a snapshot or the log's replay): cached only. */
  RESTORE_ROWS,
  /** Logged rows after a snapshot: counted in the windows only (their hot rows come back apart). */
  REPLAY_WINDOWS
}
