package io.hyprstream.backend.redis;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.WindowListener;
import io.hyprstream.api.WindowSpec;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScriptOutputType;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.util.Text;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes window views to Redis for online serving: after each ingest, one hash per (view, key)
 * holding the key's newest window and the {@code closedWindows} before it, replaced whole.
 *
 * <p>Key {@code <prefix>window:<view>:<key>} (several key columns joined by {@code :}). Fields: the
 * view's columns of the newest window ({@code metric_id}, {@code window_start}, {@code window_end},
 * {@code value_count}, {@code value_sum}, {@code value_avg}, ...), the same with {@code @1},
 * {@code @2}, ... for the windows before it, and {@code windows}, how many the hash holds. Values
 * as {@link RedisRowCodec} writes them (timestamps in epoch microseconds). The key expires with its
 * newest window's retention ({@code PEXPIREAT} window end plus retention).
 *
 * <p>The ingesting thread only notes which keys changed ({@link #windowsChanged}); a thread of its
 * own reads their windows (under the table's lock, one {@link
 * io.hyprstream.api.WindowAggregator#latest} per view) and writes them, pipelined, one Lua script
 * per hash (delete, write, expire: readers never see half a hash). Changes that arrive while it
 * works are coalesced into its next round, so a busy publisher reads each key once per round, not
 * once per ingest. While Redis is away ingest goes on: the changed keys accumulate (one entry per
 * key) and are read and written once it is back. A key's older state is never written after a newer
 * one: a round reads the state of that moment, and rounds are sent in order on one connection.
 */
public final class RedisWindowPublisher implements WindowListener {
  private static final Logger LOG = LoggerFactory.getLogger(RedisWindowPublisher.class);

  /** KEYS: the hash. ARGV: expiry in epoch ms, then field/value pairs. */
  private static final String REPLACE_SCRIPT =
      String.join(
          "\n",
          "redis.call('DEL', KEYS[1])",
          "redis.call('HSET', KEYS[1], unpack(ARGV, 2))",
          "redis.call('PEXPIREAT', KEYS[1], ARGV[1])",
          "return 1");

  private static final int SEND_AT_ONCE = 1024;
  private static final long MIN_BACKOFF_MS = 50;
  private static final long MAX_BACKOFF_MS = 2000;

  private final Supplier<RedisConnection> connect;
  private final String keyPrefix;
  private final int closedWindows;
  private final BufferAllocator allocator;
  private final Duration closeTimeout;
  private final Thread worker;
  private final Object lock = new Object();
  // Guarded by lock: by table, the keys changed since their windows were last read.
  private final LinkedHashMap<String, Changed> pending = new LinkedHashMap<>();
  private boolean stopping;
  private boolean sending;
  private long published;
  private @Nullable RedisConnection connection;

  /**
   * Starts publishing.
   *
   * @param connect opens the connection (called on the publisher's thread, again after a failure),
   *     so a Redis that is down at start delays publication, not the start
   * @param keyPrefix put before every key, e.g. {@code hyprstream:}
   * @param closedWindows how many windows before the newest each hash holds, 0 or more
   * @param allocator for the window rows read at each ingest (a child is taken and closed here)
   * @param closeTimeout how long {@link #close} waits for pending hashes to be written
   */
  public RedisWindowPublisher(
      Supplier<RedisConnection> connect,
      String keyPrefix,
      int closedWindows,
      BufferAllocator allocator,
      Duration closeTimeout) {
    if (closedWindows < 0) {
      throw new IllegalArgumentException("closed windows must be 0 or more, not " + closedWindows);
    }
    this.connect = connect;
    this.keyPrefix = keyPrefix;
    this.closedWindows = closedWindows;
    this.allocator = allocator.newChildAllocator("redis-window-publisher", 0, Long.MAX_VALUE);
    this.closeTimeout = closeTimeout;
    this.worker = new Thread(this::run, "hyprstream-window-publisher");
    worker.setDaemon(true);
    worker.start();
  }

  /** The keys of one table changed since they were last published, and how to read them. */
  private static final class Changed {
    final AggregationSpec spec;
    final Windows windows;
    final LinkedHashSet<List<@Nullable Object>> keys = new LinkedHashSet<>();

    Changed(AggregationSpec spec, Windows windows) {
      this.spec = spec;
      this.windows = windows;
    }
  }

  /** Notes the keys of {@code batches}; the publisher's thread reads their windows. */
  @Override
  public void windowsChanged(
      AggregationSpec spec, List<VectorSchemaRoot> batches, Windows windows) {
    try {
      Set<Object> seen = new java.util.HashSet<>();
      List<List<@Nullable Object>> keys = new ArrayList<>();
      for (VectorSchemaRoot b : batches) {
        List<FieldVector> columns = new ArrayList<>();
        for (String k : spec.keyColumns()) {
          columns.add(b.getVector(k));
        }
        boolean oneText = columns.size() == 1 && columns.get(0) instanceof VarCharVector;
        for (int r = 0; r < b.getRowCount(); r++) {
          if (oneText) {
            // Deduplicated on the bytes in place: no string per row.
            VarCharVector c = (VarCharVector) columns.get(0);
            if (!c.isNull(r) && seen.add(c.getDataPointer(r))) {
              keys.add(List.of(c.getObject(r).toString()));
            } else if (c.isNull(r) && seen.add(NULL_KEY)) {
              keys.add(java.util.Collections.singletonList(null));
            }
            continue;
          }
          List<@Nullable Object> key = new ArrayList<>(columns.size());
          for (FieldVector c : columns) {
            Object o = c.getObject(r);
            key.add(o instanceof Text ? o.toString() : o);
          }
          if (seen.add(key)) {
            keys.add(key);
          }
        }
      }
      synchronized (lock) {
        pending.computeIfAbsent(spec.table(), t -> new Changed(spec, windows)).keys.addAll(keys);
        lock.notifyAll();
      }
    } catch (RuntimeException e) {
      LOG.error("cannot note the keys of '{}' to publish: {}", spec.table(), e.toString());
    }
  }

  private static final Object NULL_KEY = new Object();

  /** The hashes of {@code changed}'s keys, read from its windows now. */
  private Map<String, byte[][]> read(Changed changed) {
    AggregationSpec spec = changed.spec;
    List<List<@Nullable Object>> keyList = new ArrayList<>(changed.keys);
    int keyColumns = spec.keyColumns().size();
    Map<String, byte[][]> states = new LinkedHashMap<>();
    for (WindowSpec w : spec.windows()) {
      String view = spec.viewName(w);
      try (VectorSchemaRoot rows =
          changed.windows.read(agg -> agg.latest(w, keyList, closedWindows + 1, allocator))) {
        // Each key's rows are consecutive, newest first: cut where the key changes.
        int from = 0;
        for (int r = 1; r <= rows.getRowCount(); r++) {
          if (r == rows.getRowCount() || !sameKey(rows, keyColumns, from, r)) {
            states.put(hashKey(view, keyOf(rows, keyColumns, from)), arguments(rows, from, r, w));
            from = r;
          }
        }
      }
    }
    return states;
  }

  private static boolean sameKey(VectorSchemaRoot rows, int keyColumns, int a, int b) {
    for (int c = 0; c < keyColumns; c++) {
      if (!java.util.Objects.equals(
          rows.getVector(c).getObject(a), rows.getVector(c).getObject(b))) {
        return false;
      }
    }
    return true;
  }

  private static List<@Nullable Object> keyOf(VectorSchemaRoot rows, int keyColumns, int row) {
    List<@Nullable Object> key = new ArrayList<>(keyColumns);
    for (int c = 0; c < keyColumns; c++) {
      key.add(rows.getVector(c).getObject(row));
    }
    return key;
  }

  private String hashKey(String view, List<@Nullable Object> key) {
    StringBuilder sb = new StringBuilder(keyPrefix).append("window:").append(view);
    for (Object k : key) {
      sb.append(':').append(k == null ? "" : k.toString());
    }
    return sb.toString();
  }

  /** The script's arguments for view rows {@code [from, to)}, one key's, newest first. */
  private static byte[][] arguments(VectorSchemaRoot rows, int from, int to, WindowSpec window) {
    List<byte[]> args = new ArrayList<>();
    FieldVector end = rows.getVector("window_end");
    long endMicros = ((org.apache.arrow.vector.TimeStampVector) end).get(from);
    long expireAt = Math.floorDiv(endMicros, 1000L) + window.retention().toMillis();
    args.add(RedisRowCodec.ascii(Long.toString(expireAt)));
    for (int r = from; r < to; r++) {
      String suffix = r == from ? "" : "@" + (r - from);
      for (FieldVector v : rows.getFieldVectors()) {
        byte[] value = RedisRowCodec.encode(v, r);
        if (value != null) {
          args.add((v.getName() + suffix).getBytes(StandardCharsets.UTF_8));
          args.add(value);
        }
      }
    }
    args.add(RedisRowCodec.ascii("windows"));
    args.add(RedisRowCodec.ascii(Integer.toString(to - from)));
    return args.toArray(new byte[0][]);
  }

  private void run() {
    long backoff = MIN_BACKOFF_MS;
    boolean failing = false;
    while (true) {
      List<Changed> group;
      synchronized (lock) {
        while (pending.isEmpty() && !stopping) {
          try {
            lock.wait();
          } catch (InterruptedException e) {
            return;
          }
        }
        if (pending.isEmpty()) {
          return; // stopping, nothing left
        }
        group = new ArrayList<>(pending.values());
        pending.clear();
        sending = true;
      }
      try {
        for (Changed c : group) {
          send(read(c));
        }
        synchronized (lock) {
          sending = false;
          lock.notifyAll();
        }
        if (failing) {
          LOG.info("event=publish_resumed publishing windows to Redis again");
          failing = false;
        }
        backoff = MIN_BACKOFF_MS;
      } catch (RuntimeException e) {
        synchronized (lock) {
          // The keys are read again at the retry, so what is sent then is their state then: a
          // key's older state is never written after a newer one.
          for (Changed c : group) {
            pending
                .computeIfAbsent(c.spec.table(), t -> new Changed(c.spec, c.windows))
                .keys
                .addAll(c.keys);
          }
          sending = false;
          lock.notifyAll();
          if (stopping) {
            LOG.warn(
                "event=publish_abandoned window hashes of {} tables not published at shutdown: {}",
                pending.size(),
                e.getMessage());
            return;
          }
        }
        if (!failing) {
          LOG.warn(
              "event=publish_failed publishing windows to Redis failed; ingest goes on and"
                  + " publication catches up: {}",
              e.getMessage());
          failing = true;
        }
        try {
          Thread.sleep(backoff);
        } catch (InterruptedException ie) {
          return;
        }
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
      }
    }
  }

  /** Writes {@code states} pipelined, in slices, and waits for every reply. */
  private void send(Map<String, byte[][]> states) {
    RedisConnection c = connection;
    if (c == null) {
      c = connect.get();
      connection = c;
    }
    List<RedisFuture<Long>> replies = new ArrayList<>(Math.min(states.size(), SEND_AT_ONCE));
    for (Map.Entry<String, byte[][]> g : states.entrySet()) {
      replies.add(
          c.async()
              .eval(
                  REPLACE_SCRIPT,
                  ScriptOutputType.INTEGER,
                  new String[] {g.getKey()},
                  g.getValue()));
      if (replies.size() == SEND_AT_ONCE) {
        awaitAll(c, replies);
      }
    }
    awaitAll(c, replies);
  }

  private void awaitAll(RedisConnection c, List<RedisFuture<Long>> replies) {
    for (RedisFuture<Long> r : replies) {
      c.await(r, "publish a window hash");
    }
    synchronized (lock) {
      published += replies.size();
    }
    replies.clear();
  }

  /**
   * Waits until every change handed over so far is written to Redis; false when {@code timeout}
   * passed first.
   */
  public boolean awaitPublished(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lock) {
      while (!pending.isEmpty() || sending) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        lock.wait(Math.max(1, left / 1_000_000));
      }
      return true;
    }
  }

  /** Hashes written so far, and tables with changes waiting to be read. */
  public long[] counts() {
    synchronized (lock) {
      return new long[] {published, pending.size()};
    }
  }

  @Override
  public void close() {
    synchronized (lock) {
      if (stopping) {
        return;
      }
      stopping = true;
      lock.notifyAll();
    }
    try {
      worker.join(closeTimeout.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    worker.interrupt();
    try {
      worker.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    RedisConnection c = connection;
    if (c != null) {
      c.close();
    }
    allocator.close();
  }
}
