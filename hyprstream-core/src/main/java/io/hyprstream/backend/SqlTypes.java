package io.hyprstream.backend;

import static io.hyprstream.api.SqlIdentifier.quote;

import io.hyprstream.api.SchemaMismatchException;
import java.util.Locale;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/** Maps Arrow field types to the column types of a backend's SQL dialect, for CREATE and ALTER. */
enum SqlTypes {
  POSTGRES,
  DUCKDB,
  SQLITE,
  /** ANSI names most JDBC databases accept. */
  GENERIC;

  /**
   * The dialect an ADBC backend's {@code dialect} option names, if it names one.
   *
   * @throws IllegalArgumentException when it names none of them
   */
  static java.util.Optional<SqlTypes> fromOption(java.util.Map<String, String> options) {
    String d = options.get("dialect");
    if (d == null) {
      return java.util.Optional.empty();
    }
    try {
      return java.util.Optional.of(valueOf(d.toUpperCase(Locale.ROOT)));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "dialect must be one of postgres, duckdb, sqlite, generic; not '" + d + "'", e);
    }
  }

  /** The dialect of the database a JDBC URL names; {@link #GENERIC} for one not known here. */
  static SqlTypes forJdbcUrl(String jdbcUrl) {
    String lower = jdbcUrl.toLowerCase(Locale.ROOT);
    return lower.startsWith("jdbc:duckdb:")
        ? DUCKDB
        : lower.startsWith("jdbc:sqlite:")
            ? SQLITE
            : lower.startsWith("jdbc:postgresql:") ? POSTGRES : GENERIC;
  }

  /**
   * Statements giving a new table's timestamp columns a BRIN index, for PostgreSQL (none for the
   * other dialects: DuckDB keeps min/max per row group by itself). Rows reach the backend roughly
   * in event-time order, so each block range's min and max let a time-range read (a restart's hot
   * rows, a query's cold range) skip the rest of the table instead of scanning all of it, for a few
   * pages of index and next to no cost per insert.
   */
  java.util.List<String> timeIndexes(String qualifiedTable, String table, Schema schema) {
    java.util.List<String> out = new java.util.ArrayList<>();
    if (this != POSTGRES) {
      return out;
    }
    for (Field f : schema.getFields()) {
      if (f.getType() instanceof ArrowType.Timestamp) {
        out.add(
            "CREATE INDEX IF NOT EXISTS "
                + quote(table + "_" + f.getName() + "_brin")
                + " ON "
                + qualifiedTable
                + " USING brin ("
                + quote(f.getName())
                + ")");
      }
    }
    return out;
  }

  /**
   * The column type for {@code field} of {@code table}.
   *
   * @throws SchemaMismatchException when the dialect has no column type for the field's Arrow type
   */
  String columnType(String table, Field field) {
    String type = typeOf(field);
    if (type == null) {
      throw new SchemaMismatchException(
          table,
          field.getName(),
          "the " + name().toLowerCase(Locale.ROOT) + " backend cannot store " + field);
    }
    return type;
  }

  private @Nullable String typeOf(Field field) {
    ArrowType t = field.getType();
    switch (t.getTypeID()) {
      case Int:
        {
          ArrowType.Int i = (ArrowType.Int) t;
          int bits = i.getBitWidth() + (i.getIsSigned() ? 0 : 1);
          if (bits <= 16) {
            return this == DUCKDB && bits <= 8 ? "TINYINT" : "SMALLINT";
          }
          return bits <= 32 ? "INTEGER" : bits <= 64 ? "BIGINT" : null;
        }
      case FloatingPoint:
        {
          FloatingPointPrecision p = ((ArrowType.FloatingPoint) t).getPrecision();
          if (p == FloatingPointPrecision.HALF) {
            return null;
          }
          if (p == FloatingPointPrecision.SINGLE) {
            return this == DUCKDB ? "FLOAT" : "REAL";
          }
          // SQLite: every REAL is 8 bytes, but its JDBC driver reads a column declared REAL as a
          // 32-bit float; DOUBLE (the same REAL affinity) reads back as a double.
          return this == SQLITE ? "DOUBLE" : "DOUBLE PRECISION";
        }
      case Utf8:
      case LargeUtf8:
        return this == GENERIC ? "VARCHAR(65535)" : this == DUCKDB ? "VARCHAR" : "TEXT";
      case Bool:
        return "BOOLEAN";
      case Timestamp:
        {
          boolean zoned = ((ArrowType.Timestamp) t).getTimezone() != null;
          switch (this) {
            case POSTGRES:
              return zoned ? "TIMESTAMPTZ" : "TIMESTAMP";
            case DUCKDB:
              return zoned ? "TIMESTAMPTZ" : "TIMESTAMP";
            case SQLITE:
              // SQLite has no time types: see AdbcBinding.bindable, which stores these
              // as integer epoch microseconds under the declared name.
              return zoned ? "TIMESTAMPTZ" : "TIMESTAMP";
            default:
              return zoned ? "TIMESTAMP WITH TIME ZONE" : "TIMESTAMP";
          }
        }
      case Date:
        return "DATE";
      case Binary:
      case LargeBinary:
      case FixedSizeBinary:
        return this == POSTGRES ? "BYTEA" : this == GENERIC ? "VARBINARY(65535)" : "BLOB";
      case Decimal:
        {
          ArrowType.Decimal d = (ArrowType.Decimal) t;
          if (d.getScale() < 0) {
            return null;
          }
          // SQLite: a NUMERIC column would turn a decimal into a lossy 8-byte REAL; a declared
          // name containing TEXT keeps the digits as written (ResultSetReader knows the name).
          return (this == SQLITE ? "DECIMAL_TEXT(" : "NUMERIC(")
              + d.getPrecision()
              + ","
              + d.getScale()
              + ")";
        }
      case FixedSizeList:
        {
          if (this != POSTGRES && this != DUCKDB) {
            return null;
          }
          Field child = field.getChildren().get(0);
          if (!(child.getType() instanceof ArrowType.FloatingPoint)) {
            return null;
          }
          FloatingPointPrecision p = ((ArrowType.FloatingPoint) child.getType()).getPrecision();
          if (p == FloatingPointPrecision.HALF) {
            return null;
          }
          if (this == DUCKDB) {
            int size = ((ArrowType.FixedSizeList) t).getListSize();
            return (p == FloatingPointPrecision.SINGLE ? "FLOAT[" : "DOUBLE[") + size + "]";
          }
          return p == FloatingPointPrecision.SINGLE ? "REAL[]" : "DOUBLE PRECISION[]";
        }
      default:
        return null;
    }
  }

  /**
   * Refuses a schema this dialect cannot hold: a column without a column type here, or (PostgreSQL)
   * a name longer than the 63 bytes PostgreSQL keeps.
   *
   * @throws SchemaMismatchException naming the column
   */
  void checkWritable(String table, Schema schema) {
    java.util.Map<String, String> truncated = new java.util.HashMap<>();
    for (Field f : schema.getFields()) {
      columnType(table, f);
      if (this == POSTGRES) {
        if (!truncate(f.getName(), POSTGRES_NAME_BYTES).equals(f.getName())) {
          // PostgreSQL would store the cut name; the write-through then finds the full name
          // missing, its ALTER ... ADD COLUMN fails ("already exists"), and every batch of the
          // table is quarantined.
          throw new SchemaMismatchException(
              table,
              f.getName(),
              "is longer than the "
                  + POSTGRES_NAME_BYTES
                  + " bytes PostgreSQL keeps of a column name: use a shorter name");
        }
        String cut = truncate(f.getName(), POSTGRES_NAME_BYTES);
        String other = truncated.put(cut, f.getName());
        if (other != null) {
          throw new SchemaMismatchException(
              table,
              f.getName(),
              "PostgreSQL keeps only the first "
                  + POSTGRES_NAME_BYTES
                  + " bytes of a column name, which '"
                  + other
                  + "' shares: rename one of them");
        }
      }
    }
  }

  /** PostgreSQL's NAMEDATALEN - 1: longer identifiers are silently cut. */
  static final int POSTGRES_NAME_BYTES = 63;

  private static String truncate(String name, int bytes) {
    byte[] utf8 = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    if (utf8.length <= bytes) {
      return name;
    }
    int end = bytes;
    while (end > 0 && (utf8[end] & 0xc0) == 0x80) {
      end--; // PostgreSQL cuts at a character boundary
    }
    return new String(utf8, 0, end, java.nio.charset.StandardCharsets.UTF_8);
  }

  /**
   * {@code value} of a timestamp in {@code unit} as microseconds since the epoch, the precision
   * every backend keeps. Nanoseconds round to the nearest microsecond, half away from zero, as
   * DuckDB casts them, so the backend holds what the cache answers.
   */
  static long toMicros(long value, org.apache.arrow.vector.types.TimeUnit unit) {
    switch (unit) {
      case SECOND:
        return Math.multiplyExact(value, 1_000_000L);
      case MILLISECOND:
        return Math.multiplyExact(value, 1_000L);
      case MICROSECOND:
        return value;
      default:
        long micros = value / 1_000L;
        long rest = value % 1_000L;
        return rest >= 500 ? micros + 1 : rest <= -500 ? micros - 1 : micros;
    }
  }

  /** A SQL string literal. */
  static String literal(String value) {
    return "'" + value.replace("'", "''") + "'";
  }
}
