package io.hyprstream.flight.internal.cli;

import static io.hyprstream.flight.internal.cli.Config.AUTH_ENABLED;
import static io.hyprstream.flight.internal.cli.Config.AUTH_USERS;
import static io.hyprstream.flight.internal.cli.Config.CACHE_MEMORY_BYTES;
import static io.hyprstream.flight.internal.cli.Config.CLUSTER_PEER_PASSWORD;
import static io.hyprstream.flight.internal.cli.Config.CLUSTER_PEER_USER;
import static io.hyprstream.flight.internal.cli.Config.ENGINE_CONNECTION;
import static io.hyprstream.flight.internal.cli.Config.ENGINE_DATABASE;
import static io.hyprstream.flight.internal.cli.Config.ENGINE_ENGINE;
import static io.hyprstream.flight.internal.cli.Config.LIMITS_DUCKDB_MEMORY_LIMIT_BYTES;
import static io.hyprstream.flight.internal.cli.Config.TLS_CERT;
import static io.hyprstream.flight.internal.cli.Config.TLS_CLIENT_CA;
import static io.hyprstream.flight.internal.cli.Config.TLS_KEY;

import io.hyprstream.backend.BackendStores;
import io.hyprstream.backend.PoolSettings;
import io.hyprstream.backend.redis.RedisBackendStore;
import io.hyprstream.flight.policy.Authentication;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;

/**
 * The rules a merged configuration must meet before anything starts: each key's own rule (from its
 * {@link ConfigKey} declaration), then the rules between keys (TLS needs both files, an engine
 * needs a connection, auth needs users, DuckDB's memory limit is above the cache's budget). A
 * broken rule is reported with the key, where it was set and its value.
 */
final class ConfigRules {
  private ConfigRules() {}

  /**
   * Checks each value of {@code c} against its key's rule, then the rules between keys.
   *
   * @throws ConfigException naming the first wrong key, its source and its value
   */
  static void check(Config c) {
    for (ConfigKey key : Config.KEYS.values()) {
      String problem = key.check().problem(Objects.requireNonNull(c.value(key.name())));
      if (problem != null) {
        throw c.bad(key.name(), problem);
      }
    }
    long memory = c.longValue(CACHE_MEMORY_BYTES);
    long limit = c.longValue(LIMITS_DUCKDB_MEMORY_LIMIT_BYTES);
    if (memory != 0 && limit != 0 && limit < memory) {
      throw c.bad(
          LIMITS_DUCKDB_MEMORY_LIMIT_BYTES,
          "is below "
              + CACHE_MEMORY_BYTES
              + " = "
              + memory
              + ": DuckDB would run out of memory before eviction starts");
    }
    c.cacheEviction();
    c.maxStaleness();
    c.metricsWindows();
    String engine = c.engine();
    String database = c.string(ENGINE_DATABASE);
    if (!database.isEmpty() && !engine.equals("none")) {
      try {
        BackendStores.withDatabase(c.engineConnection(), database);
      } catch (IllegalArgumentException e) {
        throw c.bad(ENGINE_DATABASE, "cannot be used: " + String.valueOf(e.getMessage()));
      }
    }
    String driverPath = c.engineOptions().get("driver_path");
    if (driverPath != null) {
      try {
        BackendStores.NativeDriver.of(driverPath);
      } catch (IllegalArgumentException e) {
        throw c.badOption("driver_path", String.valueOf(e.getMessage()));
      }
      if (!engine.equals("adbc")) {
        throw c.badOption(
            "driver_path",
            "names an ADBC driver, but "
                + ENGINE_ENGINE
                + " = '"
                + engine
                + "' ("
                + c.sourceOf(ENGINE_ENGINE)
                + "); set engine = \"adbc\"");
      }
    }
    if (engine.equals("redis")) {
      try {
        RedisBackendStore.Settings.fromOptions(c.engineOptions());
      } catch (IllegalArgumentException e) {
        String message = String.valueOf(e.getMessage());
        throw c.badOption(message.substring(0, Math.max(0, message.indexOf(' '))), message);
      }
    }
    try {
      PoolSettings.fromOptions(c.engineOptions());
    } catch (IllegalArgumentException e) {
      String message = String.valueOf(e.getMessage());
      String option = "pool_max";
      for (String o : PoolSettings.OPTIONS) {
        if (message.startsWith(o)) {
          option = o;
        }
      }
      throw c.badOption(option, message);
    }
    if (!engine.equals("none") && c.engineConnection().isBlank()) {
      throw c.bad(
          ENGINE_CONNECTION,
          "is required with engine = "
              + engine
              + " (a DuckDB file for duckdb; postgresql://, jdbc:... or grpc://... for adbc;"
              + " redis://HOST:PORT/DB or rediss://... for redis)");
    }
    boolean cert = !c.string(TLS_CERT).isBlank();
    boolean key = !c.string(TLS_KEY).isBlank();
    if (cert != key) {
      throw c.bad(cert ? TLS_KEY : TLS_CERT, "is required with " + (cert ? TLS_CERT : TLS_KEY));
    }
    if (!c.string(TLS_CLIENT_CA).isBlank() && !cert) {
      throw c.bad(TLS_CLIENT_CA, "needs tls.cert and tls.key (mutual TLS is TLS first)");
    }
    boolean peerUser = !c.clusterPeerUser().isBlank();
    if (peerUser != !c.clusterPeerPassword().isEmpty()) {
      throw c.bad(
          peerUser ? CLUSTER_PEER_PASSWORD : CLUSTER_PEER_USER,
          "is required with " + (peerUser ? CLUSTER_PEER_USER : CLUSTER_PEER_PASSWORD));
    }
    if (c.authEnabled() && !c.clusterKafka().isEmpty() && !peerUser) {
      // Every fanned-out query reads the other instances, which refuse anonymous reads with auth.
      throw c.bad(
          CLUSTER_PEER_USER,
          "is required in a cluster with auth.enabled: the instances read each other's partitions"
              + " and refuse unauthenticated reads; name a user every instance accepts (and its"
              + " password in cluster.peer_password)");
    }
    if (c.authEnabled() && c.users().isEmpty()) {
      throw c.bad(
          AUTH_ENABLED,
          "needs at least one user: [[auth.users]] in a file, HYPRSTREAM_AUTH_USERS or --auth-user"
              + " NAME:HASH:ROLE (make a hash with `hyprstream hash-password`)");
    }
    Set<String> names = new HashSet<>();
    for (Authentication.User u : c.users()) {
      if (!names.add(u.name())) {
        throw c.bad(AUTH_USERS, "defines user '" + u.name() + "' twice");
      }
    }
  }
}
