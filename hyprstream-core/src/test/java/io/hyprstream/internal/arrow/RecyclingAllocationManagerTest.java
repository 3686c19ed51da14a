package io.hyprstream.internal.arrow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.Allocators;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.OutOfMemoryException;
import org.apache.arrow.vector.Float8Vector;
import org.junit.jupiter.api.Test;

/** Released Arrow memory is reused warm, within its bound, and never leaks into a new vector. */
final class RecyclingAllocationManagerTest {

  @Test
  void releasedBlock_isGivenOutAgainForTheSameSize() {
    try (BufferAllocator root = Allocators.newRoot()) {
      long first;
      try (ArrowBuf b = root.buffer(1 << 20)) {
        first = b.memoryAddress();
      }
      assertTrue(RecyclingAllocationManager.retainedBytes() >= 1 << 20, "kept, not freed");
      try (ArrowBuf again = root.buffer(1 << 20)) {
        assertEquals(first, again.memoryAddress(), "the block released just before");
      }
      assertEquals(0, root.getAllocatedMemory(), "accounting sees it released");
    }
  }

  @Test
  void reusedMemory_isZeroedByTheVectorsThatTakeIt() {
    try (BufferAllocator root = Allocators.newRoot()) {
      try (Float8Vector dirty = new Float8Vector("dirty", root)) {
        dirty.allocateNew(65_536);
        for (int i = 0; i < 65_536; i++) {
          dirty.set(i, 42.0);
        }
        dirty.setValueCount(65_536);
      }
      try (Float8Vector clean = new Float8Vector("clean", root)) {
        clean.allocateNew(65_536);
        clean.setValueCount(65_536);
        for (int i = 0; i < 65_536; i++) {
          assertTrue(clean.isNull(i), "row " + i + " of a new vector is null");
        }
      }
    }
  }

  @Test
  void retainedMemory_staysWithinItsBound() {
    try (BufferAllocator root = Allocators.newRoot()) {
      List<ArrowBuf> held = new ArrayList<>();
      long size = 32L << 20;
      for (long total = 0; total <= RecyclingAllocationManager.MAX_RETAINED_BYTES * 2; ) {
        held.add(root.buffer(size));
        total += size;
      }
      held.forEach(ArrowBuf::close);
      assertTrue(
          RecyclingAllocationManager.retainedBytes()
              <= RecyclingAllocationManager.MAX_RETAINED_BYTES,
          "retained " + RecyclingAllocationManager.retainedBytes());
    }
  }

  @Test
  void limit_isTheRootsAsUsual() {
    try (BufferAllocator root = Allocators.newRoot(1 << 20)) {
      assertThrows(OutOfMemoryException.class, () -> root.buffer(2 << 20));
    }
  }
}
