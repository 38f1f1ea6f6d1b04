package dev.atrium.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.UnauthorizedException;
import dev.atrium.testing.Http;
import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.TestServer;
import dev.atrium.testing.Tenants;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/** Authentication, the first admin key, revocation across nodes, model allowlists and the audit log. */
class AuthenticationTest {
    private static TestServer server;
    private static Http admin;
    private static Tenants tenants;
    private static String tenant;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("preload", "none"));
        admin = server.http();
        tenants = new Tenants(admin);
        tenant = tenants.tenant("auth-tenant");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void badKeys_allGetTheSame401_inEachProtocolsShape() throws Exception {
        Tenants.Key revoked = tenants.key(tenant, "member");
        assertThat(admin.delete("/admin/keys/" + revoked.id()).status()).isEqualTo(200);
        Tenants.Key expiring = tenants.key(tenant, "member", Map.of("expires_at", Instant.now().plusMillis(1500).toString()));
        assertThat(admin.withKey(expiring.secret()).get("/v1/models").status()).isEqualTo(200);
        Thread.sleep(1600);

        List<String> bad = new ArrayList<>();
        bad.add(null);
        bad.add("");
        bad.add("not-a-key");
        bad.add("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789");
        bad.add("atr-" + "A".repeat(43));
        bad.add(revoked.secret());
        bad.add(expiring.secret());
        bad.add(server.adminKey() + "x");
        String firstV1 = null;
        String firstV2 = null;
        for (String key : bad) {
            Http http = admin.withKey(key);
            Http.Reply v1 = http.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2", "input", "x"));
            assertThat(v1.status()).as(String.valueOf(key)).isEqualTo(401);
            assertThat(v1.json().path("error").path("code").asString()).isEqualTo("invalid_api_key");
            assertThat(v1.json().path("error").path("type").asString()).isEqualTo("invalid_request_error");
            Http.Reply v2 = http.get("/v2/models/all-minilm-l6-v2");
            assertThat(v2.status()).isEqualTo(401);
            assertThat(v2.json().path("error").isString()).isTrue();
            Http.Reply adminApi = http.get("/admin/keys/" + revoked.id());
            assertThat(adminApi.status()).isEqualTo(401);
            firstV1 = firstV1 == null ? v1.text() : firstV1;
            firstV2 = firstV2 == null ? v2.text() : firstV2;
            assertThat(v1.text()).isEqualTo(firstV1);
            assertThat(v2.text()).isEqualTo(firstV2);
            if (key != null) {
                assertThat(v1.text()).doesNotContain(key.isEmpty() ? "\u0000" : key);
            }
        }
        // the open endpoints need no key
        Http anonymous = admin.withKey(null);
        assertThat(anonymous.get("/v2/health/live").status()).isEqualTo(200);
        assertThat(anonymous.get("/v2/health/ready").status()).isEqualTo(200);
        assertThat(anonymous.get("/health").status()).isEqualTo(200);
        assertThat(anonymous.get("/v2").status()).isEqualTo(401);
        assertThat(anonymous.get("/nowhere").status()).isEqualTo(401);
    }

    @Test
    void azureStyleApiKeyHeader_authenticates() {
        Tenants.Key member = tenants.key(tenant, "member");
        Http.Reply reply = admin.withKey(null).send(admin.withKey(null).request("/v1/models")
                .header("api-key", member.secret()).GET().build());
        assertThat(reply.status()).isEqualTo(200);
        Http.Reply lowercaseBearer = admin.withKey(null).send(admin.withKey(null).request("/v1/models")
                .header("Authorization", "bearer " + member.secret()).GET().build());
        assertThat(lowercaseBearer.status()).isEqualTo(200);
    }

    @Test
    void openAiSdk_raisesItsAuthenticationException() {
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(server.baseUrl() + "/v1")
                .apiKey("atr-" + "B".repeat(43)).maxRetries(0).build();
        try {
            assertThatThrownBy(() -> client.models().list()).isInstanceOf(UnauthorizedException.class);
        } finally {
            client.close();
        }
    }

    @Test
    void revocation_worksAtOnceHere_andWithinFiveSecondsOnAnotherNode() throws Exception {
        Tenants.Key member = tenants.key(tenant, "member");
        try (TestServer other = TestServer.start(server.dataDir(), Map.of("preload", "none"), Map.of())) {
            Http here = admin.withKey(member.secret());
            Http there = other.http().withKey(member.secret());
            assertThat(here.get("/v1/models").status()).isEqualTo(200);
            assertThat(there.get("/v1/models").status()).isEqualTo(200);

            assertThat(admin.delete("/admin/keys/" + member.id()).status()).isEqualTo(200);
            long revokedAt = System.nanoTime();
            assertThat(here.get("/v1/models").status()).isEqualTo(401);
            while (there.get("/v1/models").status() == 200) {
                assertThat(System.nanoTime() - revokedAt).as("revocation seen by the other node").isLessThan(5_500_000_000L);
                Thread.sleep(100);
            }
            assertThat(there.get("/v1/models").status()).isEqualTo(401);
        }
    }

    @Test
    void allowlist_hidesEveryOtherModel_as404() throws Exception {
        Path model = OnnxModelWriter.identities(List.of(OnnxModelWriter.ElementType.FLOAT), -1)
                .write(server.dataDir().resolve("other.onnx"));
        admin.postJson("/admin/models", Map.of("name", "other-model", "task", "tensor"));
        assertThat(admin.upload("/admin/models/other-model/versions", Map.of("onnx", model)).status()).isEqualTo(201);
        Tenants.Key limited = tenants.key(tenant, "member", Tenants.models("all-minilm-*"));
        Http http = admin.withKey(limited.secret());

        Http.Reply embeddings = http.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2", "input", "allowed"));
        assertThat(embeddings.status()).as(embeddings.toString()).isEqualTo(200);
        Http.Reply other = http.postJson("/v1/embeddings", Map.of("model", "other-model", "input", "x"));
        Http.Reply missing = http.postJson("/v1/embeddings", Map.of("model", "zz-none", "input", "x"));
        assertThat(other.status()).isEqualTo(404);
        assertThat(other.text().replace("other-model", "?")).isEqualTo(missing.text().replace("zz-none", "?"));
        assertThat(http.get("/v2/models/other-model").status()).isEqualTo(404);
        assertThat(http.get("/v1/models/other-model").status()).isEqualTo(404);
        String infer = "{\"inputs\": [{\"name\": \"x_float\", \"shape\": [1], \"datatype\": \"FP32\", \"data\": [1]}]}";
        assertThat(http.postJson("/v2/models/other-model/infer", infer).status()).isEqualTo(404);
        JsonNode list = http.get("/v1/models").json().path("data");
        assertThat(list.size()).isEqualTo(1);
        assertThat(list.get(0).path("id").asString()).isEqualTo("all-minilm-l6-v2");
        // without an allowlist, the same tenant's member sees both public models
        Http unlimited = admin.withKey(tenants.key(tenant, "member").secret());
        assertThat(unlimited.postJson("/v2/models/other-model/infer", infer).status()).isEqualTo(200);
        assertThat(unlimited.get("/v1/models").json().path("data").size()).isEqualTo(2);
    }

    @Test
    void auditLog_recordsActionsAndFailures_withoutSecrets_andOwnersSeeTheirTenantOnly() {
        Tenants.Key owner = tenants.key(tenant, "owner");
        Http ownerHttp = admin.withKey(owner.secret());
        Http.Reply created = ownerHttp.postJson("/admin/keys", Map.of("role", "member", "name", "audited"));
        String createdSecret = created.json().path("key").asString();
        String createdId = created.json().path("id").asString();
        assertThat(ownerHttp.patchJson("/admin/keys/" + createdId, Map.of("rpm", 5)).status()).isEqualTo(200);
        assertThat(ownerHttp.delete("/admin/keys/" + createdId).status()).isEqualTo(200);
        assertThat(admin.withKey(createdSecret).get("/v1/models").status()).isEqualTo(401);
        assertThat(admin.withKey("atr-" + "Z".repeat(43)).get("/v1/models").status()).isEqualTo(401);
        String otherTenant = tenants.tenant("audit-other");

        Http.Reply mine = ownerHttp.get("/admin/audit?limit=1000");
        assertThat(mine.status()).isEqualTo(200);
        List<String> actions = new ArrayList<>();
        for (JsonNode row : mine.json().path("data")) {
            assertThat(row.path("tenant_id").asString()).isEqualTo(tenant);
            actions.add(row.path("action").asString());
        }
        assertThat(actions).contains("key.create", "key.update", "key.revoke");
        JsonNode revoke = mine.json().path("data").get(actions.indexOf("key.revoke"));
        assertThat(revoke.path("actor_key_id").asString()).isEqualTo(owner.id());
        assertThat(revoke.path("actor_prefix").asString()).isEqualTo(owner.secret().substring(0, 12));
        assertThat(revoke.path("target").asString()).isEqualTo(createdId);
        assertThat(revoke.path("source_address").asString()).isNotEmpty();
        assertThat(revoke.path("outcome").asString()).isEqualTo("ok");

        Http.Reply all = admin.get("/admin/audit?limit=1000");
        assertThat(all.text()).contains("auth.failed").contains(otherTenant).contains("tenant.create")
                .doesNotContain(createdSecret).doesNotContain(owner.secret()).doesNotContain(server.adminKey());
        Http.Reply failures = admin.get("/admin/audit?action=auth.failed&limit=1");
        assertThat(failures.json().path("data").size()).isEqualTo(1);
        assertThat(failures.json().path("data").get(0).path("outcome").asString()).isEqualTo("denied");
        // failed authentications are sampled (a row per address per minute): the paging is shown on key actions
        Http.Reply newest = admin.get("/admin/audit?action=key.create&limit=1");
        long next = newest.json().path("next").asLong();
        Http.Reply older = admin.get("/admin/audit?action=key.create&limit=1&before=" + next);
        assertThat(older.json().path("data").get(0).path("id").asLong()).isLessThan(next);
        assertThat(ownerHttp.get("/admin/audit?tenant=" + otherTenant).status()).isEqualTo(404);
        assertThat(admin.withKey(tenants.key(tenant, "member").secret()).get("/admin/audit").status()).isEqualTo(403);
    }

    @Test
    void firstStart_writesTheAdminKeyOnce_withOwnerOnlyPermissions(@TempDir Path directory) throws Exception {
        Path data = directory.resolve("fresh");
        try (TestServer fresh = TestServer.start(data, Map.of("preload", "none"), Map.of())) {
            Path file = data.resolve("admin.key");
            assertThat(Files.getPosixFilePermissions(file))
                    .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
            String key = fresh.adminKey();
            assertThat(key).startsWith("atr-").hasSizeGreaterThanOrEqualTo(47);
            assertThat(fresh.http().get("/admin/tenants").status()).isEqualTo(200);
            fresh.restart();
            assertThat(fresh.adminKey()).isEqualTo(key);
            assertThat(fresh.http().get("/admin/keys").json().path("keys").size()).isEqualTo(1);
        }
    }

    @Test
    void adminKeyFromTheEnvironment_isUsedInsteadOfAGeneratedOne(@TempDir Path directory) {
        String chosen = "atr-" + "chosen_by_the_operator_".repeat(3);
        Path data = directory.resolve("env");
        try (TestServer configured = TestServer.start(data, Map.of("preload", "none"), Map.of("ATRIUM_ADMIN_KEY", chosen))) {
            assertThat(data.resolve("admin.key")).doesNotExist();
            Http http = new Http(configured.baseUrl(), chosen);
            assertThat(http.get("/admin/tenants").status()).isEqualTo(200);
            JsonNode keys = http.get("/admin/keys").json().path("keys");
            assertThat(keys.size()).isEqualTo(1);
            assertThat(keys.get(0).path("role").asString()).isEqualTo("admin");
            assertThat(keys.get(0).toString()).doesNotContain(chosen);
        }
    }
}
