package io.hyprstream.flight.internal.cli;

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
final class ColumnTypes {
  private ColumnTypes() {}

  static String of(Field field) {
    ArrowType t = field.getType();
    switch (t.getTypeID()) {
      case Int:
        {
          ArrowType.Int i = (ArrowType.Int) t;
          String name;
          switch (i.getBitWidth()) {
            case 8:
              name = "TINYINT";
              break;
            case 16:
              name = "SMALLINT";
              break;
            case 32:
              name = "INTEGER";
              break;
            default:
              name = "BIGINT";
          }
          return i.getIsSigned() ? name : "U" + name;
        }
      case FloatingPoint:
        switch (((ArrowType.FloatingPoint) t).getPrecision()) {
          case SINGLE:
            return "FLOAT";
          case DOUBLE:
            return "DOUBLE";
          default:
            return t.toString();
        }
      case Utf8:
      case LargeUtf8:
      case Utf8View:
        return "VARCHAR";
      case Binary:
      case LargeBinary:
      case BinaryView:
      case FixedSizeBinary:
        return "BLOB";
      case Bool:
        return "BOOLEAN";
      case Decimal:
        {
          ArrowType.Decimal d = (ArrowType.Decimal) t;
          return "DECIMAL(" + d.getPrecision() + "," + d.getScale() + ")";
        }
      case Date:
        return "DATE";
      case Time:
        return "TIME";
      case Timestamp:
        {
          ArrowType.Timestamp ts = (ArrowType.Timestamp) t;
          if (ts.getTimezone() != null) {
            return "TIMESTAMP WITH TIME ZONE";
          }
          switch (ts.getUnit()) {
            case SECOND:
              return "TIMESTAMP_S";
            case MILLISECOND:
              return "TIMESTAMP_MS";
            case NANOSECOND:
              return "TIMESTAMP_NS";
            default:
              return "TIMESTAMP";
          }
        }
      case Interval:
      case Duration:
        return "INTERVAL";
      case List:
      case LargeList:
        return of(field.getChildren().get(0)) + "[]";
      case FixedSizeList:
        return of(field.getChildren().get(0))
            + "["
            + ((ArrowType.FixedSizeList) t).getListSize()
            + "]";
      case Struct:
        {
          List<String> members = new ArrayList<>();
          for (Field child : field.getChildren()) {
            members.add(child.getName() + " " + of(child));
          }
          return "STRUCT(" + String.join(", ", members) + ")";
        }
      case Map:
        {
          List<Field> entry = field.getChildren().get(0).getChildren();
          return "MAP(" + of(entry.get(0)) + ", " + of(entry.get(1)) + ")";
        }
      default:
        return t.toString();
    }
  }
}
