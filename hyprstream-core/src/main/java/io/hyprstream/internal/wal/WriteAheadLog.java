package io.hyprstream.internal.wal;

import io.hyprstream.api.HyprstreamException;
import io.hyprstream.api.ResourceExhaustedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;

/**
 * An append-only log of batches in segment files under one directory.
 *
 * <p>A record is {@code [magic][header length][header][payload length][payload][CRC32C]}: the
 * header names the table and the batch id, the payload is the batch as an Arrow IPC stream. {@link
 * #append} returns once its records are fsync'd; concurrent appenders share one fsync (group
 * commit). After a crash, {@link #open} reads every record back (a torn last record, never
 * acknowledged, is dropped) so the caller can re-send them; backends make re-sends idempotent by
 * batch id.
 *
 * <p>Each record has a {@linkplain #position() position}: its segment's sequence number in the high
 * 32 bits and its index within the segment in the low 32, so positions grow with every append,
 * across restarts too. A snapshot of the state the records built names the position it covers
 * ({@link #coveredBefore}), and a segment is deleted only once every batch in it is {@link
 * #committed} to the backend <em>and</em> all of its records lie before that position: a restart
 * loads the snapshot and replays the records after it.
 *
 * <p>Thread-safe.
 */
public final class WriteAheadLog implements AutoCloseable {
  private static final String PREFIX = "segment-";
  private static final String SUFFIX = ".wal";

  /** A logged batch read back by {@link #open}. */
  public static final class Record {
    public final String table;
    public final String batchId;

    /** Where the record lies in the log; see {@link WriteAheadLog#position()}. */
    public final long position;

    /**
     * True for a batch logged again to be re-sent ({@link #appendResend}): its rows were counted
     * when it was first ingested, so a replay must not count them again.
     */
    public final boolean resend;

    /**
     * The client's id of the ingest the batch came from, or null when it had none: a restart
     * remembers it again, so a retry after the restart is still known as a repeat.
     */
    public final @Nullable String ingestId;

    /** The batch; owned by whoever takes the record from {@link #recovered()}. */
    public final VectorSchemaRoot batch;

    Record(
        String table,
        String batchId,
        long position,
        boolean resend,
        @Nullable String ingestId,
        VectorSchemaRoot batch) {
      this.table = table;
      this.batchId = batchId;
      this.position = position;
      this.resend = resend;
      this.ingestId = ingestId;
      this.batch = batch;
    }
  }

  private final Path dir;
  private final long maxBytes;
  private final long segmentBytes;
  private final Object writeLock = new Object();
  private final Object syncLock = new Object();
  // Guarded by writeLock.
  private final TreeMap<Long, Segment> segments = new TreeMap<>();
  private final Map<String, Segment> segmentOfBatch = new HashMap<>();
  private final Map<String, Span> spanOfBatch = new HashMap<>();
  private @Nullable FileChannel current;
  private long currentSeq;
  private long written; // bytes appended to `current`
  private long coveredBefore = Long.MAX_VALUE; // no snapshots: a committed segment may go at once
  private long totalBytes;
  // Guarded by syncLock.
  private long synced;
  private final List<Record> recovered;
  private boolean closed;

  private static final class Segment {
    final long seq;
    final Path path;
    long bytes;
    int open; // batches not yet committed
    int records; // records appended, so the next one's index

    Segment(long seq, Path path) {
      this.seq = seq;
      this.path = path;
    }
  }

  /** Where a batch's record lies: its segment, the record's first byte and its length. */
  private record Span(Segment segment, long offset, int length) {}

  private WriteAheadLog(Path dir, long maxBytes, long segmentBytes, List<Record> recovered) {
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.segmentBytes = segmentBytes;
    this.recovered = recovered;
  }

  /**
   * Opens the log in {@code dir} (created when missing), reading back every record left by a
   * previous run; take them with {@link #recovered()}. Appends are refused once the log holds
   * {@code maxBytes}.
   */
  public static WriteAheadLog open(
      Path dir, long maxBytes, long segmentBytes, BufferAllocator allocator) {
    try {
      Files.createDirectories(dir);
      List<Record> recovered = new ArrayList<>();
      WriteAheadLog log = new WriteAheadLog(dir, maxBytes, segmentBytes, recovered);
      List<Path> files;
      try (Stream<Path> s = Files.list(dir)) {
        files =
            s.filter(p -> p.getFileName().toString().startsWith(PREFIX))
                .filter(p -> p.getFileName().toString().endsWith(SUFFIX))
                .sorted()
                .toList();
      }
      for (Path f : files) {
        String name = f.getFileName().toString();
        long seq = Long.parseLong(name.substring(PREFIX.length(), name.length() - SUFFIX.length()));
        Segment seg = new Segment(seq, f);
        seg.bytes = Files.size(f);
        List<Record> records = new ArrayList<>();
        WalRecords.readSegment(
            f,
            seq,
            allocator,
            (r, offset, length) -> {
              records.add(r);
              Segment earlier = log.segmentOfBatch.put(r.batchId, seg);
              if (earlier != null) {
                earlier.open--; // logged again (a requeue): the one commit now counts for the newer
              }
              log.spanOfBatch.put(r.batchId, new Span(seg, offset, length));
              seg.open++;
            });
        // A torn tail is cut by the next start's roll: new records go to a new segment, so the
        // indexes counted here stay the indexes of the records a later open reads back.
        seg.records = records.size();
        recovered.addAll(records);
        log.segments.put(seq, seg);
        log.totalBytes += seg.bytes;
        log.currentSeq = Math.max(log.currentSeq, seq);
        if (seg.open == 0) {
          log.deleteSegment(seg);
        }
      }
      return log;
    } catch (IOException e) {
      throw new HyprstreamException("cannot open the write-ahead log in " + dir + ": " + e, e);
    }
  }

