package dev.atrium.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.BundledFiles;
import dev.atrium.testing.Http;
import dev.atrium.testing.TestServer;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An upload that fails in any way leaves no version and no stray file. */
class UploadTest {
    @TempDir
    Path files;

    private TestServer server;
    private Http http;

    @BeforeEach
    void start() {
        server = TestServer.start(Map.of("preload", "none", "max-upload-size", "30m"));
        http = server.http();
        assertThat(http.postJson("/admin/models", Map.of("name", "target", "task", "embedding")).status()).isEqualTo(201);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void upload_cutOffHalfWay_leavesNoVersionAndNoFile() throws Exception {
        byte[] model = Files.readAllBytes(BundledFiles.onnx(files));
        byte[] body = Http.multipart(Map.of("onnx", model));
        List<Path> before = storedFiles();
        try (Socket socket = new Socket("127.0.0.1", server.atrium().port())) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST /admin/models/target/versions HTTP/1.1\r\nHost: localhost\r\n"
                    + "Authorization: Bearer " + server.adminKey() + "\r\n"
                    + "Content-Type: multipart/form-data; boundary=" + Http.BOUNDARY + "\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(Arrays.copyOf(body, body.length / 2));
            out.flush();
            awaitStagingFile();
        }
        awaitEmptyStaging();
        assertThat(http.get("/admin/models/target").json().path("versions").size()).isZero();
        assertThat(storedFiles()).isEqualTo(before);

        // the server still takes a whole upload afterwards
        Http.Reply whole = http.post("/admin/models/target/versions", "multipart/form-data; boundary=" + Http.BOUNDARY, body);
        assertThat(whole.status()).as(whole.toString()).isEqualTo(201);
    }

    @Test
    void upload_invalidArtifacts_leaveNoVersionAndNoFile() throws Exception {
        List<Path> before = storedFiles();
        Map<String, byte[]> badTokenizer = new LinkedHashMap<>();
        badTokenizer.put("onnx", Files.readAllBytes(BundledFiles.onnx(files)));
        badTokenizer.put("tokenizer", "{\"model\": 42}".getBytes(StandardCharsets.UTF_8));
        Http.Reply reply = http.post("/admin/models/target/versions", "multipart/form-data; boundary=" + Http.BOUNDARY,
                Http.multipart(badTokenizer));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(422);
        assertThat(reply.json().path("error").path("message").asString()).contains("tokenizer");

        Http.Reply notOnnx = http.post("/admin/models/target/versions", "multipart/form-data; boundary=" + Http.BOUNDARY,
                Http.multipart(Map.of("onnx", new byte[] {1, 2, 3, 4, 5, 6, 7, 8})));
        assertThat(notOnnx.status()).isEqualTo(422);
        assertThat(notOnnx.json().path("error").path("message").asString()).doesNotContain(server.dataDir().toString());

        assertThat(http.get("/admin/models/target").json().path("versions").size()).isZero();
        assertThat(storedFiles()).isEqualTo(before);
        assertThat(stagingFiles()).isEmpty();
    }

    @Test
    void upload_overTheSizeLimit_isRefusedWith413_whetherDeclaredOrStreamed() throws Exception {
        byte[] big = new byte[31 * 1024 * 1024];
        Http.Reply declared = http.post("/admin/models/target/versions", "multipart/form-data; boundary=" + Http.BOUNDARY,
                Http.multipart(Map.of("onnx", big)));
        assertThat(declared.status()).isEqualTo(413);
        assertThat(declared.json().path("error").path("code").asString()).isEqualTo("request_too_large");

        // chunked: no Content-Length, so the limit is found while streaming
        byte[] body = Http.multipart(Map.of("onnx", big));
        Http.Reply streamed = http.send(http.request("/admin/models/target/versions")
                .header("Content-Type", "multipart/form-data; boundary=" + Http.BOUNDARY)
                .POST(java.net.http.HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(body)))
                .build());
        assertThat(streamed.status()).isEqualTo(413);
        assertThat(stagingFiles()).isEmpty();
        assertThat(http.get("/admin/models/target").json().path("versions").size()).isZero();
    }

    @Test
    void upload_validButUnusableForTheTask_isRefused() throws Exception {
        Path identity = new dev.atrium.testing.OnnxModelWriter()
                .input("x", dev.atrium.testing.OnnxModelWriter.ElementType.FLOAT, -1, 4)
                .output("y", dev.atrium.testing.OnnxModelWriter.ElementType.FLOAT, -1, 4)
                .node("Identity", List.of("x"), List.of("y"))
                .write(files.resolve("identity.onnx"));
        Http.Reply reply = http.upload("/admin/models/target/versions", Map.of("onnx", identity));
        assertThat(reply.status()).isEqualTo(422);
        assertThat(reply.json().path("error").path("message").asString()).contains("input_ids");
    }

    private List<Path> storedFiles() throws Exception {
        try (Stream<Path> stored = Files.walk(server.dataDir().resolve("artifacts"))) {
            return stored.filter(Files::isRegularFile).sorted().toList();
        }
    }

    private List<Path> stagingFiles() throws Exception {
        try (Stream<Path> staged = Files.list(server.dataDir().resolve("staging"))) {
            return staged.toList();
        }
    }

    private void awaitStagingFile() throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (stagingFiles().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(stagingFiles()).as("the upload reached the staging area").isNotEmpty();
    }

    private void awaitEmptyStaging() throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!stagingFiles().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(stagingFiles()).isEmpty();
    }
}
