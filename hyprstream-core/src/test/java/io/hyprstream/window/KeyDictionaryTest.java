package io.hyprstream.window;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VarCharVector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

final class KeyDictionaryTest {
  private final BufferAllocator allocator = new RootAllocator();

  @AfterEach
  void closeAllocator() {
    allocator.close();
  }

  /**
   * Keys of every length from 0 to 40 bytes (whole 8-byte words and tails), some differing only in
   * their last byte or in one byte of a word, get one id each, the same in every batch and after
   * the table grew.
   */
  @Test
  void idsOfUtf8_oneIdPerDistinctKey_stableAcrossBatches() {
    List<String> keys = new ArrayList<>();
    for (int length = 0; length <= 40; length++) {
      String base = "host0123.cpu.user.idle.steal.irq.softirq".substring(0, length);
      keys.add(base);
      if (length > 0) {
        for (int at : new int[] {0, length / 2, length - 1}) {
          char[] c = base.toCharArray();
          c[at] = (char) (c[at] + 1);
          keys.add(new String(c));
        }
      }
    }
    List<String> distinct = keys.stream().distinct().toList();
    KeyDictionary dictionary = new KeyDictionary();
    int[] first = ids(dictionary, distinct);
    for (int i = 0; i < first.length; i++) {
      assertEquals(i, first[i], "key " + distinct.get(i) + " is new, so it gets the next id");
      assertEquals(List.of(distinct.get(i)), dictionary.key(first[i]));
    }
    assertEquals(distinct.size(), dictionary.size());

    List<String> reversed = new ArrayList<>(distinct);
    java.util.Collections.reverse(reversed);
    int[] again = ids(dictionary, reversed);
    for (int i = 0; i < again.length; i++) {
      assertEquals(first[distinct.size() - 1 - i], again[i], reversed.get(i));
    }
    assertEquals(distinct.size(), dictionary.size(), "no key was added twice");
    assertArrayEquals(first, ids(dictionary, distinct));
  }

  private int[] ids(KeyDictionary dictionary, List<String> keys) {
    try (VarCharVector v = new VarCharVector("metric_id", allocator)) {
      v.allocateNew();
      for (int r = 0; r < keys.size(); r++) {
        v.setSafe(r, keys.get(r).getBytes(StandardCharsets.UTF_8));
      }
      v.setValueCount(keys.size());
      int[] out = new int[keys.size()];
      dictionary.idsOfUtf8(v, keys.size(), out);
      return out;
    }
  }
}
