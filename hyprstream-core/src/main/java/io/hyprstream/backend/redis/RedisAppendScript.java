package io.hyprstream.backend.redis;

import io.hyprstream.api.HyprstreamException;
import io.hyprstream.backend.redis.RedisBackendStore.Settings;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * What one batch sends to Redis: the Lua script that appends it exactly once (checks the batch id,
 * adds the rows as stream entries, trims, records the id, atomically) and the script's arguments,
 * encoded from the Arrow batch; and the table's schema as it grows batch by batch.
 */
final class RedisAppendScript {
  private final Settings settings;

  RedisAppendScript(Settings settings) {
    this.settings = settings;
  }

  /**
   * The append script. KEYS: batches set, stream, meta hash, schema string, tables set. ARGV: batch
   * id, table, schema JSON ('' when unchanged), time column ('' when none), MAXLEN (0: none), MINID
   * in ms (-1: none), row count, then per row: time in ms, field count n, n field/value pairs.
   * Nothing after the first write can fail on valid arguments, so no partial batch is left.
   */
  static final String APPEND_SCRIPT =
      String.join(
          "\n",
          "if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end",
          "local last_ms, last_seq = -1, 0",
          "if redis.call('EXISTS', KEYS[2]) == 1 then",
          "  local info = redis.call('XINFO', 'STREAM', KEYS[2])",
          "  for k = 1, #info, 2 do",
          "    if info[k] == 'last-generated-id' then",
          "      local id = info[k + 1]",
          "      local dash = string.find(id, '-', 1, true)",
          "      last_ms = tonumber(string.sub(id, 1, dash - 1))",
          "      last_seq = tonumber(string.sub(id, dash + 1))",
          "    end",
          "  end",
          "end",
          "local lag = tonumber(redis.call('HGET', KEYS[3], 'max_lag_ms') or '0')",
          "local maxlen = tonumber(ARGV[5])",
          "local i = 8",
          "for r = 1, tonumber(ARGV[7]) do",
          "  local ms = tonumber(ARGV[i])",
          "  local n = tonumber(ARGV[i + 1])",
          "  local id_ms, seq = ms, 0",
          "  if id_ms < 0 then id_ms = 0 end",
          "  if id_ms <= last_ms then id_ms = last_ms; seq = last_seq + 1 end",
          "  if id_ms == 0 and seq == 0 then seq = 1 end",
          "  if id_ms - ms > lag then lag = id_ms - ms end",
          "  local id = string.format('%d-%d', id_ms, seq)",
          "  if maxlen > 0 then",
          "    redis.call('XADD', KEYS[2], 'MAXLEN', '~', maxlen, id, unpack(ARGV, i + 2, i + 1 + 2 * n))",
          "  else",
          "    redis.call('XADD', KEYS[2], id, unpack(ARGV, i + 2, i + 1 + 2 * n))",
          "  end",
          "  last_ms, last_seq = id_ms, seq",
          "  i = i + 2 + 2 * n",
          "end",
          "if tonumber(ARGV[6]) >= 0 then redis.call('XTRIM', KEYS[2], 'MINID', '~', ARGV[6]) end",
          "redis.call('HSET', KEYS[3], 'max_lag_ms', string.format('%d', lag))",
          "if ARGV[4] ~= '' then redis.call('HSETNX', KEYS[3], 'time_column', ARGV[4]) end",
          "if ARGV[3] ~= '' then redis.call('SET', KEYS[4], ARGV[3]) end",
          "redis.call('SADD', KEYS[5], ARGV[2])",
          "redis.call('SADD', KEYS[1], ARGV[1])",
          "return 1");

  byte[][] arguments(
      String batchId,
      String table,
      String schemaJson,
      @Nullable String timeColumn,
      VectorSchemaRoot batch) {
    int rows = batch.getRowCount();
    List<FieldVector> vectors = batch.getFieldVectors();
    byte[][] names = new byte[vectors.size()][];
    for (int c = 0; c < names.length; c++) {
      names[c] = vectors.get(c).getName().getBytes(StandardCharsets.UTF_8);
    }
    FieldVector time = timeColumn == null ? null : batch.getVector(timeColumn);
    long arrivalMs = System.currentTimeMillis();
    List<byte[]> args = new ArrayList<>(7 + rows * (2 + 2 * vectors.size()));
    args.add(RedisBackendStore.utf8(batchId));
    args.add(RedisBackendStore.utf8(table));
    args.add(RedisBackendStore.utf8(schemaJson));
    args.add(RedisBackendStore.utf8(timeColumn == null ? "" : timeColumn));
    args.add(RedisBackendStore.utf8(Long.toString(settings.maxLen())));
    Duration retention = settings.retention();
    args.add(
        RedisBackendStore.utf8(
            Long.toString(retention == null ? -1 : arrivalMs - retention.toMillis())));
    args.add(RedisBackendStore.utf8(Integer.toString(rows)));
    for (int r = 0; r < rows; r++) {
      long ms =
          time instanceof TimeStampVector && !time.isNull(r)
              ? millis((TimeStampVector) time, r)
              : time == null ? arrivalMs : 0;
      args.add(RedisBackendStore.utf8(Long.toString(ms)));
      int countAt = args.size();
      args.add(null);
      int fields = 0;
      for (int c = 0; c < names.length; c++) {
        byte[] value = RedisRowCodec.encode(vectors.get(c), r);
        if (value != null) {
          args.add(names[c]);
          args.add(value);
          fields++;
        }
      }
      if (fields == 0) {
        args.add(RedisBackendStore.utf8(RedisRowCodec.EMPTY_ROW_FIELD));
        args.add(new byte[0]);
        fields = 1;
      }
      args.set(countAt, RedisBackendStore.utf8(Integer.toString(fields)));
    }
    return args.toArray(new byte[0][]);
  }

  private static long millis(TimeStampVector v, int row) {
    long raw = v.get(row);
    switch (((ArrowType.Timestamp) v.getField().getType()).getUnit()) {
      case SECOND:
        return Math.multiplyExact(raw, 1000L);
      case MILLISECOND:
        return raw;
      case MICROSECOND:
        return Math.floorDiv(raw, 1000L);
      default:
        return Math.floorDiv(raw, 1_000_000L);
    }
  }

  static @Nullable String firstTimestamp(Schema schema) {
    for (Field f : schema.getFields()) {
      if (f.getType() instanceof ArrowType.Timestamp) {
        return f.getName();
      }
    }
    return null;
  }

  /**
   * The stored schema grown by the batch's new columns.
   *
   * @throws HyprstreamException when a column the table has arrives with another type
   */
  static Schema merge(String table, @Nullable Schema stored, Schema batch) {
    if (stored == null) {
      return batch;
    }
    Map<String, Field> have = new HashMap<>();
    for (Field f : stored.getFields()) {
      have.put(f.getName(), f);
    }
    List<Field> fields = new ArrayList<>(stored.getFields());
    for (Field f : batch.getFields()) {
      Field old = have.get(f.getName());
      if (old == null) {
        fields.add(
            new Field(
                f.getName(),
                new org.apache.arrow.vector.types.pojo.FieldType(
                    true, f.getType(), f.getDictionary(), f.getMetadata()),
                f.getChildren()));
      } else if (!old.getType().equals(f.getType())) {
        throw new HyprstreamException(
            "Redis holds column '"
                + f.getName()
                + "' of '"
                + table
                + "' as "
                + old.getType()
                + ", and a batch brings it as "
                + f.getType(),
            null);
      }
    }
    return fields.size() == stored.getFields().size() ? stored : new Schema(fields);
  }
}
