package dev.atrium.engine.remote;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.atrium.store.SecretCipher;
import dev.atrium.testing.TempDirectories;
import dev.atrium.testing.FakeUpstream;
import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Where remote models may point, and what becomes of their upstream keys: the platform's host allowlist decides
 * the first; the second is sealed in the store and appears nowhere else: not in responses, logs, the audit log or
 * any file of the data directory in clear.
 */
class RemoteModelAdminTest {
    private static final String SECRET = "sk-live-" + UUID.randomUUID();
    private static TestServer server;
    private static FakeUpstream upstream;
    private static FakeUpstream elsewhere;
    private static Http admin;
    private static ListAppender<ILoggingEvent> logs;

    @BeforeAll
    static void start() {
        logs = new ListAppender<>();
        logs.start();
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(logs);
        server = TestServer.start(Map.of("preload", "none"));
        upstream = new FakeUpstream();
        elsewhere = new FakeUpstream();
        admin = server.http();
        assertThat(admin.postJson("/admin/upstreams", Map.of("host", "127.0.0.1:" + upstream.port())).status())
                .isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(logs);
        if (server != null) {
            server.close();
        }
        upstream.close();
        elsewhere.close();
    }

    @Test
    void baseUrlOffTheAllowlist_cannotBeCreated() {
        createModel("offlist");
        Http.Reply refused = admin.postJson("/admin/models/offlist/versions", version(elsewhere.baseUrl(), SECRET));
        assertThat(refused.status()).as(refused.toString()).isEqualTo(403);
        assertThat(refused.json().path("error").path("param").asString()).isEqualTo("base_url");
        assertThat(refused.json().path("error").path("message").asString()).contains("not on the platform's list");
        // the same host on another port is another upstream
        Http.Reply otherPort = admin.postJson("/admin/models/offlist/versions",
                version("http://127.0.0.1:" + elsewhere.port() + "/v1", SECRET));
        assertThat(otherPort.status()).isEqualTo(403);
        for (String malformed : List.of("ftp://127.0.0.1:" + upstream.port() + "/v1",
                "http://user:pass@127.0.0.1:" + upstream.port() + "/v1", upstream.baseUrl() + "?api_base=x",
                "not a url", "/v1")) {
            Http.Reply reply = admin.postJson("/admin/models/offlist/versions", version(malformed, SECRET));
            assertThat(reply.status()).as(malformed + " -> " + reply).isEqualTo(400);
        }
        assertThat(admin.get("/admin/models/offlist").json().path("versions")).isEmpty();
        assertThat(elsewhere.requests()).isEmpty();
    }

    @Test
    void allowlist_isKeptByThePlatformAdmin_only() {
        Tenants tenants = new Tenants(admin);
        String tenant = tenants.tenant("allowlisters");
        Http owner = admin.withKey(tenants.key(tenant, "owner").secret());
        Http member = admin.withKey(tenants.key(tenant, "member").secret());
        assertThat(owner.postJson("/admin/upstreams", Map.of("host", "api.example.com")).status()).isEqualTo(403);
        assertThat(owner.get("/admin/upstreams").status()).as("owners may read where they can point").isEqualTo(200);
        assertThat(member.get("/admin/upstreams").status()).isEqualTo(403);
        assertThat(owner.delete("/admin/upstreams/127.0.0.1:" + upstream.port()).status()).isEqualTo(403);

        Http.Reply added = admin.postJson("/admin/upstreams", Map.of("host", " API.Example.COM "));
        assertThat(added.status()).isEqualTo(201);
        assertThat(added.json().path("host").asString()).isEqualTo("api.example.com");
        assertThat(admin.postJson("/admin/upstreams", Map.of("host", "[::1]:8080")).status()).isEqualTo(201);
        for (String bad : List.of("https://api.example.com", "api.example.com/v1", "host:99999", "", "a b")) {
            assertThat(admin.postJson("/admin/upstreams", Map.of("host", bad)).status()).as(bad).isEqualTo(400);
        }
        List<String> hosts = new ArrayList<>();
        owner.get("/admin/upstreams").json().path("data").forEach(entry -> hosts.add(entry.path("host").asString()));
        assertThat(hosts).contains("api.example.com", "[::1]:8080", "127.0.0.1:" + upstream.port());
        assertThat(admin.delete("/admin/upstreams/api.example.com").status()).isEqualTo(204);
        assertThat(admin.delete("/admin/upstreams/api.example.com").status()).isEqualTo(404);
        List<String> audited = new ArrayList<>();
        admin.get("/admin/audit?action=upstream.allow").json().path("data")
                .forEach(event -> audited.add(event.path("target").asString()));
        assertThat(audited).contains("api.example.com");
    }

