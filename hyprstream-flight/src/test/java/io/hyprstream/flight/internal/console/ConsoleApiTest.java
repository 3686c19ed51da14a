package io.hyprstream.flight.internal.console;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.Arrays;
import java.util.List;
import org.apache.arrow.flight.FlightStatusCode;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** How the console's API writes values and maps Flight statuses. */
final class ConsoleApiTest {
  private static String json(@Nullable Object... values) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = ConsoleHttp.JSON.createGenerator(out)) {
      g.writeStartArray();
      for (Object v : values) {
        ConsoleApi.writeValue(g, v);
      }
      g.writeEndArray();
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void writeValue_keepsWhatJavaScriptCannotHoldAsText() throws IOException {
    assertEquals(
        "[9007199254740992,\"9007199254740993\",\"-9223372036854775808\",0.1,\"NaN\","
            + "\"-Infinity\",\"12345678901234567890.5\",null,true]",
        json(
            1L << 53,
            (1L << 53) + 1,
            Long.MIN_VALUE,
            0.1,
            Double.NaN,
            Double.NEGATIVE_INFINITY,
            new BigDecimal("12345678901234567890.5"),
            null,
            true));
  }

  @Test
  void writeValue_printsTimestampsAsDuckDbDoes() throws IOException {
    assertEquals(
        "[\"2026-12-02 12:05:00\",\"2026-12-02 12:05:00.25\",\"2026-12-02 12:05:00.000001\","
            + "\"2026-12-02\",\"\\\\x00ff\",\"[1, 2]\"]",
        json(
            LocalDateTime.of(2026, 12, 2, 12, 5),
            LocalDateTime.of(2026, 12, 2, 12, 5, 0, 250_000_000),
            LocalDateTime.of(2026, 12, 2, 12, 5, 0, 1_000),
            LocalDate.of(2026, 12, 2),
            new byte[] {0, (byte) 0xff},
            List.of(1, 2)));
  }

  @Test
  void httpStatus_followsTheFlightStatus() {
    List<Integer> statuses =
        Arrays.stream(
                new FlightStatusCode[] {
                  FlightStatusCode.INVALID_ARGUMENT,
                  FlightStatusCode.UNAUTHENTICATED,
                  FlightStatusCode.UNAUTHORIZED,
                  FlightStatusCode.NOT_FOUND,
                  FlightStatusCode.RESOURCE_EXHAUSTED,
                  FlightStatusCode.TIMED_OUT,
                  FlightStatusCode.INTERNAL
                })
            .map(ConsoleApi::httpStatus)
            .toList();
    assertEquals(List.of(400, 401, 403, 404, 429, 504, 500), statuses);
    assertEquals("PERMISSION_DENIED", ConsoleApi.grpcName(FlightStatusCode.UNAUTHORIZED));
    assertEquals("DEADLINE_EXCEEDED", ConsoleApi.grpcName(FlightStatusCode.TIMED_OUT));
  }
}