  /** The records a previous run left behind, oldest first; the caller owns their batches. */
  public List<Record> recovered() {
    List<Record> out = List.copyOf(recovered);
    recovered.clear();
    return out;
  }

  /**
   * The position the next appended record takes: every record appended before this call lies before
   * it, every record appended after at or after it.
   */
  public long position() {
    synchronized (writeLock) {
      if (current == null) {
        return (currentSeq + 1) << 32; // the first append rolls to a new segment
      }
      return (currentSeq << 32) | requireSegment(currentSeq).records;
    }
  }

  /**
   * Records that a snapshot holds what every record before {@code position} built, so a segment
   * whose records all lie before it may be deleted once its batches are committed. Until the first
   * call, committed segments are deleted at once (no snapshots are taken). Also makes later
   * positions lie after {@code position}, even when the log was emptied since.
   */
  public void coveredBefore(long position) {
    synchronized (writeLock) {
      coveredBefore = position;
      if (current == null) {
        currentSeq = Math.max(currentSeq, position >>> 32);
      }
      for (Segment seg : List.copyOf(segments.values())) {
        if (seg.open == 0 && seg.seq != currentSeq && isCovered(seg)) {
          deleteSegment(seg);
        }
      }
    }
  }

  private boolean isCovered(Segment seg) {
    return ((seg.seq << 32) | seg.records) <= coveredBefore;
  }

  private Segment requireSegment(long seq) {
    return java.util.Objects.requireNonNull(segments.get(seq));
  }

  /** Bytes the log holds on disk. */
  public long sizeBytes() {
    synchronized (writeLock) {
      return totalBytes;
    }
  }

  /** Batches logged and not yet committed. */
  public int pendingBatches() {
    synchronized (writeLock) {
      return segmentOfBatch.size();
    }
  }

  /**
   * Checks, before any state changes, that about {@code bytes} more fit under the size bound.
   *
   * @throws ResourceExhaustedException when they do not
   */
  public void requireRoom(long bytes) {
    synchronized (writeLock) {
      if (totalBytes + bytes > maxBytes && !(reclaimCurrent() && totalBytes + bytes <= maxBytes)) {
        throw full();
      }
    }
  }

  /**
   * Deletes the segment being written when every batch in it is committed, so a full log whose
   * backlog has drained takes appends again (a segment is otherwise freed only once it is no longer
   * the one written). Called holding {@link #writeLock}; true when it freed anything.
   */
  private boolean reclaimCurrent() {
    Segment seg = segments.get(currentSeq);
    if (current == null || seg == null || seg.open > 0 || !isCovered(seg)) {
      return false;
    }
    try {
      // Its records were fsync'd before being committed; the next append rolls a new segment.
      current.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot close " + seg.path, e);
    }
    current = null;
    deleteSegment(seg);
    return true;
  }

  private ResourceExhaustedException full() {
    return new ResourceExhaustedException(
        "the write-ahead log in "
            + dir
            + " holds "
            + totalBytes
            + " bytes, at its bound of "
            + maxBytes
            + " bytes (builder option walMaxBytes, server key engine.max_log_bytes): the backend"
            + " has not taken the logged batches yet; ingest resumes as it drains");
  }

  /**
   * Appends one batch and returns once it is on disk. The caller keeps {@code batch}.
   *
   * @param ingestId the client's id of the ingest the batch came from, or null
   * @throws ResourceExhaustedException when the log is at its size bound
   */
  public void append(
      String table, String batchId, @Nullable String ingestId, VectorSchemaRoot batch) {
    append(table, batchId, false, ingestId, batch);
  }

  /**
   * Appends a batch that was ingested before and is logged again only to be re-sent (a quarantined
   * batch requeued): a replay of the log must not count its rows a second time. The caller keeps
   * {@code batch}.
   *
   * @throws ResourceExhaustedException when the log is at its size bound
   */
  public void appendResend(String table, String batchId, VectorSchemaRoot batch) {
    append(table, batchId, true, null, batch);
  }

