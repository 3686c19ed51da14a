package io.hyprstream.flight.internal.cli;

import io.hyprstream.flight.HyprstreamServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code hyprstream sql}: a SQL shell for a Hyprstream server. With a statement as argument it runs
 * that; with none it reads a script from standard input, or, at a terminal, prompts (history,
 * multi-line statements, {@code \d}). Over TLS with {@code --tls}/{@code --tls-ca}, logged in with
 * {@code --user} (password from {@code HYPRSTREAM_PASSWORD} or a prompt).
 */
@Command(
    name = "sql",
    mixinStandardHelpOptions = true,
    description = {
      "A SQL shell for a Hyprstream server. With SQL as argument, runs it; otherwise reads"
          + " statements (ended by ';') from standard input, or prompts at a terminal.",
      "At the prompt: \\d lists tables, views and system tables, \\d NAME describes one, \\?"
          + " helps, \\q quits. History is kept in ~/.hyprstream_history (HYPRSTREAM_HISTORY"
          + " names another file)."
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:every statement succeeded (and always after an interactive session)",
      "1:a statement failed, or the server could not be reached or refused the login",
      "2:bad flag"
    })
final class SqlCommand implements Callable<Integer> {
  /** The history file of the interactive shell (default {@code ~/.hyprstream_history}). */
  static final String HISTORY_ENV = "HYPRSTREAM_HISTORY";

  @ParentCommand private @Nullable Main parent;

  @Option(names = "--host", paramLabel = "HOST", description = "Server host (default 127.0.0.1).")
  private String host = HyprstreamServer.DEFAULT_HOST;

  @Option(names = "--port", paramLabel = "PORT", description = "Server port (default 50051).")
  private int port = HyprstreamServer.DEFAULT_PORT;

  @Option(names = "--tls", description = "Connect with TLS, trusting the system's CAs.")
  private boolean tls;

  @Option(
      names = "--tls-ca",
      paramLabel = "FILE",
      description = "PEM CA certificate(s) to trust instead of the system's; implies --tls.")
  private @Nullable Path tlsCa;

  @Option(
      names = "--user",
      paramLabel = "NAME",
      description =
          "Log in as NAME (servers with --auth); the password comes from HYPRSTREAM_PASSWORD or"
              + " is asked for at the terminal.")
  private @Nullable String user;

