package io.hyprstream.embedding;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * hyprstream-core on the class path an embedder gets from Maven: core's required dependencies only,
 * none of the backend clients it declares optional (PostgreSQL, HikariCP, Lettuce, SQLite, ADBC
 * and, through ADBC's Flight SQL driver, an unshaded Flight SQL JDBC driver with Avatica). The
 * in-process example runs there, and opening a backend whose client is missing names the artifact
 * to add.
 */
class EmbedderClassPathTest {
  /**
   * The artifacts of {@code mvn dependency:tree} for hyprstream-core that are not optional: Arrow,
   * DuckDB, Caffeine, Jackson, SLF4J and their own dependencies (plus slf4j-simple, for a log).
   */
  private static final List<String> REQUIRED =
      List.of(
          "/hyprstream-api/", // a jar in the reactor's target/ when Maven runs verify
          "/org/apache/arrow/arrow-vector/",
          "/org/apache/arrow/arrow-format/",
          "/org/apache/arrow/arrow-memory-core/",
          "/org/apache/arrow/arrow-memory-netty/",
          "/org/apache/arrow/arrow-memory-netty-buffer-patch/",
          "/org/apache/arrow/arrow-c-data/",
          "/io/netty/netty-buffer/",
          "/io/netty/netty-common/",
          "/com/google/flatbuffers/",
          "/commons-codec/",
          "/com/fasterxml/jackson/",
          "/org/duckdb/",
          "/org/jspecify/",
          "/com/github/ben-manes/caffeine/",
          "/com/google/errorprone/error_prone_annotations/",
          "/org/slf4j/slf4j-api/",
          "/org/slf4j/slf4j-simple/");

  @Test
  void coreRunsWithoutItsOptionalClients_andAMissingClientIsNamed() throws Exception {
    String embedderPath =
        Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
            .filter(
                entry ->
                    !entry.endsWith(".jar")
                        || REQUIRED.stream()
                            .anyMatch(a -> entry.replace(File.separatorChar, '/').contains(a)))
            .collect(Collectors.joining(File.pathSeparator));
    assertTrue(
        embedderPath.contains("duckdb") && !embedderPath.contains("postgresql"), embedderPath);

    String example = run(embedderPath, "io.hyprstream.example.MetricsExample");
    assertTrue(example.contains("Ingested 4320 rows into metrics."), example);
    assertTrue(example.contains("metrics_1h"), example);

    String probe = run(embedderPath, EmbedderProbe.class.getName());
    assertEquals(
        List.of(
            "absent org.apache.calcite.avatica.AvaticaConnection",
            "absent org.apache.arrow.driver.jdbc.ArrowFlightJdbcDriver",
            "absent org.postgresql.Driver",
            "absent io.lettuce.core.RedisClient",
            "refused postgresql:// needs org.postgresql:postgresql",
            "refused redis:// needs io.lettuce:lettuce-core",
            "refused jdbc:sqlite: needs org.apache.arrow.adbc:adbc-driver-jdbc",
            "refused grpc:// needs org.apache.arrow.adbc:adbc-driver-flight-sql",
            "refused cluster needs org.apache.kafka:kafka-clients"),
        probe.lines().filter(l -> l.startsWith("absent") || l.startsWith("refused")).toList(),
        probe);
  }

  private static String run(String classPath, String mainClass)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("--add-opens=java.base/java.nio=ALL-UNNAMED");
    command.add("-cp");
    command.add(classPath);
    command.add(mainClass);
    Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] out = child.getInputStream().readAllBytes();
    assertTrue(child.waitFor(120, TimeUnit.SECONDS), mainClass + " did not end");
    String text = new String(out, StandardCharsets.UTF_8);
    assertEquals(0, child.exitValue(), mainClass + " failed:\n" + text);
    return text;
  }
}
