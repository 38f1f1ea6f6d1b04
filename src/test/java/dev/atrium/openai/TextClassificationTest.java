package dev.atrium.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.OnnxModelWriter.ElementType;
import dev.atrium.testing.TestServer;
import dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Text classification over {@code /v1/classifications}: a composed model (the bundled embedding model and a head
 * the test writes from class centroids computed in-process by LangChain4j, independently of the server) and
 * zero-shot labels with the embedding model itself, each on held-out sentences.
 */
class TextClassificationTest {
    private static final List<String> LABELS = List.of("sports", "cooking", "computers");
    private static final Map<String, List<String>> TRAINING = Map.of(
            "sports", List.of("The striker scored twice in the second half.", "She won the marathon in record time.",
                    "The team lost the championship final on penalties.", "He trains at the tennis court every day."),
            "cooking", List.of("Simmer the tomato sauce for twenty minutes.", "Knead the dough and let it rise.",
                    "Season the soup with salt, pepper and fresh basil.", "Roast the chicken until the skin is crisp."),
            "computers", List.of("The laptop needs more memory to compile the code.",
                    "Install the operating system update and reboot.", "The database server crashed under load.",
                    "Write a function that sorts the list in place."));
    private static final Map<String, String> HELD_OUT = new LinkedHashMap<>();

    static {
        HELD_OUT.put("The goalkeeper saved a penalty in the last minute.", "sports");
        HELD_OUT.put("The cyclists raced up the mountain stage.", "sports");
        HELD_OUT.put("Chop the onions and fry them in olive oil.", "cooking");
        HELD_OUT.put("Bake the cake at 180 degrees for forty minutes.", "cooking");
        HELD_OUT.put("The program throws an exception when the file is missing.", "computers");
        HELD_OUT.put("Upgrade the graphics card driver to fix the crash.", "computers");
    }

