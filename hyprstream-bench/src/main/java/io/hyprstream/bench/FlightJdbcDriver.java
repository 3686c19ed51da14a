package io.hyprstream.bench;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.SQLException;
import java.util.Properties;

/**
 * The Flight SQL JDBC driver, loaded from its own jar in a class loader of its own, as an
 * application loads it: the runners that query through JDBC share it.
 */
public final class FlightJdbcDriver {
  private FlightJdbcDriver() {}

  /**
   * The driver's jar: the path the build passes in {@code hyprstream.bench.jdbcDriverJar}, else
   * where Maven keeps the version matching this Arrow.
   */
  public static Path defaultJar() {
    String configured = System.getProperty("hyprstream.bench.jdbcDriverJar");
    if (configured != null) {
      return Path.of(configured);
    }
    String version = RunEnv.version("org.apache.arrow", "flight-core");
    return Path.of(
        System.getProperty("user.home"),
        ".m2/repository/org/apache/arrow/flight-sql-jdbc-driver",
        version,
        "flight-sql-jdbc-driver-" + version + ".jar");
  }

  /**
   * A connection without TLS to the Flight SQL server at {@code host:port}.
   *
   * @throws IllegalArgumentException when {@code driverJar} is not a file
   */
  public static Connection connect(Path driverJar, String host, int port) throws Exception {
    if (!Files.isRegularFile(driverJar)) {
      throw new IllegalArgumentException(
          "no Flight SQL JDBC driver at "
              + driverJar.toAbsolutePath()
              + " (--jdbc-driver-jar; mvn dependency:get"
              + " -Dartifact=org.apache.arrow:flight-sql-jdbc-driver:<arrow version> fetches it)");
    }
    URLClassLoader loader =
        new URLClassLoader(
            new URL[] {driverJar.toUri().toURL()}, ClassLoader.getPlatformClassLoader());
    Driver driver =
        (Driver)
            Class.forName("org.apache.arrow.driver.jdbc.ArrowFlightJdbcDriver", true, loader)
                .getDeclaredConstructor()
                .newInstance();
    String url = "jdbc:arrow-flight-sql://" + host + ":" + port + "/?useEncryption=false";
    Connection c = driver.connect(url, new Properties());
    if (c == null) {
      throw new SQLException("the Flight SQL JDBC driver did not accept " + url);
    }
    return c;
  }
}
