package io.hyprstream.flight.internal.cli;

import io.hyprstream.flight.internal.ArrowValues;
import java.io.PrintStream;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;

/**
 * Prints query results for people at a terminal: an aligned table, CSV or JSON lines. The row count
 * and timing line is the caller's ({@link StatementRunner}), so that it can go elsewhere than the
 * data in CSV and JSON.
 */
abstract class ResultPrinter {
  /** An output format. */
  enum Format {
    TABLE,
    CSV,
    JSON
  }

  protected final PrintStream out;
  protected final Schema schema;
  private long rows;

  ResultPrinter(PrintStream out, Schema schema) {
    this.out = out;
    this.schema = schema;
  }

  static ResultPrinter create(Format format, PrintStream out, Schema schema) {
    switch (format) {
      case TABLE:
        return new Table(out, schema);
      case CSV:
        return new Csv(out, schema);
      case JSON:
        return new Json(out, schema);
    }
    throw new AssertionError(format);
  }

  /** Prints (or collects) every row of {@code root}; the root stays the caller's. */
  final void batch(VectorSchemaRoot root) {
    List<FieldVector> vectors = root.getFieldVectors();
    for (int r = 0; r < root.getRowCount(); r++) {
      @Nullable Object[] values = new Object[vectors.size()];
      for (int c = 0; c < values.length; c++) {
        values[c] = ArrowValues.value(vectors.get(c), r);
      }
      row(values);
    }
  }

  /**
   * Prints (or collects) one row: a value per field of the schema, as {@link ArrowValues#value}
   * reads them (text for string columns).
   */
  final void row(@Nullable Object[] values) {
    rows++;
    print(values);
  }

  /** The rows given so far. */
  final long rowCount() {
    return rows;
  }

  abstract void print(@Nullable Object[] values);

  /** Ends the output. */
  abstract void finish();

  /** A value as text: timestamps as {@code 2024-01-01 12:00:00}, binary as hex; null for null. */
  static @Nullable String text(@Nullable Object value) {
    if (value == null) {
      return null;
    } else if (value instanceof LocalDateTime) {
      return value.toString().replace('T', ' ');
    } else if (value instanceof LocalDate) {
      return value.toString();
    } else if (value instanceof byte[]) {
      return HexFormat.of().formatHex((byte[]) value);
    }
    return value.toString();
  }

  private static boolean isNumeric(Field f) {
    ArrowType t = f.getType();
    return t instanceof ArrowType.Int
        || t instanceof ArrowType.FloatingPoint
        || t instanceof ArrowType.Decimal;
  }

  /** An aligned table; rows are kept until the end to size the columns. */
  static final class Table extends ResultPrinter {
    private final List<String[]> rows = new ArrayList<>();

    Table(PrintStream out, Schema schema) {
      super(out, schema);
    }

    @Override
    void print(@Nullable Object[] values) {
      String[] row = new String[values.length];
      for (int c = 0; c < values.length; c++) {
        String s = text(values[c]);
        row[c] = s == null ? "NULL" : s;
      }
      rows.add(row);
    }

    @Override
    void finish() {
      List<Field> fields = schema.getFields();
      int[] width = new int[fields.size()];
      for (int c = 0; c < width.length; c++) {
        width[c] = fields.get(c).getName().length();
        for (String[] row : rows) {
          width[c] = Math.max(width[c], row[c].length());
        }
      }
      StringBuilder header = new StringBuilder();
      StringBuilder rule = new StringBuilder();
      for (int c = 0; c < width.length; c++) {
        if (c > 0) {
          header.append(" | ");
          rule.append("-+-");
        }
        header.append(pad(fields.get(c).getName(), width[c], isNumeric(fields.get(c))));
        rule.append("-".repeat(width[c]));
      }
      out.println(header.toString().stripTrailing());
      out.println(rule);
      for (String[] row : rows) {
        StringBuilder line = new StringBuilder();
        for (int c = 0; c < width.length; c++) {
          if (c > 0) {
            line.append(" | ");
          }
          line.append(pad(row[c], width[c], isNumeric(fields.get(c))));
        }
        out.println(line.toString().stripTrailing());
      }
    }

    private static String pad(String s, int width, boolean right) {
      String fill = " ".repeat(width - s.length());
      return right ? fill + s : s + fill;
    }
  }

  /** RFC 4180 CSV with a header line; streamed. */
  static final class Csv extends ResultPrinter {
    Csv(PrintStream out, Schema schema) {
      super(out, schema);
      List<String> names = new ArrayList<>();
      for (Field f : schema.getFields()) {
        names.add(quote(f.getName()));
      }
      out.println(String.join(",", names));
    }

    @Override
    void print(@Nullable Object[] values) {
      StringBuilder line = new StringBuilder();
      for (int c = 0; c < values.length; c++) {
        if (c > 0) {
          line.append(',');
        }
        String s = text(values[c]);
        line.append(s == null ? "" : quote(s));
      }
      out.println(line);
    }

    @Override
    void finish() {
      out.flush();
    }

    private static String quote(String s) {
      if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) {
        return s;
      }
      return '"' + s.replace("\"", "\"\"") + '"';
    }
  }

  /** A JSON array of objects, one row per line; streamed. */
  static final class Json extends ResultPrinter {
    private boolean first = true;

    Json(PrintStream out, Schema schema) {
      super(out, schema);
      out.println("[");
    }

    @Override
    void print(@Nullable Object[] values) {
      List<Field> fields = schema.getFields();
      StringBuilder line = new StringBuilder(first ? "  {" : ",\n  {");
      first = false;
      for (int c = 0; c < values.length; c++) {
        if (c > 0) {
          line.append(", ");
        }
        line.append(string(fields.get(c).getName())).append(": ");
        Object raw = values[c];
        String s = text(raw);
        if (s == null) {
          line.append("null");
        } else if (raw instanceof Boolean) {
          line.append(s);
        } else if (raw instanceof Number && isFinite((Number) raw)) {
          line.append(s);
        } else {
          line.append(string(s));
        }
      }
      line.append('}');
      out.print(line);
    }

    private static boolean isFinite(Number n) {
      return !(n instanceof Double || n instanceof Float) || Double.isFinite(n.doubleValue());
    }

    @Override
    void finish() {
      out.println(first ? "]" : "\n]");
      out.flush();
    }

    static String string(String s) {
      StringBuilder b = new StringBuilder("\"");
      for (int i = 0; i < s.length(); i++) {
        char ch = s.charAt(i);
        switch (ch) {
          case '"':
            b.append("\\\"");
            break;
          case '\\':
            b.append("\\\\");
            break;
          case '\n':
            b.append("\\n");
            break;
          case '\r':
            b.append("\\r");
            break;
          case '\t':
            b.append("\\t");
            break;
          default:
            if (ch < 0x20) {
              b.append(String.format(Locale.ROOT, "\\u%04x", (int) ch));
            } else {
              b.append(ch);
            }
        }
      }
      return b.append('"').toString();
    }
  }
}
