package io.hyprstream.flight.internal.console;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import io.hyprstream.Hyprstream;
import io.hyprstream.api.CacheStatistics;
import io.hyprstream.api.SqlIdentifier;
import io.hyprstream.flight.internal.ColumnTypes;
import io.hyprstream.flight.internal.FlightErrors;
import io.hyprstream.flight.policy.Authentication;
import java.io.IOException;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoField;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.vector.types.pojo.Field;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The console's JSON API under {@code /api/}, documented in docs/console.md:
 *
 * <ul>
 *   <li>{@code GET /api/info}: whether the server asks for a login (no authentication needed);
 *   <li>{@code POST /api/login} with HTTP basic credentials: a bearer token;
 *   <li>{@code POST /api/query} with {@code {"sql", "limit", "offset"}}: a page of rows with the
 *       answer's freshness, or the count a statement changed;
 *   <li>{@code GET /api/tables}: tables, window views and system tables with columns, row counts
 *       and hot bytes;
 *   <li>{@code GET /api/server}: the server's rates, write-through backlog and lag, cache hit
 *       ratios and memory.
 * </ul>
 *
 * Errors are {@code {"error": {"code", "message"}}} with the server's own message and the gRPC
 * status name Flight SQL would answer ({@code PERMISSION_DENIED}, {@code DEADLINE_EXCEEDED}...).
 */
final class ConsoleApi {
  private static final Logger LOG = LoggerFactory.getLogger(ConsoleApi.class);

  /** The largest request body: a statement of up to a mebibyte. */
  static final int MAX_BODY_BYTES = 1 << 20;

