package io.hyprstream.backend;

import io.hyprstream.internal.arrow.Closeables;
import io.hyprstream.internal.arrow.EpochMicros;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Types;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.DecimalVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.SmallIntVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * An {@link ArrowReader} over a JDBC {@link ResultSet}, {@code batchRows} rows per batch, with
 * column types chosen from the database's type names so that what {@link PgCopyEncoder} wrote reads
 * back at full precision: timestamps in microseconds ({@code timestamptz} as UTC), dates in days,
 * {@code numeric(p,s)} as decimals, {@code real[]}/{@code double precision[]} as lists. Types it
 * does not know read as text.
 *
 * <p>Ownership: the reader owns the result set and closes it, then {@code onClose}, when closed.
 */
final class ResultSetReader extends ArrowReader {
  private final ResultSet rs;
  private final Schema schema;
  private final int batchRows;
  private final boolean sqlite;
  private final AutoCloseable onClose;
  private boolean done;

  /**
   * @param sqlite true for SQLite's conventions: timestamp columns hold epoch microseconds and date
   *     columns epoch days as plain integers (as this project writes them: SQLite has no time
   *     types), and an {@code INTEGER} is 64 bits
   */
  private ResultSetReader(
      BufferAllocator allocator, ResultSet rs, int batchRows, boolean sqlite, AutoCloseable onClose)
      throws SQLException {
    super(allocator);
    this.rs = rs;
    this.schema = schemaOf(rs.getMetaData(), sqlite);
    this.batchRows = batchRows;
    this.sqlite = sqlite;
    this.onClose = onClose;
  }

