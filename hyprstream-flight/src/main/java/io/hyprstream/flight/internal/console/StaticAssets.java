package io.hyprstream.flight.internal.console;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The console's files, read once from the class path: its own page, script and style sheet ({@code
 * io/hyprstream/console/}) and the editor and chart libraries from their WebJars. Only the files
 * listed here are served; any other path is 404.
 */
final class StaticAssets {
  /** One file as served. */
  record Asset(String contentType, byte[] bytes) {}

  private static final String OWN = "io/hyprstream/console/";
  // The WebJars' versions, as the parent pom pins them; a mismatch fails start-up (and every
  // console test) with the missing file's name.
  private static final String CODEMIRROR = "META-INF/resources/webjars/codemirror/6.65.7/";
  private static final String UPLOT = "META-INF/resources/webjars/uplot/1.6.30/";

  private final Map<String, Asset> byPath;

  private StaticAssets(Map<String, Asset> byPath) {
    this.byPath = byPath;
  }

  /**
   * Reads every file.
   *
   * @throws IllegalStateException when one is missing from the class path (a broken build)
   */
  static StaticAssets load() {
    Map<String, Asset> m = new LinkedHashMap<>();
    put(m, "/", OWN + "index.html");
    put(m, "/console.js", OWN + "console.js");
    put(m, "/console.css", OWN + "console.css");
    put(m, "/lib/codemirror.js", CODEMIRROR + "lib/codemirror.js");
    put(m, "/lib/codemirror.css", CODEMIRROR + "lib/codemirror.css");
    put(m, "/lib/sql.js", CODEMIRROR + "mode/sql/sql.js");
    put(m, "/lib/matchbrackets.js", CODEMIRROR + "addon/edit/matchbrackets.js");
    put(m, "/lib/uPlot.iife.min.js", UPLOT + "dist/uPlot.iife.min.js");
    put(m, "/lib/uPlot.min.css", UPLOT + "dist/uPlot.min.css");
    return new StaticAssets(Map.copyOf(m));
  }

  private static void put(Map<String, Asset> m, String path, String resource) {
    try (InputStream in = StaticAssets.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(resource + " is missing from the jar");
      }
      m.put(path, new Asset(contentType(resource), in.readAllBytes()));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + resource, e);
    }
  }

  private static String contentType(String resource) {
    if (resource.endsWith(".html")) {
      return "text/html; charset=utf-8";
    } else if (resource.endsWith(".js")) {
      return "text/javascript; charset=utf-8";
    } else if (resource.endsWith(".css")) {
      return "text/css; charset=utf-8";
    }
    return "application/octet-stream";
  }

  /** The file at {@code path}, or null. */
  @Nullable Asset get(String path) {
    return byPath.get(path);
  }

  /** Answers a GET or HEAD of one file, 404 for anything else. */
  void serve(HttpExchange ex) throws IOException {
    String method = ex.getRequestMethod();
    if (!method.equals("GET") && !method.equals("HEAD")) {
      ConsoleHttp.sendError(ex, 405, "METHOD_NOT_ALLOWED", "only GET and HEAD are served here");
      return;
    }
    Asset asset = get(ex.getRequestURI().getPath());
    if (asset == null) {
      ConsoleHttp.sendError(ex, 404, "NOT_FOUND", "no such page: " + ex.getRequestURI().getPath());
      return;
    }
    // The page changes only with the jar; a browser revalidates each load, cheap on loopback.
    ex.getResponseHeaders().set("Cache-Control", "no-cache");
    ConsoleHttp.send(ex, 200, asset.contentType(), asset.bytes());
  }
}
