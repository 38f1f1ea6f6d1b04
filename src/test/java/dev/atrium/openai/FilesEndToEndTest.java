package dev.atrium.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.NotFoundException;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /v1/files} with the official OpenAI SDK: upload, list, retrieve, content and delete, per tenant; the bytes are
 * encrypted at rest (a canary string in a file is in none of the data directory's files, the database and its WAL
 * included, while it is stored or after), and a deleted tenant's files cannot be read back.
 */
class FilesEndToEndTest {
    private static TestServer server;
    private static Http admin;
    private static Tenants tenants;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("preload", "none"));
        admin = server.http();
        tenants = new Tenants(admin);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static OpenAIClient client(String key) {
        return OpenAIOkHttpClient.builder().baseUrl(server.baseUrl() + "/v1").apiKey(key).build();
    }

    private static String jsonl(String canary, int lines) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < lines; i++) {
            text.append("{\"text\": \"line ").append(i).append(' ').append(canary).append("\", \"label\": \"")
                    .append(i % 3).append("\"}\n");
        }
        return text.toString();
    }

    /** Whether any file below the data directory holds the bytes. */
    private static boolean dataDirectoryHolds(String canary) throws IOException {
        byte[] needle = canary.getBytes(StandardCharsets.UTF_8);
        try (Stream<Path> files = Files.walk(server.dataDir())) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                byte[] bytes = Files.readAllBytes(file);
                for (int i = 0; i + needle.length <= bytes.length; i++) {
                    if (java.util.Arrays.equals(bytes, i, i + needle.length, needle, 0, needle.length)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    @Test
    void sdk_uploadListRetrieveContentDelete_withTheBytesEncryptedAtRest() throws IOException {
        String tenant = tenants.tenant("files-" + UUID.randomUUID().toString().substring(0, 8));
        OpenAIClient client = client(tenants.key(tenant, "member").secret());
        String canary = "canary-" + UUID.randomUUID();
        String text = jsonl(canary, 2000);
        FileObject file = client.files().create(FileCreateParams.builder()
                .file(text.getBytes(StandardCharsets.UTF_8)).purpose(FilePurpose.FINE_TUNE).build());
        assertThat(file.id()).startsWith("file-");
        assertThat(file.bytes()).isEqualTo(text.getBytes(StandardCharsets.UTF_8).length);
        assertThat(client.files().retrieve(file.id()).bytes()).isEqualTo(file.bytes());
        assertThat(client.files().list().data()).extracting(FileObject::id).contains(file.id());
        try (var content = client.files().content(file.id()); InputStream body = content.body()) {
            assertThat(new String(body.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(text);
        }
        assertThat(dataDirectoryHolds(canary)).as("the canary in the data directory while stored").isFalse();

        assertThat(client.files().delete(file.id()).deleted()).isTrue();
        assertThatThrownBy(() -> client.files().retrieve(file.id())).isInstanceOf(NotFoundException.class);
        assertThat(dataDirectoryHolds(canary)).as("the canary in the data directory after the delete").isFalse();
    }

    @Test
    void files_ofOneTenant_areNotFoundByAnother() {
        String first = tenants.tenant("owner-a-" + UUID.randomUUID().toString().substring(0, 8));
        String second = tenants.tenant("owner-b-" + UUID.randomUUID().toString().substring(0, 8));
        OpenAIClient mine = client(tenants.key(first, "member").secret());
        Http theirs = admin.withKey(tenants.key(second, "owner").secret());
        FileObject file = mine.files().create(FileCreateParams.builder()
                .file(jsonl("x", 3).getBytes(StandardCharsets.UTF_8)).purpose(FilePurpose.FINE_TUNE).build());
        assertThat(theirs.get("/v1/files/" + file.id()).status()).isEqualTo(404);
        assertThat(theirs.get("/v1/files/" + file.id() + "/content").status()).isEqualTo(404);
        assertThat(theirs.delete("/v1/files/" + file.id()).status()).isEqualTo(404);
        assertThat(theirs.get("/v1/files").json().path("data").toString()).doesNotContain(file.id());
        assertThat(mine.files().retrieve(file.id()).id()).isEqualTo(file.id());
    }

    /** The blobs kept in the tenant's directory of the data directory: its files', and what jobs made of them. */
    private static List<Path> tenantBlobs(String tenant) throws IOException {
        Path directory = server.dataDir().resolve("tenant-files").resolve(tenant);
        if (!Files.isDirectory(directory)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(directory)) {
            return files.filter(Files::isRegularFile).toList();
        }
    }

    /** A deleted tenant's files, and the embeddings a job kept of them, cannot be read back. */
    @Test
    void deletedTenant_itsFilesAndTheirEmbeddingsCannotBeReadBack() throws Exception {
        String tenant = tenants.tenant("leaving-" + UUID.randomUUID().toString().substring(0, 8));
        OpenAIClient client = client(tenants.key(tenant, "member").secret());
        String canary = "canary-" + UUID.randomUUID();
        FileObject file = client.files().create(FileCreateParams.builder()
                .file(jsonl(canary, 30).getBytes(StandardCharsets.UTF_8)).purpose(FilePurpose.FINE_TUNE).build());
        long rows = server.atrium().trainingFiles().list(tenant, java.util.Optional.empty(), java.util.Optional.empty(),
                100, true).size();
        assertThat(rows).isEqualTo(1);
        Http member = admin.withKey(tenants.key(tenant, "member").secret());
        Http.Reply job = member.postJson("/v1/fine_tuning/jobs", Map.of("model", "all-minilm-l6-v2",
                "training_file", file.id(), "suffix", "canaries", "hyperparameters", Map.of("n_epochs", 2)));
        assertThat(job.status()).as(job.text()).isEqualTo(200);
        String status = job.json().path("status").asString();
        long deadline = System.nanoTime() + java.time.Duration.ofMinutes(2).toNanos();
        while (!List.of("succeeded", "failed", "cancelled").contains(status) && System.nanoTime() < deadline) {
            Thread.sleep(100);
            status = member.get("/v1/fine_tuning/jobs/" + job.json().path("id").asString()).json().path("status")
                    .asString();
        }
        assertThat(status).isEqualTo("succeeded");
        assertThat(tenantBlobs(tenant)).as("the file and the embeddings of its texts").hasSize(2);
        assertThat(dataDirectoryHolds(canary)).as("the canary in the data directory while stored").isFalse();

        assertThat(admin.delete("/admin/tenants/" + tenant).status()).isEqualTo(204);
        assertThat(dataDirectoryHolds(canary)).isFalse();
        assertThat(tenantBlobs(tenant)).as("the file's blob and its embeddings' after the delete").isEmpty();
        assertThat(server.atrium().trainingFiles().list(tenant, java.util.Optional.empty(), java.util.Optional.empty(),
                100, true)).isEmpty();
        assertThat(file.id()).startsWith("file-");
    }

    /** A zip of image folders, binary, is kept as sent; a file named .zip that is not one is refused on arrival. */
    @Test
    void sdk_uploadOfAZip_isKeptByteForByte_andAFileNamedZipThatIsNotOne_is400(@TempDir Path directory)
            throws IOException {
        String tenant = tenants.tenant("zips-" + UUID.randomUUID().toString().substring(0, 8));
        OpenAIClient client = client(tenants.key(tenant, "member").secret());
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (String name : List.of("shirt/1.png", "coat/2.png")) {
                zip.putNextEntry(new ZipEntry(name));
                // a PNG's signature with every byte value after it: no line structure, no valid UTF-8
                zip.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
                for (int b = 0; b < 256; b++) {
                    zip.write(b);
                }
            }
        }
        Path archive = Files.write(directory.resolve("images.zip"), bytes.toByteArray());
        FileObject file = client.files().create(FileCreateParams.builder().file(archive)
                .purpose(FilePurpose.FINE_TUNE).build());
        assertThat(file.filename()).isEqualTo("images.zip");
        assertThat(file.bytes()).isEqualTo(bytes.size());
        try (var content = client.files().content(file.id()); InputStream body = content.body()) {
            assertThat(body.readAllBytes()).isEqualTo(bytes.toByteArray());
        }

        Http member = admin.withKey(tenants.key(tenant, "member").secret());
        Http.Reply notAZip = member.post("/v1/files", "multipart/form-data; boundary=" + Http.BOUNDARY,
                upload("images.zip", "{\"image\": \"\", \"label\": \"shirt\"}\n", "fine-tune"));
        assertThat(notAZip.status()).isEqualTo(400);
        assertThat(notAZip.json().path("error").path("param").asString()).isEqualTo("file");
        assertThat(notAZip.json().path("error").path("message").asString()).contains("must be a zip archive");
        Http.Reply empty = member.post("/v1/files", "multipart/form-data; boundary=" + Http.BOUNDARY,
                upload("images.zip", "PK\u0005\u0006" + "\u0000".repeat(18), "fine-tune"));
        assertThat(empty.status()).isEqualTo(400);
        assertThat(empty.json().path("error").path("message").asString()).contains("the zip archive is empty");
        assertThat(client.files().list().data()).extracting(FileObject::id).containsExactly(file.id());
    }

    @Test
    void badUploads_are400sNamingTheLine() {
        String tenant = tenants.tenant("bad-" + UUID.randomUUID().toString().substring(0, 8));
        Http member = admin.withKey(tenants.key(tenant, "member").secret());
        Http.Reply notJson = member.post("/v1/files", "multipart/form-data; boundary=" + Http.BOUNDARY,
                upload("rows.jsonl", "{\"text\": \"a\", \"label\": \"b\"}\nnot json\n", "fine-tune"));
        assertThat(notJson.status()).isEqualTo(400);
        assertThat(notJson.json().path("error").path("message").asString()).contains("line 2");
        Http.Reply empty = member.post("/v1/files", "multipart/form-data; boundary=" + Http.BOUNDARY,
                upload("rows.jsonl", "", "fine-tune"));
        assertThat(empty.status()).isEqualTo(400);
        Http.Reply purpose = member.post("/v1/files", "multipart/form-data; boundary=" + Http.BOUNDARY,
                upload("rows.jsonl", "{\"a\": 1}\n", "assistants"));
        assertThat(purpose.status()).isEqualTo(400);
        assertThat(purpose.json().path("error").path("param").asString()).isEqualTo("purpose");
        Http.Reply kind = member.post("/v1/files", "multipart/form-data; boundary=" + Http.BOUNDARY,
                upload("rows.exe", "MZ", "fine-tune"));
        assertThat(kind.status()).isEqualTo(400);
        assertThat(member.get("/v1/files").json().path("data")).isEmpty();
        Http.Reply reader = admin.withKey(tenants.key(tenant, "reader").secret()).post("/v1/files",
                "multipart/form-data; boundary=" + Http.BOUNDARY, upload("rows.jsonl", "{\"a\": 1}\n", "fine-tune"));
        assertThat(reader.status()).isEqualTo(403);
    }

    private static byte[] upload(String filename, String content, String purpose) {
        return ("--" + Http.BOUNDARY + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n" + purpose + "\r\n--"
                + Http.BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename + "\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n" + content + "\r\n--" + Http.BOUNDARY + "--\r\n")
                .getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void list_pagesWithAfterAndLimit() {
        String tenant = tenants.tenant("pages-" + UUID.randomUUID().toString().substring(0, 8));
        Http member = admin.withKey(tenants.key(tenant, "member").secret());
        for (int i = 0; i < 5; i++) {
            assertThat(member.post("/v1/files", "multipart/form-data; boundary=" + Http.BOUNDARY,
                    upload("f" + i + ".jsonl", "{\"i\": " + i + "}\n", "fine-tune")).status()).isEqualTo(200);
        }
        var first = member.get("/v1/files?limit=2&order=asc").json();
        assertThat(first.path("data")).hasSize(2);
        assertThat(first.path("has_more").asBoolean()).isTrue();
        var second = member.get("/v1/files?limit=10&order=asc&after=" + first.path("last_id").asString()).json();
        assertThat(second.path("data")).hasSize(3);
        assertThat(second.path("has_more").asBoolean()).isFalse();
        List<String> names = second.path("data").valueStream().map(f -> f.path("filename").asString()).toList();
        assertThat(names).containsExactly("f2.jsonl", "f3.jsonl", "f4.jsonl");
    }
}
