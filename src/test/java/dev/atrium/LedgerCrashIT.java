package dev.atrium;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The ledger under crashes: concurrent embedding requests while the server is killed with SIGKILL at random
 * moments, eleven lives on one data directory. Joined with the client's log, every request the client saw
 * succeed has exactly one record, and no record exists for a request the client never sent.
 */
class LedgerCrashIT {
    private static final int KILLS = 10;

    @TempDir
    Path directory;

    @Test
    void sigkillAtRandomMoments_losesNoSucceededRequest_andDuplicatesNone() throws Exception {
        Path data = directory.resolve("data");
        Set<String> sent = ConcurrentHashMap.newKeySet();
        Set<String> succeeded = ConcurrentHashMap.newKeySet();
        Random random = new Random();
        String memberKey = null;
        for (int life = 0; life <= KILLS; life++) {
            int port = freePort();
            Process server = start(data, port, directory.resolve("server-" + life + ".log"));
            try {
                Http anonymous = new Http("http://127.0.0.1:" + port, null);
                awaitReady(anonymous, server);
                if (memberKey == null) {
                    Http admin = anonymous.withKey(Files.readString(data.resolve("admin.key")).strip());
                    String tenant = admin.postJson("/admin/tenants", Map.of("name", "crash")).json().path("id").asString();
                    memberKey = admin.postJson("/admin/keys", Map.of("tenant", tenant, "role", "member"))
                            .json().path("key").asString();
                }
                if (life == KILLS) {
                    break;
                }
                Http client = anonymous.withKey(memberKey);
                AtomicBoolean running = new AtomicBoolean(true);
                List<Thread> threads = new java.util.ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    threads.add(Thread.ofVirtual().start(() -> {
                        while (running.get()) {
                            String id = "crash-" + UUID.randomUUID();
                            sent.add(id);
                            try {
                                Http.Reply reply = client.send(client.request("/v1/embeddings")
                                        .header("X-Request-Id", id).header("Content-Type", "application/json")
                                        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                                                "{\"model\": \"all-minilm-l6-v2\", \"input\": \"request " + id + "\"}"))
                                        .build());
                                if (reply.status() == 200) {
                                    succeeded.add(id);
                                }
                            } catch (RuntimeException e) {
                                // the server died under this request: the client never saw a success
                            }
                        }
                    }));
                }
                Thread.sleep(200 + random.nextInt(1200));
                server.destroyForcibly(); // SIGKILL
                assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
                running.set(false);
                for (Thread thread : threads) {
                    thread.join(TimeUnit.SECONDS.toMillis(60));
                }
            } finally {
                if (life == KILLS) {
                    Map<String, Integer> records = records(new Http("http://127.0.0.1:" + port,
                            Files.readString(data.resolve("admin.key")).strip()));
                    server.destroy();
                    server.waitFor(30, TimeUnit.SECONDS);
                    assertThat(succeeded).as("requests that succeeded").hasSizeGreaterThan(KILLS);
                    for (String id : succeeded) {
                        assertThat(records.get(id)).as("records of " + id).isEqualTo(1);
                    }
                    for (Map.Entry<String, Integer> record : records.entrySet()) {
                        assertThat(sent).as("a record for a request never sent").contains(record.getKey());
                        assertThat(record.getValue()).as("records of " + record.getKey()).isEqualTo(1);
                    }
                } else {
                    server.destroyForcibly();
                }
            }
        }
    }

    /** Every record's client request id, with how many records carry it. */
    private static Map<String, Integer> records(Http admin) {
        Map<String, Integer> records = new HashMap<>();
        Long before = null;
        do {
            JsonNode page = admin.get("/admin/usage/records?limit=1000" + (before == null ? "" : "&before=" + before)).json();
            for (JsonNode record : page.path("data")) {
                records.merge(record.path("client_request_id").asString(), 1, Integer::sum);
            }
            before = page.path("next").isNull() ? null : page.path("next").asLong();
        } while (before != null);
        return records;
    }

    private static Process start(Path data, int port, Path log) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-jar", "target/atrium.jar", "serve",
                "--port", Integer.toString(port), "--data-dir", data.toString())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
    }

    private static void awaitReady(Http http, Process server) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (System.nanoTime() < deadline) {
            assertThat(server.isAlive()).isTrue();
            try {
                if (http.get("/v2/health/ready").status() == 200) {
                    return;
                }
            } catch (RuntimeException e) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the server did not become ready");
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