  @Option(
      names = "--format",
      paramLabel = "table|csv|json",
      description = "Output format (default table).")
  private String format = "table";

  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "SQL",
      description = "Statement(s) to run; without it, standard input or the prompt.")
  private @Nullable String sql;

  private final Map<String, String> env;
  private final InputStream stdin;
  private final @Nullable PrintStream out;
  private final @Nullable PrintStream err;
  private final @Nullable Terminal terminal;

  /** The command as {@code hyprstream sql} runs it: the real environment, streams and terminal. */
  SqlCommand() {
    this(System.getenv(), System.in, null, null, null);
  }

  /**
   * A command with its environment and streams injected (tests); {@code terminal}, when given,
   * makes it interactive on that terminal. Null streams mean the parent command's, or the
   * process's.
   */
  SqlCommand(
      Map<String, String> env,
      InputStream stdin,
      @Nullable PrintStream out,
      @Nullable PrintStream err,
      @Nullable Terminal terminal) {
    this.env = env;
    this.stdin = stdin;
    this.out = out;
    this.err = err;
    this.terminal = terminal;
  }

  @Override
  public Integer call() {
    // A terminal tool: only warnings from the libraries below (before their first logger).
    if (System.getProperty(Main.LOG_LEVEL_PROPERTY) == null) {
      System.setProperty(Main.LOG_LEVEL_PROPERTY, "warn");
      // It logs a refused login at ERROR with two stack traces; the shell says it in one line.
      System.setProperty(
          "org.slf4j.simpleLogger.log.org.apache.arrow.flight.auth2.ClientHandshakeWrapper", "off");
    }
    PrintStream out = this.out != null ? this.out : parent != null ? parent.out() : System.out;
    PrintStream err = this.err != null ? this.err : parent != null ? parent.err() : System.err;
    ResultPrinter.Format fmt;
    try {
      fmt = ResultPrinter.Format.valueOf(format.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      err.println("hyprstream sql: --format must be table, csv or json, got '" + format + "'");
      return ConfigException.EXIT_CODE;
    }
    if (port < 0 || port > 65535) {
      err.println("hyprstream sql: --port must be between 0 and 65535, got " + port);
      return ConfigException.EXIT_CODE;
    }
    String statement = sql;
    Terminal term = statement == null ? interactiveTerminal(err) : null;
    try {
      ServerConnection.Settings settings =
          new ServerConnection.Settings(host, port, tls || tlsCa != null, tlsCa, user);
      return run(settings, fmt, statement, term, out, err);
    } finally {
      if (term != null && term != terminal) {
        try {
          term.close();
        } catch (IOException e) {
          // The session is over; nothing is left to restore on a terminal that will not close.
        }
      }
    }
  }

  private int run(
      ServerConnection.Settings settings,
      ResultPrinter.Format fmt,
      @Nullable String statement,
      @Nullable Terminal term,
      PrintStream out,
      PrintStream err) {
    String password;
    try {
      password = LoginPassword.read(settings, env, term, err);
    } catch (IllegalStateException e) {
      err.println("hyprstream sql: " + e.getMessage());
      return 1;
    }
    ShellOutput output = new ShellOutput(fmt, out, err, settings);
    ServerConnection connection;
    try {
      connection = ServerConnection.open(settings, password);
    } catch (RuntimeException e) {
      output.error("hyprstream sql: cannot connect to " + settings.uri() + ": ", e);
      return 1;
    }
    try (connection) {
      // One call before any statement: a script against a server that is down or wants a login
      // fails once, at the start, rather than once per statement.
      String server;
      try {
        server = connection.serverVersion();
      } catch (FlightRuntimeException e) {
        FlightStatusCode code = e.status().code();
        if (code == FlightStatusCode.UNAVAILABLE || code == FlightStatusCode.UNAUTHENTICATED) {
          output.error("hyprstream sql: cannot connect to " + settings.uri() + ": ", e);
          return 1;
        }
        server = ""; // a Flight SQL server without GetSqlInfo: statements may still work
      }
      StatementRunner runner = new StatementRunner(connection, output, System::nanoTime);
      BackslashCommands commands =
          new BackslashCommands(new SchemaBrowser(connection, output, System::nanoTime), out, err);
      if (statement != null) {
        return new ScriptRunner(runner, commands, output, statement.contains("\n"))
            .run(new BufferedReader(new StringReader(statement)));
      }
      if (term == null) {
        return new ScriptRunner(runner, commands, output, true)
            .run(new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8)));
      }
      new InteractiveShell(
              InteractiveShell.reader(term, historyFile(env)), runner, commands, output)
          .run(
              "Connected to "
                  + (server.isEmpty() ? "a Flight SQL server" : server)
                  + " at "
                  + settings.uri()
                  + (settings.user() == null ? "" : " as " + settings.user())
                  + ". \\? for help, \\q to quit.");
      return 0;
    }
  }

  /** The injected terminal, or the system's when standard input and output are a terminal. */
  private @Nullable Terminal interactiveTerminal(PrintStream err) {
    if (terminal != null) {
      return terminal;
    }
    if (System.console() == null || stdin != System.in) {
      return null;
    }
    try {
      return TerminalBuilder.builder().system(true).build();
    } catch (IOException e) {
      err.println("hyprstream sql: no terminal (" + e.getMessage() + "); reading standard input");
      return null;
    }
  }

  /** {@code HYPRSTREAM_HISTORY}, else {@code ~/.hyprstream_history}; "" keeps no history. */
  static @Nullable Path historyFile(Map<String, String> env) {
    String configured = env.get(HISTORY_ENV);
    if (configured != null) {
      return configured.isEmpty() ? null : Path.of(configured);
    }
    return Path.of(System.getProperty("user.home"), ".hyprstream_history");
  }
}
