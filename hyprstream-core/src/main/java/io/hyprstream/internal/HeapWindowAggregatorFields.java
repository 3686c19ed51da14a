package io.hyprstream.internal;

import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/** Field lookups by name, case-insensitively as DuckDB resolves identifiers. */
final class HeapWindowAggregatorFields {
  private HeapWindowAggregatorFields() {}

  static @Nullable Field find(Schema schema, String name) {
    for (Field f : schema.getFields()) {
      if (f.getName().equalsIgnoreCase(name)) {
        return f;
      }
    }
    return null;
  }
}
