package dev.atrium.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.BundledFiles;
import dev.atrium.testing.Http;
import dev.atrium.testing.TestServer;
import dev.atrium.testing.Vectors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/** Versions, aliases and deletion through the management API, and that all of it survives a restart. */
class RegistryEndToEndTest {
    @TempDir
    Path files;

    private TestServer server;
    private Http http;
    private Path onnx;
    private Path tokenizer;
    private Path clsConfig;

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start(Map.of("preload", "none"));
        http = server.http();
        onnx = BundledFiles.onnx(files);
        tokenizer = BundledFiles.tokenizer(files);
        clsConfig = Files.writeString(files.resolve("config.json"), "{\"pooling\":\"cls\",\"max_length\":64}");
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void aliases_routeRequests_andSurviveRestart() {
        createModel("minilm");
        JsonNode v1 = upload("minilm", Map.of("onnx", onnx, "tokenizer", tokenizer));
        assertThat(v1.path("version").asInt()).isEqualTo(1);
        assertThat(v1.path("artifact").path("sha256").asString()).hasSize(64);
        assertThat(v1.path("artifact").path("size_bytes").asLong()).isEqualTo(fileSize(onnx));
        assertThat(v1.path("embedding").path("dimension").asInt()).isEqualTo(384);
        assertThat(v1.path("embedding").path("max_sequence_length").asInt()).isEqualTo(128);
        assertThat(v1.path("embedding").path("pooling").asString()).isEqualTo("mean");
        assertThat(v1.path("inputs").get(0).path("name").asString()).isEqualTo("input_ids");

        JsonNode v2 = upload("minilm", Map.of("onnx", onnx, "tokenizer", tokenizer, "config", clsConfig));
        assertThat(v2.path("version").asInt()).isEqualTo(2);
        assertThat(v2.path("embedding").path("pooling").asString()).isEqualTo("cls");
        assertThat(v2.path("embedding").path("max_sequence_length").asInt()).isEqualTo(64);
        assertThat(v2.path("config").path("pooling").asString()).isEqualTo("cls");

        float[] meanPooled = embedding("minilm:1");
        float[] clsPooled = embedding("minilm:2");
        assertThat(Vectors.cosine(meanPooled, clsPooled)).isLessThan(0.99);

        // no production alias: plain name is the latest version
        assertThat(embedVersion("minilm")).isEqualTo(2);
        assertThat(embedVersion("minilm:latest")).isEqualTo(2);

        assertThat(http.putJson("/admin/models/minilm/aliases/production", Map.of("version", 1)).status()).isEqualTo(200);
        assertThat(embedVersion("minilm")).isEqualTo(1);
        assertThat(embedding("minilm")).isEqualTo(meanPooled);
        assertThat(embedVersion("minilm:production")).isEqualTo(1);

        assertThat(http.putJson("/admin/models/minilm/aliases/production", Map.of("version", 2)).status()).isEqualTo(200);
        assertThat(embedVersion("minilm")).isEqualTo(2);
        assertThat(embedding("minilm")).isEqualTo(clsPooled);
        assertThat(http.putJson("/admin/models/minilm/aliases/staging", Map.of("version", 1)).status()).isEqualTo(200);
        assertThat(embedVersion("minilm:staging")).isEqualTo(1);

        // the v2 protocol follows the same alias
        assertThat(http.get("/v2/models/minilm:staging").json().path("versions").size()).isEqualTo(2);

        server.restart();
        http = server.http();

        JsonNode model = http.get("/admin/models/minilm").json();
        assertThat(model.path("versions").toString()).isEqualTo("[1,2]");
        assertThat(model.path("aliases").path("production").asInt()).isEqualTo(2);
        assertThat(model.path("aliases").path("staging").asInt()).isEqualTo(1);
        assertThat(embedVersion("minilm")).isEqualTo(2);
        assertThat(embedding("minilm:staging")).isEqualTo(meanPooled);
        assertThat(http.get("/admin/models/minilm/versions/2").json().path("config").path("pooling").asString())
                .isEqualTo("cls");
    }

    @Test
    void deleteVersion_answers404Afterwards_andIsRefusedWhileAnAliasPointsAtIt() throws Exception {
        createModel("minilm");
        upload("minilm", Map.of("onnx", onnx, "tokenizer", tokenizer));
        upload("minilm", Map.of("onnx", onnx, "tokenizer", tokenizer, "config", clsConfig));
        http.putJson("/admin/models/minilm/aliases/production", Map.of("version", 1));

        Http.Reply refused = http.delete("/admin/models/minilm/versions/1");
        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.json().path("error").path("message").asString()).contains("production");

