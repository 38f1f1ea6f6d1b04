package dev.atrium.console;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The console in a real browser (Debian's headless Chromium through its chromedriver) against a real server: an
 * owner signs in with a key, creates a key and sees its secret once, the key works, the owner revokes it and it is
 * refused; the owner sees only its tenant's keys; the page fetches nothing from anywhere but the server; and each
 * page is photographed at desktop and phone width (target/console-screenshots).
 */
class ConsoleBrowserTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Path SCREENSHOTS = Path.of("target", "console-screenshots");

    private static TestServer server;
    private static Http admin;
    private static Tenants tenants;
    private static WebDriver browser;

    @BeforeAll
    static void start() throws Exception {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            String reason = "skipped: Chromium and its driver are not installed (apt-get install chromium"
                    + " chromium-driver; .ci/run does)";
            System.err.println(reason);
            Assumptions.abort(reason);
        }
        server = TestServer.start(Map.of("preload", "none"));
        admin = server.http();
        tenants = new Tenants(admin);
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile())
                .addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-dev-shm-usage", "--window-size=1280,900");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
        Files.createDirectories(SCREENSHOTS);
    }

    @AfterAll
    static void stop() {
        if (browser != null) {
            browser.quit();
        }
        if (server != null) {
            server.close();
        }
    }

    private static WebElement await(By by) {
        return new WebDriverWait(browser, Duration.ofSeconds(10))
                .until(ExpectedConditions.visibilityOfElementLocated(by));
    }

    private static void screenshot(String page) throws Exception {
        for (Map.Entry<String, Dimension> size : Map.of("desktop", new Dimension(1280, 900),
                "phone", new Dimension(390, 844)).entrySet()) {
            browser.manage().window().setSize(size.getValue());
            Thread.sleep(200);
            byte[] png = ((ChromeDriver) browser).getScreenshotAs(OutputType.BYTES);
            Files.write(SCREENSHOTS.resolve(page + "-" + size.getKey() + ".png"), png);
        }
        browser.manage().window().setSize(new Dimension(1280, 900));
    }

    @Test
    void anOwner_signsIn_createsAKeySeenOnce_usesIt_revokesIt_andSeesOnlyItsTenant() throws Exception {
        String tenant = tenants.tenant("console-owner");
        Tenants.Key owner = tenants.key(tenant, "owner");
        String otherTenant = tenants.tenant("console-other");
        Tenants.Key foreign = tenants.key(otherTenant, "member");

        browser.get(server.baseUrl() + "/console/");
        WebElement keyField = await(By.id("api-key"));
        screenshot("sign-in");
        keyField.sendKeys("atr-wrong");
        browser.findElement(By.cssSelector("#sign-in-form button[type=submit]")).click();
        new WebDriverWait(browser, Duration.ofSeconds(10)).until(ExpectedConditions.textToBePresentInElementLocated(
                By.id("sign-in-error"), "not valid"));
        keyField.clear();
        keyField.sendKeys(owner.secret());
        browser.findElement(By.cssSelector("#sign-in-form button[type=submit]")).click();
        await(By.id("keys"));
        new WebDriverWait(browser, Duration.ofSeconds(10)).until(driver -> !driver.findElements(
                By.cssSelector("#key-rows tr")).isEmpty());

        // the key is in no cookie, no storage, no page: the browser holds a session
        assertThat(browser.manage().getCookies()).allSatisfy(cookie -> {
            assertThat(cookie.getValue()).doesNotContain(owner.secret());
            assertThat(cookie.isHttpOnly()).isTrue();
        });
        assertThat(script("return JSON.stringify(localStorage) + JSON.stringify(sessionStorage)"))
                .doesNotContain(owner.secret());
        assertThat(browser.getPageSource()).doesNotContain(owner.secret());
        List<String> tenantsShown = browser.findElements(By.cssSelector("#key-rows td[data-label=Tenant]")).stream()
                .map(WebElement::getText).distinct().toList();
        assertThat(tenantsShown).containsExactly(tenant);
        assertThat(browser.findElements(By.cssSelector("#key-rows tr[data-key-id='" + foreign.id() + "']")))
                .isEmpty();

        assertThat(browser.findElement(By.id("key-tenant")).isDisplayed()).as("an owner's keys are its tenant's")
                .isFalse();
        browser.findElement(By.id("key-name")).sendKeys("made in the console");
        new org.openqa.selenium.support.ui.Select(browser.findElement(By.id("key-role"))).selectByValue("member");
        browser.findElement(By.cssSelector("#create-key button[type=submit]")).click();
        String secret = await(By.id("new-secret-value")).getText();
        assertThat(secret).startsWith("atr-");
        screenshot("keys");
        assertThat(admin.withKey(secret).get("/v1/models").status()).isEqualTo(200);
        browser.findElement(By.id("new-secret-done")).click();
        assertThat(browser.getPageSource()).doesNotContain(secret);

        // requests with it, seen in the usage chart as /v1/usage counts them, and on the invoice
        String createdId = admin.get("/admin/keys?tenant=" + tenant).json().path("keys").valueStream()
                .filter(key -> key.path("name").asString().equals("made in the console"))
                .findFirst().orElseThrow().path("id").asString();
        assertThat(admin.postJson("/admin/prices", Map.of("model", "all-minilm-l6-v2", "tenant", tenant,
                "per_request", "0.25", "currency", "USD")).status()).isIn(200, 201);
        Http member = admin.withKey(secret);
        for (int i = 0; i < 5; i++) {
            assertThat(member.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2", "input",
                    "seen in the console " + i)).status()).isEqualTo(200);
        }
        browser.get(server.baseUrl() + "/console/#usage");
        await(By.id("usage-form"));
        new org.openqa.selenium.support.ui.Select(browser.findElement(By.id("usage-group"))).selectByValue("key");
        browser.findElement(By.cssSelector("#usage-form button[type=submit]")).click();
        new WebDriverWait(browser, Duration.ofSeconds(10)).until(driver -> script(
                "return JSON.stringify((window.atriumConsole || {}).usage || null)").contains(createdId));
        Thread.sleep(300);
        @SuppressWarnings("unchecked")
        Map<String, Object> drawn = (Map<String, Object>) ((ChromeDriver) browser).executeScript(
                "return window.atriumConsole.usage");
        String usageUrl = browser.findElement(By.id("usage-csv")).getDomAttribute("href");
        tools.jackson.databind.JsonNode api = admin.withKey(owner.secret())
                .get(usageUrl.replace("&format=csv", "")).json();
        Map<String, Long> apiByGroup = new java.util.TreeMap<>();
        api.path("data").forEach(row -> apiByGroup.merge(row.path("group").asString(), row.path("requests")
                .asLong(), Long::sum));
        Map<String, Long> drawnByGroup = new java.util.TreeMap<>();
        List<?> groups = (List<?>) drawn.get("groups");
        List<?> series = (List<?>) drawn.get("series");
        for (int g = 0; g < groups.size(); g++) {
            drawnByGroup.put((String) groups.get(g), ((List<?>) series.get(g)).stream()
                    .mapToLong(value -> ((Number) value).longValue()).sum());
        }
        assertThat(drawnByGroup).isEqualTo(apiByGroup).containsEntry(createdId, 5L);
        List<?> drawnX = (List<?>) ((List<?>) drawn.get("drawn")).get(0);
        assertThat(drawnX).hasSameSizeAs((List<?>) drawn.get("starts"));
        assertThat(fetchInBrowser(usageUrl)).isEqualTo(admin.withKey(owner.secret()).get(usageUrl).text());
        screenshot("usage");

        browser.get(server.baseUrl() + "/console/#invoices");
        new WebDriverWait(browser, Duration.ofSeconds(10)).until(driver -> !driver.findElements(
                By.cssSelector("#invoice-rows tr")).isEmpty());
        assertThat(browser.findElement(By.id("invoice-total")).getText()).contains("1.25 USD");
        String invoiceUrl = browser.findElement(By.id("invoice-csv")).getDomAttribute("href");
        String invoiceCsv = fetchInBrowser(invoiceUrl);
        assertThat(invoiceCsv).isEqualTo(admin.withKey(owner.secret()).get(invoiceUrl).text())
                .isEqualTo(admin.get("/admin/invoices?tenant=" + tenant + "&month="
                        + java.time.YearMonth.now(java.time.ZoneOffset.UTC) + "&format=csv").text());
        screenshot("invoices");

        // a training job of the tenant, its progress and events
        StringBuilder rows = new StringBuilder("x,y\n");
        java.util.Random random = new java.util.Random(3);
        for (int i = 0; i < 300; i++) {
            double x = random.nextDouble();
            rows.append(x).append(',').append(Math.sin(5 * x)).append('\n');
        }
        String file = member.uploadTrainingFile("rows.csv", rows.toString()).json().path("id").asString();
        Http.Reply job = member.postJson("/v1/fine_tuning/jobs", Map.of("model", "gradient-boosted-trees",
                "training_file", file, "suffix", "console", "method", Map.of("type", "tabular-regression"),
                "hyperparameters", Map.of("target", "y", "n_rounds", 30, "learning_rate", 0.3)));
        assertThat(job.status()).as(job.toString()).isEqualTo(200);
        String jobId = job.json().path("id").asString();
        assertThat(member.awaitJobEnd(jobId, Duration.ofSeconds(60)).path("status").asString())
                .isEqualTo("succeeded");
        browser.get(server.baseUrl() + "/console/#jobs");
        WebElement open = await(By.cssSelector("#job-rows tr[data-job-id='" + jobId + "'] button"));
        assertThat(browser.findElement(By.cssSelector("#job-rows tr[data-job-id='" + jobId
                + "'] td[data-label=Status]")).getText()).isEqualTo("succeeded");
        open.click();
        new WebDriverWait(browser, Duration.ofSeconds(10)).until(ExpectedConditions.textToBePresentInElementLocated(
                By.id("job-events"), "successfully completed"));
        screenshot("jobs");
        browser.get(server.baseUrl() + "/console/#keys");
        await(By.id("keys"));
        browser.navigate().refresh();
        await(By.id("keys"));
        assertThat(browser.getPageSource()).as("shown once: not after a reload").doesNotContain(secret);

        WebElement revoke = await(By.cssSelector("#key-rows tr[data-key-id='" + createdId + "'] button"));
        revoke.click();
        browser.switchTo().alert().accept();
        new WebDriverWait(browser, Duration.ofSeconds(10)).until(ExpectedConditions.textToBePresentInElementLocated(
                By.cssSelector("#key-rows tr[data-key-id='" + createdId + "'] td[data-label=Status]"), "revoked"));
        assertThat(admin.withKey(secret).get("/v1/models").status()).isEqualTo(401);

        // the audit log shows the console's own actions, and exports them as the API does
        browser.get(server.baseUrl() + "/console/#audit");
        await(By.id("audit-form"));
        new WebDriverWait(browser, Duration.ofSeconds(10)).until(driver -> !driver.findElements(
                By.cssSelector("#audit-rows tr")).isEmpty());
        List<String> actions = browser.findElements(By.cssSelector("#audit-rows td[data-label=Action]")).stream()
                .map(WebElement::getText).toList();
        assertThat(actions).contains("key.create", "key.revoke", "console.sign_in");
        browser.findElement(By.id("audit-action")).sendKeys("key.revoke");
        browser.findElement(By.cssSelector("#audit-form button[type=submit]")).click();
        // read in one script: the rows are replaced while the filter applies
        new WebDriverWait(browser, Duration.ofSeconds(10)).until(driver -> script("return [...document"
                + ".querySelectorAll('#audit-rows td[data-label=Action]')].map(c => c.textContent).join('|')")
                .equals("key.revoke"));
        String auditUrl = browser.findElement(By.id("audit-csv")).getDomAttribute("href");
        String auditCsv = fetchInBrowser(auditUrl);
        assertThat(auditCsv).isEqualTo(admin.withKey(owner.secret()).get(auditUrl).text()).contains(createdId)
                .doesNotContain(foreign.id()).doesNotContain(otherTenant);
        assertThat(auditCsv.lines().skip(1)).hasSize(1).allSatisfy(line -> assertThat(line).contains(",key.revoke,"));
        screenshot("audit");

        // nothing came from anywhere but the server
        @SuppressWarnings("unchecked")
        List<String> fetched = (List<String>) ((ChromeDriver) browser).executeScript(
                "return performance.getEntriesByType('resource').map(e => e.name)"
                        + ".concat([location.href])");
        assertThat(fetched).isNotEmpty().allSatisfy(url -> assertThat(url).startsWith(server.baseUrl() + "/"));

        browser.findElement(By.id("sign-out")).click();
        await(By.id("api-key"));
        assertThat(browser.manage().getCookieNamed(ConsoleSessions.COOKIE)).isNull();
        browser.navigate().refresh();
        await(By.id("api-key"));
    }

    /** What the signed-in browser gets at a path of the server (with its session, as a download would). */
    private static String fetchInBrowser(String path) {
        // as JSON, so that the text comes back byte for byte (the driver's own strings lose carriage returns)
        String json = String.valueOf(((ChromeDriver) browser).executeAsyncScript(
                "const done = arguments[arguments.length - 1];"
                        + "fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text())"
                        + ".then(t => done(JSON.stringify(t)), e => done(JSON.stringify('failed: ' + e)))", path));
        return dev.atrium.server.Json.MAPPER.readValue(json, String.class);
    }

    private static String script(String source) {
        return String.valueOf(((ChromeDriver) browser).executeScript(source));
    }
}
