package io.hyprstream.flight;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.SQLException;
import java.util.Properties;
import org.jspecify.annotations.Nullable;

/**
 * The real Arrow Flight SQL JDBC driver ({@code flight-sql-jdbc-driver}), loaded from its own jar
 * in its own class loader: it holds the same classes as {@code flight-sql-jdbc-core}, which the
 * ADBC driver puts on the test class path.
 */
public final class FlightJdbc {
  private static @Nullable Driver driver;

  private FlightJdbc() {}

  public static synchronized Driver driver() throws Exception {
    Driver d = driver;
    if (d == null) {
      String jar = System.getProperty("hyprstream.test.jdbcDriverJar");
      if (jar == null || !Files.isRegularFile(Path.of(jar))) {
        throw new IllegalStateException(
            "system property hyprstream.test.jdbcDriverJar must name the driver jar, got " + jar);
      }
      URLClassLoader loader =
          new URLClassLoader(
              new URL[] {Path.of(jar).toUri().toURL()}, ClassLoader.getPlatformClassLoader());
      d =
          (Driver)
              Class.forName("org.apache.arrow.driver.jdbc.ArrowFlightJdbcDriver", true, loader)
                  .getDeclaredConstructor()
                  .newInstance();
      driver = d;
    }
    return d;
  }

  public static Connection connect(String url) throws Exception {
    return connect(url, new Properties());
  }

  public static Connection connect(String url, Properties properties) throws Exception {
    Connection c = driver().connect(url, properties);
    if (c == null) {
      throw new SQLException("the driver did not accept " + url);
    }
    return c;
  }
}
