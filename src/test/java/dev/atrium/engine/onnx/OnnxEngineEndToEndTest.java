package dev.atrium.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.TestServer;
import dev.atrium.testing.Vectors;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The ONNX engine under concurrency, overload, unloading and truncation, through the real server. */
class OnnxEngineEndToEndTest {
    private static final String MODEL = "all-minilm-l6-v2";

    @Test
    void concurrentRequests_eachGetTheirOwnResultsInOrder() throws Exception {
        try (TestServer server = TestServer.start(); ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            Http http = server.http();
            Random random = new Random(7);
            List<String> vocabulary = List.of("model", "tenant", "serving", "vector", "ledger", "alias", "quantized",
                    "batch", "thread", "request", "paragraph", "sentence", "embedding", "registry");
            List<List<String>> requests = new ArrayList<>();
            for (int r = 0; r < 24; r++) {
                List<String> inputs = new ArrayList<>();
                for (int i = 0, n = 1 + random.nextInt(6); i < n; i++) {
                    StringBuilder text = new StringBuilder();
                    for (int w = 0, words = 1 + random.nextInt(random.nextBoolean() ? 5 : 60); w < words; w++) {
                        text.append(vocabulary.get(random.nextInt(vocabulary.size()))).append(' ');
                    }
                    inputs.add(text.toString().strip());
                }
                requests.add(inputs);
            }
            Map<String, float[]> alone = new java.util.HashMap<>();
            for (List<String> inputs : requests) {
                for (String input : inputs) {
                    alone.computeIfAbsent(input, text -> vectors(http, List.of(text)).getFirst());
                }
            }
            List<Future<List<float[]>>> replies = new ArrayList<>();
            for (List<String> inputs : requests) {
                replies.add(clients.submit(() -> vectors(http, inputs)));
            }
            for (int r = 0; r < requests.size(); r++) {
                List<float[]> vectors = replies.get(r).get();
                List<String> inputs = requests.get(r);
                assertThat(vectors).hasSize(inputs.size());
                for (int i = 0; i < inputs.size(); i++) {
                    // batched with others, a dynamically quantized model's vector moves a little (its activations are
                    // quantized per batch: padded beside 60-word inputs, a short one measured 0.979); what matters
                    // here is that each vector is its own input's, closer to it than to any other
                    double own = Vectors.cosine(vectors.get(i), alone.get(inputs.get(i)));
                    assertThat(own).as("request %d input %d", r, i).isGreaterThan(0.95);
                    for (Map.Entry<String, float[]> other : alone.entrySet()) {
                        if (!other.getKey().equals(inputs.get(i))) {
                            assertThat(Vectors.cosine(vectors.get(i), other.getValue())).as("request %d input %d", r, i)
                                    .isLessThan(own);
                        }
                    }
                }
            }
        }
    }

    @Test
    void fullQueue_answers503Or429WithRetryAfter_andNothingElseFails() throws Exception {
        try (TestServer server = TestServer.start(Map.of("engine-threads", "1", "intra-op-threads", "1", "queue-capacity", "1"));
                ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            Http http = server.http();
            String paragraph = "A long paragraph keeps the only engine thread busy for a while. ".repeat(15);
            List<Future<Http.Reply>> replies = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                replies.add(clients.submit(() -> http.postJson("/v1/embeddings", Map.of("model", MODEL, "input", paragraph))));
            }
            int ok = 0;
            int refused = 0;
            for (Future<Http.Reply> reply : replies) {
                Http.Reply response = reply.get();
                if (response.status() == 200) {
                    ok++;
                } else {
                    // a full queue is 503; one caller holding more than its share of it is 429
                    assertThat(response.status()).as(response.toString()).isIn(429, 503);
                    assertThat(response.header("Retry-After")).isEqualTo("1");
                    assertThat(response.json().path("error").path("code").asString())
                            .isEqualTo(response.status() == 503 ? "overloaded" : "queue_share_exceeded");
                    refused++;
                }
            }
            assertThat(ok).isPositive();
            assertThat(refused).isPositive();
        }
    }

    @Test
    void unloadWhileServing_neverFailsARequest() throws Exception {
        try (TestServer server = TestServer.start(); ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            Http http = server.http();
            AtomicBoolean running = new AtomicBoolean(true);
            List<Future<Integer>> workers = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                workers.add(clients.submit(() -> {
                    int served = 0;
                    while (running.get()) {
                        Http.Reply reply = http.postJson("/v1/embeddings", Map.of("model", MODEL,
                                "input", List.of("keep serving", "while the session is unloaded and loaded again")));
                        assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
                        served++;
                    }
                    return served;
                }));
            }
            for (int i = 0; i < 15; i++) {
                assertThat(http.post("/admin/models/" + MODEL + "/versions/1/unload", null, new byte[0]).status()).isEqualTo(200);
                Thread.sleep(40);
            }
            running.set(false);
            int served = 0;
            for (Future<Integer> worker : workers) {
                served += worker.get();
            }
            assertThat(served).isPositive();
        }
    }

    @Test
    void truncateInputs_cutsOverLongInputsToTheModelMaximum() {
        try (TestServer server = TestServer.start(Map.of("truncate-inputs", "true"))) {
            Http.Reply reply = server.http().postJson("/v1/embeddings", Map.of("model", MODEL,
                    "input", List.of("word ".repeat(300), "short")));
            assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
            // 256 for the cut input, [CLS] short [SEP] for the other
            assertThat(reply.json().path("usage").path("prompt_tokens").asInt()).isEqualTo(256 + 3);
            JsonNode cut = server.http().postJson("/v1/embeddings", Map.of("model", MODEL,
                    "input", "word ".repeat(254))).json();
            // exactly at the limit: [CLS] + 254 words + [SEP] = 256, the same as the cut input
            assertThat(Vectors.cosine(Vectors.of(cut.path("data").get(0).path("embedding")),
                    Vectors.of(reply.json().path("data").get(0).path("embedding")))).isGreaterThan(0.9999);
        }
    }

    @Test
    void concurrentUploads_getDistinctVersionNumbers() throws Exception {
        try (TestServer server = TestServer.start(Map.of("preload", "none"));
                ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            Http http = server.http();
            http.postJson("/admin/models", Map.of("name", "parallel", "task", "tensor"));
            java.nio.file.Path model = new dev.atrium.testing.OnnxModelWriter()
                    .input("x", dev.atrium.testing.OnnxModelWriter.ElementType.FLOAT, -1)
                    .output("y", dev.atrium.testing.OnnxModelWriter.ElementType.FLOAT, -1)
                    .node("Identity", List.of("x"), List.of("y"))
                    .write(server.dataDir().resolve("parallel.onnx"));
            List<Future<Http.Reply>> uploads = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                uploads.add(clients.submit(() -> http.upload("/admin/models/parallel/versions", Map.of("onnx", model))));
            }
            List<Integer> versions = new ArrayList<>();
            for (Future<Http.Reply> upload : uploads) {
                Http.Reply reply = upload.get();
                assertThat(reply.status()).as(reply.toString()).isEqualTo(201);
                versions.add(reply.json().path("version").asInt());
            }
            assertThat(versions).containsExactlyInAnyOrder(1, 2, 3, 4, 5, 6, 7, 8);
        }
    }

    private static List<float[]> vectors(Http http, List<String> inputs) {
        Http.Reply reply = http.postJson("/v1/embeddings", Map.of("model", MODEL, "input", inputs));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
        List<float[]> vectors = new ArrayList<>();
        reply.json().path("data").forEach(item -> vectors.add(Vectors.of(item.path("embedding"))));
        return vectors;
    }
}
