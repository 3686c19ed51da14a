package io.hyprstream.embedding;

import io.hyprstream.Hyprstream;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.backend.BackendStores;
import io.hyprstream.cluster.ClusterConfig;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

/**
 * Run by {@link EmbedderClassPathTest} in a JVM of its own, on an embedder's class path: prints
 * which optional clients are absent, and how opening a backend that needs one is refused.
 */
public final class EmbedderProbe {
  private EmbedderProbe() {}

  public static void main(String[] args) {
    for (String name :
        List.of(
            "org.apache.calcite.avatica.AvaticaConnection",
            "org.apache.arrow.driver.jdbc.ArrowFlightJdbcDriver",
            "org.postgresql.Driver",
            "io.lettuce.core.RedisClient")) {
      try {
        Class.forName(name, false, EmbedderProbe.class.getClassLoader());
        System.out.println("present " + name);
      } catch (ClassNotFoundException e) {
        System.out.println("absent " + name);
      }
    }
    try (BufferAllocator allocator = new RootAllocator()) {
      open(allocator, "adbc", "postgresql://127.0.0.1:5432/test", "postgresql://");
      open(allocator, "redis", "redis://127.0.0.1:6379/0", "redis://");
      open(allocator, "adbc", "jdbc:sqlite:/tmp/never.db", "jdbc:sqlite:");
      open(allocator, "adbc", "grpc://127.0.0.1:1", "grpc://");
      try (Hyprstream hs =
          Hyprstream.builder()
              .allocator(allocator)
              .cluster(ClusterConfig.kafka("127.0.0.1:1", "probe"))
              .build()) {
        System.out.println("opened cluster");
      } catch (HyprstreamException e) {
        System.out.println("refused cluster " + neededArtifact(e));
      }
    }
  }

  private static void open(BufferAllocator allocator, String engine, String uri, String label) {
    try {
      BackendStores.open(engine, uri, Map.of(), null, null, allocator).close();
      System.out.println("opened " + label);
    } catch (HyprstreamException e) {
      System.out.println("refused " + label + " " + neededArtifact(e));
    }
  }

  /** "needs group:artifact" out of a refusal's message, or the whole message. */
  private static String neededArtifact(HyprstreamException e) {
    String message = String.valueOf(e.getMessage());
    int needs = message.indexOf("needs ");
    return needs < 0 ? message : message.substring(needs).split(" on the class path")[0];
  }
}