    @Test
    void hostRemovedFromTheAllowlist_stopsTheModelsRequests() {
        try (FakeUpstream temporary = new FakeUpstream()) {
            String host = "127.0.0.1:" + temporary.port();
            assertThat(admin.postJson("/admin/upstreams", Map.of("host", host)).status()).isEqualTo(201);
            createModel("temporary");
            assertThat(admin.postJson("/admin/models/temporary/versions", version(temporary.baseUrl(), null)).status())
                    .isEqualTo(201);
            temporary.then(exchange -> exchange.json(200, RemoteProviderTest.completion("hi", 1, 1)));
            assertThat(admin.postJson("/v1/chat/completions", RemoteProviderTest.chat("temporary", false)).status())
                    .isEqualTo(200);
            assertThat(temporary.requests().getFirst().header("authorization")).as("no key, no header").isNull();

            assertThat(admin.delete("/admin/upstreams/" + host).status()).isEqualTo(204);
            Http.Reply refused = admin.postJson("/v1/chat/completions", RemoteProviderTest.chat("temporary", false));
            assertThat(refused.status()).as(refused.toString()).isEqualTo(403);
            assertThat(temporary.requests()).hasSize(1);
        }
    }

    @Test
    void upstreamRedirect_isNotFollowed() {
        createModel("redirecting");
        assertThat(admin.postJson("/admin/models/redirecting/versions", version(upstream.baseUrl(), SECRET)).status())
                .isEqualTo(201);
        upstream.then(exchange -> exchange.json(307, "{}", "Location", elsewhere.baseUrl() + "/chat/completions"));
        Http.Reply reply = admin.postJson("/v1/chat/completions", RemoteProviderTest.chat("redirecting", false));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(502);
        assertThat(elsewhere.requests()).as("the key never went where the upstream pointed").isEmpty();
    }

    @Test
    void upstreamKey_appearsNowhereButSealedInTheStore() throws Exception {
        createModel("sealed");
        Http.Reply created = admin.postJson("/admin/models/sealed/versions", version(upstream.baseUrl(), SECRET));
        assertThat(created.status()).as(created.toString()).isEqualTo(201);
        assertThat(created.text()).doesNotContain(SECRET);
        assertThat(created.json().path("remote").path("has_api_key").asBoolean()).isTrue();
        assertThat(created.json().path("remote").path("base_url").asString()).isEqualTo(upstream.baseUrl());
        assertThat(admin.get("/v2/models/sealed").json().path("platform").asString()).isEqualTo("openai_compatible_remote");
        // an upstream that echoes the key back in an error, and one that refuses it
        upstream.then(exchange -> exchange.json(400, "{\"error\":{\"message\":\"bad key " + SECRET + "\"}}"),
                exchange -> exchange.json(401, "{\"error\":{\"message\":\"invalid key " + SECRET + "\"}}"),
                exchange -> exchange.json(200, RemoteProviderTest.completion("ok", 1, 1)));
        List<String> answers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            answers.add(admin.postJson("/v1/chat/completions", RemoteProviderTest.chat("sealed", false)).text());
        }
        assertThat(answers.get(1)).contains("credentials");
        assertThat(upstream.requests()).allSatisfy(request ->
                assertThat(request.header("authorization")).isEqualTo("Bearer " + SECRET));

