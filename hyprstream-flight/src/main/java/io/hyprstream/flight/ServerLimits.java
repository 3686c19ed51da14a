package io.hyprstream.flight;

import java.time.Duration;

/**
 * The bounds a {@link HyprstreamServer} holds every request to. A request past one is refused with
 * RESOURCE_EXHAUSTED (sizes, the query queue, memory) or DEADLINE_EXCEEDED (the query time limit),
 * naming the limit and its value; nothing of a refused request is stored and the server stays up.
 * Immutable: {@code ServerLimits.defaults().withQueryTimeout(Duration.ofSeconds(30))}.
 *
 * <p>Limits are named in errors by their configuration keys ({@code limits.max_batch_bytes} ...),
 * which are what an operator sets.
 */
public final class ServerLimits {
  private static final ServerLimits DEFAULTS =
      new ServerLimits(
          256L << 20, 100_000_000L, 16, 256, Duration.ofSeconds(30), Duration.ofMinutes(5), 0L);

  private final long maxBatchBytes;
  private final long maxRequestRows;
  private final int maxConcurrentQueries;
  private final int queryQueue;
  private final Duration queryQueueTimeout;
  private final Duration queryTimeout;
  private final long maxMemoryBytes;

  private ServerLimits(
      long maxBatchBytes,
      long maxRequestRows,
      int maxConcurrentQueries,
      int queryQueue,
      Duration queryQueueTimeout,
      Duration queryTimeout,
      long maxMemoryBytes) {
    this.maxBatchBytes = maxBatchBytes;
    this.maxRequestRows = maxRequestRows;
    this.maxConcurrentQueries = maxConcurrentQueries;
    this.queryQueue = queryQueue;
    this.queryQueueTimeout = queryQueueTimeout;
    this.queryTimeout = queryTimeout;
    this.maxMemoryBytes = maxMemoryBytes;
  }

  /**
   * 256 MiB per ingested batch, 100 M rows per ingest request, 16 queries at once with 256 more
   * waiting up to 30 s, 5 minutes per query, no bound on the server's Arrow memory beyond the
   * JVM's.
   */
  public static ServerLimits defaults() {
    return DEFAULTS;
  }

  /** Bytes of Arrow buffers one ingested record batch may hold. */
  public ServerLimits withMaxBatchBytes(long bytes) {
    positive("limits.max_batch_bytes", bytes);
    return new ServerLimits(
        bytes,
        maxRequestRows,
        maxConcurrentQueries,
        queryQueue,
        queryQueueTimeout,
        queryTimeout,
        maxMemoryBytes);
  }

  /** Rows one ingest request (DoPut, bulk ingest, prepared INSERT) may carry. */
  public ServerLimits withMaxRequestRows(long rows) {
    positive("limits.max_request_rows", rows);
    return new ServerLimits(
        maxBatchBytes,
        rows,
        maxConcurrentQueries,
        queryQueue,
        queryQueueTimeout,
        queryTimeout,
        maxMemoryBytes);
  }

  /** Queries that run at once; more wait in the queue. */
  public ServerLimits withMaxConcurrentQueries(int queries) {
    positive("limits.max_concurrent_queries", queries);
    return new ServerLimits(
        maxBatchBytes,
        maxRequestRows,
        queries,
        queryQueue,
        queryQueueTimeout,
        queryTimeout,
        maxMemoryBytes);
  }

  /** Queries that may wait for a slot (0: none wait; a query finding no slot is refused). */
  public ServerLimits withQueryQueue(int waiting) {
    if (waiting < 0) {
      throw new IllegalArgumentException("limits.query_queue must not be negative, got " + waiting);
    }
    return new ServerLimits(
        maxBatchBytes,
        maxRequestRows,
        maxConcurrentQueries,
        waiting,
        queryQueueTimeout,
        queryTimeout,
        maxMemoryBytes);
  }

  /** How long a queued query waits for a slot before it is refused. */
  public ServerLimits withQueryQueueTimeout(Duration timeout) {
    positive("limits.query_queue_timeout", timeout);
    return new ServerLimits(
        maxBatchBytes,
        maxRequestRows,
        maxConcurrentQueries,
        queryQueue,
        timeout,
        queryTimeout,
        maxMemoryBytes);
  }

  /** How long a query may run (and stream its result) before it is cancelled. */
  public ServerLimits withQueryTimeout(Duration timeout) {
    positive("limits.query_timeout", timeout);
    return new ServerLimits(
        maxBatchBytes,
        maxRequestRows,
        maxConcurrentQueries,
        queryQueue,
        queryQueueTimeout,
        timeout,
        maxMemoryBytes);
  }

  /**
   * Bytes of Arrow memory the server's requests and results may hold at once (0: no bound but the
   * JVM's). DuckDB's own memory is bounded separately ({@code HyprstreamBuilder.cacheMemoryLimit}).
   */
  public ServerLimits withMaxMemoryBytes(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException(
          "limits.max_memory_bytes must not be negative, got " + bytes);
    }
    return new ServerLimits(
        maxBatchBytes,
        maxRequestRows,
        maxConcurrentQueries,
        queryQueue,
        queryQueueTimeout,
        queryTimeout,
        bytes);
  }

  public long maxBatchBytes() {
    return maxBatchBytes;
  }

  public long maxRequestRows() {
    return maxRequestRows;
  }

  public int maxConcurrentQueries() {
    return maxConcurrentQueries;
  }

  public int queryQueue() {
    return queryQueue;
  }

  public Duration queryQueueTimeout() {
    return queryQueueTimeout;
  }

  public Duration queryTimeout() {
    return queryTimeout;
  }

  public long maxMemoryBytes() {
    return maxMemoryBytes;
  }

  private static void positive(String name, long value) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be positive, got " + value);
    }
  }

  private static void positive(String name, Duration value) {
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, got " + value);
    }
  }

  @Override
  public String toString() {
    return "ServerLimits{max_batch_bytes="
        + maxBatchBytes
        + ", max_request_rows="
        + maxRequestRows
        + ", max_concurrent_queries="
        + maxConcurrentQueries
        + ", query_queue="
        + queryQueue
        + ", query_queue_timeout="
        + queryQueueTimeout
        + ", query_timeout="
        + queryTimeout
        + ", max_memory_bytes="
        + maxMemoryBytes
        + "}";
  }
}
