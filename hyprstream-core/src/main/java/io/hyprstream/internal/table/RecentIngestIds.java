package io.hyprstream.internal.table;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The ingest ids seen most recently, each with the attempt (a batch id) that first brought it, in
 * the order they were first seen; past the bound the oldest is forgotten. Not thread-safe: the
 * owner guards it (a table's lock, or a partition owner's thread).
 */
public final class RecentIngestIds {
  private final int bound;
  private final LinkedHashMap<String, String> firstAttempt;

  /**
   * @param bound how many ids are remembered; at least 1
   */
  public RecentIngestIds(int bound) {
    if (bound < 1) {
      throw new IllegalArgumentException("the bound must be at least 1, got " + bound);
    }
    this.bound = bound;
    this.firstAttempt =
        new LinkedHashMap<>(16, 0.75f, false) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > RecentIngestIds.this.bound;
          }
        };
  }

  /** True when {@code id} is remembered. */
  public boolean contains(String id) {
    return firstAttempt.containsKey(id);
  }

  /**
   * Remembers {@code id} as brought by {@code attempt}, unless it is remembered already. Returns
   * the attempt that first brought it, or null when it is new.
   */
  public @Nullable String remember(String id, String attempt) {
    return firstAttempt.putIfAbsent(id, attempt);
  }

  /** Remembers {@code id} when it is new, as an attempt nobody asks about (single-node mode). */
  public void remember(String id) {
    remember(id, "");
  }

  /** The remembered ids, oldest first. */
  public List<String> ids() {
    return new ArrayList<>(firstAttempt.keySet());
  }

  /** The remembered ids, oldest first, each with the attempt that first brought it. */
  public Map<String, String> attempts() {
    return new LinkedHashMap<>(firstAttempt);
  }

  /** How many ids are remembered. */
  public int size() {
    return firstAttempt.size();
  }
}
