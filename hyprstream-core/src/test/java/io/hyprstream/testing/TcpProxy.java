package io.hyprstream.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy on loopback whose link can be cut (open connections reset, new ones reset as soon as
 * they are accepted) and restored, or stalled (connections stay open, bytes stop moving: a hung
 * backend or a black-holed network) and resumed, to stage a backend outage in tests.
 *
 * <p>The listening socket stays bound for the proxy's whole life. Closing it during a cut and
 * binding the same port again on restore failed now and then with "Address already in use": once
 * released, an ephemeral port can be handed to any outgoing connection on the machine.
 */
public final class TcpProxy implements AutoCloseable {
  private final int targetPort;
  private final int port;
  private final List<Socket> open = new CopyOnWriteArrayList<>();
  private final ServerSocket server;
  private volatile boolean closed;
  private volatile boolean cut;
  private volatile boolean stalled;

  /** A proxy on a free loopback port to {@code 127.0.0.1:targetPort}. */
  public TcpProxy(int targetPort) throws IOException {
    this.targetPort = targetPort;
    this.server = new ServerSocket();
    server.setReuseAddress(true);
    server.bind(new InetSocketAddress("127.0.0.1", 0));
    this.port = server.getLocalPort();
    accept();
  }

  public int port() {
    return port;
  }

  private void accept() {
    Thread t =
        new Thread(
            () -> {
              while (!server.isClosed()) {
                try {
                  Socket client = server.accept();
                  if (cut) {
                    reset(client);
                    continue;
                  }
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

  /** Resets every open connection and every new one. */
  public void cut() {
    cut = true;
    for (Socket s : open) {
      reset(s);
    }
    open.clear();
  }

  /** Holds every byte in flight, in both directions, until {@link #resume}; nothing is reset. */
  public void stall() {
    stalled = true;
  }

  /** Lets held bytes through again. */
  public void resume() {
    stalled = false;
  }

  /** Passes new connections through again. */
  public void restore() {
    cut = false;
  }

  /** Closes with a TCP reset (linger 0), as a dead peer or a firewall's reject would. */
  private static void reset(Socket s) {
    try {
      s.setSoLinger(true, 0);
    } catch (IOException ignored) {
      // already closed: nothing to reset
    }
    closeQuietly(s);
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
    server.close();
  }
}
