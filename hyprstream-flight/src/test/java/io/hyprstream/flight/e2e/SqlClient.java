package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest.TableDefinitionOptions;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest.TableDefinitionOptions.TableExistsOption;
import org.apache.arrow.flight.sql.impl.FlightSql.CommandStatementIngest.TableDefinitionOptions.TableNotExistOption;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;

/**
 * A Flight SQL client of a {@link ServerProcess} that reports how the server answered a statement
 * (rows or an error status) instead of throwing, for tests that send statements the server must
 * refuse: as a query (GetFlightInfo then DoGet), an update (DoPut) or a prepared statement.
 */
final class SqlClient implements AutoCloseable {
  /** How a statement was answered: {@code code} null for success, else the error's status. */
  record Outcome(@Nullable FlightStatusCode code, String message) {
    boolean ok() {
      return code == null;
    }
  }

  private final BufferAllocator allocator = new RootAllocator();
  private final FlightClient flight;
  private final FlightSqlClient client;

  SqlClient(ServerProcess server) {
    this.flight =
        FlightClient.builder(allocator, Location.forGrpcInsecure("127.0.0.1", server.port()))
            .build();
    this.client = new FlightSqlClient(flight);
  }

  /**
   * Sends one metrics-shaped row to {@code table}: by DoPut with the table as the descriptor's
   * path, or ({@code bulk}) as Flight SQL bulk ingest creating the table if it is missing.
   */
  Outcome ingest(String table, boolean bulk) {
    org.apache.arrow.vector.types.pojo.Schema schema =
        new org.apache.arrow.vector.types.pojo.Schema(
            List.of(
                org.apache.arrow.vector.types.pojo.Field.notNullable(
                    "metric_id", org.apache.arrow.vector.types.pojo.ArrowType.Utf8.INSTANCE),
                org.apache.arrow.vector.types.pojo.Field.notNullable(
                    "timestamp",
                    new org.apache.arrow.vector.types.pojo.ArrowType.Timestamp(
                        org.apache.arrow.vector.types.TimeUnit.MILLISECOND, null)),
                org.apache.arrow.vector.types.pojo.Field.nullable(
                    "value",
                    new org.apache.arrow.vector.types.pojo.ArrowType.FloatingPoint(
                        org.apache.arrow.vector.types.FloatingPointPrecision.DOUBLE))));
    try (org.apache.arrow.vector.VectorSchemaRoot root =
        org.apache.arrow.vector.VectorSchemaRoot.create(schema, allocator)) {
      root.allocateNew();
      ((org.apache.arrow.vector.VarCharVector) root.getVector(0))
          .setSafe(0, "intruder".getBytes(java.nio.charset.StandardCharsets.UTF_8));
      ((org.apache.arrow.vector.TimeStampMilliVector) root.getVector(1))
          .setSafe(0, System.currentTimeMillis());
      ((org.apache.arrow.vector.Float8Vector) root.getVector(2)).setSafe(0, 42.0);
      root.setRowCount(1);
      if (bulk) {
        client.executeIngest(
            root,
            new FlightSqlClient.ExecuteIngestOptions(
                table,
                TableDefinitionOptions.newBuilder()
                    .setIfNotExist(TableNotExistOption.TABLE_NOT_EXIST_OPTION_CREATE)
                    .setIfExists(TableExistsOption.TABLE_EXISTS_OPTION_APPEND)
                    .build(),
                null,
                null,
                java.util.Map.of()));
      } else {
        FlightClient.ClientStreamListener put =
            flight.startPut(
                org.apache.arrow.flight.FlightDescriptor.path(table),
                root,
                new org.apache.arrow.flight.AsyncPutListener());
        put.putNext();
        put.completed();
        put.getResult();
      }
      return new Outcome(null, "");
    } catch (FlightRuntimeException e) {
      return outcome(e);
    }
  }

  /** The underlying client, for calls this class does not wrap. */
  FlightSqlClient client() {
    return client;
  }

  /** Runs {@code sql} as a query and reads every batch. */
  Outcome query(String sql) {
    try {
      FlightInfo info = client.execute(sql);
      return read(info.getEndpoints().get(0).getTicket());
    } catch (FlightRuntimeException e) {
      return outcome(e);
    }
  }

  /** Redeems {@code ticket} and reads every batch. */
  Outcome read(Ticket ticket) {
    try (FlightStream s = client.getStream(ticket)) {
      while (s.next()) {
        // drain
      }
      return new Outcome(null, "");
    } catch (FlightRuntimeException e) {
      return outcome(e);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Runs {@code sql} as an update. */
  Outcome update(String sql) {
    try {
      client.executeUpdate(sql);
      return new Outcome(null, "");
    } catch (FlightRuntimeException e) {
      return outcome(e);
    }
  }

  /** Prepares {@code sql} and runs it as a query, or as an update when it returns no rows. */
  Outcome prepared(String sql) {
    try (FlightSqlClient.PreparedStatement ps = client.prepare(sql)) {
      if (ps.getResultSetSchema().getFields().isEmpty()) {
        ps.executeUpdate();
        return new Outcome(null, "");
      }
      return read(ps.execute().getEndpoints().get(0).getTicket());
    } catch (FlightRuntimeException e) {
      return outcome(e);
    }
  }

  /** Every row of a query's answer, values as the vectors give them. */
  List<List<@Nullable Object>> rows(String sql) throws Exception {
    List<List<@Nullable Object>> out = new ArrayList<>();
    try (FlightStream s = client.getStream(client.execute(sql).getEndpoints().get(0).getTicket())) {
      while (s.next()) {
        VectorSchemaRoot root = s.getRoot();
        for (int r = 0; r < root.getRowCount(); r++) {
          List<@Nullable Object> row = new ArrayList<>();
          for (FieldVector v : root.getFieldVectors()) {
            Object value = v.getObject(r);
            row.add(value == null ? null : value.toString());
          }
          out.add(row);
        }
      }
    }
    return out;
  }

  /** Fails unless the server answers {@code SELECT 1} correctly within {@code bound}. */
  void assertAnswersWithin(Duration bound, String after) throws Exception {
    long start = System.nanoTime();
    assertEquals(List.of(List.of("1")), rows("SELECT 1"), "SELECT 1 after " + after);
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertTrue(
        took.compareTo(bound) <= 0, "SELECT 1 took " + took.toMillis() + " ms after " + after);
  }

  /** Fails when {@code outcome} is a crash-like status a client can never be given. */
  static void assertHonest(Outcome outcome, String sql) {
    assertTrue(
        outcome.code() != FlightStatusCode.INTERNAL
            && outcome.code() != FlightStatusCode.UNKNOWN
            && outcome.code() != FlightStatusCode.UNAVAILABLE,
        () -> outcome.code() + " for " + abbreviate(sql) + ": " + outcome.message());
  }

  static String abbreviate(String sql) {
    return sql.length() <= 200 ? sql : sql.substring(0, 200) + "... (" + sql.length() + " chars)";
  }

  private static Outcome outcome(FlightRuntimeException e) {
    return new Outcome(e.status().code(), String.valueOf(e.getMessage()));
  }

  @Override
  public void close() throws Exception {
    client.close();
    allocator.close();
  }
}
