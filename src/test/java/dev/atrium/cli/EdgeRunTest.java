package dev.atrium.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.registry.Bundle;
import dev.atrium.registry.SigningKey;
import dev.atrium.testing.BundledFiles;
import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import dev.atrium.testing.Vectors;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The edge mode on real models: a bundle exported from a server (the bundled MiniLM, the mobilenet image classifier,
 * a GGUF chat model) runs with no data directory of its own and answers the same embeddings, classifications and
 * chat text (temperature 0) as the server, under
 * the version number it had there; a bundle with one byte changed is refused before anything is served, and leaves
 * nothing behind.
 */
class EdgeRunTest {
    private static final Path IMAGE_MODEL = Path.of("../shared/models/mobilenetv3-small-3class.onnx");
    private static final Path IMAGES = Path.of("../shared/models/images");
    private static final List<String> SENTENCES = List.of("The edge answers as the server does.",
            "A bundle carries everything its version needs.", "Offline, with no database.",
            "Signed, so a changed byte is found.", "Résumé, naïve, 東京 — any text at all.");

    @TempDir
    static Path files;
    private static TestServer server;
    private static Http owner;
    private static PublicKey serverKey;
    private static Path encoderBundle;
    private static Path visionBundle;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(Map.of("preload", "none"));
        Tenants tenants = new Tenants(server.http());
        String tenant = tenants.tenant("edge-users");
        owner = server.http().withKey(tenants.key(tenant, "owner").secret());
        assertThat(owner.postJson("/admin/models", Map.of("name", "edge-encoder", "task", "embedding")).status())
                .isEqualTo(201);
        for (String pooling : List.of("cls", "mean")) { // version 2 is the one exported: numbers travel
            Map<String, byte[]> parts = new LinkedHashMap<>();
            parts.put("onnx", Files.readAllBytes(BundledFiles.onnx(files)));
            parts.put("tokenizer", Files.readAllBytes(BundledFiles.tokenizer(files)));
            parts.put("config", ("{\"pooling\": \"" + pooling + "\", \"normalize\": true}")
                    .getBytes(StandardCharsets.UTF_8));
            assertThat(owner.post("/admin/models/edge-encoder/versions", "multipart/form-data; boundary="
                    + Http.BOUNDARY, Http.multipart(parts)).status()).isEqualTo(201);
        }
        assertThat(owner.postJson("/admin/models", Map.of("name", "edge-vision", "task", "image-classification"))
                .status()).isEqualTo(201);
        assertThat(owner.post("/admin/models/edge-vision/versions", "multipart/form-data; boundary=" + Http.BOUNDARY,
                Http.multipart(Map.of("onnx", Files.readAllBytes(IMAGE_MODEL)))).status()).isEqualTo(201);
        serverKey = SigningKey.publicKey(owner.get("/admin/signing-key").json().path("public_key").asString());
        encoderBundle = export("edge-encoder", 2);
        visionBundle = export("edge-vision", 1);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static Path export(String model, int version) throws IOException {
        Http.Reply reply = owner.get("/admin/models/" + model + "/versions/" + version + "/bundle");
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        Path bundle = files.resolve(model + "-" + version + ".atrium.zip");
        Files.write(bundle, reply.raw().body());
        return bundle;
    }

    private static String newKey() {
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        return "atr-" + Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    }

    private static List<float[]> embed(Http http, String model) {
        Http.Reply reply = http.postJson("/v1/embeddings", Map.of("model", model, "input", SENTENCES));
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        List<float[]> vectors = new ArrayList<>();
        reply.json().path("data").forEach(item -> vectors.add(Vectors.of(item.path("embedding"))));
        return vectors;
    }

    @Test
    void embeddingBundle_atTheEdge_answersAsTheServer() {
        String key = newKey();
        try (RunCommand.Edge edge = RunCommand.start(encoderBundle, Optional.of(serverKey), key, 0, "127.0.0.1",
                null)) {
            Http edgeHttp = new Http("http://127.0.0.1:" + edge.atrium().port(), key);
            List<float[]> atServer = embed(owner, "edge-encoder:2");
            List<float[]> atEdge = embed(edgeHttp, "edge-encoder");
            for (int i = 0; i < SENTENCES.size(); i++) {
                assertThat(Vectors.cosine(atServer.get(i), atEdge.get(i))).as(SENTENCES.get(i))
                        .isGreaterThanOrEqualTo(0.9999);
            }
            // the version keeps its number; the edge serves the bundle alone, and only to its key
            Http.Reply byVersion = edgeHttp.postJson("/v1/embeddings", Map.of("model", "edge-encoder:2", "input", "x"));
            assertThat(byVersion.header("x-atrium-model-version")).isEqualTo("2");
            JsonNode models = edgeHttp.get("/v1/models").json().path("data");
            assertThat(models).extracting(model -> model.path("id").asString()).containsExactly("edge-encoder");
            assertThat(new Http("http://127.0.0.1:" + edge.atrium().port(), newKey()).get("/v1/models").status())
                    .isEqualTo(401);
            System.out.printf("edge start of %s: %d ms%n", encoderBundle.getFileName(), edge.startMillis());
        }
    }

