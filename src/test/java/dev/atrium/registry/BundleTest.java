package dev.atrium.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.cli.AtriumCommand;
import dev.atrium.testing.TempDirectories;
import dev.atrium.testing.BundledFiles;
import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Bundles of real versions (the bundled MiniLM, uploaded by a tenant): signed with the server's key, holding every
 * file with the hash the registry recorded, verified offline; one flipped byte in any entry, an entry added or
 * removed, a path out of the bundle or another signer makes verification refuse.
 */
class BundleTest {
    @TempDir
    static Path files;
    private static TestServer server;
    private static Http owner;
    private static String ownerKey;
    private static Path bundle;
    private static PublicKey serverKey;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(Map.of("preload", "none"));
        Tenants tenants = new Tenants(server.http());
        String tenant = tenants.tenant("edge-makers");
        ownerKey = tenants.key(tenant, "owner").secret();
        owner = server.http().withKey(ownerKey);
        assertThat(owner.postJson("/admin/models", Map.of("name", "edge-encoder", "task", "embedding",
                "description", "MiniLM for the edge")).status()).isEqualTo(201);
        Map<String, byte[]> parts = new LinkedHashMap<>();
        parts.put("onnx", Files.readAllBytes(BundledFiles.onnx(files)));
        parts.put("tokenizer", Files.readAllBytes(BundledFiles.tokenizer(files)));
        parts.put("config", "{\"pooling\": \"mean\", \"normalize\": true}".getBytes(StandardCharsets.UTF_8));
        Http.Reply uploaded = owner.post("/admin/models/edge-encoder/versions", "multipart/form-data; boundary="
                + Http.BOUNDARY, Http.multipart(parts));
        assertThat(uploaded.status()).as(uploaded.text()).isEqualTo(201);
        JsonNode key = owner.get("/admin/signing-key").json();
        serverKey = SigningKey.publicKey(key.path("public_key").asString());
        assertThat(key.path("key_id").asString()).isEqualTo(SigningKey.keyId(serverKey));
        Http.Reply exported = owner.get("/admin/models/edge-encoder/versions/1/bundle");
        assertThat(exported.status()).as(exported.text()).isEqualTo(200);
        assertThat(exported.header("content-type")).isEqualTo("application/zip");
        bundle = files.resolve("edge-encoder-1.atrium.zip");
        Files.write(bundle, exported.raw().body());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void bundle_holdsEveryFileWithItsRecordedHash_andVerifiesWithTheServersKey() throws Exception {
        Path out = Files.createDirectory(files.resolve("extracted"));
        Bundle.Verified verified = Bundle.verify(bundle, Optional.of(serverKey), Optional.of(out));
        JsonNode manifest = verified.manifest();
        assertThat(manifest.path("format").asString()).isEqualTo(Bundle.FORMAT);
        assertThat(manifest.path("model").asString()).isEqualTo("edge-encoder");
        assertThat(manifest.path("version").asInt()).isEqualTo(1);
        assertThat(manifest.path("task").asString()).isEqualTo("embedding");
        assertThat(manifest.path("engine").asString()).isEqualTo("onnx");
        assertThat(manifest.path("description").asString()).isEqualTo("MiniLM for the edge");
        assertThat(manifest.path("io").path("inputs").toString()).contains("input_ids").contains("attention_mask");
        assertThat(manifest.path("runtimes").path("onnxruntime").asString()).matches("\\d+\\.\\d+\\.\\d+");
        assertThat(verified.keyId()).isEqualTo(SigningKey.keyId(serverKey));

        // each file is the registry's, byte for byte: the hash the upload recorded
        JsonNode version = owner.get("/admin/models/edge-encoder/versions/1").json();
        Map<String, String> recorded = new LinkedHashMap<>();
        version.path("files").forEach(file -> recorded.put(file.path("role").asString(),
                file.path("sha256").asString()));
        assertThat(verified.files()).extracting(Bundle.Entry::path)
                .containsExactly("model.onnx", "tokenizer.json", "config.json");
        assertThat(sha256(verified.file("model.onnx"))).isEqualTo(recorded.get("onnx"));
        assertThat(sha256(verified.file("tokenizer.json"))).isEqualTo(recorded.get("tokenizer"));
        assertThat(JsonMapper.builder().build().readTree(Files.readString(verified.file("config.json")))
                .path("pooling").asString()).isEqualTo("mean");
        assertThat(Files.list(out).map(path -> path.getFileName().toString()))
                .containsExactlyInAnyOrder("model.onnx", "tokenizer.json", "config.json");
    }

