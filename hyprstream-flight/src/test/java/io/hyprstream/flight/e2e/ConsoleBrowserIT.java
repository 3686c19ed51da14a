package io.hyprstream.flight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.flight.FlightJdbc;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web console in a real browser (Debian's headless chromium through chromedriver) against the
 * jar started with {@code --demo}: the page loads without a console error, lists the window views,
 * its query grid shows the rows the Flight SQL JDBC driver reads, the live chart's points move
 * within 3 s, and the server panel shows the demo's ingest rate. With {@code --auth}, a wrong
 * password is refused and a read_only user's INSERT shows the server's refusal. Screenshots go to
 * target/console-screenshots (docs/ with {@code -Dhyprstream.console.screenshots=../docs}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
final class ConsoleBrowserIT {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final DateTimeFormatter TIMESTAMP =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

  private ServerProcess server;
  private Chromium chromium;

  @BeforeAll
  void start() {
    chromium = Chromium.start(1440, 900);
    server = ServerProcess.start("--demo");
  }

  @AfterAll
  void stop() {
    if (chromium != null) {
      chromium.close();
    }
    if (server != null) {
      server.close();
    }
  }

  private WebDriverWait waiting(WebDriver driver) {
    return new WebDriverWait(driver, WAIT);
  }

  @Test
  void page_showsTablesAndALiveChartWithoutConsoleErrors() {
    ChromeDriver driver = chromium.driver();
    driver.get(server.httpUrl("/"));
    waiting(driver)
        .until(
            ExpectedConditions.presenceOfElementLocated(
                By.cssSelector("details[data-table='metrics_5m']")));
    String metrics5m =
        driver.findElement(By.cssSelector("details[data-table='metrics_5m'] summary")).getText();
    assertTrue(metrics5m.contains("rows"), "the tables list shows a row count: " + metrics5m);
    WebElement chart = driver.findElement(By.id("chart"));
    waiting(driver).until(d -> chart.getAttribute("data-last") != null);
    waiting(driver).until(d -> driver.findElements(By.cssSelector("#chart canvas")).size() > 0);
    String first = chart.getAttribute("data-last");
    assertTrue(first.contains("cpu.host-a"), "the chart starts with the first keys: " + first);
    // Three keys, each with its newest 36 windows of the demo's day of history.
    assertEquals("108", chart.getAttribute("data-points"));
    long before = System.nanoTime();
    new WebDriverWait(driver, Duration.ofSeconds(3))
        .until(d -> !first.equals(chart.getAttribute("data-last")));
    long tookMillis = (System.nanoTime() - before) / 1_000_000;
    assertNotEquals(first, chart.getAttribute("data-last"));
    assertTrue(tookMillis <= 3_000, "the chart's points moved after " + tookMillis + " ms");
    chromium.screenshot("console-chart");
    assertEquals(List.of(), chromium.errors(), "the browser's console has no error");
  }

  @Test
  void query_showsTheRowsTheJdbcDriverReads() throws Exception {
    // Windows of the demo's history: complete, so both readers see the same rows.
    LocalDateTime from =
        LocalDateTime.ofInstant(Instant.now().minus(Duration.ofHours(6)), ZoneOffset.UTC)
            .truncatedTo(ChronoUnit.HOURS);
    String sql =
        "SELECT metric_id, window_start, value_count, value_avg, value_max\nFROM metrics_5m"
            + "\nWHERE metric_id IN ('cpu.host-a', 'mem.host-b')\n  AND window_start >= TIMESTAMP '"
            + TIMESTAMP.format(from)
            + "'\n  AND window_start < TIMESTAMP '"
            + TIMESTAMP.format(from.plusHours(1))
            + "'\nORDER BY metric_id, window_start";
    List<List<String>> expected = new ArrayList<>();
    try (Connection c = FlightJdbc.connect(server.jdbcUrl(), new Properties());
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        expected.add(
            List.of(
                rs.getString(1),
                TIMESTAMP.format(rs.getObject(2, LocalDateTime.class)),
                Long.toString(rs.getLong(3)),
                Double.toString(rs.getDouble(4)),
                Double.toString(rs.getDouble(5))));
      }
    }
    assertEquals(24, expected.size(), "two series, twelve 5-minute windows an hour");

    ChromeDriver driver = chromium.driver();
    driver.get(server.httpUrl("/#query"));
    WebElement editor =
        waiting(driver)
            .until(ExpectedConditions.presenceOfElementLocated(By.cssSelector(".CodeMirror")));
    driver.executeScript("arguments[0].CodeMirror.setValue(arguments[1])", editor, sql);
    driver
        .findElement(By.cssSelector(".CodeMirror textarea"))
        .sendKeys(Keys.chord(Keys.CONTROL, Keys.ENTER));
    waiting(driver).until(d -> d.findElements(By.cssSelector("#grid tbody tr")).size() == 24);
    List<List<String>> shown = new ArrayList<>();
    for (WebElement row : driver.findElements(By.cssSelector("#grid tbody tr"))) {
      List<WebElement> cells = row.findElements(By.tagName("td"));
      shown.add(
          List.of(
              cells.get(0).getText(),
              cells.get(1).getText(),
              cells.get(2).getText(),
              Double.toString(Double.parseDouble(cells.get(3).getText())),
              Double.toString(Double.parseDouble(cells.get(4).getText()))));
    }
    assertEquals(expected, shown, "the grid shows exactly the rows JDBC reads");
    String status = driver.findElement(By.id("query-status")).getText();
    assertTrue(status.startsWith("24 rows") && status.contains(" ms"), status);
    String freshness = driver.findElement(By.id("freshness")).getText();
    assertTrue(
        freshness.contains("source: cache") && freshness.contains("as_of: 20"),
        "the answer's freshness is shown: " + freshness);
    chromium.screenshot("console-query");
    assertFalse(
        driver.findElements(By.cssSelector(".CodeMirror .cm-keyword")).isEmpty(),
        "the editor highlights SQL keywords");
    WebElement history = driver.findElement(By.id("history"));
    assertTrue(
        history.getText().contains("SELECT metric_id, window_start, value_count"),
        "the statement is in the history: " + history.getText());

    // A row limit with "More rows".
    new org.openqa.selenium.support.ui.Select(driver.findElement(By.id("limit")))
        .selectByVisibleText("100");
    driver.executeScript(
        "arguments[0].CodeMirror.setValue(arguments[1])",
        editor,
        "SELECT range AS n FROM range(250) ORDER BY n");
    driver.findElement(By.id("run")).click();
    waiting(driver).until(d -> d.findElements(By.cssSelector("#grid tbody tr")).size() == 100);
    WebElement more = driver.findElement(By.id("more"));
    more.click();
    waiting(driver).until(d -> d.findElements(By.cssSelector("#grid tbody tr")).size() == 200);
    more.click();
    waiting(driver).until(d -> d.findElements(By.cssSelector("#grid tbody tr")).size() == 250);
    waiting(driver).until(ExpectedConditions.invisibilityOf(more));
    assertEquals(
        "249", driver.findElement(By.cssSelector("#grid tbody tr:last-child td")).getText());

    driver.executeScript(
        "arguments[0].CodeMirror.setValue(arguments[1])", editor, "SELECT * FROM no_such_table");
    driver.findElement(By.id("run")).click();
    WebElement error =
        waiting(driver).until(ExpectedConditions.visibilityOfElementLocated(By.id("query-error")));
    assertEquals("NOT_FOUND: table 'no_such_table' does not exist", error.getText());
    // The browser logged the refused query's 404 (so its log is read), and nothing else.
    List<String> errors = chromium.errors();
    assertFalse(errors.isEmpty(), "the browser's log shows the 404");
    for (String e : errors) {
      assertTrue(e.contains("/api/query") && e.contains("404"), e);
    }
  }

  @Test
  void serverPanel_showsTheDemoIngestRate() {
    ChromeDriver driver = chromium.driver();
    driver.get(server.httpUrl("/#server"));
    waiting(driver)
        .until(
            d -> {
              List<WebElement> cards = d.findElements(By.cssSelector("#cards .card"));
              return !cards.isEmpty()
                  && cards.get(0).getText().matches("(?s).*\\b[1-9]\\d* rows/s.*");
            });
    waiting(driver).until(d -> d.findElements(By.cssSelector("#rates-chart canvas")).size() > 0);
    String cards = driver.findElement(By.id("cards")).getText();
    assertTrue(cards.contains("Cache hit ratio") && cards.contains("JVM heap"), cards);
    chromium.screenshot("console-server");
    assertEquals(List.of(), chromium.errors(), "the browser's console has no error");
  }

  /** With --auth: the login form, a refused password, and a read_only user's refused INSERT. */
  @Test
  void auth_refusesAWrongPasswordAndAReadOnlyInsert(@TempDir Path dir) throws Exception {
    String readerHash = ShippedJar.hashPassword("reader-pw");
    String writerHash = ShippedJar.hashPassword("writer-pw");
    try (ServerProcess secured =
        ServerProcess.start(
            "--demo",
            "--auth",
            "--auth-user",
            "reader:" + readerHash + ":read_only",
            "--auth-user",
            "writer:" + writerHash + ":read_write")) {
      ChromeDriver driver = chromium.driver();
      driver.get(secured.httpUrl("/#query"));
      WebElement user =
          waiting(driver).until(ExpectedConditions.visibilityOfElementLocated(By.id("login-user")));
      assertTrue(
          driver.findElements(By.cssSelector("details[data-table]")).isEmpty(),
          "nothing is shown before logging in");
      user.sendKeys("reader");
      driver.findElement(By.id("login-password")).sendKeys("wrong");
      chromium.screenshot("console-login");
      driver.findElement(By.id("login-submit")).click();
      WebElement loginError =
          waiting(driver)
              .until(ExpectedConditions.visibilityOfElementLocated(By.id("login-error")));
      assertEquals("invalid username or password", loginError.getText());
      assertTrue(driver.findElement(By.id("login")).isDisplayed(), "still asked to log in");

      driver.findElement(By.id("login-password")).clear();
      driver.findElement(By.id("login-password")).sendKeys("reader-pw", Keys.ENTER);
      waiting(driver).until(ExpectedConditions.invisibilityOfElementLocated(By.id("login")));
      waiting(driver)
          .until(
              ExpectedConditions.presenceOfElementLocated(
                  By.cssSelector("details[data-table='metrics_5m']")));
      assertEquals("reader (read_only)", driver.findElement(By.id("whoami")).getText());

      WebElement editor = driver.findElement(By.cssSelector(".CodeMirror"));
      driver.executeScript(
          "arguments[0].CodeMirror.setValue(arguments[1])",
          editor,
          "INSERT INTO metrics (metric_id, timestamp, value)"
              + " VALUES ('console.refused', TIMESTAMP '2026-01-01 00:00:00', 1.0)");
      driver
          .findElement(By.cssSelector(".CodeMirror textarea"))
          .sendKeys(Keys.chord(Keys.CONTROL, Keys.ENTER));
      WebElement error =
          waiting(driver)
              .until(ExpectedConditions.visibilityOfElementLocated(By.id("query-error")));
      assertTrue(
          error.getText().startsWith("PERMISSION_DENIED: user 'reader' has role read_only"),
          error.getText());
      chromium.screenshot("console-read-only");

      Properties writer = new Properties();
      writer.setProperty("user", "writer");
      writer.setProperty("password", "writer-pw");
      try (Connection c = FlightJdbc.connect(secured.jdbcUrl(), writer);
          Statement st = c.createStatement();
          ResultSet rs =
              st.executeQuery("SELECT count(*) FROM metrics WHERE metric_id = 'console.refused'")) {
        assertTrue(rs.next());
        assertEquals(0, rs.getLong(1), "the refused INSERT stored nothing");
      }
      driver.executeScript("sessionStorage.clear()");
      chromium.browserLog(); // the refusals' 401 and 403 are expected there
    }
  }
}
