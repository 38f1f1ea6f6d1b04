package dev.atrium.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.TestServer;
import dev.atrium.testing.Vectors;
import dev.atrium.training.quantize.QuantizationSample;
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
 * e5-small-v2 in fp32 (133 MB, from its Maven jar) uploaded, quantized through the endpoint and served: the int8
 * version is at most 40 MB, its embeddings over /v1/embeddings have a cosine of at least 0.99 to the float ones on
 * varied sentences, and it is as close to the float model as the published int8 build (e5-small-v2-q) is, within a
 * small margin. Its lineage holds what it was measured at (size, speed, accuracy). The fp32 model is uploaded and
 * quantized once for all the tests here.
 */
class QuantizeEndToEndTest {
    private static final String CONFIG = "{\"pooling\": \"mean\", \"normalize\": true, \"max_length\": 512,"
            + " \"prefixes\": {\"query\": \"query: \", \"passage\": \"passage: \"}, \"default_input_type\": \"query\"}";
    /** How much closer to float the published int8 build may be than ours, in mean cosine. */
    static final double MARGIN = 0.002;
    /** Not the server's default sample: the figures must hold for sentences it did not measure on. */
    static final List<String> SENTENCES = List.of(
            "Where can I find the nearest pharmacy open on Sunday?",
            "The board approved the merger after a six-hour meeting.",
            "Neural networks learn representations from large amounts of data.",
            "She planted tomatoes, basil and peppers in the raised beds.",
            "How many kilometres is it from Lisbon to Porto?",
            "The bridge was closed for repairs after the storm damaged its cables.",
            "Add two tablespoons of olive oil and fry the onions until golden.",
            "Symptoms of dehydration include headache, dizziness and dark urine.",
            "The central bank raised rates by a quarter point to curb inflation.",
            "def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)",
            "Your order has shipped and should arrive within three working days.",
            "The museum's new wing houses a collection of medieval manuscripts.",
            "Can I bring my dog on the train if it stays in a carrier?",
            "The goalkeeper saved a penalty in the last minute of extra time.",
            "Volcanic ash can disrupt air traffic across an entire continent.",
            "Ich möchte einen Tisch für zwei Personen reservieren.",
            "Le musée est fermé le mardi.",
            "What are the side effects of the flu vaccine?",
            "The software update fixes a memory leak in the image decoder.",
            "Tickets for the concert sold out within minutes.",
            "Bees pollinate roughly a third of the crops we eat.",
            "The lease may be terminated by either party with ninety days' written notice.",
            "yes",
            "A retry with exponential backoff avoids hammering an overloaded server.",
            "The expedition reached the summit at dawn after a night of climbing through fresh snow, wind and cold,"
                    + " and came down before the clouds closed in over the ridge.",
            "Which laptop has the longest battery life under 1000 dollars?",
            "Saturn's rings are made mostly of ice particles and rock.",
            "Remember to back up your files before upgrading the operating system.",
            "The recipe serves four and takes about forty minutes.",
            "Gradient descent updates the parameters against the gradient of the loss.");

    private static TestServer server;
    private static Http http;
    private static Http.Reply quantized;

    @BeforeAll
    static void start() throws IOException {
        server = TestServer.start();
        http = server.http();
        upload("e5-fp32", "/e5-small-v2.onnx", "/e5-small-v2-tokenizer.json");
        upload("e5-q", "/e5-small-v2-q.onnx", "/e5-small-v2-q-tokenizer.json");
        quantized = http.postJson("/admin/models/e5-fp32/versions/1/quantize", Map.of("alias", "int8"));
    }