    @Test
    void imageClassifierBundle_atTheEdge_classifiesAsTheServer() throws IOException {
        List<Object> images = new ArrayList<>();
        try (Stream<Path> photos = Files.list(IMAGES)) {
            for (Path photo : photos.sorted().toList()) {
                images.add("data:image/jpeg;base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(photo)));
            }
        }
        String key = newKey();
        try (RunCommand.Edge edge = RunCommand.start(visionBundle, Optional.of(serverKey), key, 0, "127.0.0.1",
                null)) {
            Http edgeHttp = new Http("http://127.0.0.1:" + edge.atrium().port(), key);
            Http.Reply atServer = owner.postJson("/v1/classifications", Map.of("model", "edge-vision", "input",
                    images));
            Http.Reply atEdge = edgeHttp.postJson("/v1/classifications", Map.of("model", "edge-vision", "input",
                    images));
            assertThat(atServer.status()).as(atServer.text()).isEqualTo(200);
            assertThat(atEdge.status()).as(atEdge.text()).isEqualTo(200);
            JsonNode server = atServer.json().path("data");
            JsonNode edgeData = atEdge.json().path("data");
            assertThat(edgeData).hasSize(images.size());
            java.util.Set<String> labels = new java.util.HashSet<>();
            for (int i = 0; i < images.size(); i++) {
                JsonNode best = edgeData.get(i).path("labels").get(0);
                labels.add(best.path("label").asString());
                assertThat(best.path("label").asString())
                        .isEqualTo(server.get(i).path("labels").get(0).path("label").asString());
                assertThat(best.path("score").asDouble()).isPositive().isCloseTo(server.get(i).path("labels").get(0)
                        .path("score").asDouble(), org.assertj.core.api.Assertions.within(1e-5));
            }
            assertThat(labels).as("the photos' classes").containsExactlyInAnyOrder("food", "report", "other");
        }
    }

    @Test
    void composedClassifierBundle_carriesItsEmbeddingModel_andClassifiesAsTheServer() throws Exception {
        int dimension = 384;
        float[] weights = new float[dimension * 3];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = (float) (4 * Math.sin(i * 0.37));
        }
        byte[] head = new dev.atrium.testing.OnnxModelWriter()
                .input("embedding", dev.atrium.testing.OnnxModelWriter.ElementType.FLOAT, -1, dimension)
                .initializer("weights", weights, dimension, 3)
                .node("MatMul", List.of("embedding", "weights"), List.of("logits"))
                .node("Softmax", List.of("logits"), List.of("probabilities"))
                .output("probabilities", dev.atrium.testing.OnnxModelWriter.ElementType.FLOAT, -1, 3)
                .toBytes();
        assertThat(owner.postJson("/admin/models", Map.of("name", "edge-topics", "task", "text-classification"))
                .status()).isEqualTo(201);
        Http.Reply uploaded = owner.post("/admin/models/edge-topics/versions", "multipart/form-data; boundary="
                + Http.BOUNDARY, Http.multipart(Map.of("onnx", head, "config", ("{\"embedding_model\":"
                + " \"edge-encoder:2\", \"labels\": [\"north\", \"south\", \"west\"]}")
                .getBytes(StandardCharsets.UTF_8))));
        assertThat(uploaded.status()).as(uploaded.text()).isEqualTo(201);
        Path bundle = export("edge-topics", 1);
        Bundle.Verified verified = Bundle.verify(bundle, Optional.of(serverKey), Optional.empty());
        assertThat(verified.manifest().path("parts").path("embedding").path("model").asString())
                .isEqualTo("edge-encoder");
        assertThat(verified.files()).extracting(Bundle.Entry::path).contains("parts/embedding/model.onnx",
                "parts/embedding/tokenizer.json", "parts/embedding/config.json");
        Map<String, Object> body = Map.of("model", "edge-topics", "input", SENTENCES);
        Http.Reply atServer = owner.postJson("/v1/classifications", body);
        assertThat(atServer.status()).as(atServer.text()).isEqualTo(200);
        String key = newKey();
        try (RunCommand.Edge edge = RunCommand.start(bundle, Optional.of(serverKey), key, 0, "127.0.0.1", null)) {
            Http.Reply atEdge = new Http("http://127.0.0.1:" + edge.atrium().port(), key)
                    .postJson("/v1/classifications", body);
            assertThat(atEdge.status()).as(atEdge.text()).isEqualTo(200);
            for (int i = 0; i < SENTENCES.size(); i++) {
                JsonNode server = atServer.json().path("data").get(i).path("labels");
                JsonNode edgeLabels = atEdge.json().path("data").get(i).path("labels");
                for (int l = 0; l < 3; l++) {
                    assertThat(edgeLabels.get(l).path("label").asString()).as(SENTENCES.get(i))
                            .isEqualTo(server.get(l).path("label").asString());
                    assertThat(edgeLabels.get(l).path("score").asDouble()).isCloseTo(server.get(l).path("score")
                            .asDouble(), org.assertj.core.api.Assertions.within(1e-4));
                }
            }
        }
    }