        assertThat(http.delete("/admin/models/minilm/versions/2").status()).isEqualTo(204);
        Http.Reply gone = http.postJson("/v1/embeddings", Map.of("model", "minilm:2", "input", "x"));
        assertThat(gone.status()).isEqualTo(404);
        assertThat(gone.json().path("error").path("code").asString()).isEqualTo("model_not_found");
        assertThat(http.get("/v2/models/minilm/versions/2").status()).isEqualTo(404);
        assertThat(http.get("/admin/models/minilm/versions/2").status()).isEqualTo(404);
        assertThat(http.delete("/admin/models/minilm/versions/2").status()).isEqualTo(404);

        // numbers are never reused
        assertThat(upload("minilm", Map.of("onnx", onnx, "tokenizer", tokenizer)).path("version").asInt()).isEqualTo(3);

        assertThat(http.delete("/admin/models/minilm/aliases/production").status()).isEqualTo(204);
        assertThat(http.delete("/admin/models/minilm/versions/1").status()).isEqualTo(204);
        assertThat(embedVersion("minilm")).isEqualTo(3);

        server.restart();
        http = server.http();
        assertThat(http.get("/admin/models/minilm").json().path("versions").toString()).isEqualTo("[3]");
        assertThat(http.get("/admin/models/minilm/versions/1").status()).isEqualTo(404);
    }

    @Test
    void deleteModel_removesItsArtifactsButKeepsSharedOnes() throws Exception {
        createModel("copy");
        upload("copy", Map.of("onnx", onnx, "tokenizer", tokenizer));
        // the bundled model has the same files: content-addressed, they are stored once
        assertThat(artifactCount()).isEqualTo(2);
        assertThat(http.delete("/admin/models/copy").status()).isEqualTo(204);
        assertThat(http.get("/admin/models/copy").status()).isEqualTo(404);
        assertThat(artifactCount()).isEqualTo(2);
        assertThat(http.delete("/admin/models/all-minilm-l6-v2").status()).isEqualTo(204);
        assertThat(artifactCount()).isZero();

        // the bundled model is registered on first start only: its deletion is respected
        server.restart();
        assertThat(server.http().get("/admin/models/all-minilm-l6-v2").status()).isEqualTo(404);
    }

    @Test
    void loadAndUnload_showInTheVersion() {
        assertThat(http.get("/admin/models/all-minilm-l6-v2/versions/1").json().path("loaded").asBoolean()).isFalse();
        assertThat(http.post("/admin/models/all-minilm-l6-v2/versions/1/load", null, new byte[0]).status()).isEqualTo(200);
        assertThat(http.get("/admin/models/all-minilm-l6-v2/versions/1").json().path("loaded").asBoolean()).isTrue();
        assertThat(http.post("/admin/models/all-minilm-l6-v2/versions/1/unload", null, new byte[0]).status()).isEqualTo(200);
        assertThat(http.get("/admin/models/all-minilm-l6-v2/versions/1").json().path("loaded").asBoolean()).isFalse();
        assertThat(embedVersion("all-minilm-l6-v2")).isEqualTo(1);
    }

    @Test
    void models_listShowsVersionsAndAliases() {
        createModel("listed");
        upload("listed", Map.of("onnx", onnx, "tokenizer", tokenizer));
        JsonNode models = http.get("/admin/models").json().path("models");
        assertThat(models.size()).isEqualTo(2);
        JsonNode listed = models.get(1);
        assertThat(listed.path("name").asString()).isEqualTo("listed");
        assertThat(listed.path("task").asString()).isEqualTo("embedding");
        assertThat(listed.path("engine").asString()).isEqualTo("onnx");
        assertThat(listed.path("aliases").path("latest").asInt()).isEqualTo(1);
        JsonNode openAi = http.get("/v1/models/listed").json();
        assertThat(openAi.path("context_length").asInt()).isEqualTo(128);
        assertThat(openAi.path("embedding_dimension").asInt()).isEqualTo(384);
        assertThat(http.get("/admin/models/listed/versions").json().path("versions").size()).isEqualTo(1);
    }

    private void createModel(String name) {
        Http.Reply reply = http.postJson("/admin/models", Map.of("name", name, "task", "embedding", "engine", "onnx",
                "description", "test model"));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(201);
    }

    private JsonNode upload(String name, Map<String, Path> parts) {
        Http.Reply reply = http.upload("/admin/models/" + name + "/versions", parts);
        assertThat(reply.status()).as(reply.toString()).isEqualTo(201);
        return reply.json();
    }

    private float[] embedding(String model) {
        Http.Reply reply = http.postJson("/v1/embeddings", Map.of("model", model, "input", "Which version answers?"));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
        return Vectors.of(reply.json().path("data").get(0).path("embedding"));
    }

    private int embedVersion(String model) {
        Http.Reply reply = http.postJson("/v1/embeddings", Map.of("model", model, "input", List.of("version?")));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
        return Integer.parseInt(reply.header("x-atrium-model-version"));
    }

    private long artifactCount() throws Exception {
        try (Stream<Path> stored = Files.walk(server.dataDir().resolve("artifacts"))) {
            return stored.filter(Files::isRegularFile).count();
        }
    }

    private static long fileSize(Path file) {
        try {
            return Files.size(file);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
