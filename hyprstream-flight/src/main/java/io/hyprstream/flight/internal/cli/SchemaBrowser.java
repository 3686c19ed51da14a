package io.hyprstream.flight.internal.cli;

import io.hyprstream.flight.internal.ColumnTypes;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.LongSupplier;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * {@code \d} and {@code \d NAME}: the tables, views and system tables on the server, and one's
 * columns, read through Flight SQL's GetTables (with {@code include_schema} for the columns), the
 * catalog call every Flight SQL client uses, rather than SQL over DuckDB's catalog.
 */
final class SchemaBrowser {
  /** One row of GetTables. */
  record TableEntry(String name, String type, @Nullable Schema schema) {}

  private static final Schema LIST = textColumns("name", "type");
  private static final Schema COLUMNS = textColumns("column", "type", "nullable");

  private final ServerConnection connection;
  private final ShellOutput output;
  private final LongSupplier nanoTime;

  SchemaBrowser(ServerConnection connection, ShellOutput output, LongSupplier nanoTime) {
    this.connection = connection;
    this.output = output;
    this.nanoTime = nanoTime;
  }

  /** Prints every table, view and system table by name; on failure prints {@code where}. */
  boolean list(String where) {
    long start = nanoTime.getAsLong();
    try {
      List<TableEntry> tables = tables(null, false);
      tables.sort(Comparator.comparing(TableEntry::name));
      ResultPrinter printer = output.printer(LIST);
      for (TableEntry t : tables) {
        printer.row(new Object[] {t.name(), kind(t.type())});
      }
      long elapsed = nanoTime.getAsLong() - start;
      printer.finish();
      output.rows(printer.rowCount(), elapsed);
      return true;
    } catch (RuntimeException e) {
      output.error(where, e);
      return false;
    }
  }

  /**
   * Prints the columns of {@code name} (a table, view or system table; any case, or exact when
   * double-quoted): name, SQL type and whether it may hold NULL. On failure prints {@code where}.
   */
  boolean describe(String name, String where) {
    long start = nanoTime.getAsLong();
    try {
      TableEntry table = find(name);
      if (table == null) {
        output
            .err()
            .println(
                where
                    + "no table, view or system table named '"
                    + unquote(name)
                    + "' (\\d lists them)");
        return false;
      }
      Schema schema = table.schema();
      if (schema == null) {
        throw new IllegalStateException(
            "the server sent no schema for '" + table.name() + "' although asked to");
      }
      if (output.isTable()) {
        String kind = kind(table.type());
        output
            .out()
            .println(
                kind.substring(0, 1).toUpperCase(Locale.ROOT)
                    + kind.substring(1)
                    + " \""
                    + table.name()
                    + "\"");
      }
      ResultPrinter printer = output.printer(COLUMNS);
      for (Field f : schema.getFields()) {
        printer.row(new Object[] {f.getName(), ColumnTypes.of(f), f.isNullable() ? "YES" : "NO"});
      }
      long elapsed = nanoTime.getAsLong() - start;
      printer.finish();
      output.rows(printer.rowCount(), elapsed);
      return true;
    } catch (RuntimeException e) {
      output.error(where, e);
      return false;
    }
  }

  /**
   * The table {@code name} names: exactly when quoted; otherwise exactly if there is one, else the
   * one whose name differs only in case (SQL names are case-insensitive in DuckDB).
   */
  private @Nullable TableEntry find(String name) {
    boolean quoted = name.length() >= 2 && name.startsWith("\"") && name.endsWith("\"");
    String wanted = unquote(name);
    for (TableEntry t : tables(likeLiteral(wanted), true)) {
      if (t.name().equals(wanted)) {
        return t;
      }
    }
    if (quoted) {
      return null;
    }
    TableEntry match = null;
    for (TableEntry t : tables(null, true)) {
      if (t.name().equalsIgnoreCase(wanted)) {
        match = t;
      }
    }
    return match;
  }

  private static String unquote(String name) {
    if (name.length() >= 2 && name.startsWith("\"") && name.endsWith("\"")) {
      return name.substring(1, name.length() - 1).replace("\"\"", "\"");
    }
    return name;
  }

  /** {@code name} as a LIKE pattern that matches only itself. */
  private static String likeLiteral(String name) {
    return name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_");
  }

  /** GetTables, filtered by a table-name LIKE pattern when given. */
  private List<TableEntry> tables(@Nullable String namePattern, boolean withSchema) {
    FlightInfo info =
        connection.call(
            o -> connection.sql().getTables(null, null, namePattern, null, withSchema, o));
    List<TableEntry> out = new ArrayList<>();
    for (FlightEndpoint endpoint : info.getEndpoints()) {
      try (FlightStream stream =
          connection.sql().getStream(endpoint.getTicket(), connection.options())) {
        while (stream.next()) {
          VectorSchemaRoot root = stream.getRoot();
          VarCharVector names = (VarCharVector) root.getVector("table_name");
          VarCharVector types = (VarCharVector) root.getVector("table_type");
          VarBinaryVector schemas =
              withSchema ? (VarBinaryVector) root.getVector("table_schema") : null;
          for (int r = 0; r < root.getRowCount(); r++) {
            Schema schema =
                schemas == null || schemas.isNull(r)
                    ? null
                    : Schema.deserializeMessage(ByteBuffer.wrap(schemas.get(r)));
            out.add(
                new TableEntry(
                    names.getObject(r).toString(), types.getObject(r).toString(), schema));
          }
        }
      } catch (Exception e) {
        throw ServerConnection.asUnchecked(e);
      }
    }
    return out;
  }

  /** {@code TABLE} as {@code table}, {@code SYSTEM TABLE} as {@code system table}. */
  private static String kind(String tableType) {
    return tableType.toLowerCase(Locale.ROOT);
  }

  private static Schema textColumns(String... names) {
    List<Field> fields = new ArrayList<>();
    for (String n : names) {
      fields.add(new Field(n, FieldType.notNullable(ArrowType.Utf8.INSTANCE), null));
    }
    return new Schema(fields);
  }
}
