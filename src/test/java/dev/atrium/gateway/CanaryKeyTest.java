package dev.atrium.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import dev.atrium.tenancy.KeySecrets;
import dev.atrium.testing.Http;
import dev.atrium.testing.TestServer;
import dev.atrium.testing.Tenants;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * A canary key, in a canary tenant, goes through everything a key can go through; then its secret is looked
 * for in the logs, every response (usage records and metrics included), the audit log and the database files.
 * Only its hash may be found.
 */
class CanaryKeyTest {
    @Test
    void canarySecret_appearsNowhere_butItsHashIsStored(@TempDir Path dataDir) throws Exception {
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
        logs.start();
        root.addAppender(logs);
        ch.qos.logback.classic.Level level = root.getLevel();
        root.setLevel(ch.qos.logback.classic.Level.DEBUG);
        List<String> seen = new ArrayList<>();
        List<Path> storeFiles;
        String secret;
        // a data directory that outlives the server, so that its files are read after the server stopped
        try (TestServer server = TestServer.start(dataDir, Map.of(), Map.of())) {
            Http admin = server.http();
            Tenants tenants = new Tenants(admin);
            String tenant = tenants.tenant("canary-tenant-5f1c");
            Tenants.Key canary = tenants.key(tenant, "member", Map.of("rpm", 6, "name", "canary"));
            secret = canary.secret();
            Http http = admin.withKey(secret);

            List<Http.Reply> replies = new ArrayList<>();
            replies.add(http.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2", "input", "canary")));
            replies.add(http.postJson("/v1/embeddings", "{\"model\": \"all-minilm-l6-v2\", \"input\": [1, \"x\"]}"));
            replies.add(http.postJson("/v1/embeddings", Map.of("model", "no-such-model", "input", "x")));
            replies.add(http.get("/v2/models/all-minilm-l6-v2"));
            replies.add(http.postJson("/admin/keys", Map.of("role", "owner")));
            replies.add(http.get("/admin/keys/" + canary.id()));
            replies.add(http.send(http.withKey(null).request("/v1/models").header("api-key", secret).GET().build()));
            replies.add(http.get("/v1/models"));
            replies.add(http.get("/v1/models"));
            replies.add(http.withKey(secret + "x").get("/v1/models"));
            replies.add(http.withKey(secret.substring(0, secret.length() - 1)).get("/v1/models"));
            replies.add(http.send(http.withKey(null).request("/v1/models").header("Authorization", secret).GET().build()));
            assertThat(replies.stream().anyMatch(reply -> reply.status() == 429)).isTrue();
            replies.add(admin.get("/admin/keys/" + canary.id()));
            replies.add(admin.get("/admin/keys"));
            replies.add(admin.patchJson("/admin/keys/" + canary.id(), Map.of("rpm", 100)));
            replies.add(admin.delete("/admin/keys/" + canary.id()));
            replies.add(http.get("/v1/models"));
            replies.add(admin.get("/admin/usage/records?limit=1000"));
            replies.add(admin.get("/metrics"));
            replies.add(admin.get("/admin/audit?limit=1000"));
            for (Http.Reply reply : replies) {
                seen.add(reply.status() + " " + reply.raw().headers().map() + " " + reply.text());
            }
            assertThat(replies.getLast().text()).contains(tenant)
                    .contains(canary.id()).contains("auth.failed");
            storeFiles = server.storeFiles();
        } finally {
            root.detachAppender(logs);
            root.setLevel(level);
        }

        for (String reply : seen) {
            assertThat(reply).doesNotContain(secret);
        }
        for (ILoggingEvent event : logs.list) {
            assertThat(event.getFormattedMessage()).doesNotContain(secret);
            if (event.getThrowableProxy() != null) {
                assertThat(ThrowableProxyUtil.asString(event.getThrowableProxy())).doesNotContain(secret);
            }
        }
        assertThat(logs.list).isNotEmpty();

        byte[] secretBytes = secret.getBytes(StandardCharsets.UTF_8);
        byte[] hashBytes = KeySecrets.sha256(secret).getBytes(StandardCharsets.UTF_8);
        boolean hashFound = false;
        for (Path directory : storeFiles) {
            try (Stream<Path> files = Files.walk(directory)) {
                for (Path file : files.filter(Files::isRegularFile).toList()) {
                    byte[] content = Files.readAllBytes(file);
                    assertThat(indexOf(content, secretBytes)).as(file.getFileName().toString()).isEqualTo(-1);
                    hashFound |= indexOf(content, hashBytes) >= 0;
                }
            }
        }
        assertThat(hashFound).as("the key's hash is in the store").isTrue();
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
