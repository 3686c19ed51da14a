package io.hyprstream.internal.table;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.hyprstream.api.EvictionPolicy;
import io.hyprstream.internal.arrow.Columns;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

final class HotSetTest {
  private static final long HOUR = 3_600_000_000L;

  @Test
  void stored_countsEachRowInThePartitionOfItsTime_whateverTheOrder() {
    HotSet hot = new HotSet(0, EvictionPolicy.TIME, HOUR);
    // Rows jump between partitions, cross zero and sit on the partitions' edges; the last
    // partition a row went to must not capture a row of another.
    long[] micros = {
      -1, 0, HOUR - 1, HOUR, -HOUR, 5 * HOUR + 3, HOUR + 1, -HOUR - 1, Columns.NULL_TIME, 7 * HOUR
    };
    hot.stored("t", micros, micros.length, 1000);

    // Over budget, every partition but the newest (and the untimed rows) leaves, oldest first.
    List<Long> evicted = new ArrayList<>();
    for (HotSet.Victim v = hot.nextVictim(); v != null; v = hot.nextVictim()) {
      evicted.add(v.startMicros());
      hot.evicted(v, 0);
    }
    assertEquals(List.of(-2 * HOUR, -HOUR, 0L, HOUR, 5 * HOUR), evicted);
  }
}
