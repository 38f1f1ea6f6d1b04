package dev.atrium.metering;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.TestServer;
import dev.atrium.testing.Tenants;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Every served request leaves one priced record; invoices and usage are exact sums of those records. */
class MeteringEndToEndTest {
    private static final String MODEL = "all-minilm-l6-v2";
    private static TestServer server;
    private static Http admin;
    private static Tenants tenants;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        admin = server.http();
        tenants = new Tenants(admin);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void priceChangeMidMonth_recordsKeepTheirOwnPrices_andTheInvoiceIsTheirExactSum() {
        String tenant = tenants.tenant("priced");
        Http member = admin.withKey(tenants.key(tenant, "member").secret());
        setPrice(Map.of("model", MODEL, "tenant", tenant, "input_per_1m", "0.02", "per_request", "0.0001",
                "currency", "USD", "effective_from", Instant.now().minusSeconds(3600).toString()));

        List<String> before = embed(member, 5, "before");
        setPrice(Map.of("model", MODEL, "tenant", tenant, "input_per_1m", "0.05", "per_request", "0.0003",
                "currency", "USD"));
        List<String> after = embed(member, 4, "after");

        BigDecimal total = BigDecimal.ZERO;
        for (String id : before) {
            JsonNode record = record(id);
            long tokens = record.path("input_tokens").asLong();
            assertThat(new BigDecimal(record.path("charge").asString())).isEqualByComparingTo(
                    new BigDecimal("0.02").multiply(BigDecimal.valueOf(tokens)).movePointLeft(6).add(new BigDecimal("0.0001")));
            total = total.add(new BigDecimal(record.path("charge").asString()));
        }
        for (String id : after) {
            JsonNode record = record(id);
            long tokens = record.path("input_tokens").asLong();
            assertThat(new BigDecimal(record.path("charge").asString())).isEqualByComparingTo(
                    new BigDecimal("0.05").multiply(BigDecimal.valueOf(tokens)).movePointLeft(6).add(new BigDecimal("0.0003")));
            total = total.add(new BigDecimal(record.path("charge").asString()));
        }

        String month = YearMonth.now(ZoneOffset.UTC).toString();
        JsonNode invoice = admin.get("/admin/invoices?tenant=" + tenant + "&month=" + month).json();
        assertThat(new BigDecimal(invoice.path("subtotals").path("USD").asString())).isEqualByComparingTo(total);
        List<String> inputLines = new ArrayList<>();
        BigDecimal lineSum = BigDecimal.ZERO;
        for (JsonNode line : invoice.path("lines")) {
            lineSum = lineSum.add(new BigDecimal(line.path("amount").asString()));
            if (line.path("meter").asString().equals("input_tokens")) {
                inputLines.add(line.path("unit_price").asString());
            }
            if (line.path("meter").asString().equals("requests")) {
                assertThat(line.path("quantity").asString()).isIn("5", "4");
            }
        }
        assertThat(lineSum).isEqualByComparingTo(total);
        assertThat(inputLines).containsExactlyInAnyOrder("0.02", "0.05");

        String csv = admin.get("/admin/invoices?tenant=" + tenant + "&month=" + month + "&format=csv").text();
        assertThat(csv).startsWith("model,meter,quantity,unit,unit_price,currency,amount\n");
        assertThat(csv.lines().filter(line -> line.startsWith("subtotal,")).findFirst().orElseThrow())
                .isEqualTo("subtotal,,,,,USD," + total.toPlainString());

        // the tenant's reader sees the same through /v1/usage; the member may not
        Http reader = admin.withKey(tenants.key(tenant, "reader").secret());
        JsonNode usage = reader.get("/v1/usage?bucket=day&group_by=model").json();
        assertThat(usage.path("data").size()).isEqualTo(1);
        assertThat(usage.path("data").get(0).path("requests").asLong()).isEqualTo(9);
        assertThat(new BigDecimal(usage.path("total_cost").path("USD").asString())).isEqualByComparingTo(total);
        assertThat(member.get("/v1/usage").status()).isEqualTo(403);
    }

