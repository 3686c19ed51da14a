package io.hyprstream.backend;

import java.io.PrintWriter;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * A {@link DataSource} over another (a connection pool) whose connections create forward-only,
 * read-only statements whatever result set type is asked for. ADBC's JDBC driver asks for
 * scrollable statements, which DuckDB and SQLite refuse, and never scrolls. Closing a connection
 * closes the pool's, which returns it to the pool.
 *
 * <p>Each connection handed out waits at most {@code networkTimeout} on a silent database (JDBC's
 * {@link Connection#setNetworkTimeout}), where the driver supports it, so a stalled backend fails
 * the call instead of holding it; the pool restores the setting when the connection returns.
 */
final class ForwardOnlyDataSource implements DataSource {
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(ForwardOnlyDataSource.class);

  /** Runs the drivers' time-out aborts; a driver uses it only when a time-out fires. */
  private static final java.util.concurrent.Executor ABORTS =
      java.util.concurrent.Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "hyprstream-jdbc-timeout");
            t.setDaemon(true);
            return t;
          });

  private final DataSource target;
  private final String url;
  private final int networkTimeoutMillis;
  private volatile boolean warnedUnsupported;

  /** {@code url} only names the source in messages; connections come from {@code target}. */
  ForwardOnlyDataSource(DataSource target, String url, java.time.Duration networkTimeout) {
    this.target = target;
    this.url = url;
    this.networkTimeoutMillis = (int) Math.min(Integer.MAX_VALUE, networkTimeout.toMillis());
  }

  @Override
  public Connection getConnection() throws SQLException {
    return wrap(timed(target.getConnection()));
  }

  @Override
  public Connection getConnection(String username, String password) throws SQLException {
    return wrap(timed(target.getConnection(username, password)));
  }

  private Connection timed(Connection c) {
    try {
      c.setNetworkTimeout(ABORTS, networkTimeoutMillis);
    } catch (SQLException | UnsupportedOperationException e) {
      if (!warnedUnsupported) {
        warnedUnsupported = true;
        LOG.warn(
            "the JDBC driver for {} cannot time out a silent connection ({}); socket_timeout has"
                + " no effect on it",
            url.replaceFirst("\\?.*$", ""),
            e.toString());
      }
    }
    return c;
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
