package dev.atrium.engine.onnx.tabular;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.atrium.engine.onnx.tabular.TabularFixture.Body;
import dev.atrium.testing.Http;
import dev.atrium.engine.onnx.tabular.TabularModelWriter.ElementType;
import dev.atrium.testing.TestServer;
import java.nio.charset.StandardCharsets;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Tabular models served over {@code POST /v1/predictions}: a linear regression and a softmax classifier the test
 * writes, each called with every MLflow scoring format; predictions equal what the test computes from the weights,
 * the same whatever the format; schema violations name the column; rows are metered and invoiced.
 */
class PredictionsEndToEndTest {
    private static TestServer server;
    private static Http http;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        http = server.http();
        upload("prices", TabularFixture.LINEAR.onnx(ElementType.FLOAT), "\"task\": \"regression\"");
        upload("segments", TabularFixture.SOFTMAX.onnx(true),
                "\"task\": \"classification\", \"labels\": [\"bronze\", \"silver\", \"gold\"]");
        assertThat(http.postJson("/admin/prices", Map.of("model", "prices", "per_row", "0.001", "currency", "USD"))
                .status()).isEqualTo(201);
    }

    private static void upload(String name, byte[] onnx, String task) {
        assertThat(http.postJson("/admin/models", Map.of("name", name, "task", "tabular")).status()).isEqualTo(201);
        String config = "{\"features\": " + TabularFixture.FEATURES + ", " + task + "}";
        Http.Reply reply = http.post("/admin/models/" + name + "/versions", "multipart/form-data; boundary="
                + Http.BOUNDARY, Http.multipart(Map.of("onnx", onnx, "config", config.getBytes(StandardCharsets.UTF_8))));
        assertThat(reply.status()).as(reply.text()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static JsonNode predict(String model, JsonNode body) {
        ((tools.jackson.databind.node.ObjectNode) body).put("model", model);
        Http.Reply reply = http.post("/v1/predictions", "application/json",
                body.toString().getBytes(StandardCharsets.UTF_8));
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        return reply.json();
    }

    @Test
    void predictions_regression_everyFormat_givesTheWeightsPrediction() {
        List<Map<String, Object>> rows = TabularFixture.rows();
        List<JsonNode> answers = new ArrayList<>();
        for (Body format : Body.values()) {
            JsonNode answer = predict("prices", format.of(rows));
            assertThat(answer.path("usage").path("rows").asLong()).isEqualTo(rows.size());
            for (int i = 0; i < rows.size(); i++) {
                double expected = TabularFixture.LINEAR.predict(TabularFixture.encode(rows.get(i)));
                assertThat(answer.path("predictions").get(i).asDouble()).as(format + " row " + i)
                        .isCloseTo(expected, within(1e-4));
            }
            answers.add(answer.path("predictions"));
        }
        assertThat(answers).allSatisfy(predictions -> assertThat(predictions).isEqualTo(answers.getFirst()));
    }

    @Test
    void predictions_concurrentRequests_batchedTogether_eachGetItsOwnRows() throws Exception {
        List<Map<String, Object>> rows = TabularFixture.rows();
        List<java.util.concurrent.Future<JsonNode>> answers = new ArrayList<>();
        try (var threads = java.util.concurrent.Executors.newFixedThreadPool(16)) {
            for (int i = 0; i < 64; i++) {
                Map<String, Object> row = rows.get(i % rows.size());
                answers.add(threads.submit(() -> predict("prices", Body.DATAFRAME_RECORDS.of(List.of(row)))));
            }
            for (int i = 0; i < answers.size(); i++) {
                double expected = TabularFixture.LINEAR.predict(TabularFixture.encode(rows.get(i % rows.size())));
                JsonNode answer = answers.get(i).get();
                assertThat(answer.path("predictions")).hasSize(1);
                assertThat(answer.path("predictions").get(0).asDouble()).as("request " + i)
                        .isCloseTo(expected, within(1e-4));
            }
        }
    }

    @Test
    void predictions_classification_givesLabelsAndProbabilities() {
        List<Map<String, Object>> rows = TabularFixture.rows();
        List<String> labels = List.of("bronze", "silver", "gold");
        for (Body format : Body.values()) {
            JsonNode answer = predict("segments", format.of(rows));
            for (int i = 0; i < rows.size(); i++) {
                double[] expected = TabularFixture.SOFTMAX.probabilities(TabularFixture.encode(rows.get(i)));
                assertThat(answer.path("predictions").get(i).asString())
                        .isEqualTo(labels.get(TabularModels.argmax(expected)));
                for (int c = 0; c < labels.size(); c++) {
                    assertThat(answer.path("probabilities").get(i).path(labels.get(c)).asDouble())
                            .isCloseTo(expected[c], within(1e-5));
                }
            }
        }
    }

    @Test
    void predictions_schemaViolations_nameTheColumn() {
        Http.Reply wrongType = http.postJson("/v1/predictions", Map.of("model", "prices",
                "dataframe_records", List.of(Map.of("age", "old", "color", "red", "size", "S", "member", true,
                        "floor", 1))));
        assertThat(wrongType.status()).isEqualTo(400);
        assertThat(wrongType.json().path("error").path("message").asString()).contains("age");
        Http.Reply unknownCategory = http.postJson("/v1/predictions", Map.of("model", "prices",
                "dataframe_records", List.of(Map.of("age", 3, "color", "purple", "size", "S", "member", true,
                        "floor", 1))));
        assertThat(unknownCategory.status()).isEqualTo(400);
        assertThat(unknownCategory.json().path("error").path("message").asString()).contains("color");
        Http.Reply missing = http.postJson("/v1/predictions", Map.of("model", "prices",
                "dataframe_records", List.of(Map.of("age", 3, "size", "S", "member", true, "floor", 1))));
        assertThat(missing.status()).isEqualTo(400);
        assertThat(missing.json().path("error").path("message").asString()).contains("color");
        Http.Reply noRows = http.postJson("/v1/predictions", Map.of("model", "prices"));
        assertThat(noRows.status()).isEqualTo(400);
        Http.Reply notTabular = http.postJson("/v1/predictions", Map.of("model", "all-minilm-l6-v2",
                "instances", List.of(List.of(1))));
        assertThat(notTabular.status()).isEqualTo(400);
    }

    @Test
    void invoice_showsTheRowsPredictedAtThePricePerRow() {
        dev.atrium.testing.Tenants tenants = new dev.atrium.testing.Tenants(http);
        String tenant = tenants.tenant("acme");
        Http member = http.withKey(tenants.key(tenant, "member").secret());
        JsonNode body = Body.DATAFRAME_RECORDS.of(TabularFixture.rows());
        ((tools.jackson.databind.node.ObjectNode) body).put("model", "prices");
        for (int i = 0; i < 3; i++) {
            assertThat(member.post("/v1/predictions", "application/json", body.toString().getBytes(StandardCharsets.UTF_8))
                    .status()).isEqualTo(200);
        }
        String month = YearMonth.now(ZoneOffset.UTC).toString();
        JsonNode invoice = http.get("/admin/invoices?tenant=" + tenant + "&month=" + month).json();
        JsonNode line = null;
        for (JsonNode candidate : invoice.path("lines")) {
            if (candidate.path("model").asString().equals("prices") && candidate.path("meter").asString().equals("rows")) {
                line = candidate;
            }
        }
        assertThat(line).as(invoice.toString()).isNotNull();
        assertThat(line.path("unit").asString()).isEqualTo("row");
        assertThat(new java.math.BigDecimal(line.path("quantity").asString()))
                .isEqualByComparingTo(java.math.BigDecimal.valueOf(3L * TabularFixture.rows().size()));
        assertThat(new java.math.BigDecimal(line.path("amount").asString()))
                .isEqualByComparingTo(new java.math.BigDecimal("0.021"));
    }
}
