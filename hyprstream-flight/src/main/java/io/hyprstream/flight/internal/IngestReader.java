package io.hyprstream.flight.internal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BaseIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.FloatingPointVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * The batches of an incoming Flight stream as an {@link ArrowReader} for {@code Hyprstream.ingest},
 * adapted to the target table where a client's types differ harmlessly: timestamps of another unit
 * are converted to the table's unit, narrower integers and floats are widened, and columns may be
 * renamed (an INSERT's column list). Anything else passes through unchanged for the core to
 * validate. Columns of the same type are transferred without copying.
 *
 * <p>Ownership: the reader owns its root and closes it; the {@link FlightStream} stays the caller's
 * (Flight closes it).
 */
public final class IngestReader extends ArrowReader {
  private final FlightStream stream;
  private final @Nullable Schema table;
  private final @Nullable List<String> names;
  private long rows;
  private long chunkRows;
  private long chunkLimit = Long.MAX_VALUE;
  private long maxBatchBytes = Long.MAX_VALUE;
  private long maxRows = Long.MAX_VALUE;
  private long bytes;
  private long batches;
  private boolean prefetched;
  private boolean ended;

  /**
   * @param table the target table's schema, or null when it does not exist yet
   * @param names new names for the stream's columns, in order, or null to keep them
   */
  public IngestReader(
      BufferAllocator allocator,
      FlightStream stream,
      @Nullable Schema table,
      @Nullable List<String> names) {
    super(allocator);
    this.stream = stream;
    this.table = table;
    this.names = names;
  }

  /**
   * Refuses, with {@link LimitExceededException}, a batch holding more than {@code maxBatchBytes}
   * of Arrow buffers and a stream of more than {@code maxRows} rows. The check runs as each batch
   * is read, before the core stores anything of the chunk being read.
   */
  public IngestReader limits(long maxBatchBytes, long maxRows) {
    this.maxBatchBytes = maxBatchBytes;
    this.maxRows = maxRows;
    return this;
  }

  /** Arrow buffer bytes read so far. */
  public long bytes() {
    return bytes;
  }

  /** Batches read so far. */
  public long batches() {
    return batches;
  }

  /** Rows read so far. */
  public long rows() {
    return rows;
  }

  /**
   * Whether the stream has another batch; reads it ahead when needed (the next {@link
   * #loadNextBatch()} returns it).
   */
  public boolean hasMore() {
    if (!prefetched && !ended) {
      prefetched = stream.next();
      ended = !prefetched;
    }
    return prefetched;
  }

  /** Starts a chunk: {@link #loadNextBatch()} ends it after at least {@code maxRows} rows. */
  public void startChunk(long maxRows) {
    chunkRows = 0;
    chunkLimit = maxRows;
  }

  /**
   * Reads the next chunk (at least {@code maxRows} rows, or what is left of the stream) as batches
   * of the caller's: each batch's buffers move out of this reader's root without a copy, so the
   * core can take them over ({@code Hyprstream.ingestTransferred}). Closes what it read on failure.
   */
  public List<VectorSchemaRoot> takeChunk(long maxRows) throws IOException {
    startChunk(maxRows);
    List<VectorSchemaRoot> chunk = new ArrayList<>();
    try {
      while (loadNextBatch()) {
        VectorSchemaRoot loaded = getVectorSchemaRoot();
        VectorSchemaRoot taken = VectorSchemaRoot.create(loaded.getSchema(), allocator);
        chunk.add(taken);
        for (int i = 0; i < loaded.getFieldVectors().size(); i++) {
          loaded.getVector(i).makeTransferPair(taken.getVector(i)).transfer();
        }
        taken.setRowCount(loaded.getRowCount());
      }
      return chunk;
    } catch (IOException | RuntimeException e) {
      chunk.forEach(VectorSchemaRoot::close);
      throw e;
    }
  }

  @Override
  protected Schema readSchema() {
    Schema source = stream.getSchema();
    if (names != null && names.size() != source.getFields().size()) {
      throw new IllegalArgumentException(
          "the statement names "
              + names.size()
              + " columns but the bound batch has "
              + source.getFields().size());
    }
    List<Field> out = new ArrayList<>();
    for (int i = 0; i < source.getFields().size(); i++) {
      Field f = source.getFields().get(i);
      refuseDictionaries(f);
      String name = names == null ? f.getName() : names.get(i);
      Field target = tableField(name);
      ArrowType type = f.getType();
      if (target != null && convertible(f.getType(), target.getType())) {
        type = target.getType();
      }
      out.add(
          new Field(
              target != null ? target.getName() : name,
              new FieldType(f.isNullable(), type, f.getDictionary(), f.getMetadata()),
              f.getChildren()));
    }
    return new Schema(out, source.getCustomMetadata());
  }

  /**
   * Refuses a dictionary-encoded column (or one nested in {@code f}): its vectors hold indices
   * whose values are in the stream's dictionaries, which the core's copy and DuckDB's scan do not
   * carry along.
   */
  private static void refuseDictionaries(Field f) {
    if (f.getDictionary() != null) {
      throw new IllegalArgumentException(
          "column '"
              + f.getName()
              + "' is dictionary-encoded, which ingest does not accept; send its values decoded"
              + " (e.g. DictionaryEncoder.decode)");
    }
    for (Field child : f.getChildren()) {
      refuseDictionaries(child);
    }
  }

  private @Nullable Field tableField(String name) {
    if (table == null) {
      return null;
    }
    for (Field f : table.getFields()) {
      if (f.getName().equals(name)) {
        return f;
      }
    }
    for (Field f : table.getFields()) {
      if (f.getName().toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT))) {
        return f;
      }
    }
    return null;
  }

  private static boolean convertible(ArrowType from, ArrowType to) {
    if (from.equals(to)) {
      return false;
    }
    if (from instanceof ArrowType.Timestamp && to instanceof ArrowType.Timestamp) {
      return true;
    }
    if (from instanceof ArrowType.Int && to instanceof ArrowType.Int) {
      ArrowType.Int f = (ArrowType.Int) from;
      ArrowType.Int t = (ArrowType.Int) to;
      return t.getBitWidth() > f.getBitWidth() && (t.getIsSigned() || !f.getIsSigned());
    }
    if (to instanceof ArrowType.FloatingPoint) {
      return from instanceof ArrowType.FloatingPoint || from instanceof ArrowType.Int;
    }
    return false;
  }

  @Override
  public boolean loadNextBatch() throws IOException {
    if (chunkRows >= chunkLimit || !hasMore()) {
      return false;
    }
    prefetched = false;
    VectorSchemaRoot in = stream.getRoot();
    int n = in.getRowCount();
    long size = 0;
    for (FieldVector v : in.getFieldVectors()) {
      size += v.getBufferSize();
    }
    if (size > maxBatchBytes) {
      throw new LimitExceededException(
          "limits.max_batch_bytes",
          "a record batch of "
              + size
              + " bytes is over limits.max_batch_bytes = "
              + maxBatchBytes
              + "; send smaller batches (nothing of this request was stored)");
    }
    if (rows + n > maxRows) {
      throw new LimitExceededException(
          "limits.max_request_rows",
          "the request carries more than limits.max_request_rows = "
              + maxRows
              + " rows; split it into several requests");
    }
    prepareLoadNextBatch();
    VectorSchemaRoot out = getVectorSchemaRoot();
    for (int i = 0; i < in.getFieldVectors().size(); i++) {
      FieldVector src = in.getVector(i);
      FieldVector dst = out.getVector(i);
      if (src.getField().getType().equals(dst.getField().getType())) {
        src.makeTransferPair(dst).transfer();
      } else {
        convert(src, dst, n);
      }
    }
    out.setRowCount(n);
    rows += n;
    chunkRows += n;
    bytes += size;
    batches++;
    return true;
  }

  private static void convert(FieldVector src, FieldVector dst, int n) {
    dst.clear();
    if (src instanceof TimeStampVector && dst instanceof TimeStampVector) {
      long from = ArrowValues.perSecond(((ArrowType.Timestamp) src.getField().getType()).getUnit());
      long to = ArrowValues.perSecond(((ArrowType.Timestamp) dst.getField().getType()).getUnit());
      TimeStampVector s = (TimeStampVector) src;
      TimeStampVector d = (TimeStampVector) dst;
      d.allocateNew(n);
      for (int r = 0; r < n; r++) {
        if (s.isNull(r)) {
          d.setNull(r);
        } else {
          long v = s.get(r);
          if (to >= from
              && (v > Long.MAX_VALUE / (to / from) || v < Long.MIN_VALUE / (to / from))) {
            throw new IllegalArgumentException(
                "column '"
                    + src.getName()
                    + "', row "
                    + r
                    + ": the timestamp "
                    + v
                    + " ("
                    + s.getField().getType()
                    + ") does not fit the table's "
                    + d.getField().getType()
                    + " (int64 "
                    + ((ArrowType.Timestamp) d.getField().getType())
                        .getUnit()
                        .name()
                        .toLowerCase(Locale.ROOT)
                    + "s since the epoch)");
          }
          d.set(r, to >= from ? v * (to / from) : Math.floorDiv(v, from / to));
        }
      }
    } else if (src instanceof BaseIntVector && dst instanceof BaseIntVector) {
      BaseIntVector s = (BaseIntVector) src;
      BaseIntVector d = (BaseIntVector) dst;
      dst.setInitialCapacity(n);
      dst.allocateNew();
      for (int r = 0; r < n; r++) {
        if (src.isNull(r)) {
          dst.setNull(r);
        } else {
          d.setWithPossibleTruncate(r, s.getValueAsLong(r));
        }
      }
    } else if (dst instanceof FloatingPointVector) {
      FloatingPointVector d = (FloatingPointVector) dst;
      dst.setInitialCapacity(n);
      dst.allocateNew();
      for (int r = 0; r < n; r++) {
        if (src.isNull(r)) {
          dst.setNull(r);
        } else if (src instanceof FloatingPointVector) {
          d.setWithPossibleTruncate(r, ((FloatingPointVector) src).getValueAsDouble(r));
        } else {
          d.setWithPossibleTruncate(r, (double) ((BaseIntVector) src).getValueAsLong(r));
        }
      }
    } else {
      throw new IllegalStateException(
          "cannot convert " + src.getField() + " to " + dst.getField().getType());
    }
    dst.setValueCount(n);
  }

  @Override
  public long bytesRead() {
    return bytes;
  }

  @Override
  protected void closeReadSource() {
    // The Flight stream belongs to the call; Flight closes it.
  }
}
