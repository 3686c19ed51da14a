package io.hyprstream.writethrough;

import io.hyprstream.api.HyprstreamException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.jspecify.annotations.Nullable;

/**
 * Batches the backend refused as bad data, kept on disk so they neither block the batches behind
 * them nor get lost: {@code <dir>/<table>/<batch-id>.arrow} (an Arrow IPC file) beside {@code
 * <batch-id>.error} (the backend's words). Each file is written to a temporary name, fsync'd and
 * renamed, so a listed batch is always whole.
 *
 * <p>Thread-safe.
 */
public final class Quarantine {
  private static final String DATA = ".arrow";
  private static final String ERROR = ".error";

  /** One quarantined batch. */
  public record Entry(String table, String batchId, long rows, String error, Instant when) {}

  private final Path dir;
  // Guarded by this; what the directory holds, read once at start so status reads touch no disk.
  private final java.util.LinkedHashMap<String, Entry> entries = new java.util.LinkedHashMap<>();

  /** Opens the quarantine in {@code dir} (created when missing), listing what it holds. */
  public Quarantine(Path dir) {
    this.dir = dir;
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new HyprstreamException("cannot create the quarantine directory " + dir + ": " + e, e);
    }
    for (Entry e : scan()) {
      entries.put(e.batchId(), e);
    }
  }

  /** The directory batches are kept in. */
  public Path directory() {
    return dir;
  }

  /**
   * Writes {@code batch} durably; returns once it and its error are on disk. Caller keeps batch.
   */
  public synchronized void put(String table, String batchId, VectorSchemaRoot batch, String error) {
    Path tableDir = dir.resolve(encode(table));
    try {
      Files.createDirectories(tableDir);
      Path errorFile = tableDir.resolve(batchId + ERROR);
      writeDurably(errorFile, error.getBytes(StandardCharsets.UTF_8));
      Path tmp = tableDir.resolve(batchId + DATA + ".tmp");
      try (FileChannel ch =
          FileChannel.open(
              tmp,
              StandardOpenOption.CREATE,
              StandardOpenOption.TRUNCATE_EXISTING,
              StandardOpenOption.WRITE)) {
        // Not closed before the fsync: closing the writer closes the channel.
        ArrowFileWriter w = new ArrowFileWriter(batch, null, ch);
        try {
          w.start();
          w.writeBatch();
          w.end();
          ch.force(true);
        } finally {
          w.close();
        }
      }
      Path data = tableDir.resolve(batchId + DATA);
      Files.move(tmp, data, StandardCopyOption.ATOMIC_MOVE);
      syncDirectory(tableDir);
      syncDirectory(dir);
      entries.put(
          batchId,
          new Entry(
              table,
              batchId,
              batch.getRowCount(),
              error,
              Files.getLastModifiedTime(data).toInstant()));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot quarantine batch " + batchId + " in " + tableDir, e);
    }
  }

  /** Every quarantined batch, oldest first. */
  public synchronized List<Entry> list() {
    return List.copyOf(entries.values());
  }

  private List<Entry> scan() {
    List<Entry> out = new ArrayList<>();
    try (Stream<Path> tables = Files.list(dir)) {
      for (Path t : tables.filter(Files::isDirectory).toList()) {
        try (Stream<Path> files = Files.list(t)) {
          for (Path f : files.filter(p -> p.toString().endsWith(DATA)).toList()) {
            out.add(entry(t, f));
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list the quarantine in " + dir, e);
    }
    out.sort(Comparator.comparing(Entry::when).thenComparing(Entry::batchId));
    return out;
  }

  private static Entry entry(Path tableDir, Path data) throws IOException {
    String name = data.getFileName().toString();
    String batchId = name.substring(0, name.length() - DATA.length());
    Path errorFile = tableDir.resolve(batchId + ERROR);
    String error =
        Files.exists(errorFile) ? Files.readString(errorFile, StandardCharsets.UTF_8) : "";
    long rows = 0;
    try (FileChannel ch = FileChannel.open(data, StandardOpenOption.READ);
        org.apache.arrow.memory.RootAllocator a = new org.apache.arrow.memory.RootAllocator();
        ArrowFileReader r = new ArrowFileReader(ch, a)) {
      // The footer's blocks carry each batch's row count only once loaded; batches are small.
      while (r.loadNextBatch()) {
        rows += r.getVectorSchemaRoot().getRowCount();
      }
    }
    return new Entry(
        URLDecoder.decode(tableDir.getFileName().toString(), StandardCharsets.UTF_8),
        batchId,
        rows,
        error,
        Files.getLastModifiedTime(data).toInstant());
  }

  /** The quarantined batch {@code batchId}, or null when there is none; the caller owns it. */
  public synchronized @Nullable Loaded read(String batchId, BufferAllocator allocator) {
    Entry e = entries.get(batchId);
    return e == null ? null : new Loaded(e, load(dataFile(e), allocator));
  }

  /** A quarantined batch read back; whoever takes it owns {@code batch}. */
  public record Loaded(Entry entry, VectorSchemaRoot batch) {}

  private static VectorSchemaRoot load(Path data, BufferAllocator allocator) {
    try (FileChannel ch = FileChannel.open(data, StandardOpenOption.READ);
        ArrowFileReader r = new ArrowFileReader(ch, allocator)) {
      VectorSchemaRoot out =
          VectorSchemaRoot.create(r.getVectorSchemaRoot().getSchema(), allocator);
      try {
        out.allocateNew();
        int at = 0;
        while (r.loadNextBatch()) {
          VectorSchemaRoot in = r.getVectorSchemaRoot();
          for (int c = 0; c < in.getFieldVectors().size(); c++) {
            var to = out.getVector(c);
            var from = in.getVector(c);
            for (int i = 0; i < in.getRowCount(); i++) {
              to.copyFromSafe(i, at + i, from);
            }
          }
          at += in.getRowCount();
        }
        out.setRowCount(at);
        return out;
      } catch (RuntimeException e) {
        out.close();
        throw e;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the quarantined batch " + data, e);
    }
  }

  /** Removes a batch once it is safely elsewhere (back in the log). */
  public synchronized void remove(Entry e) {
    Path data = dataFile(e);
    try {
      Files.deleteIfExists(data);
      Files.deleteIfExists(data.resolveSibling(e.batchId() + ERROR));
      syncDirectory(data.getParent());
      entries.remove(e.batchId());
    } catch (IOException ex) {
      throw new UncheckedIOException("cannot remove " + data, ex);
    }
  }

  private Path dataFile(Entry e) {
    return dir.resolve(encode(e.table())).resolve(e.batchId() + DATA);
  }

  /** A table name as one safe path segment (any character, no separators, no dot-dot). */
  private static String encode(String table) {
    return URLEncoder.encode(table, StandardCharsets.UTF_8).replace(".", "%2E").replace("*", "%2A");
  }

  private static void writeDurably(Path file, byte[] bytes) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (FileChannel ch =
        FileChannel.open(
            tmp,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(bytes));
      ch.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
  }

  private static void syncDirectory(@Nullable Path d) {
    if (d == null) {
      return;
    }
    try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException ignored) {
      // Some file systems cannot open directories; each file's own fsync still holds its data.
    }
  }
}