    @Test
    void oneFlippedByte_inAnyEntry_isRefused() throws Exception {
        List<String> names = entryNames(bundle);
        assertThat(names).containsExactly("manifest.json", "manifest.sig", "files/model.onnx", "files/tokenizer.json",
                "files/config.json");
        for (String name : names) {
            for (double at : new double[] {0.0, 0.999}) {
                Path tampered = rewrite(bundle, (entry, content) -> {
                    if (entry.equals(name)) {
                        int i = (int) Math.min(content.length - 1, Math.floor(content.length * at));
                        content[i] ^= 0x01;
                    }
                    return content;
                });
                assertThatThrownBy(() -> Bundle.verify(tampered, Optional.of(serverKey), Optional.empty()))
                        .as(name + " flipped at " + at).isInstanceOf(Bundle.BundleException.class);
                if (!name.startsWith(Bundle.FILES)) {
                    // the key the manifest names proves the manifest whole as well
                    assertThatThrownBy(() -> Bundle.verify(tampered, Optional.empty(), Optional.empty()))
                            .as(name + " flipped at " + at + ", unpinned").isInstanceOf(Bundle.BundleException.class);
                }
            }
        }
        // a byte of the archive itself
        byte[] raw = Files.readAllBytes(bundle);
        raw[raw.length / 2] ^= 0x10;
        Path flipped = files.resolve("raw-flip.zip");
        Files.write(flipped, raw);
        assertThatThrownBy(() -> Bundle.verify(flipped, Optional.of(serverKey), Optional.empty()))
                .isInstanceOf(Bundle.BundleException.class);
    }

    @Test
    void entriesAddedRemovedOrOutside_andOtherSigners_areRefused() throws Exception {
        Path removed = rewrite(bundle, (entry, content) -> entry.equals("files/tokenizer.json") ? null : content);
        assertThatThrownBy(() -> Bundle.verify(removed, Optional.of(serverKey), Optional.empty()))
                .hasMessageContaining("tokenizer.json").hasMessageContaining("missing");
        Path added = append(bundle, "files/extra.bin", new byte[] {1, 2, 3});
        assertThatThrownBy(() -> Bundle.verify(added, Optional.of(serverKey), Optional.empty()))
                .hasMessageContaining("does not list");
        Path escaping = append(bundle, "files/../../escape.txt", new byte[] {1});
        Path out = Files.createDirectory(files.resolve("escape-target"));
        assertThatThrownBy(() -> Bundle.verify(escaping, Optional.of(serverKey), Optional.of(out)))
                .isInstanceOf(Bundle.BundleException.class);
        assertThat(files.getParent().resolve("escape.txt")).doesNotExist();
        // a bundle re-signed by another key: whole, but not the server's
        SigningKey other = SigningKey.generate();
        assertThatThrownBy(() -> Bundle.verify(bundle, Optional.of(SigningKey.publicKey(other.publicKeyBase64())),
                Optional.empty())).hasMessageContaining("not by the trusted key");
        // a manifest declaring more than the limit is refused before any file is read
        tools.jackson.databind.node.ObjectNode manifest = (tools.jackson.databind.node.ObjectNode) JsonMapper.builder()
                .build().readTree(Bundle.verify(bundle, Optional.empty(), Optional.empty()).manifest().toString());
        ((tools.jackson.databind.node.ObjectNode) manifest.path("files").get(0)).put("size", Bundle.MAX_TOTAL_BYTES + 1);
        manifest.putObject("signer").put("algorithm", "Ed25519").put("key_id", other.keyId())
                .put("public_key", other.publicKeyBase64());
        byte[] manifestBytes = JsonMapper.builder().build().writeValueAsBytes(manifest);
        Path declared = rewrite(bundle, (entry, content) -> switch (entry) {
            case "manifest.json" -> manifestBytes;
            case "manifest.sig" -> java.util.Base64.getEncoder().encode(other.sign(manifestBytes));
            default -> content;
        });
        assertThatThrownBy(() -> Bundle.verify(declared, Optional.empty(), Optional.empty()))
                .hasMessageContaining("GiB together");
        // and not a bundle at all
        Path text = files.resolve("not-a-bundle.zip");
        Files.writeString(text, "hello");
        assertThatThrownBy(() -> Bundle.verify(text, Optional.empty(), Optional.empty()))
                .isInstanceOf(Bundle.BundleException.class);
    }

