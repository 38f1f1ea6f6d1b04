package dev.atrium.admin;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.atrium.testing.BundledFiles;
import dev.atrium.testing.Http;
import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.OnnxModelWriter.ElementType;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * A text classifier that reads token ids (a bag of words over the bundled model's WordPiece vocabulary: each token
 * adds its row of features, a MatMul maps them to two classes) quantized through the endpoint: its lineage measures
 * how often the int8 version's top label agrees with the float one's on the caller's sample, and the new version
 * serves the same labels.
 */
class QuantizeClassifierTest {
    private static final List<String> POSITIVE = List.of("great", "wonderful", "excellent");
    private static final List<String> NEGATIVE = List.of("awful", "terrible", "boring");
    private static final int VOCABULARY = 30522;
    private static final int FEATURES = 8;
    private static final List<String> SAMPLE = List.of("What a great and wonderful film.",
            "An awful, boring evening.", "Excellent acting, terrible plot, great music.", "A terrible idea.",
            "The food was excellent.", "Boring, boring, boring.", "Wonderful people and great views.");

    @TempDir
    static Path files;
    private static TestServer server;
    private static Http http;
    private static Map<String, byte[]> parts;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(Map.of("preload", "none"));
        http = server.http();
        Path tokenizerFile = BundledFiles.tokenizer(files);
        Random random = new Random(11);
        float[] table = new float[VOCABULARY * FEATURES];
        for (int i = 0; i < table.length; i++) {
            table[i] = (random.nextFloat() - 0.5f) * 0.02f;
        }
        try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(tokenizerFile)) {
            for (String word : POSITIVE) {
                table[(int) tokenizer.encode(word).getIds()[1] * FEATURES] = 3f;
            }
            for (String word : NEGATIVE) {
                table[(int) tokenizer.encode(word).getIds()[1] * FEATURES + 1] = 3f;
            }
        }
        float[] weight = new float[FEATURES * 2];
        for (int i = 0; i < weight.length; i++) {
            weight[i] = (random.nextFloat() - 0.5f) * 0.2f;
        }
        weight[0] = 1f; // feature 0 -> positive
        weight[3] = 1f; // feature 1 -> negative
        byte[] model = new OnnxModelWriter()
                .input("input_ids", ElementType.INT64, -1, -2)
                .input("attention_mask", ElementType.INT64, -1, -2)
                .initializer("table", table, VOCABULARY, FEATURES)
                .initializer("axes", new long[] {1}, 1)
                .initializer("weight", weight, FEATURES, 2)
                .node("Gather", List.of("table", "input_ids"), List.of("rows"))
                .node("ReduceSum", List.of("rows", "axes"), List.of("summed"))
                .node("Squeeze", List.of("summed", "axes"), List.of("features"))
                .node("MatMul", List.of("features", "weight"), List.of("logits"))
                .output("logits", ElementType.FLOAT, -1, 2)
                .toBytes();
        assertThat(http.postJson("/admin/models", Map.of("name", "sentiment", "task", "text-classification"))
                .status()).isEqualTo(201);
        parts = new LinkedHashMap<>();
        parts.put("onnx", model);
        parts.put("tokenizer", Files.readAllBytes(tokenizerFile));
        parts.put("config", ("{\"labels\": [\"positive\", \"negative\"], \"output_kind\": \"logits\","
                + " \"max_length\": 128}").getBytes(StandardCharsets.UTF_8));
        Http.Reply upload = http.post("/admin/models/sentiment/versions", "multipart/form-data; boundary="
                + Http.BOUNDARY, Http.multipart(parts));
        assertThat(upload.status()).as(upload.text()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void quantize_tokenClassifier_recordsLabelAgreementAndServesTheSameLabels() {
        Http.Reply reply = http.postJson("/admin/models/sentiment/versions/1/quantize", Map.of("sample", SAMPLE,
                "per_channel", false));

        assertThat(reply.status()).as(reply.text()).isEqualTo(201);
        JsonNode lineage = http.get("/admin/models/sentiment/versions/2").json().path("lineage");
        assertThat(lineage.path("per_channel").asBoolean()).isFalse();
        assertThat(lineage.path("weights").path("matmul").asInt()).isEqualTo(1);
        assertThat(lineage.path("weights").path("gather").asInt()).isZero(); // 244k values: stays float
        assertThat(lineage.path("accuracy").path("metric").asString()).isEqualTo("agreement");
        assertThat(lineage.path("accuracy").path("agreement").asDouble()).isEqualTo(1.0);
        assertThat(lineage.path("accuracy").path("sample").asInt()).isEqualTo(SAMPLE.size());
        assertThat(lineage.path("accuracy").path("sample_source").asString()).isEqualTo("request");
        assertThat(lineage.path("speed").path("after").asDouble()).isPositive();
        assertThat(reply.json().path("config")).isEqualTo(http.get("/admin/models/sentiment/versions/1").json()
                .path("config"));
        assertThat(labels("sentiment:2")).isEqualTo(labels("sentiment:1"))
                .containsExactly("positive", "negative", "positive", "negative", "positive", "negative", "positive");
    }

    /**
     * A quantization is one call on the owner's key: its compute-seconds reserved before it runs (a budget that
     * cannot cover them refuses it and nothing is made), then one usage record, charged, with the reservation given
     * back.
     */
    @Test
    void quantize_isOneMeteredCall_reservedBeforeItRuns_andRecordedOnce() {
        Tenants tenants = new Tenants(http);
        String tenant = tenants.tenant("quantizing-owner");
        Http owner = server.http().withKey(tenants.key(tenant, "owner").secret());
        assertThat(owner.postJson("/admin/models", Map.of("name", "own-sentiment", "task", "text-classification"))
                .status()).isEqualTo(201);
        Http.Reply upload = owner.post("/admin/models/own-sentiment/versions", "multipart/form-data; boundary="
                + Http.BOUNDARY, Http.multipart(parts));
        assertThat(upload.status()).as(upload.text()).isEqualTo(201);
        assertThat(http.postJson("/admin/prices", Map.of("model", "own-sentiment", "tenant", tenant,
                "per_compute_second", "0.01", "currency", "USD")).status()).isEqualTo(201);
        // ten minutes reserved at 0.01 a second is 6: a budget of 5 cannot cover it
        assertThat(http.postJson("/admin/budgets", Map.of("tenant", tenant, "monthly_limit", "5", "currency",
                "USD")).status()).isEqualTo(200);
        Map<String, Object> order = Map.of("sample", SAMPLE, "per_channel", false);

        Http.Reply refused = owner.postJson("/admin/models/own-sentiment/versions/1/quantize", order);
        assertThat(refused.status()).as(refused.text()).isEqualTo(429);
        assertThat(refused.json().path("error").path("code").asString()).isEqualTo("insufficient_quota");
        assertThat(owner.get("/admin/models/own-sentiment/versions/2").status()).as("nothing was made").isEqualTo(404);
        assertThat(records(tenant, refused.header("x-request-id"))).isEmpty();

        assertThat(http.postJson("/admin/budgets", Map.of("tenant", tenant, "monthly_limit", "100", "currency",
                "USD")).status()).isEqualTo(200);
        Http.Reply made = owner.postJson("/admin/models/own-sentiment/versions/1/quantize", order);
        assertThat(made.status()).as(made.text()).isEqualTo(201);
        JsonNode records = records(tenant, made.header("x-request-id"));
        assertThat(records).hasSize(1);
        JsonNode record = records.get(0);
        assertThat(record.path("endpoint").asString()).isEqualTo("/admin/models/{name}/versions/{version}/quantize");
        assertThat(record.path("model").asString()).isEqualTo("own-sentiment");
        assertThat(record.path("version").asInt()).isEqualTo(1);
        assertThat(record.path("outcome").asString()).isEqualTo("ok");
        BigDecimal charge = new BigDecimal(record.path("charge").asString());
        assertThat(charge).isPositive().isLessThanOrEqualTo(new BigDecimal("6"));
        JsonNode budget = http.get("/admin/budgets?tenant=" + tenant).json().path("budgets").get(0);
        assertThat(new BigDecimal(budget.path("reserved").asString())).isEqualByComparingTo("0");
        assertThat(new BigDecimal(budget.path("spent").asString())).isEqualByComparingTo(charge);
    }

    private static JsonNode records(String tenant, String requestId) {
        assertThat(requestId).isNotBlank();
        Http.Reply reply = http.get("/admin/usage/records?tenant=" + tenant + "&request_id=" + requestId);
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        return reply.json().path("data");
    }

    private static List<String> labels(String model) {
        Http.Reply reply = http.postJson("/v1/classifications", Map.of("model", model, "input", SAMPLE));
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        return reply.json().path("data").valueStream().map(row -> row.path("labels").get(0).path("label").asString())
                .toList();
    }
}
