package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.testing.Http;
import dev.atrium.testing.TestServer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Request ids on every response, and a shutdown that lets accepted requests finish. */
class LifecycleTest {
    @Test
    void requestId_isEchoedWhenWellFormed_andMadeOtherwise() {
        try (TestServer server = TestServer.start(Map.of("preload", "none"))) {
            Http http = server.http();
            Http.Reply echoed = http.send(http.request("/v2/health/live").header("X-Request-Id", "client-id-42").GET().build());
            assertThat(echoed.header("x-request-id")).isEqualTo("client-id-42");

            Http.Reply replaced = http.send(http.request("/v2/health/live").header("X-Request-Id", "bad id <script>").GET().build());
            assertThat(replaced.header("x-request-id")).startsWith("req_").doesNotContain("script");

            Http.Reply error = http.postJson("/v1/embeddings", "{}");
            assertThat(error.status()).isEqualTo(400);
            assertThat(error.header("x-request-id")).startsWith("req_");
            assertThat(http.get("/nowhere").header("x-request-id")).startsWith("req_");
            assertThat(http.get("/v2/health/live").header("x-request-id"))
                    .isNotEqualTo(http.get("/v2/health/live").header("x-request-id"));
        }
    }

    @Test
    void start_cudaWithoutTheGpuBuild_failsWithAClearMessage() {
        assertThatThrownBy(() -> TestServer.start(Map.of("execution-provider", "cuda")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cuda")
                .hasMessageContaining("onnxruntime_gpu");
    }

    @Test
    void close_drainsRequestsInFlight_andRefusesNewOnes() throws Exception {
        TestServer server = TestServer.start();
        Http http = server.http();
        List<String> paragraphs = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            paragraphs.add(("Paragraph " + i + " talks about serving models to many tenants with exact metering. ").repeat(5));
        }
        CompletableFuture<Http.Reply> slow = CompletableFuture.supplyAsync(() -> http.postJson("/v1/embeddings",
                Map.of("model", "all-minilm-l6-v2", "input", paragraphs)));
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (server.atrium().requestsInFlight() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(server.atrium().requestsInFlight()).isEqualTo(1);

        CompletableFuture<Void> closing = CompletableFuture.runAsync(server::close);
        while (http.get("/v2/health/ready").status() == 200 && !slow.isDone()) {
            Thread.sleep(5);
        }
        if (!slow.isDone()) {
            Http.Reply refused = http.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2", "input", "late"));
            assertThat(refused.status()).isEqualTo(503);
            assertThat(refused.header("Retry-After")).isEqualTo("1");
            assertThat(refused.json().path("error").path("code").asString()).isEqualTo("shutting_down");
        }
        Http.Reply finished = slow.get();
        assertThat(finished.status()).as(finished.toString()).isEqualTo(200);
        assertThat(finished.json().path("data").size()).isEqualTo(400);
        closing.get();
    }
}
