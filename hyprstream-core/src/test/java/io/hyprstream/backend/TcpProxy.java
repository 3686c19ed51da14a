package io.hyprstream.backend;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy on loopback whose link can be cut (open connections reset, new ones refused) and
 * restored, or stalled (connections stay open, bytes stop moving: a hung backend or a black-holed
 * network) and resumed, to stage a backend outage in tests.
 */
final class TcpProxy implements AutoCloseable {
  private final int targetPort;
  private final int port;
  private final List<Socket> open = new CopyOnWriteArrayList<>();
  private volatile ServerSocket server;
  private volatile boolean closed;
  private volatile boolean stalled;

  TcpProxy(int targetPort) throws IOException {
    this.targetPort = targetPort;
    this.server = bind(0);
    this.port = server.getLocalPort();
    accept(server);
  }

  int port() {
    return port;
  }

  private static ServerSocket bind(int port) throws IOException {
    ServerSocket s = new ServerSocket();
    s.setReuseAddress(true);
    s.bind(new InetSocketAddress("127.0.0.1", port));
    return s;
  }

  private void accept(ServerSocket s) {
    Thread t =
        new Thread(
            () -> {
              while (!s.isClosed()) {
                try {
                  Socket client = s.accept();
                  Socket upstream = new Socket("127.0.0.1", targetPort);
                  open.add(client);
                  open.add(upstream);
                  pipe(client, upstream);
                  pipe(upstream, client);
                } catch (IOException e) {
                  return;
                }
              }
            },
            "proxy-accept");
    t.setDaemon(true);
    t.start();
  }

  private void pipe(Socket from, Socket to) {
    Thread t =
        new Thread(
            () -> {
              byte[] buf = new byte[64 * 1024];
              try (InputStream in = from.getInputStream();
                  OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                  while (stalled && !closed && !from.isClosed()) {
                    Thread.sleep(10);
                  }
                  out.write(buf, 0, n);
                  out.flush();
                }
              } catch (IOException ignored) {
                // one side went away: close both below
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              closeQuietly(from);
              closeQuietly(to);
            },
            "proxy-pipe");
    t.setDaemon(true);
    t.start();
  }

  /** Resets every open connection and refuses new ones. */
  void cut() throws IOException {
    server.close();
    for (Socket s : open) {
      closeQuietly(s);
    }
    open.clear();
  }

  /** Holds every byte in flight, in both directions, until {@link #resume}; nothing is reset. */
  void stall() {
    stalled = true;
  }

  /** Lets held bytes through again. */
  void resume() {
    stalled = false;
  }

  /** Accepts connections again on the same port. */
  void restore() throws IOException {
    if (!closed) {
      server = bind(port);
      accept(server);
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // already closed
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    stalled = false;
    cut();
  }
}
