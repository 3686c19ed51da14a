package io.hyprstream.internal.classpath;

import io.hyprstream.api.HyprstreamException;

/**
 * The clients hyprstream-core declares optional, so that an embedder's class path holds only the
 * ones its backend and cluster mode need (see core's pom). Opening a backend or a cluster whose
 * client is absent fails here, naming the artifact to add, rather than later with a bare {@code
 * NoClassDefFoundError}. The one place core checks for an optional dependency.
 */
public final class OptionalClients {
  public static final OptionalClients POSTGRESQL =
      new OptionalClients("org.postgresql.Driver", "org.postgresql:postgresql");
  public static final OptionalClients HIKARI =
      new OptionalClients("com.zaxxer.hikari.HikariDataSource", "com.zaxxer:HikariCP");
  public static final OptionalClients LETTUCE =
      new OptionalClients("io.lettuce.core.RedisClient", "io.lettuce:lettuce-core");
  public static final OptionalClients SQLITE =
      new OptionalClients("org.sqlite.JDBC", "org.xerial:sqlite-jdbc");
  public static final OptionalClients ADBC_JDBC =
      new OptionalClients(
          "org.apache.arrow.adbc.driver.jdbc.JdbcDriver", "org.apache.arrow.adbc:adbc-driver-jdbc");
  public static final OptionalClients ADBC_FLIGHT_SQL =
      new OptionalClients(
          "org.apache.arrow.adbc.driver.flightsql.FlightSqlDriver",
          "org.apache.arrow.adbc:adbc-driver-flight-sql");
  public static final OptionalClients KAFKA =
      new OptionalClients(
          "org.apache.kafka.clients.producer.KafkaProducer", "org.apache.kafka:kafka-clients");
  public static final OptionalClients FLIGHT =
      new OptionalClients("org.apache.arrow.flight.FlightClient", "org.apache.arrow:flight-core");

  private final String probeClass;
  private final String artifact;

  private OptionalClients(String probeClass, String artifact) {
    this.probeClass = probeClass;
    this.artifact = artifact;
  }

  /**
   * Checks that this client is on the class path.
   *
   * @throws HyprstreamException naming {@code feature} and the artifact to add when it is not
   */
  public void require(String feature) {
    try {
      Class.forName(probeClass, false, OptionalClients.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      throw new HyprstreamException(
          feature
              + " needs "
              + artifact
              + " on the class path: hyprstream-core declares it optional, so add it to your"
              + " build (the server jar has it)",
          e);
    }
  }
}
