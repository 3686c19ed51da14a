package io.hyprstream.flight.internal.cli;

import io.hyprstream.Allocators;
import io.hyprstream.ClusterMember;
import io.hyprstream.Hyprstream;
import io.hyprstream.HyprstreamBuilder;
import io.hyprstream.api.AggregationSpec;
import io.hyprstream.backend.BackendStores;
import io.hyprstream.backend.redis.RedisConnection;
import io.hyprstream.backend.redis.RedisWindowPublisher;
import io.hyprstream.cluster.ClusterConfig;
import io.hyprstream.flight.HyprstreamServer;
import io.hyprstream.flight.internal.Health;
import io.hyprstream.flight.internal.OpsHttpServer;
import io.hyprstream.flight.internal.PemTls;
import io.hyprstream.flight.internal.console.WebConsole;
import io.hyprstream.flight.policy.Authentication;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.util.AutoCloseables;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the {@code hyprstream} command runs, assembled from a {@link Config}: the instance and its
 * backend, the Flight SQL server, the HTTP endpoints (health, metrics, the console) and the
 * optional demo feed. {@link #close} stops them in reverse order. {@link Main} only parses the
 * command line and waits for a signal.
 */
record RunningServer(
    Hyprstream hyprstream,
    HyprstreamServer server,
    @Nullable DemoFeed demo,
    @Nullable WebConsole console,
    BufferAllocator backendAllocator,
    BufferAllocator root,
    @Nullable OpsHttpServer http,
    Health health,
    @Nullable JvmGcMetrics gc)
    implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RunningServer.class);

  /**
   * Reports not ready, stops the demo and the console, drains calls in flight (the shutdown grace),
   * closes the instance (which drains the write-through queue, up to its drain timeout), then HTTP.
   */
  @Override
  public void close() {
    health.stopping();
    try {
      AutoCloseables.close(demo, console, server, hyprstream, backendAllocator, root, gc, http);
    } catch (Exception e) {
      throw new IllegalStateException("shutdown failed: " + e, e);
    }
  }

  /**
   * The location the server is reached at: its host, or this machine's address when it listens on
   * every interface, and its bound port.
   */
  private static String boundLocation(HyprstreamServer server) {
    String host = server.host();
    if (host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]")) {
      try {
        host = InetAddress.getLocalHost().getHostAddress();
      } catch (UnknownHostException e) {
        host = InetAddress.getLoopbackAddress().getHostAddress();
      }
    }
    if (host.contains(":") && !host.startsWith("[")) {
      host = "[" + host + "]";
    }
    return (server.tls() ? "grpc+tls://" : "grpc://") + host + ":" + server.port();
  }

  /** Builds the instance and opens the port as {@code cfg} says. */
  static RunningServer start(Config cfg, boolean demo) {
    // One root for the process: the instance, the server and the backend store each take a child
    // of it. Buffers move between them (a backend's rows into the engine, results to a client),
    // and Arrow moves buffers only between allocators of the same root.
    BufferAllocator root = Allocators.newRoot(); // released buffers are reused, not re-faulted
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    JvmGcMetrics gc = new JvmGcMetrics();
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    gc.bindTo(registry);
    // Until the instance is built and the port open, /ready says what it waits for.
    Health starting = new Health();
    AtomicReference<Health> health = new AtomicReference<>(starting);
    OpsHttpServer http = null;
    try {
      if (cfg.httpPort() >= 0) {
        http =
            OpsHttpServer.start(
                cfg.host(),
                cfg.httpPort(),
                cfg.tlsCert() == null
                    ? null
                    : PemTls.serverContext(
                        cfg.tlsCert(), java.util.Objects.requireNonNull(cfg.tlsKey())),
                () -> java.util.Objects.requireNonNull(health.get()).check(),
                registry);
      }
      RunningServer running = start(cfg, demo, root, registry, http, gc);
      health.set(running.health);
      return running;
    } catch (RuntimeException e) {
      try {
        AutoCloseables.close(gc, http, root);
      } catch (Exception suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  private static RunningServer start(
      Config cfg,
      boolean demo,
      BufferAllocator root,
      PrometheusMeterRegistry registry,
      @Nullable OpsHttpServer http,
      JvmGcMetrics gc) {
    HyprstreamBuilder builder =
        Hyprstream.builder()
            .allocator(root)
            .cacheDuration(cfg.cacheDuration())
            .resultCacheBytes(cfg.resultCacheBytes())
            .resultCacheTtl(cfg.resultCacheTtl())
            .evictionPolicy(cfg.cacheEviction())
            .metricsWindows(cfg.metricsWindows());
    Long memory = cfg.cacheMemory();
    if (memory != null) {
      builder.cacheMemory(memory);
    }
    cfg.maxStaleness().forEach(builder::maxStaleness);
    if (cfg.duckDbMemoryLimitBytes() > 0) {
      builder.cacheMemoryLimit(cfg.duckDbMemoryLimitBytes());
    }
    if (!cfg.cacheConnection().equals(":memory:")) {
      builder.cacheFile(Path.of(cfg.cacheConnection()));
    }
    for (AggregationSpec spec : cfg.aggregations()) {
      builder.aggregate(spec);
    }
    builder.ingestIdsRemembered(cfg.ingestIdsRemembered());
    // The backend store's own buffers; closed after the instance, which closes the store.
    BufferAllocator backendAllocator = root.newChildAllocator("backend-store", 0, Long.MAX_VALUE);
    Hyprstream hs;
    RedisWindowPublisher publisher = null;
    try {
      if (!cfg.publishWindows().isEmpty()) {
        String uri = cfg.publishWindows();
        publisher =
            new RedisWindowPublisher(
                () ->
                    RedisConnection.open(
                        uri,
                        null,
                        null,
                        java.time.Duration.ofSeconds(5),
                        java.time.Duration.ofSeconds(5)),
                cfg.publishKeyPrefix(),
                cfg.publishClosedWindows(),
                root,
                java.time.Duration.ofSeconds(5));
        builder.windowListener(publisher);
      }
      if (!cfg.engine().equals("none")) {
        builder
            .backend(
                BackendStores.open(
                    cfg.engine(),
                    cfg.backendConnection(),
                    cfg.engineOptions(),
                    cfg.engineUsername().isEmpty() ? null : cfg.engineUsername(),
                    cfg.enginePassword().isEmpty() ? null : cfg.enginePassword(),
                    backendAllocator))
            .dataDirectory(Path.of(cfg.dataDir()))
            .synchronousWriteThrough(cfg.synchronousWriteThrough())
            .maxBacklogBytes(cfg.maxBacklogBytes())
            .walMaxBytes(cfg.maxLogBytes())
            .maxWriteThroughLag(cfg.maxLag())
            .snapshotInterval(cfg.snapshotInterval());
      }
      if (!cfg.clusterKafka().isEmpty()) {
        ClusterConfig cluster =
            ClusterConfig.kafka(cfg.clusterKafka(), cfg.clusterName())
                .withPartitions(cfg.clusterPartitions())
                .withCheckpointInterval(
                    java.time.Duration.ofSeconds(cfg.clusterCheckpointIntervalSeconds()))
                .withDirectReads(cfg.clusterDirectReads());
        if (!cfg.clusterAdvertise().isEmpty()) {
          cluster = cluster.withAdvertisedLocation(cfg.clusterAdvertise());
        }
        if (!cfg.clusterPeerUser().isEmpty()) {
          cluster = cluster.withPeerCredentials(cfg.clusterPeerUser(), cfg.clusterPeerPassword());
        }
        builder.cluster(cluster);
      }
      hs = builder.build();
    } catch (RuntimeException e) {
      if (publisher != null) {
        publisher.close(); // the instance that would have owned it was not built
      }
      backendAllocator.close();
      throw e;
    }
    HyprstreamServer server;
    try {
      HyprstreamServer.Builder sb =
          HyprstreamServer.builder(hs)
              .allocator(root)
              .host(cfg.host())
              .port(cfg.port())
              .shutdownGrace(cfg.shutdownGrace())
              .limits(cfg.limits())
              .meterRegistry(registry);
      Path cert = cfg.tlsCert();
      if (cert != null) {
        sb.tls(cert, java.util.Objects.requireNonNull(cfg.tlsKey()));
        Path ca = cfg.tlsClientCa();
        if (ca != null) {
          sb.clientCertificateAuthority(ca);
        }
      }
      if (cfg.authEnabled()) {
        sb.authentication(Authentication.of(cfg.users(), cfg.tokenTtl()));
      }
      server = sb.start();
      ClusterMember member = hs.operations().cluster();
      if (member != null) {
        // Peers read this instance's partitions on the Flight port, now that it is bound.
        member.advertise(boundLocation(server));
        LOG.info(
            "cluster member advertises {} for reads of its partitions",
            member.advertisedLocation());
      }
    } catch (RuntimeException e) {
      hs.close();
      backendAllocator.close();
      throw e;
    }
    WebConsole console =
        http != null && cfg.console()
            ? WebConsole.mount(http, server.frontEnd(), cfg.tlsCert() != null)
            : null;
    DemoFeed feed = demo ? DemoFeed.start(hs, server.frontEnd().policy().metrics()) : null;
    return new RunningServer(
        hs, server, feed, console, backendAllocator, root, http, server.producer().health(), gc);
  }
}