    @Test
    void chatBundle_atTheEdge_writesTheServersTextAtTemperatureZero() throws IOException {
        Path model = Path.of("../shared/models/aidreams260K-f32.gguf");
        dev.atrium.engine.llama.LlamaNatives natives = dev.atrium.engine.llama.LlamaNatives.defaults();
        if (!natives.present() || !Files.isRegularFile(model)) {
            System.out.println("EdgeRunTest chat: skipped: needs the llama.cpp libraries in " + natives.path()
                    + " (scripts/llama-natives.sh, which ./atrium and .ci/run call) and " + model);
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(natives.present() && Files.isRegularFile(model),
                "llama.cpp or the GGUF model is missing");
        assertThat(owner.postJson("/admin/models", Map.of("name", "edge-chat", "task", "chat", "engine", "llama"))
                .status()).isEqualTo(201);
        assertThat(owner.post("/admin/models/edge-chat/versions", "multipart/form-data; boundary=" + Http.BOUNDARY,
                Http.multipart(Map.of("gguf", Files.readAllBytes(model), "config",
                        "{\"slots\": 2, \"context_per_slot\": 128}".getBytes(StandardCharsets.UTF_8)))).status())
                .isEqualTo(201);
        Path chatBundle = export("edge-chat", 1);
        Map<String, Object> body = Map.of("model", "edge-chat", "messages", List.of(Map.of("role", "user",
                "content", "Once upon a time")), "max_tokens", 24, "temperature", 0);
        Http.Reply atServer = owner.postJson("/v1/chat/completions", body);
        assertThat(atServer.status()).as(atServer.text()).isEqualTo(200);
        String key = newKey();
        try (RunCommand.Edge edge = RunCommand.start(chatBundle, Optional.of(serverKey), key, 0, "127.0.0.1",
                null)) {
            Http.Reply atEdge = new Http("http://127.0.0.1:" + edge.atrium().port(), key)
                    .postJson("/v1/chat/completions", body);
            assertThat(atEdge.status()).as(atEdge.text()).isEqualTo(200);
            String text = atServer.json().path("choices").get(0).path("message").path("content").asString();
            assertThat(text).isNotBlank();
            assertThat(atEdge.json().path("choices").get(0).path("message").path("content").asString())
                    .isEqualTo(text);
            assertThat(atEdge.json().path("usage")).isEqualTo(atServer.json().path("usage"));
        }
    }

    @Test
    void tamperedBundle_isRefused_beforeServing_leavingNothing() throws Exception {
        Path tampered = files.resolve("tampered.atrium.zip");
        try (InputStream in = Files.newInputStream(encoderBundle); ZipInputStream zip = new ZipInputStream(in);
                OutputStream raw = Files.newOutputStream(tampered); ZipOutputStream out = new ZipOutputStream(raw)) {
            out.setLevel(java.util.zip.Deflater.NO_COMPRESSION);
            ZipEntry entry;
            while ((entry = zip.getNextEntry()) != null) {
                byte[] content = zip.readAllBytes();
                if (entry.getName().equals("files/tokenizer.json")) {
                    content[content.length / 3] ^= 0x04;
                }
                out.putNextEntry(new ZipEntry(entry.getName()));
                out.write(content);
                out.closeEntry();
            }
        }
        List<Path> before = edgeDirectories();
        assertThatThrownBy(() -> RunCommand.start(tampered, Optional.of(serverKey), newKey(), 0, "127.0.0.1", null))
                .isInstanceOf(Bundle.BundleException.class).hasMessageContaining("tokenizer.json");
        assertThat(edgeDirectories()).isEqualTo(before);
        // and from the command line, before a port is opened
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        picocli.CommandLine command = AtriumCommand.commandLine();
        command.setOut(new PrintWriter(out, true));
        command.setErr(new PrintWriter(err, true));
        int code = command.execute("run", tampered.toString(), "--public-key",
                Base64.getEncoder().encodeToString(serverKey.getEncoded()), "--port", "0");
        assertThat(code).isEqualTo(1);
        assertThat(err.toString()).contains("bundle refused").contains("tokenizer.json");
        assertThat(out.toString()).doesNotContain("serving");
    }

    private static List<Path> edgeDirectories() throws IOException {
        try (Stream<Path> paths = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return paths.filter(path -> path.getFileName().toString().startsWith("atrium-edge-")).sorted().toList();
        }
    }
}
