package io.hyprstream.flight.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.QueryRejectedException;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.OutOfMemoryException;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.Test;

/** Failures map to the Flight status a client can act on, with the limit named. */
final class FlightErrorsTest {

  /** A real refusal from an allocator at its limit. */
  private static OutOfMemoryException refusedAllocation() {
    try (BufferAllocator small = new RootAllocator(1024)) {
      small.buffer(4096).close();
      throw new AssertionError("the allocation should have been refused");
    } catch (OutOfMemoryException e) {
      return e;
    }
  }

  @Test
  void arrowMemoryLimit_isResourceExhausted_evenWhenWrappedMidBatch() {
    OutOfMemoryException oom = refusedAllocation();
    for (Throwable t :
        new Throwable[] {
          oom,
          // How Arrow's VectorLoader reports it while loading a batch.
          new IllegalArgumentException("Could not load buffers for field x", oom),
          new RuntimeException(new java.io.IOException(oom))
        }) {
      FlightRuntimeException f = FlightErrors.toFlight(t);
      assertEquals(FlightStatusCode.RESOURCE_EXHAUSTED, f.status().code(), t.toString());
      assertTrue(f.getMessage().contains("limits.max_memory_bytes"), f.getMessage());
    }
  }

  @Test
  void badSql_isInvalidArgument() {
    FlightRuntimeException f =
        FlightErrors.toFlight(new QueryRejectedException("Parser Error: near FORM", null));
    assertEquals(FlightStatusCode.INVALID_ARGUMENT, f.status().code());
    assertTrue(f.getMessage().contains("FORM"), f.getMessage());
  }
}