        List<String> exposed = new ArrayList<>(answers);
        exposed.add(admin.get("/admin/models/sealed").text());
        exposed.add(admin.get("/admin/models/sealed/versions").text());
        exposed.add(admin.get("/admin/models/sealed/versions/1").text());
        exposed.add(admin.get("/v1/models/sealed").text());
        exposed.add(admin.get("/admin/audit?limit=1000").text());
        exposed.add(admin.get("/metrics").text());
        logs.list.forEach(event -> exposed.add(event.getFormattedMessage()));
        assertThat(exposed).allSatisfy(text -> assertThat(text).doesNotContain(SECRET));

        // in the store it is a ciphertext that opens with the server's key, for that version only
        String sealed;
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + server.dataDir().resolve("atrium.db"));
                ResultSet row = db.createStatement().executeQuery("""
                        SELECT s.ciphertext, s.model_id, s.version FROM model_version_secrets s
                        JOIN models m ON m.id = s.model_id WHERE m.name = 'sealed'""")) {
            assertThat(row.next()).isTrue();
            sealed = row.getString(1);
            SecretCipher cipher = SecretCipher.open(null, server.dataDir().resolve("secrets.key"));
            assertThat(cipher.open(sealed, "model-version:" + row.getLong(2) + ":" + row.getInt(3))).isEqualTo(SECRET);
        }
        assertThat(sealed).doesNotContain(SECRET);
        byte[] needle = SECRET.getBytes(StandardCharsets.UTF_8);
        try (Stream<Path> files = Files.walk(server.dataDir())) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                assertThat(contains(Files.readAllBytes(file), needle)).as("the key in clear in " + file.getFileName())
                        .isFalse();
            }
        }
    }

    @Test
    void sealedKey_survivesARestart_andAnotherServerKeyCannotOpenIt() throws IOException {
        Path data = TempDirectories.create("atrium-secrets-");
        try (TestServer first = TestServer.start(data, Map.of("preload", "none"), Map.of())) {
            Http firstAdmin = first.http();
            assertThat(firstAdmin.postJson("/admin/upstreams", Map.of("host", "127.0.0.1:" + upstream.port())).status())
                    .isEqualTo(201);
            assertThat(firstAdmin.postJson("/admin/models", Map.of("name", "kept", "task", "chat", "engine", "remote"))
                    .status()).isEqualTo(201);
            assertThat(firstAdmin.postJson("/admin/models/kept/versions", version(upstream.baseUrl(), SECRET)).status())
                    .isEqualTo(201);
            assertThat(Files.getPosixFilePermissions(data.resolve("secrets.key")))
                    .containsExactlyInAnyOrder(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                            java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
            first.restart();
            upstream.reset();
            upstream.then(exchange -> exchange.json(200, RemoteProviderTest.completion("still", 1, 1)));
            assertThat(first.http().postJson("/v1/chat/completions", RemoteProviderTest.chat("kept", false)).status())
                    .isEqualTo(200);
            assertThat(upstream.requests().getFirst().header("authorization")).isEqualTo("Bearer " + SECRET);
        }
        String otherKey = java.util.Base64.getEncoder().encodeToString(new byte[32]);
        try (TestServer other = TestServer.start(data, Map.of("preload", "none"), Map.of("ATRIUM_SECRETS_KEY", otherKey))) {
            upstream.reset();
            Http.Reply reply = other.http().postJson("/v1/chat/completions", RemoteProviderTest.chat("kept", false));
            assertThat(reply.status()).as(reply.toString()).isEqualTo(500);
            assertThat(reply.text()).doesNotContain(SECRET);
            assertThat(upstream.requests()).isEmpty();
        }
    }

    private static void createModel(String name) {
        Http.Reply reply = admin.postJson("/admin/models", Map.of("name", name, "task", "chat", "engine", "remote"));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(201);
    }

    private static Map<String, Object> version(String baseUrl, String apiKey) {
        Map<String, Object> version = new LinkedHashMap<>();
        version.put("base_url", baseUrl);
        version.put("upstream_model", "up");
        if (apiKey != null) {
            version.put("api_key", apiKey);
        }
        version.put("retry", Map.of("max_attempts", 1));
        return version;
    }

    private static boolean contains(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