  /** Rows per page when a request names no limit. */
  static final int DEFAULT_LIMIT = 1_000;

  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final DateTimeFormatter TIMESTAMP =
      new DateTimeFormatterBuilder()
          .appendPattern("yyyy-MM-dd HH:mm:ss")
          .optionalStart()
          .appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true)
          .toFormatter(Locale.ROOT);

  private final Hyprstream hyprstream;
  private final ConsoleAuth auth;
  private final ConsoleQueries queries;
  private final ServerPanel panel;
  private final boolean tls;

  ConsoleApi(
      Hyprstream hyprstream,
      ConsoleAuth auth,
      ConsoleQueries queries,
      ServerPanel panel,
      boolean tls) {
    this.hyprstream = hyprstream;
    this.auth = auth;
    this.queries = queries;
    this.panel = panel;
    this.tls = tls;
  }

  /** Answers one request under {@code /api/}; never throws. */
  void handle(HttpExchange ex) {
    String path = ex.getRequestURI().getPath();
    String method = ex.getRequestMethod();
    try {
      switch (path) {
        case "/api/info" -> {
          requireMethod(method, "GET");
          info(ex);
        }
        case "/api/login" -> {
          requireMethod(method, "POST");
          login(ex);
        }
        case "/api/query" -> {
          requireMethod(method, "POST");
          query(ex, auth.authenticate(ex).user());
        }
        case "/api/tables" -> {
          requireMethod(method, "GET");
          tables(ex, auth.authenticate(ex).user());
        }
        case "/api/server" -> {
          requireMethod(method, "GET");
          auth.authenticate(ex);
          ConsoleHttp.sendJson(ex, 200, panel::write);
        }
        default ->
            throw CallStatus.NOT_FOUND
                .withDescription("no API endpoint " + path + " (see docs/console.md)")
                .toRuntimeException();
      }
    } catch (MethodNotAllowed e) {
      error(ex, 405, "METHOD_NOT_ALLOWED", e.getMessage());
    } catch (ConsoleHttp.RequestTooLarge e) {
      error(ex, 413, "RESOURCE_EXHAUSTED", e.getMessage());
    } catch (RuntimeException e) {
      FlightRuntimeException f = FlightErrors.toFlight(e);
      error(ex, httpStatus(f.status().code()), grpcName(f.status().code()), message(f));
    } catch (IOException e) {
      LOG.debug("console client went away: {}", e.toString());
      ex.close();
    }
  }

  private void info(HttpExchange ex) throws IOException {
    ConsoleHttp.sendJson(
        ex,
        200,
        json -> {
          json.writeStartObject();
          json.writeBooleanField("auth", auth.enabled());
          json.writeBooleanField("tls", tls);
          String version = ConsoleApi.class.getPackage().getImplementationVersion();
          json.writeStringField("version", version == null ? "development build" : version);
          json.writeNumberField("max_rows", ConsoleQueries.MAX_PAGE_ROWS);
          json.writeEndObject();
        });
  }

  private void login(HttpExchange ex) throws IOException {
    String header = ex.getRequestHeaders().getFirst("Authorization");
    if (auth.enabled() && (header == null || !header.regionMatches(true, 0, "Basic ", 0, 6))) {
      throw CallStatus.UNAUTHENTICATED
          .withDescription("send the user name and password as HTTP basic credentials")
          .toRuntimeException();
    }
    ConsoleAuth.Login login = auth.authenticate(ex);
    Authentication.Role role = auth.access().roleOf(login.user());
    ConsoleHttp.sendJson(
        ex,
        200,
        json -> {
          json.writeStartObject();
          json.writeStringField("user", login.user());
          json.writeStringField(
              "role",
              role == null ? Authentication.Role.READ_WRITE.configName() : role.configName());
          if (login.token() == null) {
            json.writeNullField("token");
          } else {
            json.writeStringField("token", login.token());
          }
          json.writeEndObject();
        });
  }

  private void query(HttpExchange ex, String user) throws IOException {
    JsonNode body;
    try {
      body = MAPPER.readTree(ConsoleHttp.readBody(ex, MAX_BODY_BYTES));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw FlightErrors.invalid("the request body is not JSON: " + e.getOriginalMessage());
    }
    if (body == null || !body.path("sql").isTextual() || body.path("sql").asText().isBlank()) {
      throw FlightErrors.invalid("send {\"sql\": \"...\"} (optional: \"limit\", \"offset\")");
    }
    String sql = body.path("sql").asText();
    int limit = body.path("limit").asInt(DEFAULT_LIMIT);
    long offset = body.path("offset").asLong(0);
    if (!queries.isQuery(sql)) {
      ConsoleQueries.Update update = queries.execute(user, sql);
      ConsoleHttp.sendJson(
          ex,
          200,
          json -> {
            json.writeStartObject();
            json.writeStringField("kind", "update");
            json.writeNumberField("updated", update.count());
            json.writeNumberField("elapsed_ms", update.elapsedNanos() / 1e6);
            json.writeEndObject();
          });
      return;
    }
    ConsoleQueries.Page page = queries.query(user, sql, offset, limit);
    ConsoleHttp.sendJson(ex, 200, json -> writePage(json, page));
  }

  private static void writePage(JsonGenerator json, ConsoleQueries.Page page) throws IOException {
    json.writeStartObject();
    json.writeStringField("kind", "rows");
    json.writeArrayFieldStart("columns");
    for (int i = 0; i < page.columns().size(); i++) {
      json.writeStartObject();
      json.writeStringField("name", page.columns().get(i).getName());
      json.writeStringField("type", page.types().get(i));
      json.writeEndObject();
    }
    json.writeEndArray();
    json.writeArrayFieldStart("rows");
    for (List<@Nullable Object> row : page.rows()) {
      json.writeStartArray();
      for (Object v : row) {
        writeValue(json, v);
      }
      json.writeEndArray();
    }
    json.writeEndArray();
    json.writeNumberField("offset", page.offset());
    json.writeBooleanField("more", page.more());
    json.writeNumberField("elapsed_ms", page.elapsedNanos() / 1e6);
    json.writeFieldName("freshness");
    json.writeRawValue(page.freshness().toJson());
    json.writeEndObject();
  }

  /**
   * One value as JSON: numbers as numbers while JavaScript holds them exactly (larger integers,
   * decimals, NaN and infinities as text), timestamps as {@code yyyy-MM-dd HH:mm:ss[.fraction]} UTC
   * wall time as DuckDB prints them, binary as {@code \x} hex, anything else as its text.
   */
  static void writeValue(JsonGenerator json, @Nullable Object v) throws IOException {
    if (v == null) {
      json.writeNull();
    } else if (v instanceof Boolean b) {
      json.writeBoolean(b);
    } else if (v instanceof Byte || v instanceof Short || v instanceof Integer) {
      json.writeNumber(((Number) v).intValue());
    } else if (v instanceof Long l) {
      if (l >= -(1L << 53) && l <= (1L << 53)) {
        json.writeNumber(l);
      } else {
        json.writeString(Long.toString(l));
      }
    } else if (v instanceof Float || v instanceof Double) {
      double d = ((Number) v).doubleValue();
      if (Double.isFinite(d)) {
        json.writeNumber(d);
      } else {
        json.writeString(Double.toString(d));
      }
    } else if (v instanceof BigDecimal d) {
      json.writeString(d.toPlainString());
    } else if (v instanceof LocalDateTime t) {
      json.writeString(TIMESTAMP.format(t));
    } else if (v instanceof LocalDate d) {
      json.writeString(d.toString());
    } else if (v instanceof byte[] bytes) {
      json.writeString("\\x" + HexFormat.of().formatHex(bytes));
    } else {
      json.writeString(v.toString());
    }
  }

  private void tables(HttpExchange ex, String user) throws IOException {
    Map<String, CacheStatistics> hot = new HashMap<>();
    for (CacheStatistics s : hyprstream.cacheStatistics()) {
      if (s.scope() == CacheStatistics.Scope.TABLE) {
        hot.put(s.name(), s);
      }
    }
    List<Hyprstream.TableInfo> tables = hyprstream.tables();
    ConsoleHttp.sendJson(
        ex,
        200,
        json -> {
          json.writeStartObject();
          json.writeArrayFieldStart("tables");
          for (Hyprstream.TableInfo t : tables) {
            json.writeStartObject();
            json.writeStringField("name", t.name());
            json.writeStringField("kind", t.kind().name().toLowerCase(Locale.ROOT));
            CacheStatistics stats = hot.get(t.name());
            Long rows = stats != null ? Long.valueOf(stats.rows()) : count(user, t);
            if (rows == null) {
              json.writeNullField("rows");
            } else {
              json.writeNumberField("rows", rows);
            }
            if (stats == null) {
              json.writeNullField("hot_bytes");
            } else {
              json.writeNumberField("hot_bytes", stats.bytes());
            }
            json.writeArrayFieldStart("columns");
            for (Field f : t.schema().getFields()) {
              json.writeStartObject();
              json.writeStringField("name", f.getName());
              json.writeStringField("type", ColumnTypes.of(f));
              json.writeBooleanField("nullable", f.isNullable());
              json.writeEndObject();
            }
            json.writeEndArray();
            json.writeEndObject();
          }
          json.writeEndArray();
          json.writeEndObject();
        });
  }

  /**
   * The rows of a window view or system table, counted by a query like any other (a query slot, the
   * time limit); null for a backend-only table, whose count would be a scan of the backend.
   */
  private @Nullable Long count(String user, Hyprstream.TableInfo t) {
    if (t.kind() == Hyprstream.TableInfo.Kind.BACKEND_TABLE) {
      return null;
    }
    try {
      ConsoleQueries.Page page =
          queries.query(user, "SELECT count(*) FROM " + SqlIdentifier.quote(t.name()), 0, 1);
      Object n = page.rows().isEmpty() ? null : page.rows().get(0).get(0);
      return n instanceof Number ? ((Number) n).longValue() : null;
    } catch (FlightRuntimeException e) {
      LOG.debug("cannot count {}: {}", t.name(), e.getMessage());
      return null;
    }
  }

  private static void requireMethod(String method, String expected) {
    if (!method.equals(expected)) {
      throw new MethodNotAllowed(method + " is not allowed here; use " + expected);
    }
  }

  private static final class MethodNotAllowed extends RuntimeException {
    private static final long serialVersionUID = 1L;

    MethodNotAllowed(String message) {
      super(message);
    }
  }

  private static String message(FlightRuntimeException f) {
    String d = f.status().description();
    return d == null || d.isEmpty() ? f.status().code().name() : d;
  }

  private static void error(HttpExchange ex, int status, String code, @Nullable String message) {
    try {
      if (status == 401) {
        // Not "Basic": a browser would show its own password dialog instead of the console's.
        ex.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"hyprstream\"");
      }
      ConsoleHttp.sendError(ex, status, code, message == null ? code : message);
    } catch (IOException e) {
      LOG.debug("console client went away: {}", e.toString());
      ex.close();
    }
  }

  /** The HTTP status for a Flight status. */
  static int httpStatus(FlightStatusCode code) {
    return switch (code) {
      case INVALID_ARGUMENT -> 400;
      case UNAUTHENTICATED -> 401;
      case UNAUTHORIZED -> 403;
      case NOT_FOUND -> 404;
      case ALREADY_EXISTS -> 409;
      case RESOURCE_EXHAUSTED -> 429;
      case UNIMPLEMENTED -> 501;
      case UNAVAILABLE, CANCELLED -> 503;
      case TIMED_OUT -> 504;
      default -> 500;
    };
  }

  /** gRPC's name for a Flight status (Flight Java names two of them differently). */
  static String grpcName(FlightStatusCode code) {
    return switch (code) {
      case UNAUTHORIZED -> "PERMISSION_DENIED";
      case TIMED_OUT -> "DEADLINE_EXCEEDED";
      default -> code.name();
    };
  }
}
