package dev.atrium.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.RateLimitException;
import com.openai.models.embeddings.EmbeddingCreateParams;
import dev.atrium.testing.Http;
import dev.atrium.testing.TestServer;
import dev.atrium.testing.Tenants;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Requests and tokens per window and requests at once, per key and per tenant, with OpenAI's headers. */
class RateLimitTest {
    private static TestServer server;
    private static Http admin;
    private static Tenants tenants;
    private static String tenant;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        admin = server.http();
        tenants = new Tenants(admin);
        tenant = tenants.tenant("limited");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void rpm_admitsNRequestsInTheWindow_thenAnswers429WithRetryAfterAndHeaders() {
        Http http = admin.withKey(tenants.key(tenant, "member", Map.of("rpm", 5)).secret());
        long previous = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            Http.Reply reply = http.get("/v1/models");
            assertThat(reply.status()).isEqualTo(200);
            assertThat(reply.header("x-ratelimit-limit-requests")).isEqualTo("5");
            long remaining = Long.parseLong(reply.header("x-ratelimit-remaining-requests"));
            assertThat(remaining).isEqualTo(4 - i).isLessThan(previous);
            previous = remaining;
            assertThat(reply.header("x-ratelimit-reset-requests")).matches("\\d+(\\.\\d+)?(ms|s)|\\d+m\\d+(\\.\\d+)?s");
            assertThat(reply.header("x-ratelimit-limit-tokens")).isEqualTo("10000000");
            assertThat(reply.header("x-ratelimit-remaining-tokens")).isNotNull();
            assertThat(reply.header("x-ratelimit-reset-tokens")).isNotNull();
        }
        Http.Reply refused = http.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2", "input", "one more"));
        assertThat(refused.status()).isEqualTo(429);
        int retryAfter = Integer.parseInt(refused.header("Retry-After"));
        assertThat(retryAfter).isBetween(1, 60);
        assertThat(refused.header("x-ratelimit-remaining-requests")).isEqualTo("0");
        assertThat(refused.header("x-ratelimit-limit-requests")).isEqualTo("5");
        assertThat(refused.json().path("error").path("code").asString()).isEqualTo("rate_limit_exceeded");
        assertThat(refused.json().path("error").path("type").asString()).isEqualTo("requests");
        assertThat(http.get("/v1/models").header("x-ratelimit-remaining-requests")).isEqualTo("0");
    }

    @Test
    void keyUpdate_keepsItsRateWindow_whatWasUsedStaysUsed() {
        Tenants.Key key = tenants.key(tenant, "member", Map.of("rpm", 3));
        Http http = admin.withKey(key.secret());
        for (int i = 0; i < 3; i++) {
            assertThat(http.get("/v1/models").status()).isEqualTo(200);
        }
        assertThat(http.get("/v1/models").status()).isEqualTo(429);
        Http.Reply raised = admin.patchJson("/admin/keys/" + key.id(), Map.of("rpm", 5));
        assertThat(raised.status()).as(raised.toString()).isEqualTo(200);
        // the window goes on: 3 of the 5 are spent, so 2 more, not a fresh 5
        assertThat(http.get("/v1/models").status()).isEqualTo(200);
        Http.Reply last = http.get("/v1/models");
        assertThat(last.status()).isEqualTo(200);
        assertThat(last.header("x-ratelimit-remaining-requests")).isEqualTo("0");
        assertThat(http.get("/v1/models").status()).isEqualTo(429);
        // and lowering it below what was used leaves nothing for this window
        assertThat(admin.patchJson("/admin/keys/" + key.id(), Map.of("rpm", 2)).status()).isEqualTo(200);
        assertThat(http.get("/v1/models").status()).isEqualTo(429);
    }

    @Test
    void headers_areOnErrorResponsesToo() {
        Http http = admin.withKey(tenants.key(tenant, "member").secret());
        Http.Reply notFound = http.postJson("/v1/embeddings", Map.of("model", "missing-model", "input", "x"));
        assertThat(notFound.status()).isEqualTo(404);
        assertThat(notFound.header("x-ratelimit-remaining-requests")).isNotNull();
        Http.Reply badRequest = http.postJson("/v1/embeddings", "{}");
        assertThat(badRequest.status()).isEqualTo(400);
        assertThat(badRequest.header("x-ratelimit-limit-tokens")).isNotNull();
    }

    @Test
    void burstFrom32Threads_admitsAtMostN() throws Exception {
        Http http = admin.withKey(tenants.key(tenant, "member", Map.of("rpm", 10)).secret());
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Integer>> statuses = new ArrayList<>();
        try (ExecutorService threads = Executors.newFixedThreadPool(32)) {
            for (int t = 0; t < 32; t++) {
                statuses.add(threads.submit(() -> {
                    start.await();
                    return http.get("/v1/models").status();
                }));
            }
            start.countDown();
            int ok = 0;
            for (Future<Integer> status : statuses) {
                int code = status.get();
                assertThat(code).isIn(200, 429);
                ok += code == 200 ? 1 : 0;
            }
            assertThat(ok).isEqualTo(10);
        }
    }

    @Test
    void tpm_countsInputTokens_andRefusesWhatCanNeverFitWith400() {
        Http http = admin.withKey(tenants.key(tenant, "member", Map.of("tpm", 20)).secret());
        for (int i = 0; i < 5; i++) {
            // [CLS] hello world [SEP]: 4 tokens
            Http.Reply reply = http.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2", "input", "hello world"));
            assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
            assertThat(reply.header("x-ratelimit-remaining-tokens")).isEqualTo(Integer.toString(16 - 4 * i));
        }
        Http.Reply refused = http.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2", "input", "hello world"));
        assertThat(refused.status()).isEqualTo(429);
        assertThat(refused.json().path("error").path("type").asString()).isEqualTo("tokens");
        assertThat(refused.header("Retry-After")).isNotNull();

        Http fresh = admin.withKey(tenants.key(tenant, "member", Map.of("tpm", 20)).secret());
        Http.Reply tooBig = fresh.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2", "input", "word ".repeat(25)));
        assertThat(tooBig.status()).isEqualTo(400);
        assertThat(tooBig.json().path("error").path("message").asString()).contains("27 tokens").contains("20 tokens");
        // refused for good, it took nothing from the window
        assertThat(fresh.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2", "input", "hello world"))
                .header("x-ratelimit-remaining-tokens")).isEqualTo("16");
    }

    @Test
    void tenantLimit_isSharedByItsKeys() {
        String shared = tenants.tenant("shared-limit", Map.of("rpm", 3));
        Http first = admin.withKey(tenants.key(shared, "member").secret());
        Http second = admin.withKey(tenants.key(shared, "member").secret());
        int ok = 0;
        for (int i = 0; i < 4; i++) {
            ok += first.get("/v1/models").status() == 200 ? 1 : 0;
            ok += second.get("/v1/models").status() == 200 ? 1 : 0;
        }
        assertThat(ok).isEqualTo(3);
        assertThat(second.get("/v1/models").header("x-ratelimit-limit-requests")).isEqualTo("3");
    }

    @Test
    void maxConcurrent_refusesTheSecondRequestAtOnce() throws Exception {
        Http http = admin.withKey(tenants.key(tenant, "member", Map.of("max_concurrent", 1)).secret());
        List<String> paragraphs = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            paragraphs.add(("Paragraph " + i + " keeps the one allowed request busy for a while. ").repeat(5));
        }
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<Http.Reply> slow = threads.submit(() -> http.postJson("/v1/embeddings",
                    Map.of("model", "all-minilm-l6-v2", "input", paragraphs)));
            Http.Reply second = null;
            // the slow request is admitted first (a shared store's admission is a round trip, not microseconds)
            Thread.sleep(200);
            for (int attempt = 0; attempt < 100 && !slow.isDone(); attempt++) {
                Thread.sleep(20);
                second = http.get("/v1/models");
                if (second.status() == 429) {
                    break;
                }
            }
            assertThat(second).as("slow: " + (slow.isDone() ? slow.get() : "running")).isNotNull();
            assertThat(second.status()).as("slow: " + (slow.isDone() ? slow.get() : "running")).isEqualTo(429);
            assertThat(second.status()).isEqualTo(429);
            assertThat(second.json().path("error").path("message").asString()).contains("at once");
            assertThat(slow.get().status()).isEqualTo(200);
            assertThat(http.get("/v1/models").status()).isEqualTo(200);
        }
    }

    @Test
    void openAiSdk_retriesAfterA429_andSucceeds() {
        // 2 requests per 10 s: a request comes back every 5 s, so the refused one is still refused when the
        // retrying client first tries, even on a slow machine (with 2 s windows a slow first call let it through)
        try (TestServer shortWindows = TestServer.start(Map.of("rate-limit-window", "10s"))) {
            String key = new Tenants(shortWindows.http()).key(null, "admin", Map.of("rpm", 2)).secret();
            EmbeddingCreateParams params = EmbeddingCreateParams.builder().model("all-minilm-l6-v2").input("retry me").build();
            OpenAIClient noRetries = OpenAIOkHttpClient.builder().baseUrl(shortWindows.baseUrl() + "/v1").apiKey(key)
                    .maxRetries(0).build();
            OpenAIClient retrying = OpenAIOkHttpClient.builder().baseUrl(shortWindows.baseUrl() + "/v1").apiKey(key)
                    .maxRetries(3).build();
            try {
                noRetries.embeddings().create(params);
                noRetries.embeddings().create(params);
                assertThatThrownBy(() -> noRetries.embeddings().create(params)).isInstanceOf(RateLimitException.class);
                long start = System.nanoTime();
                assertThat(retrying.embeddings().create(params).data()).hasSize(1);
                assertThat(System.nanoTime() - start).isGreaterThan(100_000_000L);
            } finally {
                noRetries.close();
                retrying.close();
            }
        }
    }
}
