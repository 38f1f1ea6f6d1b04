package dev.atrium.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.registry.SignedFiles;
import dev.atrium.registry.SigningKey;
import dev.atrium.testing.Http;
import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Signed uploads end to end, with real files and real Ed25519 keys: the signing policy (a tenant's, and the
 * platform's) refuses unsigned and wrongly signed uploads and takes correctly signed ones, and the registry shows who
 * signed each version; with the policy off, unsigned uploads still work while a signature that comes is still checked.
 */
class SignedUploadTest {
    private static final String MULTIPART = "multipart/form-data; boundary=" + Http.BOUNDARY;

    private TestServer server;
    private Http admin;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private void start(Map<String, String> settings) {
        Map<String, String> all = new LinkedHashMap<>(settings);
        all.put("preload", "none");
        server = TestServer.start(all);
        admin = server.http();
    }

    /** A small ONNX model, different for each {@code width} (so its sha256 is too). */
    private byte[] model(int width) throws IOException {
        return new OnnxModelWriter()
                .input("x", OnnxModelWriter.ElementType.FLOAT, -1, width)
                .output("y", OnnxModelWriter.ElementType.FLOAT, -1, width)
                .node("Identity", List.of("x"), List.of("y"))
                .toBytes();
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    /** The signature part a publisher sends: its key's id and its signature of the files' statement. */
    private static byte[] signature(SigningKey key, byte[] onnx, byte[] config) throws Exception {
        SignedFiles files = new SignedFiles(sha256(onnx), SignedFiles.NONE, SignedFiles.NONE,
                config == null ? SignedFiles.NONE : sha256(config));
        return ("{\"key_id\": \"" + key.keyId() + "\", \"signature\": \""
                + Base64.getEncoder().encodeToString(key.sign(files.statement())) + "\"}")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static Http.Reply upload(Http http, String model, byte[] onnx, byte[] signature) {
        return upload(http, model, onnx, null, signature);
    }

    private static Http.Reply upload(Http http, String model, byte[] onnx, byte[] config, byte[] signature) {
        Map<String, byte[]> parts = new LinkedHashMap<>();
        if (signature != null) {
            // before the files: the server checks it once every part is in, whatever the order
            parts.put("signature", signature);
        }
        parts.put("onnx", onnx);
        if (config != null) {
            parts.put("config", config);
        }
        return http.post("/admin/models/" + model + "/versions", MULTIPART, Http.multipart(parts));
    }

    private JsonNode trust(String name, SigningKey key) {
        Http.Reply reply = admin.postJson("/admin/publishers", Map.of("name", name, "public_key",
                key.publicKeyBase64()));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(201);
        assertThat(reply.json().path("key_id").asString()).isEqualTo(key.keyId());
        return reply.json();
    }

    private static void assertRefused(Http.Reply reply, int status, String code, String mentions) {
        assertThat(reply.status()).as(reply.toString()).isEqualTo(status);
        JsonNode error = reply.json().path("error");
        assertThat(error.path("code").asString()).as(reply.toString()).isEqualTo(code);
        assertThat(error.path("param").asString()).as(reply.toString()).isEqualTo("signature");
        assertThat(error.path("message").asString()).as(reply.toString()).contains(mentions)
                .doesNotContain("Exception").doesNotContain("/tmp");
    }

    private List<Path> stagedFiles() throws IOException {
        try (Stream<Path> files = Files.list(server.dataDir().resolve("staging"))) {
            return files.toList();
        }
    }

    @Test
    void upload_toATenantThatRequiresSignatures_takesOnlyATrustedPublishersSignatureOfItsFiles() throws Exception {
        start(Map.of());
        SigningKey publisher = SigningKey.generate();
        SigningKey stranger = SigningKey.generate();
        SigningKey formerPublisher = SigningKey.generate();
        String acmeId = trust("acme", publisher).path("id").asString();
        String formerId = trust("former", formerPublisher).path("id").asString();
        assertThat(admin.delete("/admin/publishers/" + formerId).status()).isEqualTo(200);

        Tenants tenants = new Tenants(admin);
        String strict = tenants.tenant("strict", Map.of("require_signed_uploads", true));
        assertThat(admin.get("/admin/tenants/" + strict).json().path("require_signed_uploads").asBoolean()).isTrue();
        Http owner = admin.withKey(tenants.key(strict, "owner").secret());
        assertThat(owner.postJson("/admin/models", Map.of("name", "signed-model", "task", "tensor")).status())
                .isEqualTo(201);
        byte[] onnx = model(2);
        byte[] other = model(3);

        assertRefused(upload(owner, "signed-model", onnx, null), 403, "signature_required", "signed");
        assertRefused(upload(owner, "signed-model", onnx, signature(stranger, onnx, null)), 400, "signature_invalid",
                "not a publisher key this platform trusts");
        assertRefused(upload(owner, "signed-model", onnx, signature(publisher, other, null)), 400,
                "signature_invalid", "not publisher 'acme''s");
        assertRefused(upload(owner, "signed-model", onnx, signature(formerPublisher, onnx, null)), 400,
                "signature_invalid", "revoked");
        // the config is covered too: a signature of the model alone does not pass with a config beside it
        byte[] config = "{\"max_batch_size\": 4}".getBytes(StandardCharsets.UTF_8);
        assertRefused(upload(owner, "signed-model", onnx, config, signature(publisher, onnx, null)), 400,
                "signature_invalid", "config " + sha256(config));
        assertRefused(upload(owner, "signed-model", onnx, "{\"key_id\": 5}".getBytes(StandardCharsets.UTF_8)), 400,
                "invalid_request", "key_id");
        assertThat(owner.get("/admin/models/signed-model").json().path("versions").size()).isZero();
        assertThat(stagedFiles()).isEmpty();

        Http.Reply signed = upload(owner, "signed-model", onnx, config, signature(publisher, onnx, config));
        assertThat(signed.status()).as(signed.toString()).isEqualTo(201);
        assertThat(signed.json().path("signature").path("publisher").asString()).isEqualTo("acme");

        JsonNode version = owner.get("/admin/models/signed-model/versions/1").json();
        JsonNode signer = version.path("signature");
        assertThat(signer.path("publisher").asString()).isEqualTo("acme");
        assertThat(signer.path("publisher_id").asString()).isEqualTo(acmeId);
        assertThat(signer.path("key_id").asString()).isEqualTo(publisher.keyId());
        assertThat(signer.path("publisher_revoked").asBoolean()).isFalse();
        assertThat(signer.path("format").asString()).isEqualTo(SignedFiles.FORMAT);
        assertThat(signer.path("signed").path("model").asString()).isEqualTo(sha256(onnx))
                .isEqualTo(version.path("artifact").path("sha256").asString());
        assertThat(signer.path("signed").path("tokenizer").asString()).isEqualTo("-");
        assertThat(signer.path("signed").path("config").asString()).isEqualTo(sha256(config));
        assertThat(signer.path("verified_at").asString()).isNotEmpty();
        // the record is evidence anyone can check again with the publisher's public key
        SignedFiles statement = new SignedFiles(sha256(onnx), "-", "-", sha256(config));
        assertThat(SigningKey.verify(SigningKey.publicKey(publisher.publicKeyBase64()), statement.statement(),
                Base64.getDecoder().decode(signer.path("signature").asString()))).isTrue();
        assertThat(admin.get("/admin/audit").text()).contains("version.create.signed");
        assertThat(owner.get("/admin/models/signed-model/versions").json().path("versions").get(0)
                .path("signature").path("key_id").asString()).isEqualTo(publisher.keyId());

        // revoking the publisher refuses its later uploads, and the version it signed keeps its record
        assertThat(admin.delete("/admin/publishers/" + acmeId).json().path("revoked").asBoolean()).isTrue();
        assertRefused(upload(owner, "signed-model", other, signature(publisher, other, null)), 400,
                "signature_invalid", "revoked");
        JsonNode kept = owner.get("/admin/models/signed-model/versions/1").json().path("signature");
        assertThat(kept.path("publisher").asString()).isEqualTo("acme");
        assertThat(kept.path("publisher_revoked").asBoolean()).isTrue();

        // another tenant, whose policy is off, uploads unsigned as before; the platform admin can switch it on
        String relaxed = tenants.tenant("relaxed");
        Http relaxedOwner = admin.withKey(tenants.key(relaxed, "owner").secret());
        assertThat(relaxedOwner.postJson("/admin/models", Map.of("name", "plain", "task", "tensor")).status())
                .isEqualTo(201);
        assertThat(upload(relaxedOwner, "plain", onnx, null).status()).isEqualTo(201);
        assertThat(relaxedOwner.patchJson("/admin/tenants/" + relaxed, Map.of("require_signed_uploads", true))
                .status()).isEqualTo(403);
        Http.Reply patched = admin.patchJson("/admin/tenants/" + relaxed, Map.of("require_signed_uploads", true));
        assertThat(patched.json().path("require_signed_uploads").asBoolean()).as(patched.toString()).isTrue();
        assertRefused(upload(relaxedOwner, "plain", onnx, null), 403, "signature_required", "signed");
    }

    @Test
    void upload_withThePlatformRequiringSignatures_refusesUnsignedPublicAndTenantUploads() throws Exception {
        start(Map.of("require-signed-uploads", "true"));
        SigningKey publisher = SigningKey.generate();
        trust("platform-publisher", publisher);
        assertThat(admin.postJson("/admin/models", Map.of("name", "public-model", "task", "tensor")).status())
                .isEqualTo(201);
        byte[] onnx = model(2);
        assertRefused(upload(admin, "public-model", onnx, null), 403, "signature_required", "platform requires");
        Http.Reply signed = upload(admin, "public-model", onnx, signature(publisher, onnx, null));
        assertThat(signed.status()).as(signed.toString()).isEqualTo(201);
        assertThat(admin.get("/admin/models/public-model/versions/1").json().path("signature").path("key_id")
                .asString()).isEqualTo(publisher.keyId());

        // a tenant that requires nothing of its own is under the platform's policy all the same
        Tenants tenants = new Tenants(admin);
        Http owner = admin.withKey(tenants.key(tenants.tenant("any"), "owner").secret());
        assertThat(owner.postJson("/admin/models", Map.of("name", "tenant-model", "task", "tensor")).status())
                .isEqualTo(201);
        assertRefused(upload(owner, "tenant-model", onnx, null), 403, "signature_required", "platform requires");
        assertThat(upload(owner, "tenant-model", onnx, signature(publisher, onnx, null)).status()).isEqualTo(201);
    }

    @Test
    void upload_withThePolicyOff_takesUnsignedUploads_andStillChecksAndRecordsSignatures() throws Exception {
        start(Map.of());
        SigningKey publisher = SigningKey.generate();
        trust("optional", publisher);
        assertThat(admin.postJson("/admin/models", Map.of("name", "open-model", "task", "tensor")).status())
                .isEqualTo(201);
        byte[] onnx = model(2);

        Http.Reply unsigned = upload(admin, "open-model", onnx, null);
        assertThat(unsigned.status()).as(unsigned.toString()).isEqualTo(201);
        assertThat(admin.get("/admin/models/open-model/versions/1").json().path("signature").isNull()).isTrue();

        assertRefused(upload(admin, "open-model", onnx, signature(SigningKey.generate(), onnx, null)), 400,
                "signature_invalid", "not a publisher key");
        assertRefused(upload(admin, "open-model", onnx, signature(publisher, model(4), null)), 400,
                "signature_invalid", "not publisher 'optional''s");

        Http.Reply signed = upload(admin, "open-model", onnx, signature(publisher, onnx, null));
        assertThat(signed.status()).as(signed.toString()).isEqualTo(201);
        assertThat(admin.get("/admin/models/open-model/versions/2").json().path("signature").path("publisher")
                .asString()).isEqualTo("optional");
        assertThat(admin.get("/admin/models/open-model").json().path("versions").toString()).isEqualTo("[1,2]");

        // an edge bundle of the signed version carries the publisher's signature in its (server-signed) manifest
        Http.Reply bundle = admin.get("/admin/models/open-model/versions/2/bundle");
        assertThat(bundle.status()).as(bundle.toString()).isEqualTo(200);
        Path file = Files.write(server.dataDir().resolve("open-model-2.atrium.zip"), bundle.raw().body());
        JsonNode manifest = dev.atrium.registry.Bundle.verify(file, java.util.Optional.empty(),
                java.util.Optional.empty()).manifest();
        assertThat(manifest.path("publisher_signature").path("key_id").asString()).isEqualTo(publisher.keyId());
        assertThat(manifest.path("publisher_signature").path("signed").path("model").asString())
                .isEqualTo(sha256(onnx));
        // a signed version is deleted like any other, its record with it
        assertThat(admin.delete("/admin/models/open-model/versions/2").status()).isEqualTo(204);
        assertThat(admin.get("/admin/models/open-model/versions/2").status()).isEqualTo(404);
    }

    /**
     * Versions Atrium makes are no uploads: under the platform's policy the bundled model is there, and a quantized
     * version of a signed upload is made, each with no publisher signature and (the quantized one) its lineage.
     */
    @Test
    void platformMadeVersions_underThePolicy_needNoSignature_andRecordNone() throws Exception {
        server = TestServer.start(Map.of("require-signed-uploads", "true"));
        admin = server.http();
        assertThat(admin.get("/admin/models/all-minilm-l6-v2/versions/1").json().path("signature").isNull())
                .isTrue();
        SigningKey publisher = SigningKey.generate();
        trust("e5-publisher", publisher);
        assertThat(admin.postJson("/admin/models", Map.of("name", "e5", "task", "embedding")).status())
                .isEqualTo(201);
        byte[] onnx;
        byte[] tokenizer;
        try (var model = getClass().getResourceAsStream("/e5-small-v2.onnx");
                var tokens = getClass().getResourceAsStream("/e5-small-v2-tokenizer.json")) {
            onnx = model.readAllBytes();
            tokenizer = tokens.readAllBytes();
        }
        SignedFiles files = new SignedFiles(sha256(onnx), sha256(tokenizer), SignedFiles.NONE, SignedFiles.NONE);
        Map<String, byte[]> parts = new LinkedHashMap<>();
        parts.put("onnx", onnx);
        parts.put("tokenizer", tokenizer);
        parts.put("signature", ("{\"key_id\": \"" + publisher.keyId() + "\", \"signature\": \""
                + Base64.getEncoder().encodeToString(publisher.sign(files.statement())) + "\"}")
                .getBytes(StandardCharsets.UTF_8));
        Http.Reply signed = admin.post("/admin/models/e5/versions", MULTIPART, Http.multipart(parts));
        assertThat(signed.status()).as(signed.toString()).isEqualTo(201);
        assertThat(signed.json().path("signature").path("signed").path("tokenizer").asString())
                .isEqualTo(sha256(tokenizer));

        Http.Reply quantized = admin.postJson("/admin/models/e5/versions/1/quantize", Map.of());
        assertThat(quantized.status()).as(quantized.toString()).isEqualTo(201);
        int version = quantized.json().path("version").asInt();
        JsonNode made = admin.get("/admin/models/e5/versions/" + version).json();
        assertThat(made.path("signature").isNull()).isTrue();
        assertThat(made.path("lineage").isObject()).isTrue();
    }

    @Test
    void publishers_areCheckedStrictly_readableByOwners_andChangedOnlyByThePlatformAdmin() throws Exception {
        start(Map.of());
        SigningKey key = SigningKey.generate();
        JsonNode added = trust("acme", key);
        assertThat(added.path("id").asString()).startsWith("pub_");
        assertThat(added.path("revoked").asBoolean()).isFalse();

        Http.Reply duplicate = admin.postJson("/admin/publishers", Map.of("name", "again", "public_key",
                key.publicKeyBase64()));
        assertThat(duplicate.status()).isEqualTo(409);
        Http.Reply notBase64 = admin.postJson("/admin/publishers", Map.of("name", "x", "public_key", "%%%"));
        assertThat(notBase64.status()).isEqualTo(400);
        assertThat(notBase64.json().path("error").path("param").asString()).isEqualTo("public_key");
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        Http.Reply notEd25519 = admin.postJson("/admin/publishers", Map.of("name", "x", "public_key",
                Base64.getEncoder().encodeToString(rsa.generateKeyPair().getPublic().getEncoded())));
        assertThat(notEd25519.status()).isEqualTo(400);
        assertThat(notEd25519.json().path("error").path("message").asString()).contains("Ed25519");
        assertThat(admin.postJson("/admin/publishers", Map.of("name", "", "public_key",
                SigningKey.generate().publicKeyBase64())).status()).isEqualTo(400);
        assertThat(admin.delete("/admin/publishers/pub_000000000000000000000000").status()).isEqualTo(404);

        Tenants tenants = new Tenants(admin);
        String tenant = tenants.tenant("readers");
        Http owner = admin.withKey(tenants.key(tenant, "owner").secret());
        Http member = admin.withKey(tenants.key(tenant, "member").secret());
        assertThat(owner.get("/admin/publishers").json().path("data").get(0).path("key_id").asString())
                .isEqualTo(key.keyId());
        assertThat(member.get("/admin/publishers").status()).isEqualTo(403);
        assertThat(owner.postJson("/admin/publishers", Map.of("name", "mine", "public_key",
                SigningKey.generate().publicKeyBase64())).status()).isEqualTo(403);
        assertThat(owner.delete("/admin/publishers/" + added.path("id").asString()).status()).isEqualTo(403);

        // a revoked key stays listed, and stays revoked: adding it again is a conflict
        admin.delete("/admin/publishers/" + added.path("id").asString());
        assertThat(admin.get("/admin/publishers").json().path("data").get(0).path("revoked").asBoolean()).isTrue();
        assertThat(admin.postJson("/admin/publishers", Map.of("name", "back", "public_key", key.publicKeyBase64()))
                .status()).isEqualTo(409);
        // audited
        assertThat(admin.get("/admin/audit").text()).contains("publisher.trust").contains("publisher.revoke");
    }
}