    private static TestServer server;
    private static Http http;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start();
        http = server.http();
        assertThat(http.postJson("/admin/models", Map.of("name", "topics", "task", "text-classification")).status())
                .isEqualTo(201);
        Http.Reply upload = http.post("/admin/models/topics/versions", "multipart/form-data; boundary=" + Http.BOUNDARY,
                Http.multipart(Map.of("onnx", centroidHead(), "config", ("{\"embedding_model\": \"all-minilm-l6-v2\","
                        + " \"labels\": [\"sports\", \"cooking\", \"computers\"]}").getBytes(StandardCharsets.UTF_8))));
        assertThat(upload.status()).as(upload.text()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** A head whose weights are the normalized class centroids: logits = 20 · cosine to each centroid, softmaxed. */
    private static byte[] centroidHead() {
        AllMiniLmL6V2QuantizedEmbeddingModel reference = new AllMiniLmL6V2QuantizedEmbeddingModel();
        int dimension = 384;
        float[] weights = new float[dimension * LABELS.size()];
        for (int c = 0; c < LABELS.size(); c++) {
            double[] sum = new double[dimension];
            for (String sentence : TRAINING.get(LABELS.get(c))) {
                float[] vector = reference.embed(sentence).content().vector();
                for (int i = 0; i < dimension; i++) {
                    sum[i] += vector[i];
                }
            }
            double norm = Math.sqrt(java.util.Arrays.stream(sum).map(v -> v * v).sum());
            for (int i = 0; i < dimension; i++) {
                weights[i * LABELS.size() + c] = (float) (20 * sum[i] / norm);
            }
        }
        return new OnnxModelWriter()
                .input("embedding", ElementType.FLOAT, -1, dimension)
                .initializer("weights", weights, dimension, LABELS.size())
                .node("MatMul", List.of("embedding", "weights"), List.of("logits"))
                .node("Softmax", List.of("logits"), List.of("probabilities"))
                .output("probabilities", ElementType.FLOAT, -1, LABELS.size())
                .toBytes();
    }

    @Test
    void classifications_composedModel_classifiesHeldOutSentences() {
        List<String> sentences = new ArrayList<>(HELD_OUT.keySet());
        Http.Reply reply = http.postJson("/v1/classifications", Map.of("model", "topics", "input", sentences));
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        JsonNode body = reply.json();
        assertThat(body.path("object").asString()).isEqualTo("list");
        assertThat(body.path("model").asString()).isEqualTo("topics");
        assertThat(reply.header("x-atrium-model-version")).isEqualTo("1");
        for (int i = 0; i < sentences.size(); i++) {
            JsonNode item = body.path("data").get(i);
            assertThat(item.path("index").asInt()).isEqualTo(i);
            assertThat(item.path("labels").get(0).path("label").asString()).as(sentences.get(i))
                    .isEqualTo(HELD_OUT.get(sentences.get(i)));
            double total = 0;
            for (JsonNode label : item.path("labels")) {
                total += label.path("score").asDouble();
            }
            assertThat(total).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
        }
        assertThat(body.path("usage").path("prompt_tokens").asLong()).isPositive();
        assertThat(body.path("usage").has("images")).isFalse();
    }

    @Test
    void classifications_topK_limitsTheLabels() {
        JsonNode body = http.postJson("/v1/classifications", Map.of("model", "topics",
                "input", "Grill the fish with lemon.", "top_k", 1)).json();
        assertThat(body.path("data").get(0).path("labels")).hasSize(1);
        assertThat(body.path("data").get(0).path("labels").get(0).path("label").asString()).isEqualTo("cooking");
    }

    @Test
    void classifications_zeroShot_withAnEmbeddingModel_classifiesHeldOutSentences() {
        List<String> sentences = new ArrayList<>(HELD_OUT.keySet());
        Http.Reply reply = http.postJson("/v1/classifications", Map.of("model", "all-minilm-l6-v2",
                "input", sentences, "labels", List.of("sports and games", "cooking and food", "computers, software and hardware")));
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        List<String> expected = List.of("sports and games", "cooking and food", "computers, software and hardware");
        for (int i = 0; i < sentences.size(); i++) {
            String top = reply.json().path("data").get(i).path("labels").get(0).path("label").asString();
            assertThat(top).as(sentences.get(i)).isEqualTo(expected.get(LABELS.indexOf(HELD_OUT.get(sentences.get(i)))));
        }
    }

    @Test
    void classifications_badRequests_are400sInOpenAiShape() {
        Http.Reply noLabels = http.postJson("/v1/classifications", Map.of("model", "all-minilm-l6-v2", "input", "x"));
        assertThat(noLabels.status()).isEqualTo(400);
        assertThat(noLabels.json().path("error").path("param").asString()).isEqualTo("labels");
        Http.Reply labelsOnClassifier = http.postJson("/v1/classifications", Map.of("model", "topics", "input", "x",
                "labels", List.of("a", "b")));
        assertThat(labelsOnClassifier.status()).isEqualTo(400);
        Http.Reply unknown = http.postJson("/v1/classifications", Map.of("model", "topics", "input", "x", "foo", 1));
        assertThat(unknown.status()).isEqualTo(400);
        assertThat(unknown.json().path("error").path("param").asString()).isEqualTo("foo");
        Http.Reply badTopK = http.postJson("/v1/classifications", Map.of("model", "topics", "input", "x", "top_k", 0));
        assertThat(badTopK.status()).isEqualTo(400);
        Http.Reply noInput = http.postJson("/v1/classifications", Map.of("model", "topics"));
        assertThat(noInput.status()).isEqualTo(400);
    }

    @Test
    void upload_headOfTheWrongWidth_isRefused() {
        http.postJson("/admin/models", Map.of("name", "narrow", "task", "text-classification"));
        byte[] head = new OnnxModelWriter()
                .input("embedding", ElementType.FLOAT, -1, 100)
                .initializer("weights", new float[200], 100, 2)
                .node("MatMul", List.of("embedding", "weights"), List.of("scores"))
                .output("scores", ElementType.FLOAT, -1, 2)
                .toBytes();
        Http.Reply reply = http.post("/admin/models/narrow/versions", "multipart/form-data; boundary=" + Http.BOUNDARY,
                Http.multipart(Map.of("onnx", head, "config", "{\"embedding_model\": \"all-minilm-l6-v2\", \"labels\": [\"a\", \"b\"]}"
                        .getBytes(StandardCharsets.UTF_8))));
        assertThat(reply.status()).isEqualTo(422);
        assertThat(reply.text()).contains("384");
    }

    @Test
    void models_showTheClassifiersTaskAndLabels() {
        JsonNode model = http.get("/v1/models/topics").json();
        assertThat(model.path("task").asString()).isEqualTo("text-classification");
        assertThat(model.path("labels").valueStream().map(JsonNode::asString).toList()).isEqualTo(LABELS);
    }
}
