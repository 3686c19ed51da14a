package io.hyprstream.flight.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Debian's headless {@code chromium}, driven through its {@code chromedriver} by Selenium, as the
 * console's browser tests use it. {@link #start} skips the test with a message when either program
 * is missing, and fails under {@code CI=true}, where {@code .ci/run} installs both.
 */
final class Chromium implements AutoCloseable {
  private static final List<Path> BROWSERS =
      List.of(Path.of("/usr/bin/chromium"), Path.of("/usr/bin/chromium-browser"));
  private static final List<Path> DRIVERS =
      List.of(Path.of("/usr/bin/chromedriver"), Path.of("/usr/lib/chromium/chromedriver"));

  private final ChromeDriverService service;
  private final ChromeDriver driver;
  private final Path profile;

  private Chromium(ChromeDriverService service, ChromeDriver driver, Path profile) {
    this.service = service;
    this.driver = driver;
    this.profile = profile;
  }

  /** A new browser with a fresh profile, its window {@code width} x {@code height}. */
  static Chromium start(int width, int height) {
    Path browser = first(BROWSERS);
    Path chromedriver = first(DRIVERS);
    if (browser == null || chromedriver == null) {
      String why =
          "the console's browser tests need Debian's chromium and chromium-driver (apt-get install"
              + " -y chromium chromium-driver); missing: "
              + (browser == null ? BROWSERS : chromedriver == null ? DRIVERS : "");
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        throw new IllegalStateException(why + " (CI=true: browser tests must run)");
      }
      Assumptions.abort(why + " (set CI=true to make this a failure)");
    }
    try {
      Path profile = Files.createTempDirectory("hyprstream-chromium");
      ChromeOptions options = new ChromeOptions();
      options.setBinary(browser.toFile());
      options.addArguments(
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--disable-dev-shm-usage",
          "--window-size=" + width + "," + height,
          "--user-data-dir=" + profile);
      // The test servers' certificates come from a test CA the browser does not know.
      options.setAcceptInsecureCerts(true);
      options.setCapability("goog:loggingPrefs", Map.of("browser", "ALL"));
      ChromeDriverService service =
          new ChromeDriverService.Builder()
              .usingDriverExecutable(chromedriver.toFile())
              .usingAnyFreePort()
              .build();
      ChromeDriver driver = new ChromeDriver(service, options);
      driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
      return new Chromium(service, driver, profile);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static @Nullable Path first(List<Path> candidates) {
    for (Path p : candidates) {
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }

  ChromeDriver driver() {
    return driver;
  }

  /**
   * The browser's console log since the last call (errors, CSP violations, failed loads), as
   * chromedriver keeps it for {@code goog:loggingPrefs}: Selenium 4 no longer wraps the endpoint,
   * so it is read from chromedriver directly.
   */
  List<String> browserLog() {
    try {
      HttpRequest request =
          HttpRequest.newBuilder(
                  URI.create(service.getUrl() + "/session/" + driver.getSessionId() + "/se/log"))
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString("{\"type\":\"browser\"}"))
              .build();
      HttpResponse<String> r =
          HttpClient.newHttpClient()
              .send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      if (r.statusCode() != 200) {
        throw new AssertionError("chromedriver's log answered " + r.statusCode() + ": " + r.body());
      }
      List<String> lines = new ArrayList<>();
      com.fasterxml.jackson.databind.JsonNode entries =
          new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.body()).path("value");
      for (com.fasterxml.jackson.databind.JsonNode e : entries) {
        lines.add(e.path("level").asText() + " " + e.path("message").asText());
      }
      return lines;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The browser log's SEVERE entries since the last read. */
  List<String> errors() {
    List<String> errors = new ArrayList<>();
    for (String line : browserLog()) {
      if (line.startsWith("SEVERE")) {
        errors.add(line);
      }
    }
    return errors;
  }

  /**
   * Saves a screenshot as {@code name}.png in the directory {@code hyprstream.console.screenshots}
   * names (docs/ when refreshing the documentation's pictures), else in target/console-screenshots.
   */
  Path screenshot(String name) {
    String dir = System.getProperty("hyprstream.console.screenshots");
    Path target = Path.of(dir == null ? "target/console-screenshots" : dir, name + ".png");
    try {
      Files.createDirectories(target.getParent());
      Files.write(target, driver.getScreenshotAs(OutputType.BYTES));
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    try {
      driver.quit();
    } finally {
      service.stop();
      ServerProcess.deleteTree(profile);
    }
  }
}
