package io.hyprstream.flight.internal;

import io.hyprstream.Hyprstream;
import io.hyprstream.StatementInfo;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * Works out the parameter schema of a prepared statement: one field per {@code ?}, typed like the
 * column the parameter is compared with or inserted into, else utf8.
 *
 * <p>Clients bind with these types (the Flight SQL JDBC driver refuses {@code setLong} on a utf8
 * parameter), so they should be right for the common shapes: {@code col = ?}, {@code col IN (?,
 * ?)}, {@code col BETWEEN ? AND ?}, {@code LIMIT ?} and INSERT value lists, from the engine's SQL
 * analysis ({@link Hyprstream#describe}); other statements ({@code UPDATE ... SET col = ?}) take
 * the types DuckDB's binder gave their parameters. Timestamps are declared in milliseconds because
 * the JDBC driver sends epoch milliseconds whatever unit is declared.
 */
public final class ParameterTypes {
  private static final ArrowType UTF8 = ArrowType.Utf8.INSTANCE;

  private ParameterTypes() {}

  /** The parameter schema of the statement {@code sql} describes. */
  public static Schema of(StatementInfo sql, Hyprstream hyprstream) {
    if (sql.parameters().isEmpty()) {
      return new Schema(List.of());
    }
    StatementInfo.PlainInsert insert = sql.insert();
    if (insert != null) {
      return forInsert(insert, hyprstream.tableSchema(insert.table()));
    }
    List<Schema> mentioned = mentionedTables(sql, hyprstream);
    List<Field> fields = new ArrayList<>();
    int n = 0;
    for (StatementInfo.Parameter use : sql.parameters()) {
      n++;
      String name = "p" + n;
      if (use.integer()) {
        fields.add(param(name, new ArrowType.Int(64, true)));
        continue;
      }
      String column = use.column();
      Field f = column == null ? null : find(mentioned, column);
      ArrowType type = f != null ? bindable(f.getType()) : boundType(use.boundType());
      fields.add(param(name, type));
    }
    return new Schema(fields);
  }

  /** The Arrow type a client binds for a DuckDB type its binder named; utf8 when unknown. */
  static ArrowType boundType(@Nullable String duckdbType) {
    if (duckdbType == null) {
      return UTF8;
    }
    switch (duckdbType) {
      case "TINYINT":
      case "SMALLINT":
      case "INTEGER":
      case "BIGINT":
        return new ArrowType.Int(64, true);
      case "FLOAT":
      case "DOUBLE":
        return new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);
      case "BOOLEAN":
        return ArrowType.Bool.INSTANCE;
      case "DATE":
        return new ArrowType.Date(DateUnit.DAY);
      case "TIMESTAMP":
      case "TIMESTAMP_MS":
      case "TIMESTAMP_S":
      case "TIMESTAMP_NS":
        return new ArrowType.Timestamp(TimeUnit.MILLISECOND, null);
      case "TIMESTAMP WITH TIME ZONE":
      case "TIMESTAMP_TZ":
        return new ArrowType.Timestamp(TimeUnit.MILLISECOND, "UTC");
      default:
        return UTF8;
    }
  }

  /**
   * An insert's parameters: the listed columns, else the table's first columns in order; named like
   * the columns so a bound batch is ingested by name.
   */
  static Schema forInsert(StatementInfo.PlainInsert insert, @Nullable Schema table) {
    List<Field> fields = new ArrayList<>();
    List<String> columns = insert.columns();
    for (int i = 0; i < insert.parameters(); i++) {
      Field column = null;
      if (table != null) {
        if (columns != null) {
          column = find(List.of(table), columns.get(i));
        } else if (i < table.getFields().size()) {
          column = table.getFields().get(i);
        }
      }
      String name =
          columns != null ? columns.get(i) : column != null ? column.getName() : "p" + (i + 1);
      fields.add(param(name, column == null ? UTF8 : bindable(column.getType())));
    }
    return new Schema(fields);
  }

  private static List<Schema> mentionedTables(StatementInfo sql, Hyprstream hyprstream) {
    Set<String> read = new HashSet<>();
    for (String t : sql.tables()) {
      read.add(t.toLowerCase(Locale.ROOT));
    }
    List<Schema> out = new ArrayList<>();
    for (Hyprstream.TableInfo t : hyprstream.tables()) {
      if (read.contains(t.name().toLowerCase(Locale.ROOT))) {
        out.add(t.schema());
      }
    }
    return out;
  }

  private static @Nullable Field find(List<Schema> schemas, String column) {
    for (Schema s : schemas) {
      for (Field f : s.getFields()) {
        if (f.getName().equalsIgnoreCase(column)) {
          return f;
        }
      }
    }
    return null;
  }

  private static ArrowType bindable(ArrowType type) {
    switch (type.getTypeID()) {
      case Timestamp:
        return new ArrowType.Timestamp(
            TimeUnit.MILLISECOND, ((ArrowType.Timestamp) type).getTimezone());
      case Int:
      case FloatingPoint:
      case Bool:
      case Decimal:
      case Date:
      case Utf8:
      case Binary:
        return type;
      case LargeUtf8:
      case Utf8View:
        return UTF8;
      default:
        return UTF8;
    }
  }

  private static Field param(String name, ArrowType type) {
    return new Field(name, FieldType.nullable(type), null);
  }
}
