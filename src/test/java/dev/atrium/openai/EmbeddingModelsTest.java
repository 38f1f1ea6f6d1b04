package dev.atrium.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.TestServer;
import dev.atrium.testing.Vectors;
import dev.langchain4j.model.embedding.onnx.bgesmallenv15q.BgeSmallEnV15QuantizedEmbeddingModel;
import dev.langchain4j.model.embedding.onnx.e5smallv2q.E5SmallV2QuantizedEmbeddingModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * bge-small (CLS pooling) and e5-small (mean pooling, {@code query: } / {@code passage: } prefixes chosen by the
 * request's {@code input_type}) from their Maven jars, uploaded with their configs and served over /v1/embeddings,
 * agree with LangChain4j's own in-process embedding of them.
 */
class EmbeddingModelsTest {
    private static final List<String> TEXTS = List.of("How do I reset my password?",
            "Atrium hosts models for many tenants and bills them exactly.",
            "The mitochondria is the powerhouse of the cell.");

    private static TestServer server;
    private static Http http;

    @BeforeAll
    static void start() throws IOException {
        server = TestServer.start();
        http = server.http();
        upload("bge-small", "/bge-small-en-v1.5-q.onnx", "/bge-small-en-v1.5-q-tokenizer.json",
                "{\"pooling\": \"cls\", \"normalize\": true, \"max_length\": 512}");
        upload("e5-small", "/e5-small-v2-q.onnx", "/e5-small-v2-q-tokenizer.json",
                "{\"pooling\": \"mean\", \"normalize\": true, \"max_length\": 512, \"prefixes\": {\"query\": \"query: \","
                        + " \"passage\": \"passage: \"}, \"default_input_type\": \"query\"}");
    }

    private static void upload(String name, String onnx, String tokenizer, String config) throws IOException {
        assertThat(http.postJson("/admin/models", Map.of("name", name, "task", "embedding")).status()).isEqualTo(201);
        Map<String, byte[]> parts = new LinkedHashMap<>();
        parts.put("onnx", resource(onnx));
        parts.put("tokenizer", resource(tokenizer));
        parts.put("config", config.getBytes(StandardCharsets.UTF_8));
        Http.Reply reply = http.post("/admin/models/" + name + "/versions", "multipart/form-data; boundary="
                + Http.BOUNDARY, Http.multipart(parts));
        assertThat(reply.status()).as(reply.text()).isEqualTo(201);
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = EmbeddingModelsTest.class.getResourceAsStream(name)) {
            assertThat(in).as("resource " + name + " from the langchain4j embeddings jar").isNotNull();
            return in.readAllBytes();
        }
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /**
     * One request per text: these int8 models quantize activations per batch, so an input padded beside longer
     * ones comes out slightly different (cosine about 0.997), as LangChain4j's own batches do.
     */
    private static List<float[]> embed(String model, List<String> inputs, String inputType) {
        return inputs.stream().map(input -> embedOne(model, input, inputType)).toList();
    }

    private static float[] embedOne(String model, String input, String inputType) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", model);
        body.put("input", input);
        if (inputType != null) {
            body.put("input_type", inputType);
        }
        Http.Reply reply = http.postJson("/v1/embeddings", body);
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        return Vectors.of(reply.json().path("data").get(0).path("embedding"));
    }

    @Test
    void bgeSmall_clsPooling_agreesWithLangChain4j() {
        BgeSmallEnV15QuantizedEmbeddingModel reference = new BgeSmallEnV15QuantizedEmbeddingModel();
        List<float[]> served = embed("bge-small", TEXTS, null);
        for (int i = 0; i < TEXTS.size(); i++) {
            assertThat(served.get(i)).hasSize(384);
            assertThat(Vectors.cosine(served.get(i), reference.embed(TEXTS.get(i)).content().vector()))
                    .as(TEXTS.get(i)).isGreaterThanOrEqualTo(0.999);
        }
    }

    @Test
    void e5Small_prefixesByInputType_agreeWithLangChain4jOnPrefixedText() {
        E5SmallV2QuantizedEmbeddingModel reference = new E5SmallV2QuantizedEmbeddingModel();
        List<float[]> queries = embed("e5-small", TEXTS, null);
        List<float[]> passages = embed("e5-small", TEXTS, "passage");
        List<float[]> explicitQueries = embed("e5-small", TEXTS, "query");
        for (int i = 0; i < TEXTS.size(); i++) {
            String text = TEXTS.get(i);
            assertThat(Vectors.cosine(queries.get(i), reference.embed("query: " + text).content().vector()))
                    .as(text).isGreaterThanOrEqualTo(0.999);
            assertThat(Vectors.cosine(passages.get(i), reference.embed("passage: " + text).content().vector()))
                    .as(text).isGreaterThanOrEqualTo(0.999);
            assertThat(explicitQueries.get(i)).containsExactly(queries.get(i));
            // the prefix changes the vector: without it the test above could not tell them apart
            assertThat(Vectors.cosine(queries.get(i), passages.get(i))).isLessThan(0.999);
        }
    }

    @Test
    void inputType_unknownOrOnAModelWithout_is400() {
        Http.Reply unknown = http.postJson("/v1/embeddings", Map.of("model", "e5-small", "input", "x",
                "input_type", "document"));
        assertThat(unknown.status()).isEqualTo(400);
        assertThat(unknown.json().path("error").path("param").asString()).isEqualTo("input_type");
        Http.Reply none = http.postJson("/v1/embeddings", Map.of("model", "bge-small", "input", "x",
                "input_type", "query"));
        assertThat(none.status()).isEqualTo(400);
    }
}
