package dev.atrium.admin;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.atrium.engine.Pooling;
import dev.atrium.testing.Http;
import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.OnnxModelWriter.ElementType;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.io.InputStream;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * {@code GET /admin/models/{name}/versions/{version}/onnx} end to end. A tenant fine-tunes a text classifier through
 * the API; it and classifiers composed over embedding models of every pooling export as one ONNX model that ONNX
 * Runtime, run here on texts tokenized here with the model's tokenizer, answers the probabilities that
 * {@code /v1/classifications} serves. Other ONNX versions export their file as it is, a remote version is refused,
 * and another tenant's model answers like a missing one.
 *
 * <p>Each text is classified alone, served and merged: the bundled encoder is int8-quantized with dynamic
 * quantization, whose scales come from the whole input tensor, so a text's embedding depends on what it is batched
 * and padded with. Alone, both runs feed the encoder the same tensors, and what is left to differ is float rounding
 * in pooling and normalization (the engine sums in float and normalizes in double, ONNX Runtime reduces in float in
 * its own order) and in the head: a few ulps of float, which moved no probability by more than 2.4e-7 here. The
 * tolerance, {@value #TOLERANCE}, leaves forty times that, and is far below what a wrong pooling, a missing
 * normalization or a mislabelled output shifts probabilities by (tenths; each test asserts that its probabilities
 * spread, so that none passes on scores stuck at 0 or 1).
 */
class OnnxExportTest {
    private static final double TOLERANCE = 1e-5;
    private static final List<String> LABELS = List.of("sports", "cooking", "computers");
    private static final Map<String, List<String>> TEMPLATES = Map.of(
            "sports", List.of("the team won the %s match", "the striker scored in the %s game",
                    "fans cheered at the %s stadium"),
            "cooking", List.of("simmer the %s sauce slowly", "bake the %s bread until golden",
                    "chop the %s onions finely"),
            "computers", List.of("the %s laptop needs more memory", "install the %s software update",
                    "the %s server crashed overnight"));
    private static final List<String> WORDS = List.of("big", "small", "new", "old", "local", "famous", "quiet",
            "busy", "early", "late");
    /** Held-out texts of several lengths, one of them long enough to be cut nowhere near. */
    private static final List<String> TEXTS = List.of(
            "The goalkeeper made a brilliant save in extra time.",
            "Whisk the eggs and fold in the flour.",
            "My keyboard stopped working after the driver update.",
            "Rain.",
            "After a long week of meetings, the team finally shipped the new release of the database, celebrated"
                    + " with pizza, and then watched the football final together late into the night.");

    private static TestServer server;
    private static Http admin;
    private static Http owner;
    private static Http member;
    private static Http otherOwner;
    private static OrtEnvironment environment;
    private static HuggingFaceTokenizer tokenizer;
    private static byte[] encoder;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(Map.of("preload", "none"));
        admin = server.http();
        Tenants tenants = new Tenants(admin);
        String tenant = tenants.tenant("exporters");
        owner = admin.withKey(tenants.key(tenant, "owner").secret());
        member = admin.withKey(tenants.key(tenant, "member").secret());
        otherOwner = admin.withKey(tenants.key(tenants.tenant("others"), "owner").secret());
        environment = OrtEnvironment.getEnvironment();
        try (InputStream in = OnnxExportTest.class.getResourceAsStream("/all-minilm-l6-v2-q-tokenizer.json")) {
            // as the engine tokenizes (TextTokenizer): special tokens, no padding, no truncation
            tokenizer = HuggingFaceTokenizer.newInstance(in, Map.of("padding", "false", "truncation", "false",
                    "addSpecialTokens", "true"));
        }
        try (InputStream in = OnnxExportTest.class.getResourceAsStream("/all-minilm-l6-v2-q.onnx")) {
            encoder = in.readAllBytes();
        }
        fineTune();
    }

    @AfterAll
    static void stop() {
        if (tokenizer != null) {
            tokenizer.close();
        }
        server.close();
    }

    /** A tenant's member trains {@code topics:1}, a composed classifier over all-minilm-l6-v2, through the API. */
    private static void fineTune() throws Exception {
        Random random = new Random(3);
        List<String> lines = new ArrayList<>();
        for (String label : LABELS) {
            for (int i = 0; i < 20; i++) {
                List<String> templates = TEMPLATES.get(label);
                String text = templates.get(random.nextInt(templates.size()))
                        .formatted(WORDS.get(random.nextInt(WORDS.size())));
                lines.add("{\"text\": \"" + text + "\", \"label\": \"" + label + "\"}");
            }
        }
        java.util.Collections.shuffle(lines, random);
        Http.Reply file = member.postForm("/v1/files", Map.of("purpose", "fine-tune"),
                List.of((String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8)));
        assertThat(file.status()).as(file.toString()).isEqualTo(200);
        Http.Reply created = member.postJson("/v1/fine_tuning/jobs", Map.of("model", "all-minilm-l6-v2",
                "training_file", file.json().path("id").asString(), "suffix", "topics", "seed", 5));
        assertThat(created.status()).as(created.toString()).isEqualTo(200);
        String id = created.json().path("id").asString();
        JsonNode job = member.awaitJobEnd(id, Duration.ofMinutes(2));
        assertThat(job.path("status").asString()).as(job.toString()).isEqualTo("succeeded");
        assertThat(job.path("fine_tuned_model").asString()).isEqualTo("topics:1");
    }

    @Test
    void exportOnnx_fineTunedClassifier_isOneModelThatAnswersTheServedProbabilities() throws Exception {
        Http.Reply reply = member.get("/admin/models/topics/versions/1/onnx");
        assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
        assertThat(reply.header("Content-Type")).isEqualTo("application/octet-stream");
        assertThat(reply.header("Content-Disposition")).isEqualTo("attachment; filename=\"topics-1.onnx\"");
        assertThat(reply.header("Content-Length")).isEqualTo(Integer.toString(reply.raw().body().length));
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                OrtSession session = environment.createSession(reply.raw().body(), options)) {
            // the encoder's own inputs, as it declares them; the head's output, as it names it
            assertThat(List.copyOf(session.getInputNames()))
                    .containsExactly("input_ids", "attention_mask", "token_type_ids");
            for (NodeInfo input : session.getInputInfo().values()) {
                TensorInfo info = (TensorInfo) input.getInfo();
                assertThat(info.type).as(input.getName()).isEqualTo(ai.onnxruntime.OnnxJavaType.INT64);
                assertThat(info.getShape()).as(input.getName()).containsExactly(-1, -1);
            }
            assertThat(List.copyOf(session.getOutputNames())).containsExactly("probabilities");
            TensorInfo output = (TensorInfo) session.getOutputInfo().get("probabilities").getInfo();
            assertThat(output.type).isEqualTo(ai.onnxruntime.OnnxJavaType.FLOAT);
            assertThat(output.getShape()).containsExactly(-1, LABELS.size());
            Map<String, String> metadata = session.getMetadata().getCustomMetadata();
            assertThat(metadata).containsEntry("labels", String.join(",", labels(member, "topics")))
                    .containsEntry("atrium.embedding_model", "all-minilm-l6-v2:1")
                    .containsEntry("atrium.pooling", "mean").containsEntry("atrium.normalize", "true");
            assertSameProbabilities(member, "topics", session);
        }
    }

    /**
     * One composed classifier over an embedding model of each pooling the engine has (a new one fails here until
     * it has its case), with and without normalization, opset 11 and 13 encoders, heads of probabilities, logits
     * and a Gemm.
     */
    @Test
    void versionFiles_downloadAsUploaded_theTokenizerAMergedExportNeeds() throws Exception {
        JsonNode encoder = member.get("/admin/models/all-minilm-l6-v2/versions/1").json();
        String sha256 = null;
        for (JsonNode file : encoder.path("files")) {
            if (file.path("role").asString().equals("tokenizer")) {
                sha256 = file.path("sha256").asString();
            }
        }
        Http.Reply tokenizer = member.get("/admin/models/all-minilm-l6-v2/versions/1/files/tokenizer");
        assertThat(tokenizer.status()).isEqualTo(200);
        assertThat(tokenizer.header("Content-Disposition")).contains("all-minilm-l6-v2-1-tokenizer.json");
        assertThat(java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(tokenizer.raw().body()))).isEqualTo(sha256).isEqualTo(tokenizer.header("x-atrium-sha256"));
        assertThat(member.get("/admin/models/topics/versions/1/files/tokenizer").status()).isEqualTo(404);
        assertThat(otherOwner.get("/admin/models/topics/versions/1/files/onnx").status()).isEqualTo(404);
        Http.Reply head = member.get("/admin/models/topics/versions/1/files/onnx");
        assertThat(head.status()).isEqualTo(200);
        assertThat(head.raw().body().length).isEqualTo(member.get("/admin/models/topics/versions/1").json()
                .path("artifact").path("size_bytes").asInt());
    }

    @Test
    void exportOnnx_composedOverEveryPooling_answersTheServedProbabilities() throws Exception {
        Random random = new Random(11);
        for (Pooling pooling : Pooling.values()) {
            String embedding = "encoder-" + pooling.wireName().replace('_', '-');
            String classifier = "classifier-" + pooling.wireName().replace('_', '-');
            record Variant(byte[] onnx, String config, int dimension, double weightScale, Head head) {}
            // normalized embeddings have unit length, mean-pooled ones of MiniLM about 4: scaled so that the
            // probabilities spread
            Variant variant = switch (pooling) {
                case MEAN -> new Variant(encoder, "{\"pooling\": \"mean\", \"normalize\": false}", 384, 0.5,
                        Head.PROBABILITIES);
                case CLS -> new Variant(encoder, "{\"pooling\": \"cls\", \"normalize\": true}", 384, 3,
                        Head.LOGITS);
                case LAST -> new Variant(encoder, "{\"pooling\": \"last_token\", \"normalize\": true}", 384, 3,
                        Head.GEMM);
                case NONE -> new Variant(sentenceEncoder(8), "{\"pooling\": \"none\", \"normalize\": true}", 8, 3,
                        Head.PROBABILITIES);
            };
            assertThat(owner.postJson("/admin/models", Map.of("name", embedding, "task", "embedding")).status())
                    .isEqualTo(201);
            Http.Reply encoderUpload = owner.post("/admin/models/" + embedding + "/versions",
                    "multipart/form-data; boundary=" + Http.BOUNDARY, Http.multipart(Map.of("onnx", variant.onnx(),
                            "tokenizer", tokenizerJson(),
                            "config", variant.config().getBytes(StandardCharsets.UTF_8))));
            assertThat(encoderUpload.status()).as(encoderUpload.toString()).isEqualTo(201);
            assertThat(owner.postJson("/admin/models", Map.of("name", classifier, "task", "text-classification"))
                    .status()).isEqualTo(201);
            String config = "{\"embedding_model\": \"" + embedding + "\", \"labels\": [\"sports\", \"cooking\","
                    + " \"computers\"]}";
            Http.Reply headUpload = owner.post("/admin/models/" + classifier + "/versions",
                    "multipart/form-data; boundary=" + Http.BOUNDARY, Http.multipart(Map.of("onnx",
                            variant.head().write(random, variant.dimension(), variant.weightScale()),
                            "config", config.getBytes(StandardCharsets.UTF_8))));
            assertThat(headUpload.status()).as(headUpload.toString()).isEqualTo(201);

            Http.Reply reply = owner.get("/admin/models/" + classifier + "/versions/1/onnx");
            assertThat(reply.status()).as(pooling + ": " + reply).isEqualTo(200);
            try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                    OrtSession session = environment.createSession(reply.raw().body(), options)) {
                List<String> inputs = variant.onnx() == encoder
                        ? List.of("input_ids", "attention_mask", "token_type_ids")
                        : List.of("input_ids", "attention_mask");
                assertThat(List.copyOf(session.getInputNames())).as(pooling.toString()).isEqualTo(inputs);
                assertThat(List.copyOf(session.getOutputNames())).as(pooling.toString())
                        .containsExactly(variant.head().output());
                assertThat(session.getMetadata().getCustomMetadata()).containsEntry("atrium.pooling",
                        pooling.wireName());
                assertSameProbabilities(owner, classifier, session);
            }
        }
    }

    @Test
    void exportOnnx_ofAnOnnxVersionNotComposed_isItsFileAsItIs() throws Exception {
        byte[] identity = new OnnxModelWriter()
                .input("x", ElementType.FLOAT, -1, 2)
                .output("y", ElementType.FLOAT, -1, 2)
                .node("Identity", List.of("x"), List.of("y"))
                .toBytes();
        assertThat(owner.postJson("/admin/models", Map.of("name", "plain", "task", "tensor")).status()).isEqualTo(201);
        Http.Reply upload = owner.post("/admin/models/plain/versions", "multipart/form-data; boundary="
                + Http.BOUNDARY, Http.multipart(Map.of("onnx", identity)));
        assertThat(upload.status()).as(upload.toString()).isEqualTo(201);

        Http.Reply reply = member.get("/admin/models/plain/versions/1/onnx");
        assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
        assertThat(reply.header("Content-Disposition")).isEqualTo("attachment; filename=\"plain-1.onnx\"");
        assertThat(sha256(reply.raw().body())).isEqualTo(sha256(identity))
                .isEqualTo(member.get("/admin/models/plain/versions/1").json().path("artifact").path("sha256")
                        .asString());
        // the bundled embedding model, public, is its ONNX file (its tokenizer stays a file of its own)
        Http.Reply bundled = member.get("/admin/models/all-minilm-l6-v2/versions/1/onnx");
        assertThat(bundled.status()).isEqualTo(200);
        assertThat(sha256(bundled.raw().body())).isEqualTo(sha256(encoder));
    }

    @Test
    void exportOnnx_ofARemoteVersion_is400InTheAdminErrorShape() {
        assertThat(admin.postJson("/admin/upstreams", Map.of("host", "127.0.0.1:9")).status()).isEqualTo(201);
        assertThat(admin.postJson("/admin/models", Map.of("name", "far", "task", "chat", "engine", "remote"))
                .status()).isEqualTo(201);
        Http.Reply version = admin.postJson("/admin/models/far/versions", Map.of("base_url", "http://127.0.0.1:9/v1",
                "upstream_model", "m"));
        assertThat(version.status()).as(version.toString()).isEqualTo(201);

        Http.Reply reply = member.get("/admin/models/far/versions/1/onnx");
        assertThat(reply.status()).as(reply.toString()).isEqualTo(400);
        assertThat(reply.header("Content-Type")).startsWith("application/json");
        JsonNode error = reply.json().path("error");
        assertThat(error.path("code").asString()).isEqualTo("unsupported_by_model");
        assertThat(error.path("type").asString()).isEqualTo("invalid_request_error");
        assertThat(error.path("message").asString()).isEqualTo("version 1 of model 'far' is a remote model, served"
                + " by its upstream; it has no ONNX file to export");
    }

    @Test
    void exportOnnx_byAnotherTenant_answersLikeAMissingModel() {
        Http.Reply foreign = otherOwner.get("/admin/models/topics/versions/1/onnx");
        Http.Reply missing = otherOwner.get("/admin/models/zz-missing/versions/1/onnx");
        assertThat(foreign.status()).as(foreign.toString()).isEqualTo(404);
        assertThat(foreign.text().replace("topics", "{model}")).isEqualTo(missing.text().replace("zz-missing",
                "{model}"));
        assertThat(foreign.json().path("error").path("code").asString()).isEqualTo("model_not_found");
        // the owner's own tenant sees it, and a version it does not have is a 404 too
        assertThat(owner.get("/admin/models/topics/versions/1/onnx").status()).isEqualTo(200);
        assertThat(owner.get("/admin/models/topics/versions/2/onnx").status()).isEqualTo(404);
        assertThat(owner.get("/admin/models/topics/versions/x/onnx").status()).isEqualTo(404);
    }

    // ---- comparing the merged model with the server ---------------------------------------------------------------

    /** Each text, alone: the merged model's probabilities are the served scores, label by label. */
    private static void assertSameProbabilities(Http http, String model, OrtSession session) throws OrtException {
        List<String> labels = labels(http, model);
        double maxDifference = 0;
        double spread = 0;
        for (String text : TEXTS) {
            Http.Reply reply = http.postJson("/v1/classifications", Map.of("model", model, "input", text,
                    "top_k", labels.size()));
            assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
            Map<String, Double> served = new LinkedHashMap<>();
            for (JsonNode label : reply.json().path("data").get(0).path("labels")) {
                served.put(label.path("label").asString(), label.path("score").asDouble());
            }
            float[] merged = run(session, tokenizer.encode(text).getIds());
            assertThat(merged).hasSize(labels.size());
            for (int i = 0; i < labels.size(); i++) {
                assertThat((double) merged[i]).as(model + " " + labels.get(i) + " of '" + text + "'")
                        .isCloseTo(served.get(labels.get(i)), org.assertj.core.data.Offset.offset(TOLERANCE));
                maxDifference = Math.max(maxDifference, Math.abs(merged[i] - served.get(labels.get(i))));
                spread = Math.max(spread, Math.min(merged[i], 1 - merged[i]));
            }
        }
        System.out.printf("OnnxExportTest: %s: merged and served probabilities differ by at most %.2e%n", model,
                maxDifference);
        // scores that all sat at 0 or 1 would hide a wrong embedding: some probability is well inside (0, 1)
        assertThat(spread).as(model + ": the probabilities spread").isGreaterThan(0.05);
    }

    private static float[] run(OrtSession session, long[] ids) throws OrtException {
        long[] shape = {1, ids.length};
        long[] mask = new long[ids.length];
        Arrays.fill(mask, 1);
        Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
        try {
            inputs.put("input_ids", OnnxTensor.createTensor(environment, LongBuffer.wrap(ids), shape));
            inputs.put("attention_mask", OnnxTensor.createTensor(environment, LongBuffer.wrap(mask), shape));
            if (session.getInputNames().contains("token_type_ids")) {
                inputs.put("token_type_ids", OnnxTensor.createTensor(environment,
                        LongBuffer.wrap(new long[ids.length]), shape));
            }
            try (OrtSession.Result result = session.run(inputs)) {
                return ((float[][]) result.get(0).getValue())[0];
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    private static List<String> labels(Http http, String model) {
        return http.get("/v1/models/" + model).json().path("labels").valueStream().map(JsonNode::asString).toList();
    }

    // ---- models -----------------------------------------------------------------------------------------------

    /** Heads over an embedding of some width, with random weights, three ways of giving their scores. */
    private enum Head {
        /** MatMul, then Softmax with its default axis (opset 13's -1; opset 11's is 1). */
        PROBABILITIES("probabilities"),
        /** MatMul and a bias: logits, which the server (and the merged model) turn into probabilities. */
        LOGITS("probabilities"),
        /** Gemm with a bias, then Softmax. */
        GEMM("probs");

        private final String output;

        Head(String output) {
            this.output = output;
        }

        /** The merged model's output. */
        String output() {
            return output;
        }

        byte[] write(Random random, int dimension, double scale) {
            int classes = LABELS.size();
            float[] weights = new float[dimension * classes];
            for (int i = 0; i < weights.length; i++) {
                weights[i] = (float) (random.nextGaussian() * scale);
            }
            OnnxModelWriter writer = new OnnxModelWriter()
                    .input("embedding", ElementType.FLOAT, -1, dimension)
                    .initializer("weights", weights, dimension, classes);
            if (this != PROBABILITIES) {
                writer.initializer("bias", new float[] {0.3f, -0.2f, 0.1f}, classes);
            }
            return switch (this) {
                case PROBABILITIES -> writer
                        .node("MatMul", List.of("embedding", "weights"), List.of("logits"))
                        .node("Softmax", List.of("logits"), List.of("probabilities"))
                        .output("probabilities", ElementType.FLOAT, -1, classes).toBytes();
                case LOGITS -> writer
                        .node("MatMul", List.of("embedding", "weights"), List.of("product"))
                        .node("Add", List.of("product", "bias"), List.of("logits"))
                        .output("logits", ElementType.FLOAT, -1, classes).toBytes();
                case GEMM -> writer
                        .node("Gemm", List.of("embedding", "weights", "bias"), List.of("scores"))
                        .node("Softmax", List.of("scores"), List.of("probs"))
                        .output("probs", ElementType.FLOAT, -1, classes).toBytes();
            };
        }
    }

    /**
     * An encoder that already outputs one vector per input ({@code pooling: none}), of opset 13: the sum of a
     * random embedding table's rows for the input's tokens, [batch, dimension].
     */
    private static byte[] sentenceEncoder(int dimension) {
        int vocabulary = 30522; // the tokenizer's
        Random random = new Random(17);
        float[] table = new float[vocabulary * dimension];
        for (int i = 0; i < table.length; i++) {
            table[i] = (float) (random.nextGaussian() * 0.1);
        }
        return new OnnxModelWriter()
                .input("input_ids", ElementType.INT64, -1, -2)
                .input("attention_mask", ElementType.INT64, -1, -2)
                .initializer("table", table, vocabulary, dimension)
                .initializer("axis", new long[] {1}, 1)
                .node("Gather", List.of("table", "input_ids"), List.of("tokens"))
                .node("ReduceSum", List.of("tokens", "axis"), List.of("summed"))
                .node("Squeeze", List.of("summed", "axis"), List.of("sentence_embedding"))
                .output("sentence_embedding", ElementType.FLOAT, -1, dimension)
                .toBytes();
    }

    private static byte[] tokenizerJson() throws Exception {
        try (InputStream in = OnnxExportTest.class.getResourceAsStream("/all-minilm-l6-v2-q-tokenizer.json")) {
            return in.readAllBytes();
        }
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
