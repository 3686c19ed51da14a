package io.hyprstream.window;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.util.Text;
import org.jspecify.annotations.Nullable;

/**
 * Gives each distinct series key a dense int id. A single utf8 key (the common case, {@code
 * metric_id}) is looked up straight from the Arrow buffers without creating a String per row.
 */
final class KeyDictionary {
  /** Multiplier of {@link #hashUtf8}: 2^64 / the golden ratio, odd, bits spread evenly. */
  private static final long GOLDEN = 0x9E3779B97F4A7C15L;

  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private final List<List<@Nullable Object>> keys = new ArrayList<>();
  private final Map<List<@Nullable Object>, Integer> ids = new HashMap<>();

  // Open addressing over utf8 bytes, used when the key is one utf8 column.
  private byte[][] utf8Keys = new byte[64][];
  private int[] utf8Ids = new int[64];
  private int[] utf8Hashes = new int[64];
  private int utf8Size;

  // A batch's offsets and bytes copied to the heap, reused from batch to batch.
  private int[] offsetScratch = new int[0];
  private byte[] byteScratch = new byte[0];

  int size() {
    return keys.size();
  }

  /** The key of {@code id}, one value per key column. */
  List<@Nullable Object> key(int id) {
    return keys.get(id);
  }

  /** The id of a key given as values, or -1. */
  int find(List<@Nullable Object> key) {
    Integer id = ids.get(normalize(key));
    return id == null ? -1 : id;
  }

  /**
   * The ids of the first {@code rows} keys of a single non-null utf8 column, adding new ones. The
   * column's bytes are copied to the heap once, so hashing and comparing run on plain arrays.
   */
  void idsOfUtf8(VarCharVector vector, int rows, int[] out) {
    if (rows == 0) {
      return;
    }
    ArrowBuf offsets = vector.getOffsetBuffer();
    if (offsetScratch.length < rows + 1) {
      offsetScratch = new int[rows + 1];
    }
    int[] offs = offsetScratch;
    offsets
        .nioBuffer(0, (rows + 1) * 4)
        .order(ByteOrder.LITTLE_ENDIAN)
        .asIntBuffer()
        .get(offs, 0, rows + 1);
    int base = offs[0];
    int length = offs[rows] - base;
    if (byteScratch.length < length) {
      byteScratch = new byte[Math.max(length, byteScratch.length * 2)];
    }
    byte[] bytes = byteScratch;
    vector.getDataBuffer().getBytes(base, bytes, 0, length);
    for (int r = 0; r < rows; r++) {
      out[r] = idOfUtf8(bytes, offs[r] - base, offs[r + 1] - base);
    }
  }

  private int idOfUtf8(byte[] bytes, int start, int end) {
    int h = hashUtf8(bytes, start, end);
    int mask = utf8Keys.length - 1;
    for (int pos = mix(h) & mask; ; pos = (pos + 1) & mask) {
      byte[] k = utf8Keys[pos];
      if (k == null) {
        byte[] key = Arrays.copyOfRange(bytes, start, end);
        int id = add(Arrays.asList((Object) new String(key, StandardCharsets.UTF_8)));
        utf8Keys[pos] = key;
        utf8Ids[pos] = id;
        utf8Hashes[pos] = h;
        if (++utf8Size * 2 > utf8Keys.length) {
          rehashUtf8();
        }
        return id;
      }
      if (utf8Hashes[pos] == h && Arrays.equals(k, 0, k.length, bytes, start, end)) {
        return utf8Ids[pos];
      }
    }
  }

  /** The id of row {@code row}'s key over any key columns, or -1 when it is not here. */
  int find(FieldVector[] columns, int row) {
    List<@Nullable Object> key = new ArrayList<>(columns.length);
    for (FieldVector c : columns) {
      key.add(c.getObject(row));
    }
    return find(key);
  }

  /** The id of row {@code row}'s key over any key columns, added when new. */
  int idOf(FieldVector[] columns, int row) {
    List<@Nullable Object> key = new ArrayList<>(columns.length);
    for (FieldVector c : columns) {
      key.add(c.getObject(row));
    }
    key = normalize(key);
    Integer id = ids.get(key);
    return id != null ? id : add(key);
  }

  private int add(List<@Nullable Object> key) {
    int id = keys.size();
    List<@Nullable Object> frozen = java.util.Collections.unmodifiableList(new ArrayList<>(key));
    keys.add(frozen);
    ids.put(frozen, id);
    return id;
  }

  private void rehashUtf8() {
    byte[][] oldKeys = utf8Keys;
    int[] oldIds = utf8Ids;
    int[] oldHashes = utf8Hashes;
    utf8Keys = new byte[oldKeys.length * 2][];
    utf8Ids = new int[oldKeys.length * 2];
    utf8Hashes = new int[oldKeys.length * 2];
    int mask = utf8Keys.length - 1;
    for (int i = 0; i < oldKeys.length; i++) {
      byte[] k = oldKeys[i];
      if (k == null) {
        continue;
      }
      int pos = mix(oldHashes[i]) & mask;
      while (utf8Keys[pos] != null) {
        pos = (pos + 1) & mask;
      }
      utf8Keys[pos] = k;
      utf8Ids[pos] = oldIds[i];
      utf8Hashes[pos] = oldHashes[i];
    }
  }

  private static int mix(int h) {
    return h ^ (h >>> 16);
  }

  /**
   * A hash of {@code bytes[start, end)} taken eight bytes at a time. A byte-by-byte {@code 31 * h +
   * b} is a chain of one multiply per byte, which profiled as the larger part of interning a
   * 17-byte metric id per row; this is one per eight bytes.
   */
  static int hashUtf8(byte[] bytes, int start, int end) {
    long h = end - start;
    int i = start;
    for (; i + Long.BYTES <= end; i += Long.BYTES) {
      h = Long.rotateLeft((h ^ (long) LONGS.get(bytes, i)) * GOLDEN, 29);
    }
    long tail = 0;
    for (int shift = 0; i < end; i++, shift += Byte.SIZE) {
      tail |= (bytes[i] & 0xffL) << shift;
    }
    h = (h ^ tail) * GOLDEN;
    return (int) (h ^ (h >>> 32));
  }

  /** Text values become Strings so keys compare by content whatever vector they came from. */
  private static List<@Nullable Object> normalize(List<@Nullable Object> key) {
    boolean needs = false;
    for (Object o : key) {
      if (o instanceof Text || o instanceof Integer || o instanceof Short || o instanceof Byte) {
        needs = true;
        break;
      }
    }
    if (!needs) {
      return key;
    }
    List<@Nullable Object> out = new ArrayList<>(key.size());
    for (Object o : key) {
      if (o instanceof Text) {
        out.add(o.toString());
      } else if (o instanceof Integer || o instanceof Short || o instanceof Byte) {
        out.add(((Number) o).longValue());
      } else {
        out.add(o);
      }
    }
    return out;
  }
}