    private static void upload(String name, String onnx, String tokenizer) throws IOException {
        assertThat(http.postJson("/admin/models", Map.of("name", name, "task", "embedding")).status()).isEqualTo(201);
        Map<String, byte[]> parts = new LinkedHashMap<>();
        parts.put("onnx", resource(onnx));
        parts.put("tokenizer", resource(tokenizer));
        parts.put("config", CONFIG.getBytes(StandardCharsets.UTF_8));
        Http.Reply reply = http.post("/admin/models/" + name + "/versions", "multipart/form-data; boundary="
                + Http.BOUNDARY, Http.multipart(parts));
        assertThat(reply.status()).as(reply.text()).isEqualTo(201);
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = QuantizeEndToEndTest.class.getResourceAsStream(name)) {
            assertThat(in).as("resource " + name + " from the langchain4j embeddings jar").isNotNull();
            return in.readAllBytes();
        }
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void quantize_e5SmallFp32_makesAVersionOfAtMost40MegabytesPointedAtByTheAlias() {
        assertThat(quantized.status()).as(quantized.text()).isEqualTo(201);
        JsonNode version = quantized.json();
        assertThat(version.path("version").asInt()).isEqualTo(2);
        assertThat(version.path("aliases").toString()).contains("int8");
        long size = version.path("artifact").path("size_bytes").asLong();
        assertThat(size).isPositive().isLessThanOrEqualTo(40_000_000L);
        assertThat(http.get("/admin/models/e5-fp32/versions/1").json().path("artifact").path("size_bytes").asLong())
                .isGreaterThan(130_000_000L);
        // the same tokenizer and config as the float version
        JsonNode source = http.get("/admin/models/e5-fp32/versions/1").json();
        assertThat(version.path("config")).isEqualTo(source.path("config"));
        assertThat(version.path("embedding")).isEqualTo(source.path("embedding"));
    }

    @Test
    void quantize_lineageRecordsSizeSpeedAndAccuracyAgainstTheFloatVersion() {
        JsonNode lineage = http.get("/admin/models/e5-fp32/versions/2").json().path("lineage");
        System.out.println("lineage of the quantized e5-small-v2: " + lineage);
        assertThat(lineage.path("quantized_from").asInt()).isEqualTo(1);
        assertThat(lineage.path("method").asString()).isEqualTo("int8-dynamic");
        assertThat(lineage.path("per_channel").asBoolean()).isTrue();
        assertThat(lineage.path("weights").path("matmul").asInt()).isGreaterThanOrEqualTo(72); // 12 layers of 6
        assertThat(lineage.path("weights").path("gather").asInt()).isEqualTo(1); // the word embeddings
        assertThat(lineage.path("size_bytes").path("before").asLong()).isGreaterThan(130_000_000L);
        assertThat(lineage.path("size_bytes").path("after").asLong())
                .isEqualTo(quantized.json().path("artifact").path("size_bytes").asLong());
        assertThat(lineage.path("speed").path("before").asDouble()).isPositive();
        assertThat(lineage.path("speed").path("after").asDouble()).isPositive();
        assertThat(lineage.path("speed").path("speedup").asDouble()).isPositive();
        assertThat(lineage.path("accuracy").path("sample").asInt()).isEqualTo(QuantizationSample.SENTENCES.size());
        assertThat(lineage.path("accuracy").path("sample_source").asString()).isEqualTo("default");
        assertThat(lineage.path("accuracy").path("cosine_mean").asDouble()).isGreaterThanOrEqualTo(0.99);
        assertThat(lineage.path("accuracy").path("cosine_min").asDouble()).isGreaterThan(0.9)
                .isLessThanOrEqualTo(lineage.path("accuracy").path("cosine_mean").asDouble());
    }

    @Test
    void served_quantizedEmbeddings_areWithinCosine099OfFloatAndAsCloseAsThePublishedInt8Build() {
        double ours = 0;
        double published = 0;
        double oursMin = 1;
        for (String sentence : SENTENCES) {
            float[] reference = embed("e5-fp32:1", sentence);
            double cosine = Vectors.cosine(reference, embed("e5-fp32:int8", sentence));
            double theirs = Vectors.cosine(reference, embed("e5-q", sentence));
            assertThat(cosine).as(sentence).isGreaterThanOrEqualTo(0.99);
            ours += cosine;
            published += theirs;
            oursMin = Math.min(oursMin, cosine);
        }
        ours /= SENTENCES.size();
        published /= SENTENCES.size();
        System.out.printf("cosine to fp32 on %d sentences: ours mean %.5f (min %.5f), e5-small-v2-q mean %.5f%n",
                SENTENCES.size(), ours, oursMin, published);
        assertThat(ours).isGreaterThanOrEqualTo(0.99).isGreaterThanOrEqualTo(published - MARGIN);
    }

    private static float[] embed(String model, String input) {
        Http.Reply reply = http.postJson("/v1/embeddings", Map.of("model", model, "input", input));
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        return Vectors.of(reply.json().path("data").get(0).path("embedding"));
    }
}
