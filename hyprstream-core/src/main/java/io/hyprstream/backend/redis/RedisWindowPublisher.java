package io.hyprstream.backend.redis;

import io.hyprstream.api.AggregationSpec;
import io.hyprstream.api.WindowAggregator;
import io.hyprstream.api.WindowListener;
import io.hyprstream.api.WindowSpec;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScriptOutputType;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
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
 * <p>The ingesting thread only reads the changed keys' windows ({@link #windowsChanged}) and hands
 * them over; a thread of its own writes them, pipelined, one Lua script per hash (delete, write,
 * expire: readers never see half a hash). While Redis is away ingest goes on: pending hashes are
 * kept per key, newest state only, and written once it is back. Per key, a state is never written
 * after a newer one: states of a key are replaced in place while pending, and sent in order on one
 * connection.
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
  // Guarded by lock: the newest state of each hash not yet written, in first-change order.
  private final LinkedHashMap<String, byte[][]> pending = new LinkedHashMap<>();
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

  @Override
  public void windowsChanged(
      AggregationSpec spec, WindowAggregator windows, List<VectorSchemaRoot> batches, Instant now) {
    try {
      Set<List<@Nullable Object>> keys = new LinkedHashSet<>();
      for (VectorSchemaRoot b : batches) {
        List<FieldVector> columns = new ArrayList<>();
        for (String k : spec.keyColumns()) {
          columns.add(b.getVector(k));
        }
        for (int r = 0; r < b.getRowCount(); r++) {
          List<@Nullable Object> key = new ArrayList<>(columns.size());
          for (FieldVector c : columns) {
            Object o = c.getObject(r);
            key.add(o instanceof Text ? o.toString() : o);
          }
          keys.add(key);
        }
      }
      Map<String, byte[][]> states = new LinkedHashMap<>();
      for (WindowSpec w : spec.windows()) {
        String view = spec.viewName(w);
        for (List<@Nullable Object> key : keys) {
          try (VectorSchemaRoot rows =
              windows.lookup(
                  w, key, Long.MIN_VALUE, Long.MAX_VALUE, true, closedWindows + 1, allocator)) {
            if (rows.getRowCount() > 0) {
              states.put(hashKey(view, key), arguments(rows, w));
            }
          }
        }
      }
      synchronized (lock) {
        pending.putAll(states);
        lock.notifyAll();
      }
    } catch (RuntimeException e) {
      LOG.error("cannot read the windows of '{}' to publish them: {}", spec.table(), e.toString());
    }
  }

  private String hashKey(String view, List<@Nullable Object> key) {
    StringBuilder sb = new StringBuilder(keyPrefix).append("window:").append(view);
    for (Object k : key) {
      sb.append(':').append(k == null ? "" : k.toString());
    }
    return sb.toString();
  }

  /** The script's arguments for the view rows of one key, newest first. */
  private static byte[][] arguments(VectorSchemaRoot rows, WindowSpec window) {
    List<byte[]> args = new ArrayList<>();
    FieldVector end = rows.getVector("window_end");
    long endMicros = ((org.apache.arrow.vector.TimeStampVector) end).get(0);
    long expireAt = Math.floorDiv(endMicros, 1000L) + window.retention().toMillis();
    args.add(RedisRowCodec.ascii(Long.toString(expireAt)));
    for (int r = 0; r < rows.getRowCount(); r++) {
      String suffix = r == 0 ? "" : "@" + r;
      for (FieldVector v : rows.getFieldVectors()) {
        byte[] value = RedisRowCodec.encode(v, r);
        if (value != null) {
          args.add((v.getName() + suffix).getBytes(StandardCharsets.UTF_8));
          args.add(value);
        }
      }
    }
    args.add(RedisRowCodec.ascii("windows"));
    args.add(RedisRowCodec.ascii(Integer.toString(rows.getRowCount())));
    return args.toArray(new byte[0][]);
  }

  private void run() {
    long backoff = MIN_BACKOFF_MS;
    boolean failing = false;
    while (true) {
      List<Map.Entry<String, byte[][]>> group = new ArrayList<>();
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
        Iterator<Map.Entry<String, byte[][]>> it = pending.entrySet().iterator();
        while (it.hasNext() && group.size() < SEND_AT_ONCE) {
          Map.Entry<String, byte[][]> e = it.next();
          group.add(Map.entry(e.getKey(), e.getValue()));
          it.remove();
        }
        sending = true;
      }
      try {
        send(group);
        if (failing) {
          LOG.info("event=publish_resumed publishing windows to Redis again");
          failing = false;
        }
        backoff = MIN_BACKOFF_MS;
      } catch (RuntimeException e) {
        synchronized (lock) {
          // A newer state of a key that came meanwhile wins over the one that failed.
          for (Map.Entry<String, byte[][]> g : group) {
            pending.putIfAbsent(g.getKey(), g.getValue());
          }
          sending = false;
          lock.notifyAll();
          if (stopping) {
            LOG.warn(
                "event=publish_abandoned {} window hashes not published at shutdown: {}",
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

  private void send(List<Map.Entry<String, byte[][]>> group) {
    RedisConnection c = connection;
    if (c == null) {
      c = connect.get();
      connection = c;
    }
    List<RedisFuture<Long>> replies = new ArrayList<>(group.size());
    for (Map.Entry<String, byte[][]> g : group) {
      replies.add(
          c.async()
              .eval(
                  REPLACE_SCRIPT,
                  ScriptOutputType.INTEGER,
                  new String[] {g.getKey()},
                  g.getValue()));
    }
    for (RedisFuture<Long> r : replies) {
      c.await(r, "publish a window hash");
    }
    synchronized (lock) {
      published += group.size();
      sending = false;
      lock.notifyAll();
    }
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

  /** Hashes written so far, and hashes waiting to be. */
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
