package io.hyprstream.flight.policy;

import java.time.Duration;

/**
 * The bounds a {@link HyprstreamServer} holds every request to. A request past one is refused with
 * RESOURCE_EXHAUSTED (sizes, the query queue, memory), DEADLINE_EXCEEDED (the query time limit) or
 * CANCELLED (a result stream whose reader stopped reading), naming the limit and its value; nothing
 * of a refused request is stored and the server stays up. Immutable: {@code
 * ServerLimits.defaults().withQueryTimeout(Duration.ofSeconds(30))}.
 *
 * <p>Limits are named in errors by their configuration keys ({@code limits.max_batch_bytes} ...),
 * which are what an operator sets.
 */
public final class ServerLimits {
  private static final ServerLimits DEFAULTS =
      new ServerLimits(
          256L << 20,
          100_000_000L,
          16,
          256,
          Duration.ofSeconds(30),
          Duration.ofMinutes(5),
          Duration.ofSeconds(30),
          MemoryCeiling.defaultArrowBytes());

  private final long maxBatchBytes;
  private final long maxRequestRows;
  private final int maxConcurrentQueries;
  private final int queryQueue;
  private final Duration queryQueueTimeout;
  private final Duration queryTimeout;
  private final Duration streamIdleTimeout;
  private final long maxMemoryBytes;

  private ServerLimits(
      long maxBatchBytes,
      long maxRequestRows,
      int maxConcurrentQueries,
      int queryQueue,
      Duration queryQueueTimeout,
      Duration queryTimeout,
      Duration streamIdleTimeout,
      long maxMemoryBytes) {
    this.maxBatchBytes = maxBatchBytes;
    this.maxRequestRows = maxRequestRows;
    this.maxConcurrentQueries = maxConcurrentQueries;
    this.queryQueue = queryQueue;
    this.queryQueueTimeout = queryQueueTimeout;
    this.queryTimeout = queryTimeout;
    this.streamIdleTimeout = streamIdleTimeout;
    this.maxMemoryBytes = maxMemoryBytes;
  }

  /**
   * 256 MiB per ingested batch, 100 M rows per ingest request, 16 queries at once with 256 more
   * waiting up to 30 s, 5 minutes per query, 30 s for a reader that stopped reading, and half the
   * JVM's direct memory for the server's Arrow buffers (gRPC keeps the other half).
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
        streamIdleTimeout,
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
        streamIdleTimeout,
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
        streamIdleTimeout,
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
        streamIdleTimeout,
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
        streamIdleTimeout,
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
        streamIdleTimeout,
        maxMemoryBytes);
  }

  /**
   * How long a result stream waits for a reader that stopped reading (gRPC's outbound buffer stays
   * full). Past it the stream ends with CANCELLED and its DuckDB result and buffers are freed.
   * While it waits, a stream holds no query slot.
   */
  public ServerLimits withStreamIdleTimeout(Duration timeout) {
    positive("limits.stream_idle_timeout", timeout);
    return new ServerLimits(
        maxBatchBytes,
        maxRequestRows,
        maxConcurrentQueries,
        queryQueue,
        queryQueueTimeout,
        queryTimeout,
        timeout,
        maxMemoryBytes);
  }

  /**
   * Bytes of Arrow memory the server's requests and results may hold at once; an allocation past it
   * fails the request with RESOURCE_EXHAUSTED. It must leave room in the JVM's direct memory for
   * gRPC's own buffers. DuckDB's memory is bounded separately ({@code
   * HyprstreamBuilder.cacheMemoryLimit}).
   */
  public ServerLimits withMaxMemoryBytes(long bytes) {
    positive("limits.max_memory_bytes", bytes);
    return new ServerLimits(
        maxBatchBytes,
        maxRequestRows,
        maxConcurrentQueries,
        queryQueue,
        queryQueueTimeout,
        queryTimeout,
        streamIdleTimeout,
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

  public Duration streamIdleTimeout() {
    return streamIdleTimeout;
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
        + ", stream_idle_timeout="
        + streamIdleTimeout
        + ", max_memory_bytes="
        + maxMemoryBytes
        + "}";
  }
}
