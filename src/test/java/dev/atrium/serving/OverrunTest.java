package dev.atrium.serving;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.FakeUpstream;
import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The one way a charge can exceed its reservation: a price raised while the call runs. The excess is charged all
 * the same, counted in the metrics and audited, and the budget then refuses the next request.
 */
class OverrunTest {

    @Test
    void priceRaisedWhileACallRuns_excessIsCharged_counted_audited_andTheBudgetRefusesTheNext() throws Exception {
        try (TestServer server = TestServer.start(Map.of("preload", "none"));
                FakeUpstream upstream = new FakeUpstream()) {
            Http admin = server.http();
            assertThat(admin.postJson("/admin/upstreams", Map.of("host", "127.0.0.1:" + upstream.port())).status())
                    .isEqualTo(201);
            assertThat(admin.postJson("/admin/models", Map.of("name", "slow", "task", "chat", "engine", "remote"))
                    .status()).isEqualTo(201);
            Map<String, Object> version = new LinkedHashMap<>();
            version.put("base_url", upstream.baseUrl());
            version.put("upstream_model", "slow-up");
            version.put("timeout_ms", 10000);
            assertThat(admin.postJson("/admin/models/slow/versions", version).status()).isEqualTo(201);
            Tenants tenants = new Tenants(admin);
            String tenant = tenants.tenant("overrun");
            Http member = admin.withKey(tenants.key(tenant, "member").secret());
            assertThat(admin.postJson("/admin/prices", Map.of("model", "slow", "tenant", tenant, "per_request", "0.01",
                    "currency", "USD")).status()).isEqualTo(201);
            assertThat(admin.postJson("/admin/budgets", Map.of("tenant", tenant, "monthly_limit", "0.5",
                    "currency", "USD")).status()).isEqualTo(200);

            CountDownLatch answering = new CountDownLatch(1);
            CountDownLatch raised = new CountDownLatch(1);
            upstream.then(exchange -> {
                answering.countDown();
                raised.await(10, TimeUnit.SECONDS);
                exchange.json(200, "{\"id\":\"up\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"up\","
                        + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},"
                        + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,"
                        + "\"total_tokens\":4}}");
            });
            Map<String, Object> body = Map.of("model", "slow", "messages", List.of(Map.of("role", "user",
                    "content", "Hello")), "max_tokens", 4);
            try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
                Future<Http.Reply> call = threads.submit(() -> member.postJson("/v1/chat/completions", body));
                assertThat(answering.await(10, TimeUnit.SECONDS)).isTrue();
                // reserved at 0.01; by the time it is priced, a request costs 1.00
                Http.Reply price = admin.postJson("/admin/prices", Map.of("model", "slow", "tenant", tenant,
                        "per_request", "1.00", "currency", "USD"));
                assertThat(price.status()).as(price.toString()).isEqualTo(201);
                raised.countDown();
                assertThat(call.get().status()).isEqualTo(200);
            }
            JsonNode record = admin.get("/admin/usage/records?tenant=" + tenant).json().path("data").get(0);
            assertThat(new BigDecimal(record.path("charge").asString())).isEqualByComparingTo("1.00");
            assertThat(admin.get("/metrics").text()).contains("atrium_budget_overruns_total{model=\"slow\"} 1.0");
            JsonNode audit = admin.get("/admin/audit?action=budget.overrun").json().path("data");
            assertThat(audit.size()).isEqualTo(1);
            assertThat(audit.get(0).path("target").asString()).contains("0.99 USD more than it reserved");
            JsonNode standing = admin.get("/admin/budgets?tenant=" + tenant).json().path("budgets").get(0);
            assertThat(new BigDecimal(standing.path("spent").asString())).isEqualByComparingTo("1.00");
            assertThat(new BigDecimal(standing.path("reserved").asString())).isEqualByComparingTo("0");
            // past its budget now: the next request is refused, whatever it would cost
            Http.Reply next = member.postJson("/v1/chat/completions", body);
            assertThat(next.status()).isEqualTo(429);
            assertThat(next.json().path("error").path("code").asString()).isEqualTo("insufficient_quota");
        }
    }
}
