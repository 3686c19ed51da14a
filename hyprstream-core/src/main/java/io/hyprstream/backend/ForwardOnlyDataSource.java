package io.hyprstream.backend;

import java.io.PrintWriter;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Properties;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * A {@link DataSource} over a JDBC URL whose connections create forward-only, read-only statements
 * whatever result set type is asked for. ADBC's JDBC driver asks for scrollable statements, which
 * DuckDB and SQLite refuse, and never scrolls.
 */
final class ForwardOnlyDataSource implements DataSource {
  private final String url;
  private final Properties properties;

  /** {@code properties} carries the user, password and driver options. */
  ForwardOnlyDataSource(String url, Properties properties) {
    this.url = url;
    this.properties = properties;
  }

  @Override
  public Connection getConnection() throws SQLException {
    return wrap(DriverManager.getConnection(url, properties));
  }

  @Override
  public Connection getConnection(String username, String password) throws SQLException {
    Properties p = new Properties();
    p.putAll(properties);
    p.setProperty("user", username);
    p.setProperty("password", password);
    return wrap(DriverManager.getConnection(url, p));
  }

  private static Connection wrap(Connection target) {
    InvocationHandler handler =
        (proxy, method, args) -> invoke(target, method, args == null ? new Object[0] : args);
    return (Connection)
        Proxy.newProxyInstance(
            ForwardOnlyDataSource.class.getClassLoader(),
            new Class<?>[] {Connection.class},
            handler);
  }

  private static @Nullable Object invoke(Connection target, Method method, Object[] args)
      throws Throwable {
    try {
      String name = method.getName();
      if (name.equals("createStatement") && args.length >= 2) {
        return target.createStatement();
      }
      if (name.equals("prepareStatement")
          && args.length >= 3
          && method.getParameterTypes()[1] == int.class) {
        return target.prepareStatement((String) args[0]);
      }
      if (name.equals("unwrap") && ((Class<?>) args[0]).isInstance(target)) {
        return target;
      }
      return method.invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause() == null ? e : e.getCause();
    }
  }

  @Override
  public @Nullable PrintWriter getLogWriter() {
    return null;
  }

  @Override
  public void setLogWriter(PrintWriter out) {}

  @Override
  public void setLoginTimeout(int seconds) {}

  @Override
  public int getLoginTimeout() {
    return 0;
  }

  @Override
  public Logger getParentLogger() throws SQLFeatureNotSupportedException {
    throw new SQLFeatureNotSupportedException();
  }

  @Override
  public <T> T unwrap(Class<T> iface) throws SQLException {
    throw new SQLException("not a wrapper");
  }

  @Override
  public boolean isWrapperFor(Class<?> iface) {
    return false;
  }

  @Override
  public String toString() {
    return "ForwardOnlyDataSource{" + url.replaceFirst("\\?.*$", "") + "}";
  }
}
