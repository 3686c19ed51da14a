package io.hyprstream.internal.recovery;

import io.hyprstream.api.HyprstreamException;
import io.hyprstream.internal.arrow.ArrowCopy;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Snapshot files of every aggregated table's window state, so a restart loads the state instead of
 * re-aggregating the history: files {@code snapshot-<seq>.hss} in one directory, the newest two
 * kept (a torn newest one falls back to the one before).
 *
 * <p>A file is {@code [magic][version][log position][table count]}, then per table {@code [name]
 * [log position][raw-table schema][state batch count][state batches]}, then (from version 2) {@code
 * [id table count]} and per table with client ingest ids {@code [name][log position][id count]
 * [ids]}, then a CRC32C of every byte before it. The schema and each state batch are Arrow IPC
 * streams (length-prefixed). The log position is that of {@link
 * io.hyprstream.internal.wal.WriteAheadLog#position()}: a table's state holds what every record of
 * it before its position built, and none after; the file's position is the lowest of them, so every
 * record before it is covered. A file is written to a temporary name, fsync'd and renamed, so a
 * crash leaves the previous files whole.
 *
 * <p>Not thread-safe: one writer (the {@code Snapshotter} or shutdown) at a time.
 */
public final class WindowSnapshots {
  private static final Logger LOG = LoggerFactory.getLogger(WindowSnapshots.class);
  private static final int MAGIC = 0x48535331; // "HSS1"
  private static final int VERSION = 2;

  /** The version before the ingest ids, still read (it has none). */
  private static final int VERSION_WITHOUT_IDS = 1;

  private static final String PREFIX = "snapshot-";
  private static final String SUFFIX = ".hss";
  private static final int KEEP = 2;

  /**
   * One table's part of a snapshot: its cached table's schema (null when it has none yet), the log
   * position its state covers, and the state batches {@code HeapWindowAggregator.exportState}
   * wrote. Whoever holds it closes it.
   */
  public record TableSnapshot(
      String table, @Nullable Schema rawSchema, long position, List<VectorSchemaRoot> state)
      implements AutoCloseable {
    @Override
    public void close() {
      state.forEach(VectorSchemaRoot::close);
    }
  }

  /**
   * One table's remembered client ingest ids, oldest first, as they stood at log position {@code
   * position}: the table's logged records from that position on bring the later ones.
   */
  public record TableIds(String table, long position, List<String> ids) {
    public TableIds {
      ids = List.copyOf(ids);
    }
  }

  /** A snapshot read back whole and checked. Closing it closes its tables' batches. */
  public record Loaded(
      Path file, long position, List<TableSnapshot> tables, List<TableIds> ingestIds)
      implements AutoCloseable {
    @Override
    public void close() {
      tables.forEach(TableSnapshot::close);
    }
  }

  private final Path dir;

  public WindowSnapshots(Path dir) {
    this.dir = dir;
  }

  public Path directory() {
    return dir;
  }

  /**
   * Writes a snapshot covering the log before {@code position} and deletes all but the newest
   * {@value #KEEP}. The caller keeps the tables' batches; {@code allocator} serves the schema-only
   * sections.
   *
   * @return the log position the kept snapshots cover together (the oldest one's): segments before
   *     it are no longer needed, even if the newest file were lost
   */
  public long write(
      long position,
      List<TableSnapshot> tables,
      List<TableIds> ingestIds,
      BufferAllocator allocator) {
    try {
      Files.createDirectories(dir);
      List<Path> existing = files();
      long seq = existing.isEmpty() ? 1 : seqOf(existing.get(existing.size() - 1)) + 1;
      Path target = dir.resolve(String.format("%s%020d%s", PREFIX, seq, SUFFIX));
      Path temp = dir.resolve(target.getFileName() + ".tmp");
      try (FileChannel channel =
          FileChannel.open(
              temp,
              StandardOpenOption.CREATE,
              StandardOpenOption.TRUNCATE_EXISTING,
              StandardOpenOption.WRITE)) {
        CRC32C crc = new CRC32C();
        DataOutputStream out =
            new DataOutputStream(
                new CheckedOutputStream(
                    new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16), crc));
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.writeLong(position);
        out.writeInt(tables.size());
        for (TableSnapshot t : tables) {
          writeText(out, t.table());
          out.writeLong(t.position());
          writeSection(out, t.rawSchema(), null, allocator);
          out.writeInt(t.state().size());
          for (VectorSchemaRoot root : t.state()) {
            writeSection(out, root.getSchema(), root, allocator);
          }
        }
        out.writeInt(ingestIds.size());
        for (TableIds t : ingestIds) {
          writeText(out, t.table());
          out.writeLong(t.position());
          out.writeInt(t.ids().size());
          for (String id : t.ids()) {
            writeText(out, id);
          }
        }
        out.flush();
        // The checksum is outside the checked stream: it covers every byte before it.
        DataOutputStream tail = new DataOutputStream(Channels.newOutputStream(channel));
        tail.writeLong(crc.getValue());
        tail.flush();
        channel.force(true);
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
      syncDirectory();
      List<Path> now = files();
      for (int i = 0; i < now.size() - KEEP; i++) {
        Files.deleteIfExists(now.get(i));
      }
      return coveredPosition();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write a window snapshot in " + dir, e);
    }
  }

  /**
   * The lowest log position among the kept snapshots' headers, or 0 when there are none: every
   * record from it on may be needed by a restart that falls back to the older snapshot.
   */
  public long coveredPosition() {
    long covered = Long.MAX_VALUE;
    List<Path> kept = files();
    for (Path f : kept) {
      try (DataInputStream in = new DataInputStream(Files.newInputStream(f))) {
        in.readInt();
        in.readInt();
        covered = Math.min(covered, in.readLong());
      } catch (IOException e) {
        // An unreadable header covers nothing; the other file's position stands.
      }
    }
    return kept.isEmpty() || covered == Long.MAX_VALUE ? 0 : covered;
  }

  /**
   * The newest snapshot whose checksum holds, or null when there is none. A torn or corrupt one is
   * logged at WARN with the file and the reason, renamed {@code *.corrupt} (kept to look at), and
   * the one before is tried.
   */
  public @Nullable Loaded loadLatest(BufferAllocator allocator) {
    deleteUnfinished();
    List<Path> all = files();
    for (int i = all.size() - 1; i >= 0; i--) {
      Path f = all.get(i);
      try {
        return read(f, allocator);
      } catch (IOException | RuntimeException e) {
        String reason = e instanceof EOFException ? "truncated" : String.valueOf(e.getMessage());
        LOG.warn(
            "window snapshot {} is unusable ({}); {}",
            f,
            reason,
            i > 0 ? "falling back to " + all.get(i - 1).getFileName() : "no older one is kept");
        try {
          Files.move(
              f,
              f.resolveSibling(f.getFileName() + ".corrupt"),
              StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException moveFailed) {
          LOG.warn("cannot set {} aside: {}", f, moveFailed.toString());
        }
      }
    }
    return null;
  }

  private static Loaded read(Path file, BufferAllocator allocator) throws IOException {
    long size = Files.size(file);
    if (size < 8 + 8 + 4 + 8) {
      throw new EOFException("truncated");
    }
    CRC32C crc = new CRC32C();
    List<TableSnapshot> tables = new ArrayList<>();
    try (InputStream raw = Files.newInputStream(file)) {
      // Everything but the trailing checksum goes through the CRC.
      DataInputStream in =
          new DataInputStream(
              new CheckedInputStream(
                  new BufferedInputStream(new BoundedInputStream(raw, size - 8), 1 << 16), crc));
      if (in.readInt() != MAGIC) {
        throw new HyprstreamException("not a Hyprstream window snapshot (bad magic)");
      }
      int version = in.readInt();
      if (version != VERSION && version != VERSION_WITHOUT_IDS) {
        throw new HyprstreamException("snapshot format version " + version + " is not known");
      }
      long position = in.readLong();
      int count = in.readInt();
      for (int t = 0; t < count; t++) {
        String table = readText(in);
        long tablePosition = in.readLong();
        Schema rawSchema;
        try (VectorSchemaRoot schemaOnly = readSection(in, allocator, false)) {
          rawSchema = schemaOnly == null ? null : schemaOnly.getSchema();
        }
        int states = in.readInt();
        List<VectorSchemaRoot> state = new ArrayList<>(states);
        tables.add(new TableSnapshot(table, rawSchema, tablePosition, state));
        for (int s = 0; s < states; s++) {
          state.add(java.util.Objects.requireNonNull(readSection(in, allocator, true)));
        }
      }
      List<TableIds> ingestIds = new ArrayList<>();
      if (version != VERSION_WITHOUT_IDS) {
        int idTables = in.readInt();
        for (int t = 0; t < idTables; t++) {
          String table = readText(in);
          long idsPosition = in.readLong();
          int n = in.readInt();
          if (n < 0) {
            throw new HyprstreamException("a negative ingest id count");
          }
          List<String> ids = new ArrayList<>(Math.min(n, 1 << 16));
          for (int i = 0; i < n; i++) {
            ids.add(readText(in));
          }
          ingestIds.add(new TableIds(table, idsPosition, ids));
        }
      }
      if (in.read() != -1) {
        throw new HyprstreamException("bytes after the last table");
      }
      long expected = new DataInputStream(raw).readLong();
      if (expected != crc.getValue()) {
        throw new HyprstreamException(
            "checksum mismatch: CRC32C "
                + Long.toHexString(crc.getValue())
                + " over the contents, "
                + Long.toHexString(expected)
                + " recorded");
      }
      return new Loaded(file, position, List.copyOf(tables), List.copyOf(ingestIds));
    } catch (IOException | RuntimeException e) {
      tables.forEach(TableSnapshot::close);
      throw e;
    }
  }

  /** Removes temporary files a crash left mid-write: never renamed, so never a snapshot. */
  private void deleteUnfinished() {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : s.filter(p -> p.getFileName().toString().endsWith(SUFFIX + ".tmp")).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      LOG.warn("cannot remove unfinished snapshots in {}: {}", dir, e.toString());
    }
  }

  /** Snapshot files, oldest first. */
  private List<Path> files() {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(
              p ->
                  p.getFileName().toString().startsWith(PREFIX)
                      && p.getFileName().toString().endsWith(SUFFIX))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list the snapshots in " + dir, e);
    }
  }

  private static long seqOf(Path file) {
    String name = file.getFileName().toString();
    return Long.parseLong(name.substring(PREFIX.length(), name.length() - SUFFIX.length()));
  }

  private void syncDirectory() {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException ignored) {
      // Some file systems cannot open directories; the file's own fsync still holds its data.
    }
  }

  private static void writeText(DataOutputStream out, String text) throws IOException {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    out.writeInt(bytes.length);
    out.write(bytes);
  }

  private static String readText(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > 1 << 16) {
      throw new HyprstreamException("a text of " + n + " bytes");
    }
    return new String(in.readNBytes(n), StandardCharsets.UTF_8);
  }

  /**
   * One length-prefixed Arrow IPC stream: {@code schema} and, when {@code root} is not null, its
   * one batch. A null schema is written as length 0.
   */
  private static void writeSection(
      DataOutputStream out,
      @Nullable Schema schema,
      @Nullable VectorSchemaRoot root,
      BufferAllocator allocator)
      throws IOException {
    if (schema == null) {
      out.writeLong(0);
      return;
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    if (root != null) {
      try (ArrowStreamWriter w = new ArrowStreamWriter(root, null, Channels.newChannel(bytes))) {
        w.start();
        w.writeBatch();
        w.end();
      }
    } else {
      try (VectorSchemaRoot empty = VectorSchemaRoot.create(schema, allocator);
          ArrowStreamWriter w = new ArrowStreamWriter(empty, null, Channels.newChannel(bytes))) {
        w.start();
        w.end();
      }
    }
    out.writeLong(bytes.size());
    bytes.writeTo(out);
  }

  /**
   * Reads one section back: null for an absent schema, else a root the caller owns (with its one
   * batch loaded when {@code withBatch}).
   */
  private static @Nullable VectorSchemaRoot readSection(
      DataInputStream in, BufferAllocator allocator, boolean withBatch) throws IOException {
    long length = in.readLong();
    if (length == 0) {
      return null;
    }
    if (length < 0 || length > Integer.MAX_VALUE - 16) {
      throw new HyprstreamException("a section of " + length + " bytes");
    }
    byte[] bytes = in.readNBytes((int) length);
    if (bytes.length != length) {
      throw new EOFException("truncated");
    }
    try (ArrowStreamReader reader =
        new ArrowStreamReader(new ByteArrayInputStream(bytes), allocator)) {
      if (withBatch && !reader.loadNextBatch()) {
        throw new HyprstreamException("a state section without its batch");
      }
      VectorSchemaRoot root = reader.getVectorSchemaRoot();
      // The reader closes its root: keep a root of our own over the same buffers.
      return ArrowCopy.share(root, allocator);
    }
  }

  /** Reads at most {@code limit} bytes of {@code in}, without closing it. */
  private static final class BoundedInputStream extends InputStream {
    private final InputStream in;
    private long left;

    BoundedInputStream(InputStream in, long limit) {
      this.in = in;
      this.left = limit;
    }

    @Override
    public int read() throws IOException {
      if (left <= 0) {
        return -1;
      }
      int b = in.read();
      if (b >= 0) {
        left--;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (left <= 0) {
        return -1;
      }
      int n = in.read(b, off, (int) Math.min(len, left));
      if (n > 0) {
        left -= n;
      }
      return n;
    }

    @Override
    public void close() {
      // The caller closes the underlying stream.
    }
  }
}
