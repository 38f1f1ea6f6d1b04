package dev.atrium.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.TestServer;
import dev.atrium.testing.Vectors;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The bundled model served over /v1/embeddings agrees with LangChain4j's in-process implementation. */
class EmbeddingsEndToEndTest {
    private static final List<String> SENTENCES = List.of(
            "The cat sits on the mat.",
            "A quick brown fox jumps over the lazy dog.",
            "Atrium serves embedding models to many tenants over the OpenAI API.",
            "How do I reset my password?",
            "Quantum computers use qubits, which can be in a superposition of states, to solve certain problems"
                    + " faster than classical computers; error correction remains the main obstacle to scaling them.",
            "Ünïcödé, emoji 🚀 and 中文 characters are tokenized too.");

    private static TestServer server;
    private static Http http;
    private static AllMiniLmL6V2QuantizedEmbeddingModel reference;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        http = server.http();
        reference = new AllMiniLmL6V2QuantizedEmbeddingModel();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void embeddings_eachSentenceAlone_matchLangChain4j() {
        for (String sentence : SENTENCES) {
            float[] served = embed(List.of(sentence)).getFirst();
            float[] expected = reference.embed(sentence).content().vector();
            assertThat(served).hasSize(384);
            assertThat(Vectors.cosine(served, expected)).as(sentence).isGreaterThanOrEqualTo(0.9999);
        }
    }

    @Test
    void embeddings_manySentencesInOneRequest_matchLangChain4jInOrder() {
        List<float[]> served = embed(SENTENCES);
        List<TextSegment> segments = SENTENCES.stream().map(TextSegment::from).toList();
        var expected = reference.embedAll(segments).content();
        assertThat(served).hasSize(SENTENCES.size());
        for (int i = 0; i < SENTENCES.size(); i++) {
            assertThat(Vectors.cosine(served.get(i), expected.get(i).vector())).as(SENTENCES.get(i)).isGreaterThanOrEqualTo(0.99);
        }
    }

    @Test
    void embeddings_paraphrasesAreCloserThanUnrelatedSentences() {
        List<float[]> vectors = embed(List.of(
                "How do I reset my password?",
                "What are the steps to change my password?",
                "The weather in Lisbon is sunny today."));
        double paraphrase = Vectors.cosine(vectors.get(0), vectors.get(1));
        double unrelated = Vectors.cosine(vectors.get(0), vectors.get(2));
        assertThat(paraphrase).isGreaterThan(unrelated + 0.3);
    }

    @Test
    void embeddings_vectorsAreNormalizedAndUsageCountsTokens() {
        JsonNode response = http.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2",
                "input", List.of("hello world", "hello"))).json();
        // [CLS] hello world [SEP] + [CLS] hello [SEP]
        assertThat(response.path("usage").path("prompt_tokens").asInt()).isEqualTo(7);
        assertThat(response.path("usage").path("total_tokens").asInt()).isEqualTo(7);
        assertThat(response.path("object").asString()).isEqualTo("list");
        assertThat(response.path("model").asString()).isEqualTo("all-minilm-l6-v2");
        for (JsonNode item : response.path("data")) {
            float[] vector = Vectors.of(item.path("embedding"));
            assertThat(Vectors.cosine(vector, vector)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
            assertThat(Vectors.norm(vector)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
        }
    }

    @Test
    void embeddings_tokenIdInputs_equalTextInputs() {
        // the ids the bundled tokenizer gives "hello world": [CLS] hello world [SEP]
        JsonNode byIds = http.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2",
                "input", List.of(List.of(101, 7592, 2088, 102)))).json();
        JsonNode singleIds = http.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2",
                "input", List.of(101, 7592, 2088, 102))).json();
        float[] byText = embed(List.of("hello world")).getFirst();
        assertThat(Vectors.cosine(Vectors.of(byIds.path("data").get(0).path("embedding")), byText)).isGreaterThan(0.9999);
        assertThat(Vectors.cosine(Vectors.of(singleIds.path("data").get(0).path("embedding")), byText)).isGreaterThan(0.9999);
        assertThat(byIds.path("usage").path("prompt_tokens").asInt()).isEqualTo(4);
    }

    @Test
    void embeddings_base64_decodesToTheFloatVector() {
        JsonNode floats = http.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2", "input", "base64 please")).json();
        JsonNode base64 = http.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2", "input", "base64 please",
                "encoding_format", "base64")).json();
        byte[] bytes = java.util.Base64.getDecoder().decode(base64.path("data").get(0).path("embedding").asString());
        java.nio.FloatBuffer decoded = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        float[] expected = Vectors.of(floats.path("data").get(0).path("embedding"));
        assertThat(decoded.remaining()).isEqualTo(384);
        for (int i = 0; i < expected.length; i++) {
            assertThat(decoded.get(i)).isEqualTo(expected[i]);
        }
    }

    @Test
    void embeddings_longRequest_manyBatches_keepInputOrder() {
        List<String> inputs = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            inputs.add(i % 3 == 0 ? "short " + i : "a considerably longer sentence number " + i + " with many more words in it to pad");
        }
        List<float[]> batched = embed(inputs);
        for (int i : new int[] {0, 1, 2, 50, 99}) {
            assertThat(Vectors.cosine(batched.get(i), embed(List.of(inputs.get(i))).getFirst())).as("input " + i).isGreaterThan(0.99);
        }
    }

    private static List<float[]> embed(List<String> inputs) {
        Http.Reply reply = http.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2", "input", inputs));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
        List<float[]> vectors = new ArrayList<>();
        for (JsonNode item : reply.json().path("data")) {
            assertThat(item.path("index").asInt()).isEqualTo(vectors.size());
            vectors.add(Vectors.of(item.path("embedding")));
        }
        return vectors;
    }
}
