package io.hyprstream.internal.table;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.CacheStore;
import io.hyprstream.api.IngestResult;
import io.hyprstream.api.SchemaMismatchException;
import io.hyprstream.api.WindowAggregator;
import io.hyprstream.api.WindowAggregatorFactory;
import io.hyprstream.api.WindowSpec;
import io.hyprstream.internal.arrow.Columns;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/** One table's ingest state. {@code lock} guards everything but the DuckDB work. */
public final class TableState {
  public final String name;
  public final @Nullable AggregationSpec spec;
  public final ReentrantLock lock = new ReentrantLock();

  /** Held while batches move into DuckDB and during DDL; taken before {@link #lock}. */
  public final ReentrantLock flushLock = new ReentrantLock();

  /** Held while a view of this table is synced or expired; taken before {@link #lock}. */
  public final ReentrantLock viewLock = new ReentrantLock();

  public final List<VectorSchemaRoot> pending = new ArrayList<>();
  public long pendingRows;
  public long pendingSince;

  /** A stored batch's event times for the hot-set count: reused, under {@link #lock}. */
  private long[] storedTimes = new long[0];

  public @Nullable Schema schema;
  public @Nullable WindowAggregator aggregator;
  public IngestResult lastResult = IngestResult.of(0);
  public boolean created;

  /**
   * The table's recent client ingest ids, to know a retry as a repeat; guarded by {@link #lock}.
   */
  public final RecentIngestIds ingestIds;

  private final CacheStore cache;
  private final WindowAggregatorFactory aggregators;
  private final BufferAllocator allocator;

  TableState(
      String name,
      @Nullable AggregationSpec spec,
      CacheStore cache,
      WindowAggregatorFactory aggregators,
      BufferAllocator allocator,
      int ingestIdsRemembered) {
    this.name = name;
    this.ingestIds = new RecentIngestIds(ingestIdsRemembered);
    this.spec = spec;
    this.cache = cache;
    this.aggregators = aggregators;
    this.allocator = allocator;
  }

  public AggregationSpec spec() {
    return java.util.Objects.requireNonNull(spec);
  }

  /**
   * True when the queue should move to DuckDB now: {@code rows} rows have gathered, or the oldest
   * has waited {@code delayNanos}.
   */
  public boolean dueForFlush(long nowNanos, long rows, long delayNanos) {
    lock.lock();
    try {
      return pendingRows >= rows || (pendingRows > 0 && nowNanos - pendingSince >= delayNanos);
    } finally {
      lock.unlock();
    }
  }

  public @Nullable AggregationSpec specOrNull() {
    return spec;
  }

  public boolean isMetrics() {
    return Tables.key(name).equals(MetricsTable.NAME);
  }

  /** Tables Hyprstream created by ingest (not by SQL) are managed: no DROP or ALTER by SQL. */
  public boolean isManaged() {
    return created;
  }

  public void adopt(Schema grown) {
    this.schema = grown;
    this.created = true;
  }

  /**
   * Checks {@code batches} against this table and returns the table's schema grown by their new
   * columns, or null when it need not change. Nothing is modified.
   */
  public @Nullable Schema validate(List<VectorSchemaRoot> batches) {
    Schema current = schema;
    if (current == null && !created) {
      current = cache.tableSchema(name); // made by SQL earlier, or by a previous run
      if (current != null) {
        schema = current;
        created = true;
      }
    }
    Map<String, Field> added = new LinkedHashMap<>();
    for (VectorSchemaRoot b : batches) {
      if (isMetrics()) {
        MetricsTable.validate(b, spec().isPreAggregated(b.getSchema()));
      } else if (aggregator != null) {
        aggregator.validate(b.getSchema());
      } else if (spec != null) {
        aggregators.create(spec, keyFields(b.getSchema())).validate(b.getSchema());
      }
      for (Field f : b.getSchema().getFields()) {
        if (isMetrics() && MetricsTable.isBaseColumn(f.getName())) {
          continue;
        }
        Field existing = current == null ? null : Columns.field(current, f.getName());
        if (existing == null) {
          existing = added.get(Tables.key(f.getName()));
        }
        if (existing == null) {
          added.put(
              Tables.key(f.getName()),
              new Field(f.getName(), FieldType.nullable(f.getType()), f.getChildren()));
        } else if (!existing.getType().equals(f.getType())) {
          throw new SchemaMismatchException(
              name, f.getName(), "expected " + existing.getType() + ", got " + f.getType());
        }
      }
    }
    if (added.isEmpty() && current != null) {
      return null;
    }
    List<Field> fields = new ArrayList<>(current == null ? List.of() : current.getFields());
    fields.addAll(added.values());
    return new Schema(fields);
  }

