package io.hyprstream.api;

/**
 * Which time partitions of hot raw rows leave the cache first when they would exceed its memory
 * budget. Window aggregate state is never evicted this way; only its retention expires it. The
 * partition holding a table's newest rows is never chosen.
 */
public enum EvictionPolicy {
  /** Oldest event time first: the cache keeps the most recent span it can hold. */
  TIME,
  /** The partition no query has read for the longest time first. */
  LRU,
  /** The partition read by the fewest queries first (older first among equals). */
  LFU
}