    @Test
    void everyServedRequest_hasExactlyOneRecord_withItsTokensAndComputeTime() {
        String tenant = tenants.tenant("recorded");
        Http member = admin.withKey(tenants.key(tenant, "member").secret());
        List<String> ids = embed(member, 3, "rec");
        for (String id : ids) {
            JsonNode page = admin.get("/admin/usage/records?request_id=" + id).json();
            assertThat(page.path("data").size()).isEqualTo(1);
            JsonNode record = page.path("data").get(0);
            assertThat(record.path("tenant").asString()).isEqualTo(tenant);
            assertThat(record.path("model").asString()).isEqualTo(MODEL);
            assertThat(record.path("version").asInt()).isEqualTo(1);
            assertThat(record.path("endpoint").asString()).isEqualTo("/v1/embeddings");
            assertThat(record.path("outcome").asString()).isEqualTo("ok");
            assertThat(record.path("requests").asLong()).isEqualTo(1);
            assertThat(record.path("input_tokens").asLong()).isPositive();
            assertThat(record.path("compute_ms").asLong()).isNotNegative();
            assertThat(record.path("request_id").asString()).startsWith("req_").isNotEqualTo(id);
            // no price for this tenant's use: free, in ISO 4217's "no currency"
            assertThat(record.path("currency").asString()).isEqualTo("XXX");
        }
        // refused requests never reached an engine: no record
        Http.Reply bad = member.send(member.request("/v1/embeddings").header("X-Request-Id", "refused-1")
                .header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\": \"" + MODEL + "\", \"input\": \"\"}"))
                .build());
        assertThat(bad.status()).isEqualTo(400);
        assertThat(admin.get("/admin/usage/records?request_id=refused-1").json().path("data").size()).isZero();
    }

    @Test
    void v2Infer_isRecordedToo() {
        String tenant = tenants.tenant("tensor-user");
        Http member = admin.withKey(tenants.key(tenant, "member").secret());
        Http.Reply reply = member.send(member.request("/v2/models/" + MODEL + "/infer").header("X-Request-Id", "v2-metered")
                .header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("""
                        {"inputs": [
                          {"name": "input_ids", "shape": [1, 3], "datatype": "INT64", "data": [101, 7592, 102]},
                          {"name": "attention_mask", "shape": [1, 3], "datatype": "INT64", "data": [1, 1, 1]},
                          {"name": "token_type_ids", "shape": [1, 3], "datatype": "INT64", "data": [0, 0, 0]}]}"""))
                .build());
        assertThat(reply.status()).isEqualTo(200);
        JsonNode record = admin.get("/admin/usage/records?request_id=v2-metered").json().path("data").get(0);
        assertThat(record.path("endpoint").asString()).isEqualTo("/v2/infer");
        assertThat(record.path("requests").asLong()).isEqualTo(1);
    }

    @Test
    void prices_refuseFloatsAndBadCurrencies() {
        assertThat(admin.postJson("/admin/prices", Map.of("model", MODEL, "input_per_1m", 0.02, "currency", "USD"))
                .status()).isEqualTo(400);
        assertThat(admin.postJson("/admin/prices", Map.of("model", MODEL, "input_per_1m", "0.02", "currency", "dollars"))
                .status()).isEqualTo(400);
        assertThat(admin.postJson("/admin/prices", Map.of("model", MODEL, "input_per_1m", "-1", "currency", "USD"))
                .status()).isEqualTo(400);
        Http member = admin.withKey(tenants.key(tenants.tenant("no-pricing"), "member").secret());
        assertThat(member.postJson("/admin/prices", Map.of("model", MODEL, "input_per_1m", "0", "currency", "USD"))
                .status()).isEqualTo(403);
    }

    private static void setPrice(Map<String, String> price) {
        Http.Reply reply = admin.postJson("/admin/prices", new LinkedHashMap<>(price));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(201);
    }

    private static List<String> embed(Http http, int count, String prefix) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String id = prefix + "-" + i + "-" + System.nanoTime();
            Http.Reply reply = http.send(http.request("/v1/embeddings").header("X-Request-Id", id)
                    .header("Content-Type", "application/json")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                            "{\"model\": \"" + MODEL + "\", \"input\": \"sentence number " + i + " for the ledger\"}"))
                    .build());
            assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
            assertThat(reply.header("x-request-id")).isEqualTo(id);
            ids.add(id);
        }
        return ids;
    }

    private static JsonNode record(String clientId) {
        JsonNode data = admin.get("/admin/usage/records?request_id=" + clientId).json().path("data");
        assertThat(data.size()).isEqualTo(1);
        return data.get(0);
    }
}
