package io.hyprstream.flight.internal;

import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;

/**
 * The SQL type of an Arrow column as the server's dialect (DuckDB's) writes it: {@code BIGINT},
 * {@code VARCHAR}, {@code TIMESTAMP_MS}, {@code DECIMAL(18,3)}, {@code DOUBLE[]}... The names are
 * what {@code DESCRIBE} prints in DuckDB, so that {@code \d} tells a user what to write in a cast
 * or a CREATE TABLE. A type without a SQL name shows as Arrow names it.
 */
public final class ColumnTypes {
  private ColumnTypes() {}

  public static String of(Field field) {
    ArrowType t = field.getType();
    return switch (t.getTypeID()) {
      case Int -> {
        ArrowType.Int i = (ArrowType.Int) t;
        String name =
            switch (i.getBitWidth()) {
              case 8 -> "TINYINT";
              case 16 -> "SMALLINT";
              case 32 -> "INTEGER";
              default -> "BIGINT";
            };
        yield i.getIsSigned() ? name : "U" + name;
      }
      case FloatingPoint ->
          switch (((ArrowType.FloatingPoint) t).getPrecision()) {
            case SINGLE -> "FLOAT";
            case DOUBLE -> "DOUBLE";
            default -> t.toString();
          };
      case Utf8, LargeUtf8, Utf8View -> "VARCHAR";
      case Binary, LargeBinary, BinaryView, FixedSizeBinary -> "BLOB";
      case Bool -> "BOOLEAN";
      case Decimal -> {
        ArrowType.Decimal d = (ArrowType.Decimal) t;
        yield "DECIMAL(" + d.getPrecision() + "," + d.getScale() + ")";
      }
      case Date -> "DATE";
      case Time -> "TIME";
      case Timestamp -> timestamp((ArrowType.Timestamp) t);
      case Interval, Duration -> "INTERVAL";
      case List, LargeList -> of(field.getChildren().get(0)) + "[]";
      case FixedSizeList ->
          of(field.getChildren().get(0)) + "[" + ((ArrowType.FixedSizeList) t).getListSize() + "]";
      case Struct -> {
        List<String> members = new ArrayList<>();
        for (Field child : field.getChildren()) {
          members.add(child.getName() + " " + of(child));
        }
        yield "STRUCT(" + String.join(", ", members) + ")";
      }
      case Map -> {
        List<Field> entry = field.getChildren().get(0).getChildren();
        yield "MAP(" + of(entry.get(0)) + ", " + of(entry.get(1)) + ")";
      }
      default -> t.toString();
    };
  }

  /** DuckDB's timestamp types: microseconds are plain TIMESTAMP; a zone makes TIMESTAMPTZ. */
  private static String timestamp(ArrowType.Timestamp ts) {
    if (ts.getTimezone() != null) {
      return "TIMESTAMP WITH TIME ZONE";
    }
    return switch (ts.getUnit()) {
      case SECOND -> "TIMESTAMP_S";
      case MILLISECOND -> "TIMESTAMP_MS";
      case NANOSECOND -> "TIMESTAMP_NS";
      case MICROSECOND -> "TIMESTAMP";
    };
  }
}
