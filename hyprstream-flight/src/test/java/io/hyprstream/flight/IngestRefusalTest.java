package io.hyprstream.flight;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.arrow.flight.AsyncPutListener;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.apache.arrow.flight.sql.FlightSqlClient.ExecuteIngestOptions;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest.TableDefinitionOptions;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest.TableDefinitionOptions.TableExistsOption;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest.TableDefinitionOptions.TableNotExistOption;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.TimeStampSecVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Requests {@code IngestFuzzIT} found answered with INTERNAL or stored wrongly, each refused here
 * through a real Flight SQL server with INVALID_ARGUMENT naming the column, and storing nothing.
 */
final class IngestRefusalTest {
  private TestServer server;
  private FlightClient flight;
  private FlightSqlClient client;

  @BeforeEach
  void setUp() {
    server = new TestServer();
    flight = FlightClient.builder(server.allocator, server.location()).build();
    client = new FlightSqlClient(flight);
  }

  @AfterEach
  void tearDown() throws Exception {
    client.close();
    server.close();
  }

  private static ExecuteIngestOptions append(String table) {
    return new ExecuteIngestOptions(
        table,
        TableDefinitionOptions.newBuilder()
            .setIfNotExist(TableNotExistOption.TABLE_NOT_EXIST_OPTION_CREATE)
            .setIfExists(TableExistsOption.TABLE_EXISTS_OPTION_APPEND)
            .build(),
        null,
        null,
        Map.of());
  }

  /** The refusal of {@code batch} into {@code table}; fails unless INVALID_ARGUMENT. */
  private FlightRuntimeException refused(String table, VectorSchemaRoot batch) {
    FlightRuntimeException e =
        assertThrows(
            FlightRuntimeException.class, () -> client.executeIngest(batch, append(table)));
    assertEquals(FlightStatusCode.INVALID_ARGUMENT, e.status().code(), e.getMessage());
    return e;
  }

  private List<String> query(String sql) throws Exception {
    List<String> out = new ArrayList<>();
    try (FlightStream stream =
        client.getStream(client.execute(sql).getEndpoints().get(0).getTicket())) {
      while (stream.next()) {
        VectorSchemaRoot root = stream.getRoot();
        for (int r = 0; r < root.getRowCount(); r++) {
          List<String> row = new ArrayList<>();
          for (FieldVector v : root.getFieldVectors()) {
            row.add(String.valueOf(v.getObject(r)));
          }
          out.add(String.join("\t", row));
        }
      }
    }
    return out;
  }

  private VectorSchemaRoot batch(Field... fields) {
    VectorSchemaRoot root = VectorSchemaRoot.create(new Schema(List.of(fields)), server.allocator);
    root.allocateNew();
    return root;
  }

  private static void text(VectorSchemaRoot root, String column, int row, String value) {
    ((VarCharVector) root.getVector(column)).setSafe(row, value.getBytes(StandardCharsets.UTF_8));
  }

  /** Seed 1: seconds far past 2262 overflowed int64 microseconds, answered INTERNAL. */
  @Test
  void metrics_secondsOverflowingTheTableUnit_invalidArgumentNamingColumnAndRow() throws Exception {
    try (VectorSchemaRoot b =
        batch(
            Field.nullable("metric_id", ArrowType.Utf8.INSTANCE),
            Field.nullable("timestamp", new ArrowType.Timestamp(TimeUnit.SECOND, null)),
            Field.nullable("value", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)))) {
      for (int r = 0; r < 2; r++) {
        text(b, "metric_id", r, "m");
        ((TimeStampSecVector) b.getVector("timestamp"))
            .setSafe(r, r == 0 ? 1_700_000_000L : Long.MAX_VALUE);
        ((Float8Vector) b.getVector("value")).setSafe(r, r);
      }
      b.setRowCount(2);
      String message = refused("metrics", b).getMessage();
      assertTrue(message.contains("'timestamp', row 1"), message);
    }
    assertEquals(List.of("0"), query("SELECT count(*) FROM metrics"));
  }

  /**
   * Seed 4: a dictionary-encoded column over DoPut was answered INTERNAL (a NullPointerException).
   */
  @Test
  void doPut_dictionaryEncodedColumn_invalidArgumentNamingColumn() throws Exception {
    DictionaryEncoding encoding = new DictionaryEncoding(1, false, null);
    try (VarCharVector words = new VarCharVector("words", server.allocator);
        VectorSchemaRoot b =
            batch(
                Field.nullable("id", new ArrowType.Int(32, true)),
                new Field(
                    "word", new FieldType(true, new ArrowType.Int(32, true), encoding), null))) {
      words.allocateNew();
      words.setSafe(0, "alpha".getBytes(StandardCharsets.UTF_8));
      words.setValueCount(1);
      DictionaryProvider.MapDictionaryProvider provider =
          new DictionaryProvider.MapDictionaryProvider(new Dictionary(words, encoding));
      ((IntVector) b.getVector("id")).setSafe(0, 1);
      ((IntVector) b.getVector("word")).setSafe(0, 0);
      b.setRowCount(1);
      FlightClient.ClientStreamListener put =
          flight.startPut(FlightDescriptor.path("words"), b, provider, new AsyncPutListener());
      put.putNext();
      put.completed();
      FlightRuntimeException e = assertThrows(FlightRuntimeException.class, put::getResult);
      assertEquals(FlightStatusCode.INVALID_ARGUMENT, e.status().code(), e.getMessage());
      assertTrue(e.getMessage().contains("'word'"), e.getMessage());
    }
    assertEquals(
        List.of("0"),
        query("SELECT count(*) FROM information_schema.tables WHERE table_name = 'words'"));
  }
}
