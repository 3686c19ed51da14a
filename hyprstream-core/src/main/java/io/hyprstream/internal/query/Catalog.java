package io.hyprstream.internal.query;

import io.hyprstream.Hyprstream.TableInfo;
import io.hyprstream.api.BackendStore;
import io.hyprstream.api.CacheStore;
import io.hyprstream.internal.table.Tables;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relations an instance answers for, as catalog listings show them: the cache's tables and
 * window views, the system tables, and the tables only the backend holds.
 */
public final class Catalog {
  private static final Logger LOG = LoggerFactory.getLogger(Catalog.class);

  private final Tables tables;
  private final CacheStore cache;
  private final @Nullable BackendStore backend;

  public Catalog(Tables tables, CacheStore cache, @Nullable BackendStore backend) {
    this.tables = tables;
    this.cache = cache;
    this.backend = backend;
  }

  /**
   * Every relation, by name; a backend table of the same name as a cached one is listed once, as
   * the cache's. A backend that cannot be listed leaves its tables out and is logged.
   */
  public List<TableInfo> tables() {
    List<TableInfo> out = new ArrayList<>();
    for (String name : cache.tables()) {
      if (name.startsWith("_hs_")) {
        continue; // the engine's own scratch tables
      }
      Schema schema = cache.tableSchema(name);
      if (schema != null) {
        out.add(new TableInfo(name, kindOf(name), schema));
      }
    }
    BackendStore b = backend;
    if (b != null) {
      Set<String> listed = new HashSet<>();
      out.forEach(t -> listed.add(Tables.key(t.name())));
      try {
        for (String name : b.tables()) {
          Schema schema = listed.contains(Tables.key(name)) ? null : b.tableSchema(name);
          if (schema != null) {
            out.add(new TableInfo(name, TableInfo.Kind.BACKEND_TABLE, schema));
          }
        }
      } catch (RuntimeException e) {
        LOG.warn("cannot list the backend's tables: {}", e.getMessage());
      }
      out.sort(Comparator.comparing(TableInfo::name));
    }
    return out;
  }

  /** The schema of {@code table} in the cache, else in the backend; null when neither has it. */
  public @Nullable Schema tableSchema(String table) {
    Schema schema = cache.tableSchema(table);
    BackendStore b = backend;
    if (schema == null && b != null) {
      schema = b.tableSchema(table);
    }
    return schema;
  }

  private TableInfo.Kind kindOf(String name) {
    if (SystemTables.isSystemTable(name)) {
      return TableInfo.Kind.SYSTEM_TABLE;
    }
    return tables.isView(name) ? TableInfo.Kind.WINDOW_VIEW : TableInfo.Kind.TABLE;
  }
}
