package io.hyprstream.flight;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.hyprstream.api.BackendStore;
import io.hyprstream.backend.BackendStores;
import io.hyprstream.testing.TestAllocator;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Another Hyprstream as the backend, through ADBC's Flight SQL driver ({@code grpc://}): appends
 * arrive, a repeated batch id is skipped, and queries run there.
 */
final class FlightSqlBackendTest {
  private TestServer server;
  @RegisterExtension final TestAllocator allocator = new TestAllocator();

  @BeforeEach
  void setUp() {
    server = new TestServer();
  }

  @AfterEach
  void tearDown() throws Exception {
    server.close();
  }

  @Test
  void append_toAnotherHyprstreamOverFlightSql_landsOnceAndIsQueryable() throws Exception {
    Schema schema =
        new Schema(
            List.of(
                Field.nullable("id", new ArrowType.Int(64, true)),
                Field.nullable("name", new ArrowType.Utf8())));
    try (BackendStore backend =
            BackendStores.open(
                "adbc",
                "grpc://127.0.0.1:" + server.server.port(),
                Map.of(),
                null,
                null,
                allocator);
        VectorSchemaRoot batch = VectorSchemaRoot.create(schema, allocator)) {
      batch.allocateNew();
      for (int i = 0; i < 25; i++) {
        ((BigIntVector) batch.getVector(0)).setSafe(i, i);
        ((VarCharVector) batch.getVector(1)).setSafe(i, ("n" + i).getBytes(StandardCharsets.UTF_8));
      }
      batch.setRowCount(25);
      backend.append("people", "batch-1", batch);
      backend.append("people", "batch-1", batch); // a re-send after a lost reply
      try (ArrowReader r = backend.query("SELECT count(*), sum(id) FROM people", allocator)) {
        r.loadNextBatch();
        assertEquals(25L, ((Number) r.getVectorSchemaRoot().getVector(0).getObject(0)).longValue());
        assertEquals(
            300L, ((Number) r.getVectorSchemaRoot().getVector(1).getObject(0)).longValue());
      }
      assertEquals(true, backend.tables().contains("people"));
    }
  }
}
