package io.hyprstream.internal.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.ResourceExhaustedException;
import io.hyprstream.testing.TestAllocator;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

final class WriteAheadLogTest {
  private static final Schema SCHEMA =
      new Schema(List.of(Field.nullable("n", new ArrowType.Int(64, true))));

  @TempDir Path dir;
  @RegisterExtension final TestAllocator allocator = new TestAllocator();

  private VectorSchemaRoot batch(long first, int rows) {
    VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator);
    root.allocateNew();
    for (int i = 0; i < rows; i++) {
      ((BigIntVector) root.getVector(0)).setSafe(i, first + i);
    }
    root.setRowCount(rows);
    return root;
  }

  private long segments() throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.count();
    }
  }

  @Test
  void open_afterCrash_recoversEveryUncommittedBatchInOrder() throws Exception {
    WriteAheadLog log = WriteAheadLog.open(dir, 1 << 30, 4096, allocator);
    for (int i = 0; i < 20; i++) {
      try (VectorSchemaRoot b = batch(i * 100L, 100)) {
        log.append("t" + (i % 2), "b" + i, null, b);
      }
    }
    log.committed("b0");
    log.committed("b1");
    // No close: what a kill -9 leaves behind.
    try (WriteAheadLog reopened = WriteAheadLog.open(dir, 1 << 30, 4096, allocator)) {
      List<WriteAheadLog.Record> records = reopened.recovered();
      assertTrue(records.size() >= 18, "every uncommitted batch comes back: " + records.size());
      WriteAheadLog.Record last = records.get(records.size() - 1);
      assertEquals("b19", last.batchId);
      assertEquals("t1", last.table);
      assertEquals(100, last.batch.getRowCount());
      assertEquals(1900L, ((BigIntVector) last.batch.getVector(0)).get(0));
      for (WriteAheadLog.Record r : records) {
        r.batch.close();
      }
    }
  }

  @Test
  void committed_everyBatch_deletesTheirSegments() throws Exception {
    try (WriteAheadLog log = WriteAheadLog.open(dir, 1 << 30, 2048, allocator)) {
      for (int i = 0; i < 10; i++) {
        try (VectorSchemaRoot b = batch(i, 50)) {
          log.append("t", "b" + i, null, b);
        }
      }
      assertTrue(segments() > 2, "small segments roll");
      for (int i = 0; i < 10; i++) {
        log.committed("b" + i);
      }
      assertEquals(0, log.pendingBatches());
      assertTrue(segments() <= 1, "only the open segment may remain");
    }
    assertEquals(0, segments(), "a clean close with nothing pending leaves no segment");
  }

  @Test
  void open_tornLastRecord_isDropped() throws Exception {
    WriteAheadLog log = WriteAheadLog.open(dir, 1 << 30, 1 << 20, allocator);
    for (int i = 0; i < 3; i++) {
      try (VectorSchemaRoot b = batch(i, 10)) {
        log.append("t", "b" + i, null, b);
      }
    }
    Path segment;
    try (Stream<Path> s = Files.list(dir)) {
      segment = s.findFirst().orElseThrow();
    }
    try (var ch = java.nio.channels.FileChannel.open(segment, StandardOpenOption.WRITE)) {
      ch.truncate(Files.size(segment) - 5); // the last record's write was cut short
    }
    try (WriteAheadLog reopened = WriteAheadLog.open(dir, 1 << 30, 1 << 20, allocator)) {
      List<WriteAheadLog.Record> records = reopened.recovered();
      assertEquals(List.of("b0", "b1"), records.stream().map(r -> r.batchId).toList());
      records.forEach(r -> r.batch.close());
    }
    log.close();
  }

  /**
   * The payload is written from the batch's own buffers (not a copy): what comes back after a
   * reopen equals what was appended, nulls and text included, and the CRC covers those bytes.
   */
  @Test
  void append_writtenFromTheBatchBuffers_readsBackEqual_andACorruptPayloadByteIsCaught()
      throws Exception {
    Schema mixed =
        new Schema(
            List.of(
                Field.nullable("n", new ArrowType.Int(64, true)),
                Field.nullable("s", ArrowType.Utf8.INSTANCE),
                Field.nullable("x", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));
    List<List<Object>> appended = new ArrayList<>();
    try (WriteAheadLog log = WriteAheadLog.open(dir, 1 << 30, 1 << 20, allocator)) {
      for (int b = 0; b < 3; b++) {
        try (VectorSchemaRoot root = VectorSchemaRoot.create(mixed, allocator)) {
          root.allocateNew();
          for (int i = 0; i < 1000; i++) {
            if (i % 7 == 3) {
              ((BigIntVector) root.getVector(0)).setNull(i);
              ((VarCharVector) root.getVector(1)).setNull(i);
            } else {
              ((BigIntVector) root.getVector(0)).setSafe(i, b * 1000L + i);
              ((VarCharVector) root.getVector(1))
                  .setSafe(i, ("é" + "x".repeat(i % 5) + b).getBytes(StandardCharsets.UTF_8));
            }
            ((Float8Vector) root.getVector(2)).setSafe(i, i * 0.5 + b);
          }
          root.setRowCount(1000);
          log.append("t", "b" + b, null, root);
          appended.add(rows(root));
        } // released at once: the record was written before append returned
      }
    }
    try (WriteAheadLog reopened = WriteAheadLog.open(dir, 1 << 30, 1 << 20, allocator)) {
      List<WriteAheadLog.Record> records = reopened.recovered();
      assertEquals(3, records.size());
      for (int b = 0; b < 3; b++) {
        assertEquals(appended.get(b), rows(records.get(b).batch));
      }
      records.forEach(r -> r.batch.close());
    }
    Path segment;
    try (Stream<Path> s = Files.list(dir)) {
      segment = s.findFirst().orElseThrow();
    }
    try (var ch = java.nio.channels.FileChannel.open(segment, StandardOpenOption.WRITE)) {
      long at = Files.size(segment) - 40; // inside the last record's payload
      ch.write(java.nio.ByteBuffer.wrap(new byte[] {0x5a}), at);
    }
    try (WriteAheadLog reopened = WriteAheadLog.open(dir, 1 << 30, 1 << 20, allocator)) {
      List<WriteAheadLog.Record> records = reopened.recovered();
      assertEquals(List.of("b0", "b1"), records.stream().map(r -> r.batchId).toList());
      records.forEach(r -> r.batch.close());
    }
  }

  private static List<Object> rows(VectorSchemaRoot root) {
    List<Object> out = new ArrayList<>();
    for (int i = 0; i < root.getRowCount(); i++) {
      for (var v : root.getFieldVectors()) {
        Object o = v.getObject(i);
        out.add(o == null ? "null" : o.toString());
      }
    }
    return out;
  }

  @Test
  void append_pastTheSizeBound_isRefusedWithReason() {
    try (WriteAheadLog log = WriteAheadLog.open(dir, 3000, 1 << 20, allocator);
        VectorSchemaRoot b = batch(0, 100)) {
      log.append("t", "b0", null, b);
      ResourceExhaustedException e =
          assertThrows(
              ResourceExhaustedException.class,
              () -> {
                for (int i = 1; i < 10; i++) {
                  log.append("t", "b" + i, null, b);
                }
              });
      assertTrue(e.getMessage().contains("write-ahead log"), e.getMessage());
      log.committed("b0");
      log.committed("b1");
    }
  }

  @Test
  void committedSegment_isKeptUntilASnapshotCoversIt_thenDeleted() throws Exception {
    try (WriteAheadLog log = WriteAheadLog.open(dir, 1 << 30, 4096, allocator)) {
      log.coveredBefore(0); // snapshots are taken: nothing is covered yet
      long first = log.position();
      for (int b = 0; b < 6; b++) {
        try (VectorSchemaRoot root = batch(b * 1000L, 600)) {
          log.append("t", "b" + b, null, root); // ~5 KiB each: one segment per batch
        }
      }
      long afterAll = log.position();
      long segmentsWritten = segments();
      assertTrue(segmentsWritten >= 3, "small segments roll: " + segmentsWritten);
      for (int b = 0; b < 6; b++) {
        log.committed("b" + b);
      }
      assertEquals(segmentsWritten, segments(), "committed but not covered: every segment stays");
      log.coveredBefore(first);
      assertEquals(segmentsWritten, segments(), "a snapshot before the first record covers none");
      log.coveredBefore(afterAll);
      assertEquals(1, segments(), "covered and committed: only the segment being written stays");
    }
  }

  @Test
  void read_givesEachUncommittedBatchBackByItsId_beforeAndAfterReopen() throws Exception {
    try (WriteAheadLog log = WriteAheadLog.open(dir, 1 << 30, 4096, allocator)) {
      for (int i = 0; i < 20; i++) {
        try (VectorSchemaRoot b = batch(i * 100L, 100)) {
          log.append("t", "b" + i, null, b); // 4 KiB segments: the batches span several
        }
      }
      assertTrue(segments() > 2, "several segments");
      for (int i = 19; i >= 0; i--) {
        try (VectorSchemaRoot read = log.read("b" + i, allocator)) {
          assertEquals(100, read.getRowCount());
          assertEquals(i * 100L, ((BigIntVector) read.getVector(0)).get(0));
          assertEquals(i * 100L + 99, ((BigIntVector) read.getVector(0)).get(99));
        }
      }
      log.committed("b3");
      IllegalStateException gone =
          assertThrows(IllegalStateException.class, () -> log.read("b3", allocator));
      assertTrue(gone.getMessage().contains("b3"), gone.getMessage());
    }
    try (WriteAheadLog reopened = WriteAheadLog.open(dir, 1 << 30, 4096, allocator)) {
      reopened.recovered().forEach(r -> r.batch.close());
      try (VectorSchemaRoot read = reopened.read("b17", allocator)) {
        assertEquals(1700L, ((BigIntVector) read.getVector(0)).get(0));
      }
    }
  }

  @Test
  void coveredSegment_isKeptUntilCommitted() throws Exception {
    try (WriteAheadLog log = WriteAheadLog.open(dir, 1 << 30, 4096, allocator)) {
      log.coveredBefore(0);
      for (int b = 0; b < 6; b++) {
        try (VectorSchemaRoot root = batch(b * 1000L, 600)) {
          log.append("t", "b" + b, null, root);
        }
      }
      long segmentsWritten = segments();
      log.coveredBefore(log.position());
      assertEquals(segmentsWritten, segments(), "covered but not committed: every segment stays");
      log.committed("b0");
      assertEquals(
          segmentsWritten - 1, segments(), "the first segment, committed and covered, goes");
    }
  }

  @Test
  void ingestIds_comeBackWithTheirRecords_batchIdsUnchanged() throws Exception {
    String multiLine = "client 7\nretry"; // the id is the header's last part: any text is kept
    try (WriteAheadLog log = WriteAheadLog.open(dir, 1 << 30, 1 << 20, allocator)) {
      try (VectorSchemaRoot root = batch(0, 3)) {
        log.append("t", "b0", multiLine, root);
        log.append("t", "b1", null, root);
        log.appendResend("t", "b2", root);
      }
    }
    try (WriteAheadLog log = WriteAheadLog.open(dir, 1 << 30, 1 << 20, allocator)) {
      List<WriteAheadLog.Record> records = log.recovered();
      try {
        assertEquals(List.of("b0", "b1", "b2"), records.stream().map(r -> r.batchId).toList());
        assertEquals(multiLine, records.get(0).ingestId);
        assertEquals(null, records.get(1).ingestId);
        assertEquals(null, records.get(2).ingestId);
        assertTrue(!records.get(0).resend && records.get(2).resend);
        assertEquals(3, records.get(0).batch.getRowCount());
      } finally {
        records.forEach(r -> r.batch.close());
      }
    }
  }

  @Test
  void positions_growAcrossRestarts_andRecordsCarryTheirs() throws Exception {
    long before;
    long lastPosition;
    try (WriteAheadLog log = WriteAheadLog.open(dir, 1 << 30, 4096, allocator)) {
      log.coveredBefore(0);
      before = log.position();
      for (int b = 0; b < 4; b++) {
        try (VectorSchemaRoot root = batch(b, 1)) {
          log.append("t", "b" + b, null, root);
        }
      }
      try (VectorSchemaRoot root = batch(9, 1)) {
        log.appendResend("t", "again", root);
      }
      lastPosition = log.position();
    }
    try (WriteAheadLog log = WriteAheadLog.open(dir, 1 << 30, 4096, allocator)) {
      List<WriteAheadLog.Record> records = log.recovered();
      try {
        assertEquals(5, records.size());
        long previous = before - 1;
        for (WriteAheadLog.Record r : records) {
          assertTrue(r.position > previous, "positions grow in log order");
          assertTrue(r.position < lastPosition, "and lie before the position after the last");
          previous = r.position;
        }
        assertEquals(records.get(0).position, before, "the first record took the position named");
        assertTrue(records.get(4).resend, "a re-sent batch is marked");
        assertTrue(!records.get(0).resend);
      } finally {
        records.forEach(r -> r.batch.close());
      }
      assertTrue(log.position() >= lastPosition, "a reopened log appends after every old record");
      for (int b = 0; b < 4; b++) {
        log.committed("b" + b);
      }
      log.committed("again");
      log.coveredBefore(lastPosition);
    }
    // Every segment went (committed and covered): a new log still numbers after the snapshot.
    try (WriteAheadLog log = WriteAheadLog.open(dir, 1 << 30, 4096, allocator)) {
      assertEquals(0, segments(), "nothing left to recover");
      log.coveredBefore(lastPosition);
      assertTrue(log.position() >= lastPosition, "positions never go back below a snapshot's");
    }
  }

  @Test
  void full_onceEveryBatchIsCommitted_takesAppendsAgain() throws Exception {
    try (WriteAheadLog log = WriteAheadLog.open(dir, 1 << 20, 64L << 20, allocator)) {
      int appended = 0;
      ResourceExhaustedException full = null;
      while (full == null) {
        try (VectorSchemaRoot b = batch(appended * 1000L, 1000)) {
          log.append("t", "b" + appended, null, b);
          appended++;
        } catch (ResourceExhaustedException e) {
          full = e;
        }
      }
      assertTrue(full.getMessage().contains("engine.max_log_bytes"), full.getMessage());
      for (int i = 0; i < appended; i++) {
        log.committed("b" + i); // all in the one segment still being written
      }
      try (VectorSchemaRoot b = batch(0, 1000)) {
        log.append("t", "again", null, b);
      }
      assertEquals(1, log.pendingBatches());
    }
  }
}
