package io.hyprstream.flight.internal.console;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/** How every console response is written: with its security headers, closed once sent. */
final class ConsoleHttp {
  /**
   * Scripts, styles, images and requests from this origin only; no inline script or style, no
   * plugin, no framing, no form posting elsewhere. The page holds no inline code, so nothing needs
   * a nonce.
   */
  static final String CONTENT_SECURITY_POLICY =
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
          + " connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none';"
          + " frame-ancestors 'none'";

  static final JsonFactory JSON = new JsonFactory();

  private ConsoleHttp() {}

  /** Something that writes one JSON value. */
  interface JsonBody {
    void write(JsonGenerator json) throws IOException;
  }

  /** Sends {@code status} with a JSON body. */
  static void sendJson(HttpExchange ex, int status, JsonBody body) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (JsonGenerator json = JSON.createGenerator(bytes)) {
      body.write(json);
    }
    ex.getResponseHeaders().set("Cache-Control", "no-store");
    send(ex, status, "application/json; charset=utf-8", bytes.toByteArray());
  }

  /** Sends {@code {"error": {"code": code, "message": message}}} with {@code status}. */
  static void sendError(HttpExchange ex, int status, String code, String message)
      throws IOException {
    sendJson(
        ex,
        status,
        json -> {
          json.writeStartObject();
          json.writeObjectFieldStart("error");
          json.writeStringField("code", code);
          json.writeStringField("message", message);
          json.writeEndObject();
          json.writeEndObject();
        });
  }

  /** Sends {@code body} (nothing for HEAD) with the security headers, then closes the exchange. */
  static void send(HttpExchange ex, int status, String contentType, byte[] body)
      throws IOException {
    try (ex) {
      Headers h = ex.getResponseHeaders();
      h.set("Content-Type", contentType);
      h.set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
      h.set("X-Content-Type-Options", "nosniff");
      h.set("X-Frame-Options", "DENY");
      h.set("Referrer-Policy", "no-referrer");
      h.set("Cross-Origin-Opener-Policy", "same-origin");
      boolean head = ex.getRequestMethod().equals("HEAD");
      ex.sendResponseHeaders(status, head ? -1 : body.length == 0 ? -1 : body.length);
      if (!head && body.length > 0) {
        try (OutputStream out = ex.getResponseBody()) {
          out.write(body);
        }
      }
    }
  }

  /** Reads a request body of at most {@code max} bytes. */
  static byte[] readBody(HttpExchange ex, int max) {
    try {
      byte[] body = ex.getRequestBody().readNBytes(max + 1);
      if (body.length > max) {
        throw new RequestTooLarge(max);
      }
      return body;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A request body past the bound. */
  static final class RequestTooLarge extends RuntimeException {
    private static final long serialVersionUID = 1L;

    RequestTooLarge(int max) {
      super("the request body is larger than " + max + " bytes");
    }
  }
}
