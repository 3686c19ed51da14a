package io.hyprstream.backend.redis;

import io.hyprstream.api.HyprstreamException;
import io.hyprstream.api.SqlIdentifier;
import io.hyprstream.backend.redis.RedisBackendStore.Settings;
import io.hyprstream.internal.arrow.BatchListReader;
import io.hyprstream.internal.sql.TimeSpan;
import io.lettuce.core.Range;
import io.lettuce.core.StreamMessage;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.arrow.c.ArrowArrayStream;
import org.apache.arrow.c.Data;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
import org.duckdb.DuckDBConnection;

/**
 * Loads the entries of a table's Redis stream that a query can read into a temporary table of the
 * in-memory DuckDB that answers it: {@code XRANGE} page by page over the query's time span, decoded
 * into Arrow batches of the table's schema and handed to DuckDB through its Arrow scan.
 */
final class RedisStreamLoader {
  private final RedisConnection redis;
  private final Settings settings;
  private final BufferAllocator allocator;
  private final AtomicInteger streamNames = new AtomicInteger();

  RedisStreamLoader(RedisConnection redis, Settings settings, BufferAllocator allocator) {
    this.redis = redis;
    this.settings = settings;
    this.allocator = allocator;
  }

  /**
   * Makes temporary table {@code table} on {@code c} of the stream entries whose ids fall in {@code
   * span} widened by the table's {@code max_lag_ms} (an id runs at most that far ahead of its row's
   * time): every row the span holds, and a few around it that the statement's own filter drops.
   */
  void load(DuckDBConnection c, String table, Schema schema, TimeSpan span) throws SQLException {
    byte[] lagText =
        redis.await(
            redis.async().hget(settings.key("meta", table), "max_lag_ms"),
            "read the lag of '" + table + "'");
    long lag = lagText == null ? 0 : Long.parseLong(new String(lagText, StandardCharsets.UTF_8));
    String from =
        span.boundedBelow() && span.fromMicros() > 0
            ? Long.toString(Math.floorDiv(span.fromMicros(), 1000L))
            : "-";
    String to = "+";
    if (span.boundedAbove()) {
      long toMs = Math.floorDiv(span.toMicros(), 1000L);
      if (toMs < 0) {
        toMs = 0; // ids start at 0: rows before 1970 have ids from 0 up
      }
      if (toMs <= Long.MAX_VALUE - lag - 1) {
        to = Long.toString(toMs + lag);
      }
    }
    List<VectorSchemaRoot> batches = new ArrayList<>();
    try {
      String stream = settings.key("stream", table);
      Range.Boundary<String> lower =
          from.equals("-") ? Range.Boundary.unbounded() : Range.Boundary.including(from);
      Range.Boundary<String> upper =
          to.equals("+") ? Range.Boundary.unbounded() : Range.Boundary.including(to);
      while (true) {
        List<StreamMessage<String, byte[]>> page =
            redis.await(
                redis
                    .async()
                    .xrange(
                        stream,
                        Range.from(lower, upper),
                        io.lettuce.core.Limit.create(0, RedisBackendStore.READ_PAGE)),
                "read '" + table + "'");
        if (page.isEmpty()) {
          break;
        }
        batches.add(decode(schema, page));
        if (page.size() < RedisBackendStore.READ_PAGE) {
          break;
        }
        lower = Range.Boundary.excluding(page.get(page.size() - 1).getId());
      }
    } catch (RuntimeException e) {
      batches.forEach(VectorSchemaRoot::close);
      throw e;
    }
    String view = "_hs_redis_" + streamNames.incrementAndGet();
    try (ArrowArrayStream s = ArrowArrayStream.allocateNew(allocator)) {
      Data.exportArrayStream(allocator, new BatchListReader(allocator, schema, batches), s);
      c.registerArrowStream(view, s);
      try (Statement st = c.createStatement()) {
        st.execute(
            "CREATE OR REPLACE TEMP TABLE "
                + SqlIdentifier.quote(table)
                + " AS SELECT * FROM "
                + view);
        st.execute("DROP VIEW IF EXISTS " + view);
      }
    }
  }

  private VectorSchemaRoot decode(Schema schema, List<StreamMessage<String, byte[]>> page) {
    VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
    try {
      Map<String, FieldVector> byName = new HashMap<>();
      for (FieldVector v : root.getFieldVectors()) {
        v.setInitialCapacity(page.size());
        v.allocateNew();
        byName.put(v.getName(), v);
      }
      int row = 0;
      for (StreamMessage<String, byte[]> m : page) {
        for (Map.Entry<String, byte[]> e : m.getBody().entrySet()) {
          FieldVector v = byName.get(e.getKey());
          if (v != null) {
            RedisRowCodec.decode(v, row, e.getValue());
          }
        }
        row++;
      }
      root.setRowCount(row);
      return root;
    } catch (RuntimeException e) {
      root.close();
      throw new HyprstreamException(
          "an entry of a Redis stream does not fit its table's schema: " + e.getMessage(), e);
    }
  }
}