  private void append(
      String table,
      String batchId,
      boolean resend,
      @Nullable String ingestId,
      VectorSchemaRoot batch) {
    WalRecords.Encoded record = WalRecords.encode(table, batchId, resend, ingestId, batch);
    int length = record.length();
    long end;
    FileChannel channel;
    synchronized (writeLock) {
      if (closed) {
        throw new IllegalStateException("the write-ahead log is closed");
      }
      if (totalBytes + length > maxBytes
          && !(reclaimCurrent() && totalBytes + length <= maxBytes)) {
        throw full();
      }
      try {
        if (current == null || written + length > segmentBytes && written > 0) {
          roll();
        }
        channel = java.util.Objects.requireNonNull(current);
        record.writeTo(channel);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write the write-ahead log in " + dir, e);
      }
      written += length;
      totalBytes += length;
      Segment seg = java.util.Objects.requireNonNull(segments.get(currentSeq));
      spanOfBatch.put(batchId, new Span(seg, seg.bytes, length));
      seg.bytes += length;
      seg.open++;
      seg.records++;
      segmentOfBatch.put(batchId, seg);
      end = (currentSeq << 40) | written;
    }
    sync(channel, end);
  }

  /** Fsyncs up to {@code end}; one fsync serves every append that finished before it started. */
  private void sync(FileChannel channel, long end) {
    synchronized (syncLock) {
      if (synced >= end) {
        return;
      }
      long target;
      synchronized (writeLock) {
        target = (currentSeq << 40) | written;
      }
      try {
        channel.force(false);
      } catch (java.nio.channels.ClosedChannelException e) {
        // The segment was rolled after our write; roll() fsyncs a segment before closing it.
      } catch (IOException e) {
        throw new UncheckedIOException("cannot fsync the write-ahead log in " + dir, e);
      }
      synced = Math.max(synced, target);
    }
  }

  private void roll() throws IOException {
    if (current != null) {
      current.force(false);
      current.close();
    }
    currentSeq++;
    Path path = dir.resolve(String.format("%s%020d%s", PREFIX, currentSeq, SUFFIX));
    current = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    segments.put(currentSeq, new Segment(currentSeq, path));
    written = 0;
    // Make the new file's directory entry durable too.
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException ignored) {
      // Some file systems cannot open directories; the segment's own fsync still holds its data.
    }
  }

  /**
   * Reads logged batch {@code batchId} back from disk, for a caller that released it from memory
   * (write-through spills its backlog past a memory bound and sends each batch when its turn
   * comes). The record's checksum is checked again.
   *
   * @return the batch, owned by the caller
   * @throws IllegalStateException when the batch is not in the log (never logged, or committed)
   * @throws UncheckedIOException when its record cannot be read or fails its checksum
   */
  public VectorSchemaRoot read(String batchId, BufferAllocator allocator) {
    Span span;
    synchronized (writeLock) {
      span = spanOfBatch.get(batchId);
    }
    if (span == null) {
      throw new IllegalStateException("batch " + batchId + " is not in the write-ahead log");
    }
    // Appended records are never rewritten and a segment outlives its uncommitted batches, so the
    // span can be read without the lock; a separate channel leaves the appender's position alone.
    ByteBuffer record = ByteBuffer.allocate(span.length());
    try (FileChannel in = FileChannel.open(span.segment().path, StandardOpenOption.READ)) {
      while (record.hasRemaining()) {
        if (in.read(record, span.offset() + record.position()) < 0) {
          break;
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot read batch " + batchId + " back from " + span.segment().path, e);
    }
    record.flip();
    List<Record> found = new ArrayList<>(1);
    try {
      WalRecords.decodeRecords(
          record.array(),
          record.limit(),
          span.segment().seq,
          allocator,
          (r, offset, length) -> found.add(r));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot decode batch " + batchId, e);
    }
    if (found.size() != 1 || !found.get(0).batchId.equals(batchId)) {
      found.forEach(r -> r.batch.close());
      throw new UncheckedIOException(
          new IOException(
              "the record of batch "
                  + batchId
                  + " in "
                  + span.segment().path
                  + " at byte "
                  + span.offset()
                  + " is damaged"));
    }
    return found.get(0).batch;
  }

  /** Records that the backend has committed {@code batchId}; frees its segment when it was last. */
  public void committed(String batchId) {
    synchronized (writeLock) {
      Segment seg = segmentOfBatch.remove(batchId);
      spanOfBatch.remove(batchId);
      if (seg == null) {
        return;
      }
      seg.open--;
      if (seg.open == 0 && seg.seq != currentSeq && isCovered(seg)) {
        deleteSegment(seg);
      }
    }
  }

  private void deleteSegment(Segment seg) {
    try {
      Files.deleteIfExists(seg.path);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + seg.path, e);
    }
    segments.remove(seg.seq);
    totalBytes -= seg.bytes;
  }

  @Override
  public void close() {
    synchronized (writeLock) {
      if (closed) {
        return;
      }
      closed = true;
      try {
        if (current != null) {
          current.force(false);
          current.close();
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot close the write-ahead log in " + dir, e);
      }
      Segment last = segments.get(currentSeq);
      if (last != null && last.open == 0 && isCovered(last)) {
        deleteSegment(last);
      }
    }
    recovered.forEach(r -> r.batch.close());
    recovered.clear();
  }
}
