package io.hyprstream.backend;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.SchemaMismatchException;
import java.util.List;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;

/** Which schemas each backend dialect refuses before a row is acknowledged. */
final class SqlTypesTest {
  private static Schema of(Field... fields) {
    return new Schema(List.of(fields));
  }

  @Test
  void postgres_refusesNamesEqualInTheirFirst63Bytes() {
    String prefix = "x".repeat(63);
    Schema clash =
        of(
            Field.nullable(prefix + "_a", ArrowType.Utf8.INSTANCE),
            Field.nullable(prefix + "_b", ArrowType.Utf8.INSTANCE));
    SchemaMismatchException e =
        assertThrows(
            SchemaMismatchException.class, () -> SqlTypes.POSTGRES.checkWritable("t", clash));
    assertTrue(e.getMessage().contains("63 bytes"), e.getMessage());
    // DuckDB keeps long names whole.
    assertDoesNotThrow(() -> SqlTypes.DUCKDB.checkWritable("t", clash));
  }

  /**
   * IngestFuzzIT seed 4: one 67-byte name was accepted, PostgreSQL cut it to 63 bytes, and every
   * later write-through of the table failed ("column ... already exists") and was quarantined.
   */
  @Test
  void postgres_refusesANameLongerThan63Bytes_evenAlone() {
    String name = "l".repeat(63) + "_one";
    SchemaMismatchException e =
        assertThrows(
            SchemaMismatchException.class,
            () ->
                SqlTypes.POSTGRES.checkWritable(
                    "t", of(Field.nullable(name, new ArrowType.Int(64, true)))));
    assertTrue(
        e.getMessage().contains(name) && e.getMessage().contains("63 bytes"), e.getMessage());
    // 63 bytes are kept whole; a multi-byte name counts its bytes, not its characters.
    assertDoesNotThrow(
        () ->
            SqlTypes.POSTGRES.checkWritable(
                "t", of(Field.nullable("l".repeat(63), ArrowType.Utf8.INSTANCE))));
    assertThrows(
        SchemaMismatchException.class,
        () ->
            SqlTypes.POSTGRES.checkWritable(
                "t", of(Field.nullable("\u00e9".repeat(32), ArrowType.Utf8.INSTANCE))));
  }

  @Test
  void everyDialect_refusesTypesItHasNoColumnFor() {
    for (SqlTypes dialect : SqlTypes.values()) {
      assertThrows(
          SchemaMismatchException.class,
          () -> dialect.checkWritable("t", of(Field.nullable("u", new ArrowType.Int(64, false)))),
          dialect.name());
      assertThrows(
          SchemaMismatchException.class,
          () ->
              dialect.checkWritable(
                  "t",
                  of(
                      Field.nullable(
                          "d",
                          new ArrowType.Duration(org.apache.arrow.vector.types.TimeUnit.SECOND)))),
          dialect.name());
      assertDoesNotThrow(
          () -> dialect.checkWritable("t", of(Field.nullable("s", ArrowType.Utf8.INSTANCE))));
    }
  }

  /**
   * Nanoseconds become the microseconds DuckDB's own cast gives (the cache's answer), for values
   * around every rounding edge, before and after 1970, measured against DuckDB itself.
   */
  @Test
  void nanosecondsRoundAsDuckDbCastsThem() throws Exception {
    long[] nanos = {
      -1_500,
      -1_499,
      -501,
      -500,
      -499,
      -1,
      0,
      1,
      499,
      500,
      501,
      1_500,
      -6_795_364_578_871_345_123L,
      -6_795_364_578_871_345_500L,
      1_700_000_000_123_456_500L,
      Long.MIN_VALUE,
      Long.MAX_VALUE - 1
    };
    try (java.sql.Connection duck = java.sql.DriverManager.getConnection("jdbc:duckdb:");
        java.sql.PreparedStatement st =
            duck.prepareStatement("SELECT epoch_us(make_timestamp_ns(?))")) {
      for (long n : nanos) {
        st.setLong(1, n);
        try (java.sql.ResultSet rs = st.executeQuery()) {
          rs.next();
          assertEquals(
              rs.getLong(1),
              SqlTypes.toMicros(n, org.apache.arrow.vector.types.TimeUnit.NANOSECOND),
              n + " ns");
        }
      }
    }
  }
}
