package dev.atrium.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.TestServer;
import dev.atrium.testing.Tenants;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Every decimal the management API takes goes through one bounded check; budgets and prices keep one currency. */
class AdminMeteringServiceTest {
    private static final String MODEL = "all-minilm-l6-v2";
    /** Refused for every decimal field, and at once: none is ever expanded to its digits. */
    private static final List<String> OUT_OF_BOUNDS = List.of("1E+10000000", "1e2147483647", "1E-10000000",
            "1" + "0".repeat(100_000), "0." + "0".repeat(100_000) + "1", "1000000000000", "0.0000000000001", "-1",
            "NaN", "1e", "");

    private static TestServer server;
    private static Http admin;
    private static Tenants tenants;
    private static String tenant;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        admin = server.http();
        tenants = new Tenants(admin);
        tenant = tenants.tenant("bounded");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** A path and one decimal field of its body, with a body that is valid apart from that field. */
    private record DecimalField(String path, String param, Function<String, Map<String, Object>> body) {}

    private static List<DecimalField> decimalFields() {
        return List.of(
                price("input_per_1m"), price("output_per_1m"), price("per_request"), price("per_compute_second"),
                new DecimalField("/admin/budgets", "monthly_limit", text -> budget(text, List.of("0.8"))),
                new DecimalField("/admin/budgets", "alert_at", text -> budget("10", List.of("0.5", text))));
    }

    private static DecimalField price(String param) {
        return new DecimalField("/admin/prices", param, text -> {
            Map<String, Object> body = new LinkedHashMap<>(Map.of("model", MODEL, "tenant", tenant, "currency", "USD"));
            body.put(param, text);
            return body;
        });
    }

    private static Map<String, Object> budget(String limit, List<String> alerts) {
        return Map.of("tenant", tenant, "monthly_limit", limit, "currency", "USD", "alert_at", alerts);
    }

