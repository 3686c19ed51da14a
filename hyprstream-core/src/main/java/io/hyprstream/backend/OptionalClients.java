package io.hyprstream.backend;

import io.hyprstream.api.HyprstreamException;

/**
 * The backend clients hyprstream-core declares optional, so that an embedder's class path holds
 * only the one its backend needs (see core's pom). Opening a backend whose client is absent fails
 * here, naming the artifact to add, rather than later with a bare {@code NoClassDefFoundError}.
 */
final class OptionalClients {
  static final OptionalClients POSTGRESQL =
      new OptionalClients("org.postgresql.Driver", "org.postgresql:postgresql");
  static final OptionalClients HIKARI =
      new OptionalClients("com.zaxxer.hikari.HikariDataSource", "com.zaxxer:HikariCP");
  static final OptionalClients LETTUCE =
      new OptionalClients("io.lettuce.core.RedisClient", "io.lettuce:lettuce-core");
  static final OptionalClients SQLITE =
      new OptionalClients("org.sqlite.JDBC", "org.xerial:sqlite-jdbc");
  static final OptionalClients ADBC_JDBC =
      new OptionalClients(
          "org.apache.arrow.adbc.driver.jdbc.JdbcDriver", "org.apache.arrow.adbc:adbc-driver-jdbc");
  static final OptionalClients ADBC_FLIGHT_SQL =
      new OptionalClients(
          "org.apache.arrow.adbc.driver.flightsql.FlightSqlDriver",
          "org.apache.arrow.adbc:adbc-driver-flight-sql");

  private final String probeClass;
  private final String artifact;

  private OptionalClients(String probeClass, String artifact) {
    this.probeClass = probeClass;
    this.artifact = artifact;
  }

  /**
   * Checks that this client is on the class path.
   *
   * @throws HyprstreamException naming {@code backend} and the artifact to add when it is not
   */
  void require(String backend) {
    try {
      Class.forName(probeClass, false, OptionalClients.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      throw new HyprstreamException(
          backend
              + " needs "
              + artifact
              + " on the class path: hyprstream-core declares it optional, so add it to your"
              + " build (the server jar has it)",
          e);
    }
  }
}