  /**
   * Runs {@code sql} on {@code c} as a cursor read {@code batchRows} rows at a time. Closing the
   * reader closes the statement, rolls the read's transaction back and then hands {@code c} to
   * {@code giveBack}, saying whether it is still usable; a failure to run closes the statement and
   * leaves {@code c} to the caller.
   */
  static ResultSetReader openCursor(
      java.sql.Connection c,
      String sql,
      BufferAllocator allocator,
      int batchRows,
      boolean sqlite,
      ConnectionReturn giveBack)
      throws SQLException {
    java.sql.Statement st = c.createStatement();
    try {
      c.setAutoCommit(false); // a cursor (fetchSize) needs a transaction
      st.setFetchSize(batchRows);
      ResultSet rs = st.executeQuery(sql);
      return new ResultSetReader(
          allocator,
          rs,
          batchRows,
          sqlite,
          () -> {
            try {
              st.close();
              c.rollback();
            } catch (SQLException e) {
              giveBack.giveBack(false);
              return;
            }
            giveBack.giveBack(true);
          });
    } catch (SQLException | RuntimeException e) {
      try {
        st.close();
      } catch (SQLException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /** Where a cursor's connection goes when its reader closes. */
  @FunctionalInterface
  interface ConnectionReturn {
    void giveBack(boolean usable) throws SQLException;
  }

  /** The Arrow schema this reader gives a result with metadata {@code md}. */
  static Schema schemaOf(ResultSetMetaData md, boolean sqlite) throws SQLException {
    List<Field> fields = new ArrayList<>();
    for (int i = 1; i <= md.getColumnCount(); i++) {
      boolean nullable = md.isNullable(i) != ResultSetMetaData.columnNoNulls;
      String name = md.getColumnLabel(i);
      ArrowType type = arrowType(md, i, sqlite);
      if (type instanceof ArrowType.List) {
        String element = md.getColumnTypeName(i).toLowerCase(Locale.ROOT);
        FloatingPointPrecision p =
            element.equals("_float4")
                ? FloatingPointPrecision.SINGLE
                : FloatingPointPrecision.DOUBLE;
        Field child = Field.nullable("item", new ArrowType.FloatingPoint(p));
        fields.add(new Field(name, new FieldType(nullable, type, null), List.of(child)));
      } else {
        fields.add(new Field(name, new FieldType(nullable, type, null), null));
      }
    }
    return new Schema(fields);
  }

  private static ArrowType arrowType(ResultSetMetaData md, int i, boolean sqlite)
      throws SQLException {
    String name = md.getColumnTypeName(i);
    name = name == null ? "" : name.toLowerCase(Locale.ROOT);
    if (sqlite && name.equals("integer")) {
      return new ArrowType.Int(64, true); // SQLite's INTEGER (and an expression's) is 64 bits
    }
    int jdbc = md.getColumnType(i);
    switch (name) {
      case "int2":
      case "smallint":
        return new ArrowType.Int(16, true);
      case "int4":
      case "integer":
      case "serial":
        return new ArrowType.Int(32, true);
      case "int8":
      case "bigint":
      case "bigserial":
        return new ArrowType.Int(64, true);
      case "float4":
      case "real":
        return new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE);
      case "float8":
      case "double":
      case "double precision":
        return new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);
      case "bool":
      case "boolean":
        return ArrowType.Bool.INSTANCE;
      case "timestamp":
        return new ArrowType.Timestamp(TimeUnit.MICROSECOND, null);
      case "timestamptz":
        return new ArrowType.Timestamp(TimeUnit.MICROSECOND, "UTC");
      case "date":
        return new ArrowType.Date(DateUnit.DAY);
      case "bytea":
        return ArrowType.Binary.INSTANCE;
      case "_float4":
      case "_float8":
        return ArrowType.List.INSTANCE;
      case "numeric":
      case "decimal_text": // how SQLite keeps decimals exactly (SqlTypes)
        {
          int p = md.getPrecision(i);
          int s = md.getScale(i);
          if (p >= 1 && p <= 38 && s >= 0 && s <= p) {
            return new ArrowType.Decimal(p, s, 128);
          }
          return ArrowType.Utf8.INSTANCE;
        }
      default:
        break;
    }
    switch (jdbc) {
      case Types.SMALLINT:
      case Types.TINYINT:
        return new ArrowType.Int(16, true);
      case Types.INTEGER:
        return new ArrowType.Int(32, true);
      case Types.BIGINT:
        return new ArrowType.Int(64, true);
      case Types.REAL:
        return new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE);
      case Types.FLOAT:
      case Types.DOUBLE:
        return new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);
      case Types.BOOLEAN:
      case Types.BIT:
        return ArrowType.Bool.INSTANCE;
      case Types.TIMESTAMP:
        return new ArrowType.Timestamp(TimeUnit.MICROSECOND, null);
      case Types.TIMESTAMP_WITH_TIMEZONE:
        return new ArrowType.Timestamp(TimeUnit.MICROSECOND, "UTC");
      case Types.DATE:
        return new ArrowType.Date(DateUnit.DAY);
      case Types.BINARY:
      case Types.VARBINARY:
      case Types.LONGVARBINARY:
      case Types.BLOB:
        return ArrowType.Binary.INSTANCE;
      default:
        return ArrowType.Utf8.INSTANCE;
    }
  }

  @Override
  public boolean loadNextBatch() throws IOException {
    prepareLoadNextBatch();
    if (done) {
      return false;
    }
    VectorSchemaRoot root = getVectorSchemaRoot();
    root.allocateNew();
    int row = 0;
    try {
      while (row < batchRows && rs.next()) {
        for (int c = 0; c < schema.getFields().size(); c++) {
          read(root.getVector(c), c + 1, row);
        }
        row++;
      }
    } catch (SQLException e) {
      throw new IOException(e.getMessage(), e);
    }
    if (row < batchRows) {
      done = true;
    }
    root.setRowCount(row);
    return row > 0;
  }

  private void read(FieldVector v, int col, int row) throws SQLException {
    if (v instanceof BigIntVector) {
      long x = rs.getLong(col);
      if (rs.wasNull()) {
        v.setNull(row);
      } else {
        ((BigIntVector) v).setSafe(row, x);
      }
    } else if (v instanceof IntVector) {
      int x = rs.getInt(col);
      if (rs.wasNull()) {
        v.setNull(row);
      } else {
        ((IntVector) v).setSafe(row, x);
      }
    } else if (v instanceof SmallIntVector) {
      short x = rs.getShort(col);
      if (rs.wasNull()) {
        v.setNull(row);
      } else {
        ((SmallIntVector) v).setSafe(row, x);
      }
    } else if (v instanceof Float8Vector) {
      double x = rs.getDouble(col);
      if (rs.wasNull()) {
        v.setNull(row);
      } else {
        ((Float8Vector) v).setSafe(row, x);
      }
    } else if (v instanceof Float4Vector) {
      float x = rs.getFloat(col);
      if (rs.wasNull()) {
        v.setNull(row);
      } else {
        ((Float4Vector) v).setSafe(row, x);
      }
    } else if (v instanceof BitVector) {
      boolean x = rs.getBoolean(col);
      if (rs.wasNull()) {
        v.setNull(row);
      } else {
        ((BitVector) v).setSafe(row, x ? 1 : 0);
      }
    } else if (sqlite && v instanceof TimeStampVector) {
      long micros = rs.getLong(col);
      if (rs.wasNull()) {
        v.setNull(row);
      } else {
        ((TimeStampVector) v).setSafe(row, micros);
      }
    } else if (sqlite && v instanceof DateDayVector) {
      int days = rs.getInt(col);
      if (rs.wasNull()) {
        v.setNull(row);
      } else {
        ((DateDayVector) v).setSafe(row, days);
      }
    } else if (v instanceof TimeStampVector) {
      boolean zoned = ((ArrowType.Timestamp) v.getField().getType()).getTimezone() != null;
      LocalDateTime t;
      if (zoned) {
        OffsetDateTime o = rs.getObject(col, OffsetDateTime.class);
        t = o == null ? null : o.withOffsetSameInstant(ZoneOffset.UTC).toLocalDateTime();
      } else {
        t = rs.getObject(col, LocalDateTime.class);
      }
      if (t == null) {
        v.setNull(row);
      } else {
        ((TimeStampVector) v).setSafe(row, EpochMicros.ofUtc(t));
      }
    } else if (v instanceof DateDayVector) {
      LocalDate d = rs.getObject(col, LocalDate.class);
      if (d == null) {
        v.setNull(row);
      } else {
        ((DateDayVector) v).setSafe(row, (int) d.toEpochDay());
      }
    } else if (v instanceof DecimalVector) {
      BigDecimal d = rs.getBigDecimal(col);
      if (d == null) {
        v.setNull(row);
      } else {
        DecimalVector dv = (DecimalVector) v;
        dv.setSafe(row, d.setScale(dv.getScale(), RoundingMode.UNNECESSARY));
      }
    } else if (v instanceof VarBinaryVector) {
      byte[] b = rs.getBytes(col);
      if (b == null) {
        v.setNull(row);
      } else {
        ((VarBinaryVector) v).setSafe(row, b);
      }
    } else if (v instanceof ListVector) {
      readList((ListVector) v, col, row);
    } else {
      String s = rs.getString(col);
      if (s == null) {
        v.setNull(row);
      } else {
        ((VarCharVector) v).setSafe(row, s.getBytes(StandardCharsets.UTF_8));
      }
    }
  }

  private void readList(ListVector v, int col, int row) throws SQLException {
    Array a = rs.getArray(col);
    if (a == null) {
      v.setNull(row);
      return;
    }
    Object[] items = (Object[]) a.getArray();
    int start = v.startNewValue(row);
    FieldVector data = v.getDataVector();
    for (int i = 0; i < items.length; i++) {
      @Nullable Object x = items[i];
      if (x == null) {
        data.setNull(start + i);
      } else if (data instanceof Float4Vector) {
        ((Float4Vector) data).setSafe(start + i, ((Number) x).floatValue());
      } else {
        ((Float8Vector) data).setSafe(start + i, ((Number) x).doubleValue());
      }
    }
    v.endValue(row, items.length);
  }

  @Override
  public long bytesRead() {
    return 0;
  }

  @Override
  protected void closeReadSource() throws IOException {
    Closeables.closeInOrder(rs, onClose);
  }

  @Override
  protected Schema readSchema() {
    return schema;
  }
}