    @Test
    void cli_exportsAndVerifies_andRefusesATamperedBundle() throws Exception {
        Path exported = files.resolve("cli.atrium.zip");
        Run export = atrium("models", "export", "edge-encoder:1", "-o", exported.toString(), "--server",
                server.baseUrl(), "--key", server.adminKey());
        assertThat(export.exitCode()).as(export.err()).isEqualTo(1); // the platform does not see a tenant's model
        export = atrium("models", "export", "edge-encoder:1", "-o", exported.toString(), "--server",
                server.baseUrl(), "--key", ownerKey);
        assertThat(export.exitCode()).as(export.err()).isZero();
        assertThat(export.out()).contains("wrote the bundle of edge-encoder:1");
        String key = owner.get("/admin/signing-key").json().path("public_key").asString();
        Run verify = atrium("bundle", "verify", exported.toString(), "--public-key", key);
        assertThat(verify.exitCode()).as(verify.err()).isZero();
        assertThat(verify.out()).contains("edge-encoder:1 (embedding, engine onnx): 3 files verified")
                .contains("(the trusted key)");
        Path keyFile = files.resolve("server.pub");
        Files.writeString(keyFile, key + "\n");
        assertThat(atrium("bundle", "verify", exported.toString(), "--public-key", keyFile.toString()).exitCode())
                .isZero();
        Path tampered = rewrite(exported, (entry, content) -> {
            if (entry.equals("files/config.json")) {
                content[content.length / 2] ^= 0x01;
            }
            return content;
        });
        Run refused = atrium("bundle", "verify", tampered.toString(), "--public-key", key);
        assertThat(refused.exitCode()).isEqualTo(1);
        assertThat(refused.err()).contains("bundle refused").contains("config.json");
    }

    @Test
    void signingKey_keptAcrossRestarts_andAnotherSecretsKey_failsOnlyTheSigning() throws Exception {
        Path data = TempDirectories.create("atrium-signing-");
        String firstId;
        try (TestServer first = TestServer.start(data, Map.of("preload", "none"), Map.of())) {
            firstId = first.http().get("/admin/signing-key").json().path("key_id").asString();
            assertThat(Files.getPosixFilePermissions(data.resolve("signing-key"))).containsExactlyInAnyOrder(
                    java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                    java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
            assertThat(Files.readString(data.resolve("signing-key"))).doesNotContain("MC4C"); // PKCS#8 sealed
            first.restart();
            assertThat(first.http().get("/admin/signing-key").json().path("key_id").asString()).isEqualTo(firstId);
        }
        String otherKey = java.util.Base64.getEncoder().encodeToString(new byte[32]);
        try (TestServer other = TestServer.start(data, Map.of("preload", "none"),
                Map.of("ATRIUM_SECRETS_KEY", otherKey))) {
            assertThat(other.http().get("/health").status()).isEqualTo(200);
            Http.Reply refused = other.http().get("/admin/signing-key");
            assertThat(refused.status()).isEqualTo(500);
            assertThat(refused.text()).doesNotContain("Exception").doesNotContain(data.toString());
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private record Run(int exitCode, String out, String err) {}

    private static Run atrium(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine command = AtriumCommand.commandLine();
        command.setOut(new PrintWriter(out, true));
        command.setErr(new PrintWriter(err, true));
        int code = command.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    private interface Edit {
        /** The entry's new content, or null to leave it out. */
        byte[] edit(String entry, byte[] content);
    }

    private static int copies;

    private static Path rewrite(Path source, Edit edit) throws IOException {
        Path target = files.resolve("tampered-" + copies++ + ".zip");
        try (InputStream in = Files.newInputStream(source); ZipInputStream zip = new ZipInputStream(in);
                OutputStream raw = Files.newOutputStream(target); ZipOutputStream out = new ZipOutputStream(raw)) {
            out.setLevel(java.util.zip.Deflater.NO_COMPRESSION);
            ZipEntry entry;
            while ((entry = zip.getNextEntry()) != null) {
                byte[] content = edit.edit(entry.getName(), zip.readAllBytes());
                if (content != null) {
                    out.putNextEntry(new ZipEntry(entry.getName()));
                    out.write(content);
                    out.closeEntry();
                }
            }
        }
        return target;
    }

    private static Path append(Path source, String name, byte[] content) throws IOException {
        Path target = rewrite(source, (entry, bytes) -> bytes);
        Path appended = files.resolve("appended-" + copies++ + ".zip");
        try (InputStream in = Files.newInputStream(target); ZipInputStream zip = new ZipInputStream(in);
                OutputStream raw = Files.newOutputStream(appended); ZipOutputStream out = new ZipOutputStream(raw)) {
            ZipEntry entry;
            while ((entry = zip.getNextEntry()) != null) {
                out.putNextEntry(new ZipEntry(entry.getName()));
                out.write(zip.readAllBytes());
                out.closeEntry();
            }
            out.putNextEntry(new ZipEntry(name));
            out.write(content);
            out.closeEntry();
        }
        return appended;
    }

    private static List<String> entryNames(Path zipFile) throws IOException {
        List<String> names = new ArrayList<>();
        try (InputStream in = Files.newInputStream(zipFile); ZipInputStream zip = new ZipInputStream(in)) {
            ZipEntry entry;
            while ((entry = zip.getNextEntry()) != null) {
                names.add(entry.getName());
            }
        }
        return names;
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
