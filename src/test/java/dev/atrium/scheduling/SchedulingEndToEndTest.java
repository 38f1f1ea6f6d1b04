package dev.atrium.scheduling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.OnnxModelWriter.ElementType;
import dev.atrium.testing.PrometheusText;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/** Scheduling through the server: per-version settings, batches across requests (v1 and v2), and their metrics. */
class SchedulingEndToEndTest {
    private static final String MODEL = "all-minilm-l6-v2";
    private static TestServer server;
    private static Http admin;

    @BeforeAll
    static void start(@TempDir Path directory) throws Exception {
        server = TestServer.start(Map.of("engine-threads", "1", "intra-op-threads", "1"));
        admin = server.http();
        Path identity = OnnxModelWriter.identities(List.of(ElementType.FLOAT), -1, 2).write(directory.resolve("id.onnx"));
        assertThat(admin.postJson("/admin/models", Map.of("name", "rows", "task", "tensor")).status()).isEqualTo(201);
        Http.Reply upload = admin.post("/admin/models/rows/versions", "multipart/form-data; boundary=" + Http.BOUNDARY,
                Http.multipart(Map.of("onnx", java.nio.file.Files.readAllBytes(identity),
                        "config", "{\"max_batch_size\": 64, \"max_queue_delay_us\": 50000}".getBytes())));
        assertThat(upload.status()).as(upload.toString()).isEqualTo(201);
        assertThat(upload.json().path("scheduling").path("max_queue_delay_us").asLong()).isEqualTo(50_000);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void settings_areSetPerVersion_checked_andOnlyByItsManager() {
        Http.Reply set = admin.putJson("/admin/models/" + MODEL + "/versions/1/scheduling",
                Map.of("max_batch_size", 4, "max_queue_delay_us", 20_000, "deadline_ms", 10_000));
        assertThat(set.status()).as(set.toString()).isEqualTo(200);
        assertThat(set.json().path("scheduling").path("max_batch_size").asInt()).isEqualTo(4);
        assertThat(set.json().path("scheduling").path("instances").isNull()).as("unset: the default").isTrue();
        assertThat(admin.get("/admin/models/" + MODEL + "/versions/1").json().path("scheduling")
                .path("max_queue_delay_us").asLong()).isEqualTo(20_000);

        assertThat(admin.putJson("/admin/models/" + MODEL + "/versions/1/scheduling", Map.of("max_batch_size", 0))
                .status()).isEqualTo(400);
        assertThat(admin.putJson("/admin/models/" + MODEL + "/versions/1/scheduling", Map.of("batch", 4)).status())
                .isEqualTo(400);
        assertThat(admin.putJson("/admin/models/" + MODEL + "/versions/9/scheduling", Map.of()).status()).isEqualTo(404);
        Tenants tenants = new Tenants(admin);
        String tenant = tenants.tenant("schedulers");
        Http owner = admin.withKey(tenants.key(tenant, "owner").secret());
        assertThat(owner.putJson("/admin/models/" + MODEL + "/versions/1/scheduling", Map.of("max_batch_size", 2))
                .status()).as("a public model is the platform's to tune").isEqualTo(403);
    }

    @Test
    void concurrentEmbeddingRequests_shareBatches_withinTheMaximum() throws Exception {
        assertThat(admin.putJson("/admin/models/" + MODEL + "/versions/1/scheduling",
                Map.of("max_batch_size", 4, "max_queue_delay_us", 20_000)).status()).isEqualTo(200);
        int requests = 24;
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Http.Reply>> replies = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                String text = "sentence number " + i + " about batching";
                replies.add(clients.submit(() -> admin.postJson("/v1/embeddings", Map.of("model", MODEL, "input", text))));
            }
            for (Future<Http.Reply> reply : replies) {
                assertThat(reply.get().status()).as(reply.get().toString()).isEqualTo(200);
            }
        }
        Map<String, PrometheusText.Family> metrics = PrometheusText.parse(admin.get("/metrics").text());
        Map<String, String> labels = Map.of("model", MODEL + ":1");
        double batches = value(metrics, "atrium_model_batch_size", "atrium_model_batch_size_count", labels);
        double rows = value(metrics, "atrium_model_batch_size", "atrium_model_batch_size_sum", labels);
        double largest = value(metrics, "atrium_model_batch_size_max", "atrium_model_batch_size_max", labels);
        assertThat(rows).isGreaterThanOrEqualTo(requests);
        assertThat(batches).as("inputs of different requests shared batches").isLessThan(rows);
        assertThat(largest).isLessThanOrEqualTo(4);
        assertThat(value(metrics, "atrium_model_queue_wait_seconds", "atrium_model_queue_wait_seconds_count", labels))
                .isGreaterThanOrEqualTo(requests);
        assertThat(metrics).containsKey("atrium_model_batch_execution_seconds").containsKey("atrium_model_queue_depth");
    }

    @Test
    void concurrentV2Requests_toADynamicBatchModel_eachGetTheirOwnRows() throws Exception {
        int requests = 16;
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Http.Reply>> replies = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                int rows = 1 + i % 3;
                List<Float> data = new ArrayList<>();
                for (int v = 0; v < rows * 2; v++) {
                    data.add(i * 100f + v);
                }
                Map<String, Object> input = Map.of("name", "x_float", "datatype", "FP32", "shape", List.of(rows, 2),
                        "data", data);
                replies.add(clients.submit(() -> admin.postJson("/v2/models/rows/infer", Map.of("inputs", List.of(input)))));
            }
            for (int i = 0; i < requests; i++) {
                Http.Reply reply = replies.get(i).get();
                assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
                JsonNode output = reply.json().path("outputs").get(0);
                int rows = 1 + i % 3;
                assertThat(output.path("shape").toString()).isEqualTo("[" + rows + ",2]");
                for (int v = 0; v < rows * 2; v++) {
                    assertThat(output.path("data").get(v).floatValue()).as("request %d value %d", i, v)
                            .isEqualTo(i * 100f + v);
                }
            }
        }
        Map<String, PrometheusText.Family> metrics = PrometheusText.parse(admin.get("/metrics").text());
        Map<String, String> labels = Map.of("model", "rows:1");
        assertThat(value(metrics, "atrium_model_batch_size", "atrium_model_batch_size_count", labels))
                .as("requests were joined into fewer runs")
                .isLessThan(value(metrics, "atrium_model_batch_size", "atrium_model_batch_size_sum", labels));
    }

    private static double value(Map<String, PrometheusText.Family> metrics, String family, String sample,
            Map<String, String> labels) {
        return metrics.get(family).samples().stream()
                .filter(s -> s.name().equals(sample) && s.labels().entrySet().containsAll(labels.entrySet()))
                .mapToDouble(PrometheusText.Sample::value).sum();
    }
}
