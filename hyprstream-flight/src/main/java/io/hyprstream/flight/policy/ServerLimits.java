package io.hyprstream.flight.policy;

import java.time.Duration;

/**
 * The bounds a {@link HyprstreamServer} holds every request to. A request past one is refused with
 * RESOURCE_EXHAUSTED (sizes, the query queue, memory), DEADLINE_EXCEEDED (the query time limit) or
 * CANCELLED (a result stream whose reader stopped reading), naming the limit and its value; nothing
 * of a refused request is stored and the server stays up. Immutable: {@code
 * ServerLimits.builder().queryTimeout(Duration.ofSeconds(30)).build()}.
 *
 * <p>Limits are named in errors by their configuration keys ({@code limits.max_batch_bytes} ...),
 * which are what an operator sets.
 */
public record ServerLimits(
    long maxBatchBytes,
    long maxRequestRows,
    int maxConcurrentQueries,
    int queryQueue,
    Duration queryQueueTimeout,
    Duration queryTimeout,
    Duration streamIdleTimeout,
    long maxMemoryBytes) {
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

  /**
   * Checks every limit, naming the configuration key of one out of range.
   *
   * @param maxBatchBytes bytes of Arrow buffers one ingested record batch may hold
   * @param maxRequestRows rows one ingest request (DoPut, bulk ingest, prepared INSERT) may carry
   * @param maxConcurrentQueries queries that run at once; more wait in the queue
   * @param queryQueue queries that may wait for a slot (0: none wait; a query finding no slot is
   *     refused)
   * @param queryQueueTimeout how long a queued query waits for a slot before it is refused
   * @param queryTimeout how long a query may run (and stream its result) before it is cancelled
   * @param streamIdleTimeout how long a result stream waits for a reader that stopped reading
   *     (gRPC's outbound buffer stays full). Past it the stream ends with CANCELLED and its DuckDB
   *     result and buffers are freed. While it waits, a stream holds no query slot.
   * @param maxMemoryBytes bytes of Arrow memory the server's requests and results may hold at once;
   *     an allocation past it fails the request with RESOURCE_EXHAUSTED. It must leave room in the
   *     JVM's direct memory for gRPC's own buffers. DuckDB's memory is bounded separately ({@code
   *     HyprstreamBuilder.cacheMemoryLimit}).
   */
  public ServerLimits {
    positive("limits.max_batch_bytes", maxBatchBytes);
    positive("limits.max_request_rows", maxRequestRows);
    positive("limits.max_concurrent_queries", maxConcurrentQueries);
    if (queryQueue < 0) {
      throw new IllegalArgumentException(
          "limits.query_queue must not be negative, got " + queryQueue);
    }
    positive("limits.query_queue_timeout", queryQueueTimeout);
    positive("limits.query_timeout", queryTimeout);
    positive("limits.stream_idle_timeout", streamIdleTimeout);
    positive("limits.max_memory_bytes", maxMemoryBytes);
  }

  /**
   * 256 MiB per ingested batch, 100 M rows per ingest request, 16 queries at once with 256 more
   * waiting up to 30 s, 5 minutes per query, 30 s for a reader that stopped reading, and half the
   * JVM's direct memory for the server's Arrow buffers (gRPC keeps the other half).
   */
  public static ServerLimits defaults() {
    return DEFAULTS;
  }

  /** A builder holding the {@link #defaults()}. */
  public static Builder builder() {
    return DEFAULTS.toBuilder();
  }

  /** A builder holding these limits, to change some of them. */
  public Builder toBuilder() {
    return new Builder(this);
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

  /** Changes some limits of a {@link ServerLimits}; {@link #build} checks them all. */
  public static final class Builder {
    private long maxBatchBytes;
    private long maxRequestRows;
    private int maxConcurrentQueries;
    private int queryQueue;
    private Duration queryQueueTimeout;
    private Duration queryTimeout;
    private Duration streamIdleTimeout;
    private long maxMemoryBytes;

    private Builder(ServerLimits from) {
      this.maxBatchBytes = from.maxBatchBytes;
      this.maxRequestRows = from.maxRequestRows;
      this.maxConcurrentQueries = from.maxConcurrentQueries;
      this.queryQueue = from.queryQueue;
      this.queryQueueTimeout = from.queryQueueTimeout;
      this.queryTimeout = from.queryTimeout;
      this.streamIdleTimeout = from.streamIdleTimeout;
      this.maxMemoryBytes = from.maxMemoryBytes;
    }

    /** See {@link ServerLimits#maxBatchBytes()}. */
    public Builder maxBatchBytes(long bytes) {
      this.maxBatchBytes = bytes;
      return this;
    }

    /** See {@link ServerLimits#maxRequestRows()}. */
    public Builder maxRequestRows(long rows) {
      this.maxRequestRows = rows;
      return this;
    }

    /** See {@link ServerLimits#maxConcurrentQueries()}. */
    public Builder maxConcurrentQueries(int queries) {
      this.maxConcurrentQueries = queries;
      return this;
    }

    /** See {@link ServerLimits#queryQueue()}. */
    public Builder queryQueue(int waiting) {
      this.queryQueue = waiting;
      return this;
    }

    /** See {@link ServerLimits#queryQueueTimeout()}. */
    public Builder queryQueueTimeout(Duration timeout) {
      this.queryQueueTimeout = timeout;
      return this;
    }

    /** See {@link ServerLimits#queryTimeout()}. */
    public Builder queryTimeout(Duration timeout) {
      this.queryTimeout = timeout;
      return this;
    }

    /** See {@link ServerLimits#streamIdleTimeout()}. */
    public Builder streamIdleTimeout(Duration timeout) {
      this.streamIdleTimeout = timeout;
      return this;
    }

    /** See {@link ServerLimits#maxMemoryBytes()}. */
    public Builder maxMemoryBytes(long bytes) {
      this.maxMemoryBytes = bytes;
      return this;
    }

    /**
     * The limits.
     *
     * @throws IllegalArgumentException naming the configuration key of a limit out of range
     */
    public ServerLimits build() {
      return new ServerLimits(
          maxBatchBytes,
          maxRequestRows,
          maxConcurrentQueries,
          queryQueue,
          queryQueueTimeout,
          queryTimeout,
          streamIdleTimeout,
          maxMemoryBytes);
    }
  }
}
