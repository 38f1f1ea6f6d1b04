package dev.atrium.console;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.FakeUpstream;
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
import org.openqa.selenium.Keys;
import org.openqa.selenium.StaleElementReferenceException;
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

    /**
     * Photographs the page in view at desktop and phone width, after checking it with axe-core's WCAG 2.1 A and AA
     * rules and best practices (labels, names, contrast, landmarks, headings, ...): any violation fails the test.
     */
    private static void screenshot(String page) throws Exception {
        assertAccessible(page);
        for (Map.Entry<String, Dimension> size : Map.of("desktop", new Dimension(1280, 900),
                "phone", new Dimension(390, 844)).entrySet()) {
            resize(size.getValue());
            // nothing wider than the screen: no sideways scrolling at phone width
            assertThat(script("return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect()"
                    + ".right > document.documentElement.clientWidth + 1).map(e => e.tagName + '#' + e.id + '.'"
                    + " + e.className).slice(0, 5).join(' ')")).as(page + " at " + size.getKey() + " width").isEmpty();
            byte[] png = fullPage();
            Files.write(SCREENSHOTS.resolve(page + "-" + size.getKey() + ".png"), png);
        }
        resize(new Dimension(1280, 900));
    }

    /**
     * Lays the page out at a width (the device metrics Chrome emulates: a headless window is never narrower than
     * 500 px) and waits until it has (a click waits for it too).
     */
    private static void resize(Dimension size) {
        ((ChromeDriver) browser).executeCdpCommand("Emulation.setDeviceMetricsOverride", Map.of("width",
                size.getWidth(), "height", size.getHeight(), "deviceScaleFactor", 1, "mobile", false));
        new WebDriverWait(browser, Duration.ofSeconds(10)).withMessage(() -> "the page is " + script(
                "return window.innerWidth") + " wide, not " + size.getWidth()).until(driver -> script(
                        "return window.innerWidth").equals(String.valueOf(size.getWidth())));
        // two frames: the layout at the new width is done and painted
        ((ChromeDriver) browser).executeAsyncScript("const done = arguments[arguments.length - 1];"
                + " requestAnimationFrame(() => requestAnimationFrame(() => done(null)))");
    }

    @Test
    void anOwner_signsIn_createsAKeySeenOnce_usesIt_revokesIt_andSeesOnlyItsTenant() throws Exception {
        String tenant = tenants.tenant("console-owner");
        Tenants.Key owner = tenants.key(tenant, "owner");
        String otherTenant = tenants.tenant("console-other");
        Tenants.Key foreign = tenants.key(otherTenant, "member");

        signOutInBrowser();
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
        await(By.id("overview"));
        // the checker finds what it should: an input without a label, a low-contrast text
        // (styled through the CSSOM: the page's CSP refuses inline style attributes)
        script("const probe = document.createElement('div'); probe.id = 'axe-probe';"
                + " const faint = document.createElement('p'); faint.textContent = 'faint'; faint.style.color = '#ccc';"
                + " probe.append(document.createElement('input'), faint);"
                + " document.getElementById('main').append(probe)");
        assertThat(violations()).anySatisfy(v -> assertThat(v).startsWith("label:").contains("#axe-probe"))
                .anySatisfy(v -> assertThat(v).startsWith("color-contrast:").contains("#axe-probe"));
        script("document.getElementById('axe-probe').remove()");
        assertThat(browser.findElement(By.cssSelector("nav a[href='#tenants']")).isDisplayed())
                .as("tenants and prices are the platform admin's").isFalse();
        browser.get(server.baseUrl() + "/console/#tenants");
        await(By.id("overview"));
        assertThat(browser.findElement(By.id("tenants")).isDisplayed()).isFalse();
        browser.get(server.baseUrl() + "/console/#keys");
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
        browser.findElement(By.id("key-rpm")).sendKeys("600");
        browser.findElement(By.id("key-budget")).sendKeys("5.50");
        script("document.getElementById('key-expires').value = '2099-01-31T12:00'");
        browser.findElement(By.cssSelector("#create-key button[type=submit]")).click();
        String secret = await(By.id("new-secret-value")).getText();
        assertThat(secret).startsWith("atr-");
        screenshot("keys");
        assertThat(admin.withKey(secret).get("/v1/models").status()).isEqualTo(200);
        browser.findElement(By.id("new-secret-done")).click();
        new WebDriverWait(browser, Duration.ofSeconds(10)).until(ExpectedConditions.invisibilityOfElementLocated(
                By.id("new-secret")));
        assertThat(browser.getPageSource()).doesNotContain(secret);

        // its limits, budget and expiry, as the API has them and the list shows them
        tools.jackson.databind.JsonNode created = admin.get("/admin/keys?tenant=" + tenant).json().path("keys")
                .valueStream().filter(key -> key.path("name").asString().equals("made in the console"))
                .findFirst().orElseThrow();
        String createdId = created.path("id").asString();
        assertThat(created.path("limits").path("rpm").asInt()).isEqualTo(600);
        assertThat(java.time.Instant.parse(created.path("expires_at").asString()))
                .isEqualTo(java.time.Instant.parse("2099-01-31T12:00:00Z"));
        tools.jackson.databind.JsonNode budget = admin.get("/admin/budgets?tenant=" + tenant).json().path("budgets")
                .valueStream().filter(b -> createdId.equals(b.path("key").asString(null))).findFirst().orElseThrow();
        assertThat(budget.path("monthly_limit").asString()).isEqualTo("5.50");
        WebElement createdRow = await(By.cssSelector("#key-rows tr[data-key-id='" + createdId + "']"));
        assertThat(createdRow.findElement(By.cssSelector("td[data-label=Limits]")).getText()).isEqualTo("rpm 600");
        assertThat(createdRow.findElement(By.cssSelector("td[data-label='Budget this month']")).getText())
                .isEqualTo("0 of 5.50 USD");
        assertThat(createdRow.findElement(By.cssSelector("td[data-label='Expires (UTC)']")).getText())
                .isEqualTo("2099-01-31 12:00:00");

        // requests with it, seen in the usage chart as /v1/usage counts them, and on the invoice
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

        // the overview counts today's requests as /v1/usage does (the tenant's own; no public model's monitoring)
        browser.get(server.baseUrl() + "/console/#overview");
        String midnight = java.time.LocalDate.now(java.time.ZoneOffset.UTC).atStartOfDay()
                .toInstant(java.time.ZoneOffset.UTC).toString();
        tools.jackson.databind.JsonNode todays = admin.withKey(owner.secret()).get("/v1/usage?bucket=day&from="
                + midnight).json();
        long today = todays.path("data").valueStream().mapToLong(row -> row.path("requests").asLong()).sum();
        assertThat(today).isEqualTo(5);
        new WebDriverWait(browser, Duration.ofSeconds(10)).until(ExpectedConditions.textToBe(
                By.cssSelector("#overview-today dd[data-figure=Requests]"), "5"));
        assertThat(text(By.cssSelector("#overview-today dd[data-figure=Spend]")))
                .isEqualTo(todays.path("total_cost").path("USD").asString() + " USD");
        assertThat(new java.math.BigDecimal(todays.path("total_cost").path("USD").asString()))
                .isEqualByComparingTo("1.25");
        assertThat(text(By.cssSelector("#overview-models tr[data-model=all-minilm-l6-v2] td[data-label=Requests]")))
                .isEqualTo("5");
        assertThat(browser.findElements(By.cssSelector("#overview-loaded tr"))).as("no model of its own is loaded")
                .isEmpty();
        screenshot("overview-owner");

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
        browser.get(server.baseUrl() + "/console/#jobs");
        await(By.id("jobs-title"));
        Http.Reply job = member.postJson("/v1/fine_tuning/jobs", Map.of("model", "gradient-boosted-trees",
                "training_file", file, "suffix", "console", "method", Map.of("type", "tabular-regression"),
                "hyperparameters", Map.of("target", "y", "n_rounds", 30, "learning_rate", 0.3)));
        assertThat(job.status()).as(job.toString()).isEqualTo(200);
        String jobId = job.json().path("id").asString();
        // the page was open before the job existed: its row and progress come by themselves (live)
        WebElement open = await(By.cssSelector("#job-rows tr[data-job-id='" + jobId + "'] button"));
        open.click();
        new WebDriverWait(browser, Duration.ofSeconds(60)).until(ExpectedConditions.textToBePresentInElementLocated(
                By.cssSelector("#job-rows tr[data-job-id='" + jobId + "'] td[data-label=Status]"), "succeeded"));
        new WebDriverWait(browser, Duration.ofSeconds(10)).until(ExpectedConditions.textToBePresentInElementLocated(
                By.id("job-events"), "successfully completed"));
        assertThat(browser.findElement(By.id("job-detail-title")).getText()).endsWith("succeeded");
        assertThat(member.get("/v1/fine_tuning/jobs/" + jobId).json().path("status").asString())
                .isEqualTo("succeeded");
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

        // the tenant's reader: the pages its role can read, and nothing on them that changes things
        await(By.id("api-key")).sendKeys(tenants.key(tenant, "reader").secret() + Keys.ENTER);
        await(By.id("overview"));
        assertThat(browser.findElements(By.cssSelector("nav a")).stream().filter(WebElement::isDisplayed)
                .map(WebElement::getText).toList()).containsExactly("Overview", "Models", "Usage", "Training jobs");
        // (the tenant's requests today: the five above and the training job's record)
        long readerToday = admin.withKey(owner.secret()).get("/v1/usage?bucket=day&from=" + midnight).json()
                .path("data").valueStream().mapToLong(row -> row.path("requests").asLong()).sum();
        assertThat(readerToday).isGreaterThan(today);
        new WebDriverWait(browser, Duration.ofSeconds(10)).until(ExpectedConditions.textToBe(
                By.cssSelector("#overview-today dd[data-figure=Requests]"), String.valueOf(readerToday)));
        browser.get(server.baseUrl() + "/console/#keys");
        await(By.id("overview"));
        browser.get(server.baseUrl() + "/console/#models");
        await(By.cssSelector("#model-rows tr[data-model=all-minilm-l6-v2] button")).click();
        await(By.cssSelector("#version-rows tr[data-version='1']"));
        assertThat(browser.findElements(By.cssSelector("#version-rows button"))).isEmpty();
        assertThat(browser.findElements(By.cssSelector("#models .manage")).stream().filter(WebElement::isDisplayed)
                .toList()).isEmpty();
        assertAccessible("models-reader");
        browser.findElement(By.id("sign-out")).click();
        await(By.id("api-key"));
    }

    @Test
    void thePlatformAdmin_seesTheOverview_loadsAndSchedulesModels_splitsAndRollsOut_andSetsTenantsAndPrices()
            throws Exception {
        try (FakeUpstream upstream = new FakeUpstream()) {
            upstream.otherwise(exchange -> exchange.json(200, "{\"id\":\"up\",\"object\":\"chat.completion\","
                    + "\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                    + "\"content\":\"hi\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,"
                    + "\"completion_tokens\":1,\"total_tokens\":4}}"));
            assertThat(admin.postJson("/admin/upstreams", Map.of("host", "127.0.0.1:" + upstream.port())).status())
                    .isEqualTo(201);
            assertThat(admin.postJson("/admin/models", Map.of("name", "console-chat", "task", "chat", "engine",
                    "remote")).status()).isEqualTo(201);
            for (String upstreamModel : List.of("first", "second")) {
                assertThat(admin.postJson("/admin/models/console-chat/versions", Map.of("base_url",
                        upstream.baseUrl(), "upstream_model", upstreamModel)).status()).isEqualTo(201);
            }
            assertThat(admin.putJson("/admin/models/console-chat/aliases/production", Map.of("version", 1)).status())
                    .isEqualTo(200);
            Http member = admin.withKey(tenants.key(tenants.tenant("console-callers"), "member").secret());

            // signed in with the keyboard alone: the key, Enter
            signOutInBrowser();
            browser.get(server.baseUrl() + "/console/");
            await(By.id("api-key")).sendKeys(server.adminKey() + Keys.ENTER);
            await(By.id("overview"));
            // on a page just loaded, the first Tab reaches the skip link, which moves focus to the content
            browser.navigate().refresh();
            await(By.id("overview"));
            new org.openqa.selenium.interactions.Actions(browser).sendKeys(Keys.TAB).perform();
            assertThat(script("return document.activeElement.className")).isEqualTo("skip");
            new org.openqa.selenium.interactions.Actions(browser).sendKeys(Keys.ENTER).perform();
            assertThat(script("return document.activeElement.id")).isEqualTo("main");

            // models: load a version from the console; its memory is what /admin/loaded measured
            browser.get(server.baseUrl() + "/console/#models");
            await(By.cssSelector("#model-rows tr[data-model=all-minilm-l6-v2] button")).click();
            WebElement load = await(By.cssSelector("#version-rows tr[data-version='1'] button"));
            if (load.getText().equals("Unload")) {
                load.click();
                load = new WebDriverWait(browser, Duration.ofSeconds(10)).until(driver -> {
                    WebElement button = driver.findElement(By.cssSelector("#version-rows tr[data-version='1'] button"));
                    return button.getText().equals("Load") ? button : null;
                });
            }
            assertThat(loaded("all-minilm-l6-v2")).isNull();
            load.click();
            new WebDriverWait(browser, Duration.ofSeconds(30)).until(ExpectedConditions.textToBePresentInElementLocated(
                    By.cssSelector("#version-rows tr[data-version='1'] td[data-label=Loaded]"), "MiB"));
            long bytes = loaded("all-minilm-l6-v2").path("bytes").asLong();
            assertThat(browser.findElement(By.cssSelector("#version-rows tr[data-version='1'] td[data-label=Loaded]"))
                    .getText()).isEqualTo("yes, " + mib(bytes));

            // its scheduling, from the form to the registry
            browser.findElement(By.id("scheduling-batch")).clear();
            browser.findElement(By.id("scheduling-batch")).sendKeys("4");
            browser.findElement(By.id("scheduling-deadline")).sendKeys("9000");
            browser.findElement(By.cssSelector("#scheduling-form button[type=submit]")).click();
            new WebDriverWait(browser, Duration.ofSeconds(10)).until(ExpectedConditions.textToBePresentInElementLocated(
                    By.cssSelector("#version-rows tr[data-version='1'] td[data-label=Scheduling]"),
                    "max_batch_size 4"));
            tools.jackson.databind.JsonNode scheduling = admin.get("/admin/models/all-minilm-l6-v2/versions/1").json()
                    .path("scheduling");
            assertThat(scheduling.path("max_batch_size").asInt()).isEqualTo(4);
            assertThat(scheduling.path("deadline_ms").asInt()).isEqualTo(9000);

            // the overview: today's requests as /admin/usage counts them, the loaded version and its memory
            for (int i = 0; i < 3; i++) {
                assertThat(admin.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2", "input",
                        "overview " + i)).status()).isEqualTo(200);
            }
            browser.get(server.baseUrl() + "/console/#overview");
            String midnight = java.time.LocalDate.now(java.time.ZoneOffset.UTC).atStartOfDay()
                    .toInstant(java.time.ZoneOffset.UTC).toString();
            long today = admin.get("/admin/usage?bucket=day&from=" + midnight).json().path("data").valueStream()
                    .mapToLong(row -> row.path("requests").asLong()).sum();
            new WebDriverWait(browser, Duration.ofSeconds(15)).until(ExpectedConditions.textToBe(
                    By.cssSelector("#overview-today dd[data-figure=Requests]"), String.valueOf(today)));
            // memory as last measured (a version's footprint is measured again as it serves); the rows are redrawn
            // every 5 s, so each look finds them again
            new WebDriverWait(browser, Duration.ofSeconds(15)).ignoring(StaleElementReferenceException.class)
                    .until(driver -> resident(driver, "Memory").equals(mib(loaded("all-minilm-l6-v2").path("bytes")
                            .asLong())) && !resident(driver, "p99").equals("—"));
            screenshot("overview");

            // a traffic split, written in the console as "1=70,2=30"
            browser.get(server.baseUrl() + "/console/#models");
            await(By.cssSelector("#model-rows tr[data-model=console-chat] button")).click();
            await(By.cssSelector("#alias-rows tr[data-alias=production]"));
            browser.findElement(By.id("alias-name")).sendKeys("split");
            browser.findElement(By.id("alias-split")).sendKeys("1=70,2=30");
            browser.findElement(By.cssSelector("#alias-form button[type=submit]")).click();
            new WebDriverWait(browser, Duration.ofSeconds(10)).until(ExpectedConditions.textToBePresentInElementLocated(
                    By.cssSelector("#alias-rows tr[data-alias=split] td[data-label='Versions (weight)']"),
                    "1 (70 %), 2 (30 %)"));
            tools.jackson.databind.JsonNode split = admin.get("/admin/models/console-chat").json().path("splits")
                    .path("split").path("split");
            assertThat(split.path("1").asInt()).isEqualTo(70);
            assertThat(split.path("2").asInt()).isEqualTo(30);

            // a canary of version 2 on production, started in the console; its comparison is live
            new org.openqa.selenium.support.ui.Select(browser.findElement(By.id("rollout-alias")))
                    .selectByValue("production");
            new org.openqa.selenium.support.ui.Select(browser.findElement(By.id("rollout-version"))).selectByValue("2");
            WebElement steps = browser.findElement(By.id("rollout-steps"));
            steps.clear();
            steps.sendKeys("50,100");
            WebElement interval = browser.findElement(By.id("rollout-interval"));
            interval.clear();
            interval.sendKeys("1h");
            browser.findElement(By.cssSelector("#rollout-form button[type=submit]")).click();
            await(By.cssSelector("#rollouts [data-rollout=production] [data-rollout-state=running]"));
            Map<String, Object> chat = Map.of("model", "console-chat:production", "messages", List.of(Map.of("role",
                    "user", "content", "hello")), "max_tokens", 4);
            for (int i = 0; i < 24; i++) {
                assertThat(member.postJson("/v1/chat/completions", chat).status()).isEqualTo(200);
            }
            tools.jackson.databind.JsonNode comparison = admin.get("/admin/models/console-chat/aliases/production"
                    + "/rollout").json().path("comparison");
            for (String side : List.of("baseline", "canary")) {
                String calls = comparison.path(side).path("calls").asString();
                new WebDriverWait(browser, Duration.ofSeconds(15)).until(ExpectedConditions.textToBe(By.cssSelector(
                        "#rollouts [data-rollout=production] tr[data-side=" + side + "] td[data-label=Calls]"), calls));
            }
            assertThat(comparison.path("baseline").path("calls").asLong() + comparison.path("canary").path("calls")
                    .asLong()).isEqualTo(24);
            screenshot("models");
            // focus and the buttons stay put through the live refreshes: only the comparison is redrawn
            WebElement promote = browser.findElement(By.cssSelector(
                    "#rollouts [data-rollout=production] button[aria-label^=Promote]"));
            script("document.querySelector('#rollouts [data-rollout=production] button[aria-label^=Promote]').focus()");
            Thread.sleep(3500);
            assertThat(script("return document.activeElement.textContent")).isEqualTo("Promote");
            promote.click();
            await(By.cssSelector("#rollouts [data-rollout=production] [data-rollout-state=promoted]"));
            assertThat(browser.findElement(By.id("model-error")).getText()).isEmpty();
            assertThat(admin.get("/admin/models/console-chat").json().path("aliases").path("production").asInt())
                    .isEqualTo(2);
            assertThat(browser.findElement(By.cssSelector("#alias-rows tr[data-alias=production]"
                    + " td[data-label='Versions (weight)']")).getText()).isEqualTo("2");

            // unload from the console: gone from memory
            browser.findElement(By.cssSelector("#model-rows tr[data-model=all-minilm-l6-v2] button")).click();
            new WebDriverWait(browser, Duration.ofSeconds(10)).until(ExpectedConditions.textToBePresentInElementLocated(
                    By.id("model-detail-title"), "all-minilm-l6-v2"));
            WebElement unload = new WebDriverWait(browser, Duration.ofSeconds(10))
                    .ignoring(StaleElementReferenceException.class).until(driver -> {
                WebElement button = driver.findElement(By.cssSelector("#version-rows tr[data-version='1'] button"));
                return button.getText().equals("Unload") ? button : null;
            });
            unload.click();
            new WebDriverWait(browser, Duration.ofSeconds(10)).until(ExpectedConditions.textToBe(By.cssSelector(
                    "#version-rows tr[data-version='1'] td[data-label=Loaded]"), "no"));
            assertThat(loaded("all-minilm-l6-v2")).isNull();
        }

        // tenants and prices: made in the console, as the API then lists them (amounts exact)
        browser.get(server.baseUrl() + "/console/#tenants");
        await(By.id("tenant-name")).sendKeys("Made in the console");
        browser.findElement(By.id("tenant-rpm")).sendKeys("120");
        browser.findElement(By.cssSelector("#tenant-form button[type=submit]")).click();
        String tenantId = new WebDriverWait(browser, Duration.ofSeconds(10)).until(driver -> admin.get("/admin/tenants")
                .json().path("tenants").valueStream().filter(t -> t.path("name").asString()
                        .equals("Made in the console")).map(t -> t.path("id").asString()).findFirst().orElse(null));
        WebElement tenantRow = await(By.cssSelector("#tenant-rows tr[data-tenant-id='" + tenantId + "']"));
        assertThat(tenantRow.findElement(By.cssSelector("td[data-label=Limits]")).getText()).isEqualTo("rpm 120");
        browser.findElement(By.id("price-model")).sendKeys("console-chat");
        browser.findElement(By.id("price-tenant")).sendKeys(tenantId);
        WebElement perRequest = browser.findElement(By.id("price-request"));
        perRequest.clear();
        perRequest.sendKeys("0.0000125");
        browser.findElement(By.cssSelector("#price-form button[type=submit]")).click();
        tools.jackson.databind.JsonNode price = new WebDriverWait(browser, Duration.ofSeconds(10)).until(driver ->
                admin.get("/admin/prices").json().path("prices").valueStream()
                        .filter(p -> tenantId.equals(p.path("tenant").asString(null))).findFirst().orElse(null));
        assertThat(price.path("per_request").asString()).isEqualTo("0.0000125");
        assertThat(price.path("currency").asString()).isEqualTo("USD");
        WebElement priceRow = await(By.cssSelector("#price-rows tr[data-price-id='" + price.path("id").asLong()
                + "']"));
        assertThat(priceRow.findElement(By.cssSelector("td[data-label='Per request']")).getText())
                .isEqualTo("0.0000125");
        screenshot("tenants");
        @SuppressWarnings("unchecked")
        List<String> fetched = (List<String>) ((ChromeDriver) browser).executeScript(
                "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href])");
        assertThat(fetched).isNotEmpty().allSatisfy(url -> assertThat(url).startsWith(server.baseUrl() + "/"));
        signOutInBrowser();
    }

    /** The text of an element of a page that redraws itself: found again if it was replaced meanwhile. */
    private static String text(By by) {
        return new WebDriverWait(browser, Duration.ofSeconds(10)).ignoring(StaleElementReferenceException.class)
                .until(driver -> driver.findElement(by).getText());
    }

    /** A cell of the bundled model's row among the overview's loaded versions. */
    private static String resident(WebDriver driver, String column) {
        return driver.findElement(By.cssSelector("#overview-loaded tr[data-version='all-minilm-l6-v2:1']"
                + " td[data-label=" + column + "]")).getText();
    }

    /** The loaded entry of a model's version 1, as /admin/loaded lists it; null when it is not loaded. */
    private static tools.jackson.databind.JsonNode loaded(String model) {
        return admin.get("/admin/loaded").json().path("data").valueStream()
                .filter(v -> v.path("model").asString().equals(model) && v.path("version").asInt() == 1)
                .findFirst().orElse(null);
    }

    /** Bytes as the console shows them. */
    private static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    private static void signOutInBrowser() {
        browser.get(server.baseUrl() + "/console/");
        browser.manage().deleteAllCookies();
    }

    /** The whole page, not only what the window shows, at the window's width. */
    private static byte[] fullPage() {
        ChromeDriver chrome = (ChromeDriver) browser;
        chrome.executeScript("window.scrollTo(0, 0)");
        Number height = (Number) chrome.executeScript("return Math.min(6000, document.documentElement.scrollHeight)");
        Number width = (Number) chrome.executeScript("return document.documentElement.clientWidth");
        Map<String, Object> shot = chrome.executeCdpCommand("Page.captureScreenshot", Map.of("format", "png",
                "captureBeyondViewport", true, "clip", Map.of("x", 0, "y", 0, "width", width, "height", height,
                        "scale", 1)));
        return java.util.Base64.getDecoder().decode((String) shot.get("data"));
    }

    private static String axe;

    private static void assertAccessible(String page) throws Exception {
        assertThat(violations()).as("accessibility violations on the " + page + " page").isEmpty();
    }

    /** axe-core's violations on the page in view, as "rule: help (the elements it found)" lines. */
    private static List<String> violations() throws Exception {
        if (axe == null) {
            try (java.io.InputStream in = ConsoleBrowserTest.class.getResourceAsStream("/axe.min.js")) {
                axe = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            }
        }
        // the script is run by the driver, as an extension would be: the page's own CSP still allows no inline script
        ((ChromeDriver) browser).executeScript(axe);
        String json = String.valueOf(((ChromeDriver) browser).executeAsyncScript("""
                const done = arguments[arguments.length - 1];
                axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                    'best-practice']}, resultTypes: ['violations']})
                  .then(r => done(JSON.stringify({rules: r.passes.length + r.incomplete.length + r.violations.length,
                    violations: r.violations.map(v => v.id + ': ' + v.help + ' (' + v.nodes.map(n => n.target.join(' '))
                      .join(', ') + ')')})), e => done(JSON.stringify({error: String(e)})));
                """));
        tools.jackson.databind.JsonNode result = dev.atrium.server.Json.MAPPER.readTree(json);
        assertThat(result.path("error").isMissingNode()).as(json).isTrue();
        return result.path("violations").valueStream().map(tools.jackson.databind.JsonNode::asString).toList();
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