  private List<Field> keyFields(Schema schema) {
    List<Field> out = new ArrayList<>();
    for (String k : spec().keyColumns()) {
      Field f = Columns.field(schema, k);
      if (f == null) {
        throw new SchemaMismatchException(
            name, k, "missing; it is a key column of this table's windows");
      }
      out.add(f);
    }
    return out;
  }

  public void ensureAggregator(Schema first) {
    if (spec != null && aggregator == null) {
      startAggregating(keyFields(first));
    }
  }

  public void startAggregating(List<Field> keyFields) {
    WindowAggregator agg = aggregators.create(spec(), keyFields);
    for (WindowSpec w : spec().windows()) {
      cache.ensureTable(spec().viewName(w), agg.viewSchema(w));
    }
    this.aggregator = agg;
  }

  /**
   * Counts {@code batch} (a stored form, read back from the log) in the windows only; the caller
   * keeps it.
   */
  public IngestResult aggregateOnly(VectorSchemaRoot batch, Instant now) {
    WindowAggregator agg = aggregator;
    return agg == null ? IngestResult.of(batch.getRowCount()) : agg.update(batch, null, now);
  }

  /**
   * Runs {@code read} on the windows under the table's lock (for a {@link
   * io.hyprstream.api.WindowListener}).
   */
  public <T> T readWindows(java.util.function.Function<WindowAggregator, T> read) {
    lock.lock();
    try {
      return read.apply(java.util.Objects.requireNonNull(aggregator, "aggregator"));
    } finally {
      lock.unlock();
    }
  }

  /** Replaces the (empty) window state with {@code restored}, read from a snapshot. */
  public void restoreAggregator(WindowAggregator restored) {
    for (WindowSpec w : spec().windows()) {
      cache.ensureTable(spec().viewName(w), restored.viewSchema(w));
    }
    this.aggregator = restored;
  }

  /**
   * An array of at least {@code rows} longs for a batch's event times; call under {@link #lock}.
   */
  public long[] storedTimes(int rows) {
    if (storedTimes.length < rows) {
      storedTimes = new long[rows];
    }
    return storedTimes;
  }

  /** Updates the windows with {@code batch} and returns its stored form; takes {@code batch}. */
  public VectorSchemaRoot aggregateAndStore(VectorSchemaRoot batch, Instant now) {
    WindowAggregator agg = aggregator;
    if (agg == null) {
      lastResult = IngestResult.of(batch.getRowCount());
      return batch;
    }
    if (!isMetrics()) {
      try {
        lastResult = agg.update(batch, null, now);
        return batch;
      } catch (RuntimeException e) {
        batch.close();
        throw e;
      }
    }
    VectorSchemaRoot running = VectorSchemaRoot.create(MetricsTable.RUNNING_SCHEMA, allocator);
    try {
      running
          .getFieldVectors()
          .forEach(
              v -> {
                v.setInitialCapacity(batch.getRowCount());
                v.allocateNew();
              });
      lastResult = agg.update(batch, running, now);
    } catch (RuntimeException e) {
      running.close();
      batch.close();
      throw e;
    }
    return MetricsTable.toStored(batch, running, allocator);
  }
}
