package io.hyprstream.flight.internal.cli;

import static io.hyprstream.flight.internal.cli.Config.*;
import static io.hyprstream.flight.internal.cli.ConfigKey.Type.BOOL;
import static io.hyprstream.flight.internal.cli.ConfigKey.Type.INT;
import static io.hyprstream.flight.internal.cli.ConfigKey.Type.LIST;
import static io.hyprstream.flight.internal.cli.ConfigKey.Type.LONG;
import static io.hyprstream.flight.internal.cli.ConfigKey.Type.MAP;
import static io.hyprstream.flight.internal.cli.ConfigKey.Type.STRING;
import static io.hyprstream.flight.internal.cli.ConfigKey.Type.USERS;
import static io.hyprstream.flight.internal.cli.ConfigKey.key;

import io.hyprstream.HyprstreamBuilder;
import io.hyprstream.flight.internal.cli.ConfigKey.Check;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every configuration key, each declared once, in documentation order. Adding a key: its name
 * constant in {@link Config}, one line here, a row in docs/server.md's Flags table (a test compares
 * the two) and a sample value in the docs test; {@link Config} gets an accessor when code reads it.
 * Parsing of TOML, the environment and flags, {@code --help}, the per-key checks and the banner all
 * come from these entries.
 */
final class ConfigKeys {
  private ConfigKeys() {}

  private static final String POSITIVE_SECONDS = "must be a positive number of seconds";
  private static final String POSITIVE = "must be positive";
  private static final String DERIVED_OR_BYTES =
      "must be 0 (derived from the machine) or a number of bytes";

  /** A readable file, or blank for none. */
  private static final Check READABLE_FILE =
      v ->
          ((String) v).isBlank() || Files.isReadable(Path.of((String) v))
              ? null
              : "is not a readable file";

