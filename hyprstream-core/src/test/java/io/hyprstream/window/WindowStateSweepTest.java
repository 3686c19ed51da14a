package io.hyprstream.window;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

/**
 * The chunked drain of changed windows ({@code WindowState.drainDirty(max)}): a sweep returns every
 * window changed before it began, each once, and what changes behind it waits for the next sweep.
 */
final class WindowStateSweepTest {
  private static final long MINUTE = 60_000_000L;

  /** Key 0's window {@code w} (minutes after the origin) gets a row; returns its slot. */
  private static int touch(WindowState s, int w) {
    return s.locate(0, HeapWindowAggregator.ORIGIN_MICROS + w * MINUTE + 1);
  }

  @Test
  void aSweep_returnsWhatChangedBeforeIt_andLeavesLaterChangesForTheNext() {
    WindowState s = new WindowState(MINUTE, 1);
    for (int w = 0; w < 10; w++) {
      touch(s, w); // slots 0..9
    }
    assertArrayEquals(new int[] {0, 1, 2}, s.drainDirty(3));
    int again = touch(s, 1); // behind the sweep
    int created = touch(s, 10); // after the sweep began
    assertArrayEquals(new int[] {3, 4, 5}, s.drainDirty(3));
    touch(s, 7); // ahead of the sweep: still to come, once
    assertArrayEquals(new int[] {6, 7, 8}, s.drainDirty(3));
    assertArrayEquals(new int[] {9}, s.drainDirty(3), "a short chunk ends the sweep");
    assertArrayEquals(new int[] {again, created}, s.drainDirty(3), "the next sweep");
    assertArrayEquals(new int[] {}, s.drainDirty(3));
  }

  @Test
  void aKeysLastWindow_drainedMidSweep_isMarkedAgainByItsNextRow() {
    WindowState s = new WindowState(MINUTE, 1);
    touch(s, 0);
    int last = touch(s, 1);
    assertArrayEquals(new int[] {0, last}, s.drainDirty(2));
    touch(s, 1); // the key's last window: found without a ring lookup
    assertArrayEquals(new int[] {}, s.drainDirty(2), "the full chunk's sweep ends empty");
    assertArrayEquals(new int[] {last}, s.drainDirty(2));
  }

  @Test
  void markAllDirty_midSweep_startsOverWithEveryWindow() {
    WindowState s = new WindowState(MINUTE, 1);
    for (int w = 0; w < 6; w++) {
      touch(s, w);
    }
    assertArrayEquals(new int[] {0, 1}, s.drainDirty(2));
    s.markAllDirty();
    assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5}, s.drainDirty(10));
  }

  @Test
  void drainingEverything_midSweep_returnsTheChangesBehindItToo() {
    WindowState s = new WindowState(MINUTE, 1);
    for (int w = 0; w < 6; w++) {
      touch(s, w);
    }
    assertArrayEquals(new int[] {0, 1}, s.drainDirty(2));
    int again = touch(s, 0); // behind the sweep
    assertArrayEquals(new int[] {again, 2, 3, 4, 5}, s.drainDirty());
    assertArrayEquals(new int[] {}, s.drainDirty(2));
  }

  @Test
  void aWindowExpiredMidSweep_isNotReturned() {
    WindowState s = new WindowState(MINUTE, 1);
    for (int w = 0; w < 6; w++) {
      touch(s, w);
    }
    assertArrayEquals(new int[] {0, 1}, s.drainDirty(2));
    s.expireBefore(4); // frees windows 0..3, among them 2 and 3, not yet drained
    assertArrayEquals(new int[] {4, 5}, s.drainDirty(10));
  }
}
