package dev.atrium.metering;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.TestServer;
import dev.atrium.testing.Tenants;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Budgets hold under concurrency: reservations make it impossible to spend past them. */
class BudgetTest {
    private static final String MODEL = "all-minilm-l6-v2";

    @Test
    void burstOf200From64Threads_againstABudgetFor50_chargesAtMostTheBudget() throws Exception {
        try (TestServer server = TestServer.start()) {
            Http admin = server.http();
            Tenants tenants = new Tenants(admin);
            String tenant = tenants.tenant("budgeted");
            Http member = admin.withKey(tenants.key(tenant, "member").secret());
            assertThat(admin.postJson("/admin/prices", Map.of("model", MODEL, "tenant", tenant, "per_request", "1.00",
                    "currency", "USD")).status()).isEqualTo(201);
            Http.Reply budget = admin.postJson("/admin/budgets", Map.of("tenant", tenant, "monthly_limit", "50",
                    "currency", "USD", "alert_at", List.of("0.8")));
            assertThat(budget.status()).as(budget.toString()).isEqualTo(200);

            CountDownLatch start = new CountDownLatch(1);
            List<Future<Http.Reply>> replies = new ArrayList<>();
            try (ExecutorService threads = Executors.newFixedThreadPool(64)) {
                for (int i = 0; i < 200; i++) {
                    int n = i;
                    replies.add(threads.submit(() -> {
                        start.await();
                        return member.postJson("/v1/embeddings", Map.of("model", MODEL, "input", "burst " + n));
                    }));
                }
                start.countDown();
                int ok = 0;
                int alerts = 0;
                for (Future<Http.Reply> future : replies) {
                    Http.Reply reply = future.get();
                    if (reply.status() == 200) {
                        ok++;
                        alerts += reply.header("x-atrium-budget-alert") != null ? 1 : 0;
                    } else {
                        assertThat(reply.status()).as(reply.toString()).isEqualTo(429);
                        assertThat(reply.json().path("error").path("code").asString()).isEqualTo("insufficient_quota");
                        assertThat(reply.header("Retry-After")).isNull();
                    }
                }
                assertThat(ok).isEqualTo(50);
                assertThat(alerts).isEqualTo(1);
            }
            BigDecimal charged = BigDecimal.ZERO;
            Long before = null;
            do {
                JsonNode page = admin.get("/admin/usage/records?tenant=" + tenant + "&limit=1000"
                        + (before == null ? "" : "&before=" + before)).json();
                for (JsonNode record : page.path("data")) {
                    charged = charged.add(new BigDecimal(record.path("charge").asString()));
                }
                before = page.path("next").isNull() ? null : page.path("next").asLong();
            } while (before != null);
            assertThat(charged).isEqualByComparingTo("50");
            JsonNode standing = admin.get("/admin/budgets?tenant=" + tenant).json().path("budgets").get(0);
            assertThat(new BigDecimal(standing.path("spent").asString())).isEqualByComparingTo("50");
            assertThat(new BigDecimal(standing.path("reserved").asString())).isEqualByComparingTo("0");
            assertThat(admin.get("/admin/audit?action=budget.alert").json().path("data").size()).isEqualTo(1);

            // after a restart the spending is read back from the ledger: still no room
            server.restart();
            Http again = server.http().withKey(member.request("/").build().headers().firstValue("Authorization")
                    .orElseThrow().substring("Bearer ".length()));
            Http.Reply refused = again.postJson("/v1/embeddings", Map.of("model", MODEL, "input", "after restart"));
            assertThat(refused.status()).isEqualTo(429);
            assertThat(refused.json().path("error").path("code").asString()).isEqualTo("insufficient_quota");
        }
    }

    @Test
    void keyBudget_isSetByTheOwner_andStopsOnlyThatKey() {
        try (TestServer server = TestServer.start()) {
            Http admin = server.http();
            Tenants tenants = new Tenants(admin);
            String tenant = tenants.tenant("key-budgets");
            Http owner = admin.withKey(tenants.key(tenant, "owner").secret());
            Tenants.Key limited = tenants.key(tenant, "member");
            Tenants.Key free = tenants.key(tenant, "member");
            admin.postJson("/admin/prices", Map.of("model", MODEL, "tenant", tenant, "per_request", "0.5", "currency", "EUR"));
            Http.Reply set = owner.postJson("/admin/budgets", Map.of("key", limited.id(), "monthly_limit", "1",
                    "currency", "EUR"));
            assertThat(set.status()).as(set.toString()).isEqualTo(200);
            Http limitedHttp = admin.withKey(limited.secret());
            assertThat(limitedHttp.postJson("/v1/embeddings", Map.of("model", MODEL, "input", "a")).status()).isEqualTo(200);
            assertThat(limitedHttp.postJson("/v1/embeddings", Map.of("model", MODEL, "input", "b")).status()).isEqualTo(200);
            assertThat(limitedHttp.postJson("/v1/embeddings", Map.of("model", MODEL, "input", "c")).status()).isEqualTo(429);
            assertThat(admin.withKey(free.secret()).postJson("/v1/embeddings", Map.of("model", MODEL, "input", "d"))
                    .status()).isEqualTo(200);
            // an owner cannot set its tenant's budget, only the admin can
            assertThat(owner.postJson("/admin/budgets", Map.of("tenant", tenant, "monthly_limit", "1000",
                    "currency", "EUR")).status()).isEqualTo(403);
        }
    }
}
