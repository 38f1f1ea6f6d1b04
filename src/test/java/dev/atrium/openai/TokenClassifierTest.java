package dev.atrium.openai;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.atrium.testing.BundledFiles;
import dev.atrium.testing.Http;
import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.OnnxModelWriter.ElementType;
import dev.atrium.testing.TestServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The other form of text classifier: an ONNX model that reads token ids with its tokenizer, as BERT-style sequence
 * classifiers do. The test writes a bag-of-words one over the bundled model's WordPiece vocabulary: each token adds
 * its row of a table to the logits, and the rows of a few words (found with the tokenizer in the test) lean towards
 * a class. The server must tokenize, run, softmax the logits and label them as the config says.
 */
class TokenClassifierTest {
    private static final List<String> POSITIVE = List.of("great", "wonderful", "excellent");
    private static final List<String> NEGATIVE = List.of("awful", "terrible", "boring");
    private static final int VOCABULARY = 30522;

    @TempDir
    static Path files;
    private static TestServer server;
    private static Http http;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(Map.of("preload", "none"));
        http = server.http();
        Path tokenizerFile = BundledFiles.tokenizer(files);
        float[] table = new float[VOCABULARY * 2];
        try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(tokenizerFile)) {
            for (String word : POSITIVE) {
                table[(int) id(tokenizer, word) * 2] = 3f;
            }
            for (String word : NEGATIVE) {
                table[(int) id(tokenizer, word) * 2 + 1] = 3f;
            }
        }
        byte[] model = new OnnxModelWriter()
                .input("input_ids", ElementType.INT64, -1, -2)
                .input("attention_mask", ElementType.INT64, -1, -2)
                .initializer("table", table, VOCABULARY, 2)
                .initializer("axes", new long[] {1}, 1)
                .node("Gather", List.of("table", "input_ids"), List.of("rows"))
                .node("ReduceSum", List.of("rows", "axes"), List.of("summed"))
                .node("Squeeze", List.of("summed", "axes"), List.of("logits"))
                .output("logits", ElementType.FLOAT, -1, 2)
                .toBytes();
        assertThat(http.postJson("/admin/models", Map.of("name", "sentiment", "task", "text-classification"))
                .status()).isEqualTo(201);
        Map<String, byte[]> parts = new LinkedHashMap<>();
        parts.put("onnx", model);
        parts.put("tokenizer", Files.readAllBytes(tokenizerFile));
        parts.put("config", "{\"labels\": [\"positive\", \"negative\"], \"output_kind\": \"logits\", \"max_length\": 128}"
                .getBytes(StandardCharsets.UTF_8));
        Http.Reply upload = http.post("/admin/models/sentiment/versions", "multipart/form-data; boundary="
                + Http.BOUNDARY, Http.multipart(parts));
        assertThat(upload.status()).as(upload.text()).isEqualTo(201);
    }

    private static long id(HuggingFaceTokenizer tokenizer, String word) {
        long[] ids = tokenizer.encode(word).getIds();
        assertThat(ids).as(word + " is one WordPiece token between [CLS] and [SEP]").hasSize(3);
        return ids[1];
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void classifications_tokenClassifier_labelsBySoftmaxOfItsLogits() {
        List<String> texts = List.of("What a great and wonderful film.", "An awful, boring evening.",
                "Excellent acting, terrible plot, great music.");
        Http.Reply reply = http.postJson("/v1/classifications", Map.of("model", "sentiment", "input", texts));
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        JsonNode data = reply.json().path("data");
        assertThat(data.get(0).path("labels").get(0).path("label").asString()).isEqualTo("positive");
        assertThat(data.get(1).path("labels").get(0).path("label").asString()).isEqualTo("negative");
        // two positive words against one negative: logits 6 and 3, so softmax gives 1 / (1 + e^-3)
        JsonNode mixed = data.get(2).path("labels");
        assertThat(mixed.get(0).path("label").asString()).isEqualTo("positive");
        assertThat(mixed.get(0).path("score").asDouble()).isCloseTo(1 / (1 + Math.exp(-3)),
                org.assertj.core.data.Offset.offset(1e-5));
        assertThat(reply.json().path("usage").path("prompt_tokens").asLong()).isPositive();
    }

    @Test
    void upload_tokenClassifierWithoutItsTokenizer_isRefused() {
        http.postJson("/admin/models", Map.of("name", "untokenized", "task", "text-classification"));
        byte[] model = new OnnxModelWriter()
                .input("input_ids", ElementType.INT64, -1, -2)
                .input("attention_mask", ElementType.INT64, -1, -2)
                .initializer("table", new float[VOCABULARY * 2], VOCABULARY, 2)
                .node("Gather", List.of("table", "input_ids"), List.of("logits"))
                .output("logits", ElementType.FLOAT, -1, -2, 2)
                .toBytes();
        Http.Reply reply = http.post("/admin/models/untokenized/versions", "multipart/form-data; boundary="
                + Http.BOUNDARY, Http.multipart(Map.of("onnx", model, "config",
                "{\"labels\": [\"a\", \"b\"]}".getBytes(StandardCharsets.UTF_8))));
        assertThat(reply.status()).isEqualTo(422);
        assertThat(reply.text()).contains("tokenizer");
    }

    @Test
    void v2Metadata_showsTheTaskAndLabels() {
        JsonNode metadata = http.get("/v2/models/sentiment").json();
        assertThat(metadata.path("parameters").path("task").asString()).isEqualTo("text-classification");
        assertThat(metadata.path("parameters").path("labels").valueStream().map(JsonNode::asString).toList())
                .containsExactly("positive", "negative");
    }
}
