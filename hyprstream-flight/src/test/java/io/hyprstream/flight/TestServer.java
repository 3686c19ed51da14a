package io.hyprstream.flight;

import io.hyprstream.Hyprstream;
import io.hyprstream.HyprstreamBuilder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMilliVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * A real Hyprstream instance behind a real Flight SQL server on a free loopback port, with a root
 * allocator that fails the test on close when anything leaked.
 */
public final class TestServer implements AutoCloseable {
  /** metric_id utf8, timestamp ms, value float64: what clients send for {@code metrics}. */
  public static final Schema METRICS_BATCH =
      new Schema(
          List.of(
              new Field("metric_id", FieldType.notNullable(ArrowType.Utf8.INSTANCE), null),
              new Field(
                  "timestamp",
                  FieldType.notNullable(new ArrowType.Timestamp(TimeUnit.MILLISECOND, null)),
                  null),
              new Field(
                  "value",
                  FieldType.nullable(new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
                  null)));

  public final BufferAllocator allocator = new RootAllocator();
  public final Hyprstream hyprstream;
  public final HyprstreamServer server;

  public TestServer() {
    this(10_000);
  }

  TestServer(int maxPreparedStatements) {
    this(maxPreparedStatements, HyprstreamBuilder.DEFAULT_CACHE_DURATION);
  }

  TestServer(int maxPreparedStatements, Duration cacheDuration) {
    this(maxPreparedStatements, cacheDuration, b -> {});
  }

  /** A server whose builder {@code configure} completes (TLS, authentication, limits, meters). */
  public TestServer(Consumer<HyprstreamServer.Builder> configure) {
    this(10_000, HyprstreamBuilder.DEFAULT_CACHE_DURATION, configure);
  }

  private TestServer(
      int maxPreparedStatements,
      Duration cacheDuration,
      Consumer<HyprstreamServer.Builder> configure) {
    hyprstream = Hyprstream.builder().allocator(allocator).cacheDuration(cacheDuration).build();
    HyprstreamServer.Builder b =
        HyprstreamServer.builder(hyprstream)
            .host("127.0.0.1")
            .port(0)
            .allocator(allocator)
            .maxPreparedStatements(maxPreparedStatements);
    configure.accept(b);
    server = b.start();
  }

  Location location() {
    return Location.forGrpcInsecure("127.0.0.1", server.port());
  }

  String jdbcUrl() {
    return "jdbc:arrow-flight-sql://127.0.0.1:" + server.port() + "?useEncryption=false";
  }

  /** A metrics batch of {@code ids.length} rows; the caller closes it. */
  public static VectorSchemaRoot metrics(
      BufferAllocator allocator, String[] ids, Instant[] times, double[] values) {
    VectorSchemaRoot root = VectorSchemaRoot.create(METRICS_BATCH, allocator);
    root.allocateNew();
    for (int i = 0; i < ids.length; i++) {
      ((VarCharVector) root.getVector(0)).setSafe(i, ids[i].getBytes(StandardCharsets.UTF_8));
      ((TimeStampMilliVector) root.getVector(1)).setSafe(i, times[i].toEpochMilli());
      ((Float8Vector) root.getVector(2)).setSafe(i, values[i]);
    }
    root.setRowCount(ids.length);
    return root;
  }

  @Override
  public void close() {
    server.close();
    hyprstream.close();
    allocator.close();
  }
}