  static final List<ConfigKey> ALL =
      List.of(
          key(SERVER_HOST, STRING, "127.0.0.1")
              .flag("host", "HOST")
              .check(Check.notBlank("must not be empty"))
              .doc("Address to listen on (0.0.0.0 for every interface)."),
          key(SERVER_PORT, INT, 50051)
              .flag("port", "PORT")
              .check(Check.between(0, 65535, "must be between 0 and 65535"))
              .doc("Port to listen on; 0 picks a free one."),
          key(SERVER_LOG_LEVEL, STRING, "info")
              .flag("log-level", "LEVEL")
              .check(
                  Check.oneOf(
                      Set.of("trace", "debug", "info", "warn", "error", "off"),
                      "must be one of trace, debug, info, warn, error, off"))
              .doc("trace, debug, info, warn, error or off."),
          key(CACHE_ENABLED, BOOL, true)
              .flag("enable-cache", "")
              .check(
                  v ->
                      (Boolean) v
                          ? null
                          : "cannot be false: every answer is served through the cache (a"
                              + " pass-through mode is not built)")
              .doc("Keep hot rows in the cache (off needs a backend)."),
          key(CACHE_ENGINE, STRING, "duckdb")
              .flag("cache-engine", "duckdb")
              .check(v -> v.equals("duckdb") ? null : "must be duckdb (the only cache engine)")
              .doc("Cache engine (duckdb, the only one)."),
          key(CACHE_CONNECTION, STRING, ":memory:")
              .flag("cache-connection", ":memory:|FILE")
              .check(Check.notBlank("must be \":memory:\" or a file name"))
              .doc("Keep the cache in memory or in a DuckDB file."),
          key(CACHE_DURATION, INT, 3600)
              .flag("cache-duration", "SECONDS")
              .check(Check.atLeast(1, POSITIVE_SECONDS))
              .doc("How long raw rows stay in the cache, by event time."),
          key(CACHE_RESULT_BYTES, LONG, 268435456L)
              .flag("result-cache-bytes", "BYTES")
              .check(Check.atLeast(0, "must be 0 (no result cache) or a number of bytes"))
              .doc("Bytes of query results kept for repeats; 0 turns it off."),
          key(CACHE_RESULT_TTL, INT, 300)
              .flag("result-cache-ttl", "SECONDS")
              .check(Check.atLeast(1, POSITIVE_SECONDS))
              .doc("How long a kept query result may be served."),
          key(CACHE_MEMORY_BYTES, LONG, 0L)
              .flag("cache-memory-bytes", "BYTES")
              .check(
                  v -> {
                    long bytes = (Long) v;
                    return bytes != 0 && bytes < 1 << 20
                        ? "must be 0 (a quarter of the machine's memory) or >= 1 MiB"
                        : null;
                  })
              .doc("Memory budget of hot raw rows; 0: a quarter of the machine's memory."),
          key(CACHE_EVICTION, STRING, "time")
              .flag("cache-eviction", "time|lru|lfu")
              .doc("Which time partitions leave first past the memory budget."),
          key(CACHE_MAX_STALENESS, MAP, Map.of())
              .doc("Seconds a kept result over each table may be served after rows arrived."),
          key(METRICS_WINDOWS, LIST, List.of("5m:1d", "30m:7d", "1h:31d", "1d:400d", "1w:260w"))
              .flag("metrics-windows", "SPEC[,SPEC...]")
              .doc("Windows of the metrics table, SIZE[:RETENTION] with units s m h d w."),
          key(ENGINE_ENGINE, STRING, "none")
              .flag("engine", "none|duckdb|adbc|redis")
              .check(
                  Check.oneOf(
                      Set.of("none", "duckdb", "adbc", "redis"),
                      "must be one of none, duckdb, adbc, redis"))
              .doc(
                  "Backend store every acknowledged row is written through to: none (the cache"
                      + " alone), duckdb (a DuckDB file), adbc (PostgreSQL, JDBC or Flight SQL) or"
                      + " redis (a stream per table)."),
          key(ENGINE_CONNECTION, STRING, "")
              .flag("engine-connection", "URI")
              .doc(
                  "Backend connection: a DuckDB file for duckdb; postgresql://[USER@]HOST[:PORT]/DB,"
                      + " jdbc:... or grpc://HOST:PORT for adbc; redis://HOST:PORT/DB for redis."),
          key(ENGINE_DATABASE, STRING, "")
              .flag("engine-database", "NAME")
              .doc("Database for a postgresql://HOST[:PORT] connection that names none."),
          key(ENGINE_USERNAME, STRING, "")
              .flag("engine-username", "USER")
              .doc("Backend user name."),
          key(ENGINE_PASSWORD, STRING, "")
              .flag("engine-password", "PASSWORD")
              .secret()
              .doc(
                  "Backend password (prefer HYPRSTREAM_ENGINE_PASSWORD: flags show in process"
                      + " lists). Never logged."),
          key(ENGINE_OPTIONS, MAP, Map.of())
              .flag("engine-options", "K=V")
              .doc(
                  "Backend option; repeatable: schema, copy_format, copy_parallelism, dialect,"
                      + " pool_max, pool_min, connect_timeout (seconds), socket_timeout (seconds),"
                      + " driver_path; others go to the driver."),
          key(ENGINE_DATA_DIR, STRING, "hyprstream-data")
              .flag("data-dir", "DIR")
              .check(Check.notBlank("must name a directory for the write-ahead log"))
              .doc("Directory for the write-ahead log when a backend is set."),
          key(ENGINE_SYNCHRONOUS, BOOL, false)
              .flag("synchronous-write-through", "")
              .doc("Acknowledge ingest only after the backend commit."),
          key(ENGINE_MAX_BACKLOG_BYTES, LONG, 536870912L)
              .flag("max-backlog-bytes", "BYTES")
              .check(Check.atLeast(1, POSITIVE))
              .doc(
                  "Memory (Arrow bytes) the write-through backlog may hold; past it, batches spill"
                      + " to the write-ahead log."),
          key(ENGINE_MAX_LOG_BYTES, LONG, 4294967296L)
              .flag("max-log-bytes", "BYTES")
              .check(Check.atLeast(1 << 20, "must be at least 1048576 (1 MiB)"))
              .doc(
                  "Disk the write-ahead log may take; past it, ingest is refused RESOURCE_EXHAUSTED."),
          key(ENGINE_MAX_LAG, INT, 60)
              .flag("max-lag", "SECONDS")
              .check(Check.atLeast(1, POSITIVE_SECONDS))
              .doc("Write-through lag past which /ready says 503."),
          key(ENGINE_SNAPSHOT_INTERVAL, INT, 60)
              .flag("snapshot-interval", "SECONDS")
              .check(Check.atLeast(0, "must be a number of seconds, 0 (no snapshots) or more"))
              .doc(
                  "Seconds between window-state snapshots in the data directory, which a restart"
                      + " loads instead of re-reading history from the backend; 0 takes none."),
          key(PUBLISH_WINDOWS, STRING, "")
              .flag("publish-windows", "URI")
              .check(
                  v -> {
                    String uri = ((String) v).toLowerCase(java.util.Locale.ROOT);
                    return uri.isEmpty()
                            || uri.startsWith("redis://")
                            || uri.startsWith("rediss://")
                        ? null
                        : "must be redis://HOST[:PORT][/DB] or rediss://..., or empty (off)";
                  })
              .doc(
                  "Redis to publish every changed window view row to, a hash per (view, key);"
                      + " empty: off."),
          key(PUBLISH_CLOSED_WINDOWS, INT, 3)
              .flag("publish-closed-windows", "N")
              .check(Check.atLeast(0, "must be 0 or more"))
              .doc("Windows before the newest each published hash holds."),
          key(PUBLISH_KEY_PREFIX, STRING, "hyprstream:")
              .flag("publish-key-prefix", "PREFIX")
              .check(
                  v ->
                      ((String) v).isEmpty()
                          ? "must not be empty: keys of other programs would mix in"
                          : null)
              .doc("Put before every published key."),
          key(CLUSTER_KAFKA, STRING, "")
              .flag("cluster-kafka", "BOOTSTRAP")
              .doc(
                  "Kafka bootstrap servers (HOST:PORT[,HOST:PORT...]) of the cluster's shared"
                      + " ingest log; empty: a single instance."),
          key(CLUSTER_NAME, STRING, "hyprstream")
              .flag("cluster-name", "NAME")
              .check(
                  v ->
                      ((String) v).matches("[A-Za-z0-9._-]{1,200}")
                          ? null
                          : "may hold only letters, digits, '.', '_' and '-'")
              .doc("The cluster's name; its instances share it (topic hs.NAME.ingest)."),
          key(CLUSTER_PARTITIONS, INT, 48)
              .flag("cluster-partitions", "P")
              .check(Check.between(1, 10000, "must be between 1 and 10000"))
              .doc("Key partitions of the cluster; every instance must use the same count."),
          key(CLUSTER_CHECKPOINT_INTERVAL, INT, 300)
              .flag("cluster-checkpoint-interval", "SECONDS")
              .check(Check.atLeast(0, "must be a number of seconds, 0 (no checkpoints) or more"))
              .doc(
                  "Seconds between checkpoints of each partition this instance owns; a new owner"
                      + " loads the newest and replays the log only from there. 0 takes none (a"
                      + " new owner then replays the whole log)."),
          key(CLUSTER_DIRECT_READS, BOOL, false)
              .flag("cluster-direct-reads", "")
              .doc(
                  "Send clients to the owner of the key a key lookup reads (the FlightInfo names"
                      + " its advertised location) instead of relaying the rows; off by default."),
          key(CLUSTER_ADVERTISE, STRING, "")
              .flag("advertise", "grpc://HOST:PORT")
              .check(
                  v ->
                      ((String) v).isEmpty()
                              || ((String) v)
                                  .matches(
                                      "grpc(\\+tcp|\\+tls)?://(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+):[0-9]{1,5}")
                          ? null
                          : "must be grpc://HOST:PORT (grpc+tls://HOST:PORT with TLS), or empty")
              .doc(
                  "The Flight location other cluster instances reach this one at to read the"
                      + " partitions it owns; empty: the address the server is bound to."),
          key(CLUSTER_PEER_USER, STRING, "")
              .flag("cluster-peer-user", "NAME")
              .doc(
                  "The user this instance signs in as to read the other cluster instances; needed"
                      + " when they run with auth (each must accept it)."),
          key(CLUSTER_PEER_PASSWORD, STRING, "")
              .flag("cluster-peer-password", "PASSWORD")
              .secret()
              .doc(
                  "The password of cluster.peer_user (prefer HYPRSTREAM_CLUSTER_PEER_PASSWORD:"
                      + " flags show in process lists). Never logged."),
          key(SERVER_HTTP_PORT, INT, 9090)
              .flag("http-port", "PORT")
              .check(
                  Check.between(-1, 65535, "must be between 0 and 65535, or -1 to turn HTTP off"))
              .doc(
                  "HTTP port for /health, /ready and /metrics; 0 picks a free one, -1 turns it off."),
          key(SERVER_CONSOLE, BOOL, true)
              .flag("console", "")
              .doc("Serve the web console at / on the HTTP port (--no-console: off)."),
          key(SERVER_SHUTDOWN_GRACE, INT, 5)
              .flag("shutdown-grace", "SECONDS")
              .check(Check.atLeast(0, "must be a number of seconds, 0 or more"))
              .doc("Seconds calls in flight get to finish at shutdown."),
          key(TLS_CERT, STRING, "")
              .flag("tls-cert", "FILE")
              .check(READABLE_FILE)
              .doc("PEM certificate chain: serve TLS (needs --tls-key)."),
          key(TLS_KEY, STRING, "")
              .flag("tls-key", "FILE")
              .check(READABLE_FILE)
              .doc("PEM (PKCS#8) private key."),
          key(TLS_CLIENT_CA, STRING, "")
              .flag("tls-client-ca", "FILE")
              .check(READABLE_FILE)
              .doc("PEM CA certificates: require client certificates signed by them (mutual TLS)."),
          key(AUTH_ENABLED, BOOL, false)
              .flag("auth", "")
              .doc("Require authentication (users from --auth-user, config or environment)."),
          key(AUTH_TOKEN_TTL, INT, 3600)
              .flag("auth-token-ttl", "SECONDS")
              .check(Check.atLeast(1, POSITIVE_SECONDS))
              .doc("How long a bearer token lives."),
          key(AUTH_USERS, USERS, List.of())
              .flag("auth-user", "NAME:HASH:ROLE")
              .secret()
              .doc(
                  "A user: name, bcrypt hash (hyprstream hash-password), read_write or read_only;"
                      + " repeatable. Replaces configured users."),
          key(LIMITS_MAX_BATCH_BYTES, LONG, 268435456L)
              .flag("max-batch-bytes", "BYTES")
              .check(Check.atLeast(1, POSITIVE))
              .doc("Largest ingested record batch."),
          key(LIMITS_MAX_REQUEST_ROWS, LONG, 100000000L)
              .flag("max-request-rows", "ROWS")
              .check(Check.atLeast(1, POSITIVE))
              .doc("Most rows per ingest request."),
          key(LIMITS_INGEST_IDS_REMEMBERED, INT, HyprstreamBuilder.DEFAULT_INGEST_IDS_REMEMBERED)
              .flag("ingest-ids-remembered", "N")
              .check(Check.atLeast(1, POSITIVE))
              .doc(
                  "Client ingest ids (header hyprstream-ingest-id) each table remembers; a retry"
                      + " with a remembered id stores nothing again."),
          key(LIMITS_MAX_CONCURRENT_QUERIES, INT, 16)
              .flag("max-concurrent-queries", "N")
              .check(Check.atLeast(1, POSITIVE))
              .doc("Queries running at once."),
          key(LIMITS_QUERY_QUEUE, INT, 256)
              .flag("query-queue", "N")
              .check(Check.atLeast(0, "must be 0 or more"))
              .doc("Queries that may wait for a slot."),
          key(LIMITS_QUERY_QUEUE_TIMEOUT, INT, 30)
              .flag("query-queue-timeout", "SECONDS")
              .check(Check.atLeast(1, POSITIVE))
              .doc("How long a query waits for a slot."),
          key(LIMITS_QUERY_TIMEOUT, INT, 300)
              .flag("query-timeout", "SECONDS")
              .check(Check.atLeast(1, POSITIVE))
              .doc("How long a query may run before it is cancelled."),
          key(LIMITS_STREAM_IDLE_TIMEOUT, INT, 30)
              .flag("stream-idle-timeout", "SECONDS")
              .check(Check.atLeast(1, POSITIVE))
              .doc(
                  "How long a result stream waits for a client that stopped reading before it is"
                      + " cancelled."),
          key(LIMITS_MAX_MEMORY_BYTES, LONG, 0L)
              .flag("max-memory-bytes", "BYTES")
              .check(Check.atLeast(0, DERIVED_OR_BYTES))
              .doc("Arrow memory for requests and results; 0: half the JVM's direct memory."),
          key(LIMITS_DUCKDB_MEMORY_LIMIT_BYTES, LONG, 0L)
              .flag("duckdb-memory-limit-bytes", "BYTES")
              .check(Check.atLeast(0, DERIVED_OR_BYTES))
              .doc(
                  "DuckDB's memory_limit; 0: twice --cache-memory-bytes, which defaults to a"
                      + " quarter of the machine's memory."));

  /** {@link #ALL} by name. */
  static final Map<String, ConfigKey> BY_NAME = byName();

  private static Map<String, ConfigKey> byName() {
    Map<String, ConfigKey> m = new LinkedHashMap<>();
    for (ConfigKey k : ALL) {
      if (m.put(k.name(), k) != null) {
        throw new IllegalStateException("configuration key " + k.name() + " declared twice");
      }
    }
    return java.util.Collections.unmodifiableMap(m);
  }
}
