package io.hyprstream.flight.internal.console;

import io.hyprstream.Hyprstream;
import io.hyprstream.QueryResult;
import io.hyprstream.api.Freshness;
import io.hyprstream.flight.internal.ArrowValues;
import io.hyprstream.flight.internal.ColumnTypes;
import io.hyprstream.flight.internal.FlightErrors;
import io.hyprstream.flight.internal.QueryGate;
import io.hyprstream.flight.internal.ServerPolicy;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Field;
import org.jspecify.annotations.Nullable;

/**
 * Runs the console's statements as Flight SQL runs its own: the caller's role is checked first
 * ({@link io.hyprstream.flight.internal.AccessControl}), a query takes one of the server's query
 * slots ({@link QueryGate}, shared with Flight SQL) and runs under its time limit, its buffers come
 * from a child of the server's allocator (under {@code limits.max_memory_bytes}), the instance's
 * SQL sandbox applies, and the server's meters count it. Results are cut to a page of rows: the
 * console asks for the next page with an offset (a repeated query is usually a result-cache hit).
 */
final class ConsoleQueries {
  /** The most rows one answer may carry. */
  static final int MAX_PAGE_ROWS = 10_000;

  /** The rows of one page of a query's result. */
  record Page(
      List<Field> columns,
      List<String> types,
      List<List<@Nullable Object>> rows,
      long offset,
      boolean more,
      Freshness freshness,
      long elapsedNanos) {}

  /** What a statement that returns no rows changed. */
  record Update(long count, long elapsedNanos) {}

  private final Hyprstream hyprstream;
  private final ServerPolicy policy;
  private final BufferAllocator allocator;

  /** {@code allocator}: where result buffers come from; the caller keeps and closes it. */
  ConsoleQueries(Hyprstream hyprstream, ServerPolicy policy, BufferAllocator allocator) {
    this.hyprstream = hyprstream;
    this.policy = policy;
    this.allocator = allocator;
  }

  /** Whether {@code sql} returns rows (a query) rather than changing something. */
  boolean isQuery(String sql) {
    return hyprstream.describe(sql).query();
  }

  /**
   * Runs query {@code sql} for {@code user} and returns rows {@code offset} to {@code offset +
   * limit}.
   *
   * @throws FlightRuntimeException with the status Flight SQL would answer
   */
  Page query(String user, String sql, long offset, int limit) {
    if (limit < 1 || limit > MAX_PAGE_ROWS || offset < 0) {
      throw FlightErrors.invalid(
          "limit must be between 1 and " + MAX_PAGE_ROWS + " and offset not negative");
    }
    policy.access().requireQuery(user, sql, hyprstream);
    long start = System.nanoTime();
    try (QueryGate.Permit slot = enter();
        ServerPolicy.Deadline deadline = policy.startDeadline()) {
      try (QueryResult result = hyprstream.query(sql, List.of(), allocator)) {
        Page page = read(result, offset, limit, deadline, start);
        policy.metrics().queried(page.elapsedNanos());
        return page;
      } catch (FlightRuntimeException e) {
        throw e;
      } catch (IOException | RuntimeException | OutOfMemoryError e) {
        // A statement cancelled at the time limit fails with DuckDB's interrupt: say which limit.
        throw deadline.expired() ? timedOut(deadline) : FlightErrors.toFlight(e);
      }
    }
  }

  private Page read(
      QueryResult result, long offset, int limit, ServerPolicy.Deadline deadline, long start)
      throws IOException {
    VectorSchemaRoot root = result.getVectorSchemaRoot();
    List<Field> columns = root.getSchema().getFields();
    List<String> types = new ArrayList<>();
    columns.forEach(f -> types.add(ColumnTypes.of(f)));
    List<List<@Nullable Object>> rows = new ArrayList<>();
    long seen = 0;
    boolean more = false;
    while (!more && result.loadNextBatch()) {
      if (deadline.expired()) {
        throw timedOut(deadline);
      }
      int n = root.getRowCount();
      for (int i = 0; i < n; i++, seen++) {
        if (seen < offset) {
          continue;
        }
        if (rows.size() == limit) {
          more = true;
          break;
        }
        List<@Nullable Object> row = new ArrayList<>(columns.size());
        for (FieldVector v : root.getFieldVectors()) {
          row.add(ArrowValues.value(v, i));
        }
        rows.add(row);
      }
    }
    if (deadline.expired()) {
      throw timedOut(deadline);
    }
    return new Page(
        columns, types, rows, offset, more, result.freshness(), System.nanoTime() - start);
  }

  /**
   * Runs statement {@code sql} (INSERT, CREATE ...) for {@code user}, who must have the read_write
   * role.
   *
   * @throws FlightRuntimeException with the status Flight SQL would answer
   */
  Update execute(String user, String sql) {
    policy.access().requireWrite(user, "run statements that change data");
    long start = System.nanoTime();
    try (QueryGate.Permit slot = enter();
        ServerPolicy.Deadline deadline = policy.startDeadline()) {
      try {
        long count = hyprstream.execute(sql, List.of());
        return new Update(count, System.nanoTime() - start);
      } catch (RuntimeException e) {
        throw deadline.expired() ? timedOut(deadline) : FlightErrors.toFlight(e);
      }
    }
  }

  private QueryGate.Permit enter() {
    try {
      return policy.gate().enter();
    } catch (FlightRuntimeException e) {
      policy.metrics().rejected("limits.max_concurrent_queries");
      throw e;
    }
  }

  private FlightRuntimeException timedOut(ServerPolicy.Deadline deadline) {
    policy.metrics().rejected("limits.query_timeout");
    return CallStatus.TIMED_OUT.withDescription(deadline.message()).toRuntimeException();
  }
}