    @Test
    void everyDecimalField_outOfBounds_is400NamingTheParam() {
        Assertions.assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (DecimalField field : decimalFields()) {
                for (String text : OUT_OF_BOUNDS) {
                    String what = field.path() + " " + field.param() + " = "
                            + (text.length() > 40 ? text.length() + " characters" : "'" + text + "'");
                    Http.Reply reply = admin.postJson(field.path(), field.body().apply(text));
                    assertThat(reply.status()).as(what + ": " + reply).isEqualTo(400);
                    JsonNode error = reply.json().path("error");
                    assertThat(error.path("type").asString()).as(what).isEqualTo("invalid_request_error");
                    assertThat(error.path("param").asString()).as(what).isEqualTo(field.param());
                }
                Http.Reply valid = admin.postJson(field.path(), field.body().apply("0.000000000001"));
                assertThat(valid.status()).as(field.param() + ": " + valid).isIn(200, 201);
            }
        });
        // nothing out of bounds was stored: the budget reads back as last set
        JsonNode budget = admin.get("/admin/budgets?tenant=" + tenant).json().path("budgets").get(0);
        assertThat(budget.path("monthly_limit").asString()).isEqualTo("10");
        assertThat(budget.path("alert_at").get(1).asString()).isEqualTo("0.000000000001");
    }

    @Test
    void budget_moreAlertFractionsThanAllowed_is400() {
        Http.Reply reply = admin.postJson("/admin/budgets", budget("10", java.util.Collections.nCopies(11, "0.5")));

        assertThat(reply.status()).isEqualTo(400);
        assertThat(reply.json().path("error").path("param").asString()).isEqualTo("alert_at");
    }

    @Test
    void budgetAndPrice_inDifferentCurrencies_areRefusedWhicheverIsSetSecond() {
        String priced = tenants.tenant("priced-in-usd");
        assertThat(admin.postJson("/admin/prices", Map.of("model", MODEL, "tenant", priced, "per_request", "1",
                "currency", "USD")).status()).isEqualTo(201);
        Http.Reply budget = admin.postJson("/admin/budgets", Map.of("tenant", priced, "monthly_limit", "10",
                "currency", "EUR"));
        assertThat(budget.status()).as(budget.toString()).isEqualTo(400);
        assertThat(budget.json().path("error").path("param").asString()).isEqualTo("currency");
        assertThat(budget.json().path("error").path("message").asString()).contains("EUR").contains("USD");

        String budgeted = tenants.tenant("budgeted-in-eur");
        assertThat(admin.postJson("/admin/budgets", Map.of("tenant", budgeted, "monthly_limit", "10",
                "currency", "EUR")).status()).isEqualTo(200);
        Http.Reply price = admin.postJson("/admin/prices", Map.of("model", MODEL, "tenant", budgeted,
                "per_request", "1", "currency", "USD"));
        assertThat(price.status()).as(price.toString()).isEqualTo(400);
        assertThat(price.json().path("error").path("param").asString()).isEqualTo("currency");
        assertThat(admin.postJson("/admin/prices", Map.of("model", MODEL, "tenant", budgeted, "per_request", "1",
                "currency", "EUR")).status()).isEqualTo(201);
    }

    /**
     * A key made with a {@code budget} has it from its first request, or is not made: every refusal of the budget
     * (the checks of {@code POST /admin/budgets}) leaves no key and no budget behind.
     */
    @Test
    void keyWithABudget_isMadeWithIt_orNotAtAll() {
        String owned = tenants.tenant("key-budgets");
        assertThat(admin.postJson("/admin/prices", Map.of("model", MODEL, "tenant", owned, "per_request", "1",
                "currency", "USD")).status()).isEqualTo(201);
        Http.Reply made = admin.postJson("/admin/keys", Map.of("tenant", owned, "role", "member", "budget",
                Map.of("monthly_limit", "5.25", "currency", "USD", "alert_at", List.of("0.5", "0.9"))));
        assertThat(made.status()).as(made.toString()).isEqualTo(201);
        String id = made.json().path("id").asString();
        // the answer shows the budget the key was made with
        assertThat(made.json().path("budget").path("monthly_limit").asString()).isEqualTo("5.25");
        assertThat(made.json().path("budget").path("currency").asString()).isEqualTo("USD");
        assertThat(made.json().path("budget").path("alert_at").toString()).isEqualTo("[\"0.5\",\"0.9\"]");
        JsonNode budgets = admin.get("/admin/budgets?tenant=" + owned).json().path("budgets");
        assertThat(budgets).hasSize(1);
        assertThat(budgets.get(0).path("key").asString()).isEqualTo(id);
        assertThat(budgets.get(0).path("monthly_limit").asString()).isEqualTo("5.25");
        assertThat(budgets.get(0).path("currency").asString()).isEqualTo("USD");
        assertThat(budgets.get(0).path("alert_at").toString()).isEqualTo("[\"0.5\",\"0.9\"]");

        Map<String, Map<String, Object>> refused = new LinkedHashMap<>();
        refused.put("currency", Map.of("tenant", owned, "role", "member", "budget",
                Map.of("monthly_limit", "5", "currency", "EUR")));
        refused.put("monthly_limit", Map.of("tenant", owned, "role", "member", "budget",
                Map.of("monthly_limit", "1E+10000000", "currency", "USD")));
        refused.put("alert_at", Map.of("tenant", owned, "role", "member", "budget",
                Map.of("monthly_limit", "5", "currency", "USD", "alert_at", List.of("1.5"))));
        refused.put("colour", Map.of("tenant", owned, "role", "member", "budget",
                Map.of("monthly_limit", "5", "currency", "USD", "colour", "red")));
        refused.put("budget", Map.of("tenant", owned, "role", "member", "budget", "5"));
        for (Map.Entry<String, Map<String, Object>> bad : refused.entrySet()) {
            Http.Reply reply = admin.postJson("/admin/keys", bad.getValue());
            assertThat(reply.status()).as(bad.getKey() + ": " + reply).isEqualTo(400);
            assertThat(reply.json().path("error").path("param").asString()).as(reply.toString())
                    .isEqualTo(bad.getKey());
        }
        Http.Reply platform = admin.postJson("/admin/keys", Map.of("role", "admin", "name", "no budget",
                "budget", Map.of("monthly_limit", "5", "currency", "USD")));
        assertThat(platform.status()).as(platform.toString()).isEqualTo(400);
        assertThat(platform.json().path("error").path("param").asString()).isEqualTo("budget");

        // nothing was left of the refused ones: the tenant has the one key and its one budget
        assertThat(admin.get("/admin/keys?tenant=" + owned).json().path("keys")).hasSize(1);
        assertThat(admin.get("/admin/budgets?tenant=" + owned).json().path("budgets")).hasSize(1);
        for (JsonNode key : admin.get("/admin/keys").json().path("keys")) {
            assertThat(key.path("name").asString()).isNotEqualTo("no budget");
        }
    }
}
