package dev.atrium.replicas;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Haproxy;
import dev.atrium.testing.Http;
import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.OnnxModelWriter.ElementType;
import dev.atrium.testing.PostgresServer;
import dev.atrium.testing.ReplicaProcess;
import dev.atrium.testing.S3Server;
import dev.atrium.testing.Tenants;
import java.io.UncheckedIOException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import tools.jackson.databind.JsonNode;

/**
 * Three replicas, each a process of its own with a data directory of its own, on one PostgreSQL database and one
 * S3 bucket (s3proxy), behind a real haproxy: limits and budgets hold across them under a burst, a revocation
 * reaches all, a version pushed to one and a file uploaded to one are served by all, a replica killed with
 * SIGKILL under load loses no usage record its client saw succeed while the others keep serving, and a store that
 * stops and comes back gives 503 with {@code Retry-After} meanwhile, with nothing admitted unchecked, and full
 * service after.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReplicasTest {
    /** Rate windows of an hour (aligned to the epoch), so that a burst falls in one window. */
    private static final Duration WINDOW = Duration.ofMinutes(60);
    private static final Map<String, Object> EMBED = Map.of("model", "all-minilm-l6-v2", "input", "a replicated line");

    private static PostgresServer postgres;
    private static S3Server s3;
    private static String store;
    private static final List<ReplicaProcess> replicas = new ArrayList<>();
    private static Haproxy haproxy;
    private static Http admin;
    private static Tenants tenants;

    @BeforeAll
    static void start() throws Exception {
        String missing = Haproxy.unavailableReason().orElse(PostgresServer.shared().isEmpty()
                ? PostgresServer.unavailableReason() : null);
        if (missing != null) {
            System.err.println("skipped: " + missing);
            Assumptions.abort(missing);
        }
        postgres = PostgresServer.start();
        store = postgres.newDatabase();
        s3 = S3Server.start();
        String bucket = s3.newBucket();
        SecureRandom random = new SecureRandom();
        byte[] secrets = new byte[32];
        random.nextBytes(secrets);
        byte[] adminSecret = new byte[32];
        random.nextBytes(adminSecret);
        String adminKey = "atr-" + Base64.getUrlEncoder().withoutPadding().encodeToString(adminSecret);
        Map<String, String> environment = new HashMap<>(Map.of("ATRIUM_STORE_PASSWORD", postgres.password(),
                "ATRIUM_SECRETS_KEY", Base64.getEncoder().encodeToString(secrets), "ATRIUM_ADMIN_KEY", adminKey));
        environment.putAll(s3.environment());
        Map<String, String> settings = new HashMap<>(Map.of("store", store, "rate-limit-window",
                WINDOW.toMinutes() + "m", "engine-threads", "1", "drain-timeout", "5s"));
        settings.putAll(s3.settings(bucket));
        // all three at once, as a Deployment starts them: one migrates and registers the bundled model
        for (int i = 0; i < 3; i++) {
            replicas.add(ReplicaProcess.start(settings, environment));
        }
        for (ReplicaProcess replica : replicas) {
            replica.awaitReady(Duration.ofSeconds(120));
        }
        haproxy = Haproxy.start(replicas.stream().map(ReplicaProcess::port).toList());
        admin = new Http(haproxy.baseUrl(), adminKey);
        tenants = new Tenants(admin);
    }

    @AfterAll
    static void stop() {
        if (haproxy != null) {
            haproxy.close();
        }
        replicas.forEach(ReplicaProcess::close);
        if (postgres != null) {
            postgres.close();
        }
        if (s3 != null) {
            s3.close();
        }
    }

    @Test
    @Order(1)
    void aRateLimit_admitsNoMoreThanItsLimitAcrossReplicas_underA64ThreadBurst() throws Exception {
        int limit = 30;
        Http member = admin.withKey(tenants.key(tenants.tenant("burst-rpm"), "member", Map.of("rpm", limit)).secret());
        Instant before = Instant.now();
        List<Http.Reply> replies = burst(64, 2, () -> member.get("/v1/models"));
        Instant after = Instant.now();

        long admitted = replies.stream().filter(reply -> reply.status() == 200).count();
        List<Http.Reply> refused = replies.stream().filter(reply -> reply.status() != 200).toList();
        assertThat(refused).allSatisfy(reply -> {
            assertThat(reply.status()).isEqualTo(429);
            assertThat(reply.header("retry-after")).isNotBlank();
            assertThat(reply.header("x-ratelimit-limit-requests")).isEqualTo(Integer.toString(limit));
            assertThat(reply.header("x-ratelimit-remaining-requests")).isEqualTo("0");
            assertThat(reply.header("x-ratelimit-reset-requests")).isNotBlank();
        });
        if (window(before) == window(after)) {
            System.out.println("rate limit across 3 replicas: " + admitted + " admitted of " + replies.size()
                    + ", limit " + limit + " (admitted / limit = " + (double) admitted / limit + ")");
            assertThat(admitted).isEqualTo(limit);
        } else {
            // the burst straddled two windows: each may admit the limit
            System.out.println("the burst straddled two rate windows; checking against twice the limit");
            assertThat(admitted).isLessThanOrEqualTo(2L * limit);
        }
    }

    @Test
    @Order(2)
    void aBudget_isNeverExceededAcrossReplicas_underA64ThreadBurst() throws Exception {
        String tenant = tenants.tenant("burst-budget");
        assertThat(admin.postJson("/admin/prices", Map.of("model", "all-minilm-l6-v2", "tenant", tenant,
                "per_request", "1", "currency", "USD")).status()).isIn(200, 201);
        assertThat(admin.postJson("/admin/budgets", Map.of("tenant", tenant, "monthly_limit", "20",
                "currency", "USD")).status()).isIn(200, 201);
        Http member = admin.withKey(tenants.key(tenant, "member").secret());
        Thread.sleep(500); // the price reaches every replica (at once, by the change feed)

        List<Http.Reply> replies = burst(64, 2, () -> member.postJson("/v1/embeddings", EMBED));

        long served = replies.stream().filter(reply -> reply.status() == 200).count();
        assertThat(replies.stream().filter(reply -> reply.status() != 200)).allSatisfy(reply -> {
            assertThat(reply.status()).isEqualTo(429);
            assertThat(reply.json().path("error").path("code").asString()).isEqualTo("insufficient_quota");
        });
        assertThat(served).isEqualTo(20);
        JsonNode budget = admin.get("/admin/budgets?tenant=" + tenant).json().path("budgets").get(0);
        assertThat(budget.path("spent").asString()).startsWith("20");
        assertThat(budget.path("reserved").asString()).matches("0(\\.0*)?");
        assertThat(recordedRequests(tenant)).hasSize(20);
        System.out.println("budget across 3 replicas: " + served + " served of " + replies.size()
                + " against a budget of 20 requests");
    }

    @Test
    @Order(3)
    void aKeyRevokedOnOneReplica_isRefusedOnAllWithinFiveSeconds() throws Exception {
        Tenants.Key member = tenants.key(tenants.tenant("revoked-everywhere"), "member");
        List<Http> direct = replicas.stream().map(r -> new Http(r.baseUrl(), member.secret())).toList();
        for (Http replica : direct) {
            assertThat(replica.get("/v1/models").status()).isEqualTo(200); // cached on each
        }
        Http first = new Http(replicas.getFirst().baseUrl(), adminKey());
        assertThat(first.delete("/admin/keys/" + member.id()).status()).isEqualTo(200);
        long revoked = System.nanoTime();
        for (Http replica : direct) {
            while (replica.get("/v1/models").status() != 401) {
                assertThat(System.nanoTime() - revoked).as("refused on every replica").isLessThan(5_000_000_000L);
                Thread.sleep(50);
            }
        }
        System.out.println("revocation refused on all 3 replicas after "
                + (System.nanoTime() - revoked) / 1_000_000 + " ms");
    }

    @Test
    @Order(4)
    void aVersionPushedToOneReplica_andAFileUploadedToOne_areServedByAll() throws Exception {
        Http first = new Http(replicas.getFirst().baseUrl(), adminKey());
        assertThat(first.postJson("/admin/models", Map.of("name", "shared-rows", "task", "tensor")).status())
                .isEqualTo(201);
        byte[] identity = OnnxModelWriter.identities(List.of(ElementType.FLOAT), -1, 2).toBytes();
        Http.Reply pushed = first.post("/admin/models/shared-rows/versions", "multipart/form-data; boundary="
                + Http.BOUNDARY, Http.multipart(Map.of("onnx", identity)));
        assertThat(pushed.status()).as(pushed.toString()).isEqualTo(201);
        Map<String, Object> input = Map.of("name", "x_float", "datatype", "FP32", "shape", List.of(1, 2),
                "data", List.of(1.5, -2.25));
        for (ReplicaProcess replica : replicas) {
            Http.Reply inferred = new Http(replica.baseUrl(), adminKey()).postJson("/v2/models/shared-rows/infer",
                    Map.of("inputs", List.of(input)));
            assertThat(inferred.status()).as(inferred.toString()).isEqualTo(200);
            assertThat(inferred.json().path("outputs").get(0).path("data").toString()).isEqualTo("[1.5,-2.25]");
        }

        Http member = new Http(replicas.getFirst().baseUrl(),
                tenants.key(tenants.tenant("shared-files"), "member").secret());
        String rows = "{\"text\": \"a row kept in the bucket\", \"label\": \"kept\"}\n";
        Http.Reply uploaded = member.uploadTrainingFile("rows.jsonl", rows);
        assertThat(uploaded.status()).as(uploaded.toString()).isEqualTo(200);
        String file = uploaded.json().path("id").asString();
        for (ReplicaProcess replica : replicas) {
            Http.Reply content = memberOn(replica, member).get("/v1/files/" + file + "/content");
            assertThat(content.status()).as(content.toString()).isEqualTo(200);
            assertThat(content.text()).isEqualTo(rows);
        }
        assertThat(memberOn(replicas.getLast(), member).delete("/v1/files/" + file).status()).isEqualTo(200);
        assertThat(memberOn(replicas.getFirst(), member).get("/v1/files/" + file + "/content").status())
                .isEqualTo(404);
        System.out.println("a version pushed to one replica was served by all 3; a file uploaded to one was read"
                + " from all 3 and, deleted on one, gone from all");
    }

    @Test
    @Order(5)
    void aJobCreatedOnOneReplica_trainsOnAFileUploadedToAnother_andItsModelIsServedByAll() throws Exception {
        String secret = tenants.key(tenants.tenant("shared-training"), "member").secret();
        List<Http> on = replicas.stream().map(replica -> new Http(replica.baseUrl(), secret)).toList();
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < 12; i++) {
            rows.append("{\"text\": \"the cat sat on the mat and purred, time ").append(i)
                    .append("\", \"label\": \"animals\"}\n");
            rows.append("{\"text\": \"the stock market fell on rate fears, day ").append(i)
                    .append("\", \"label\": \"finance\"}\n");
        }
        String file = on.get(0).uploadTrainingFile("topics.jsonl", rows.toString()).json().path("id").asString();
        Http.Reply created = on.get(1).postJson("/v1/fine_tuning/jobs", Map.of("model", "all-minilm-l6-v2",
                "training_file", file, "suffix", "shared-topics"));
        assertThat(created.status()).as(created.toString()).isEqualTo(200);

        JsonNode job = on.get(2).awaitJobEnd(created.json().path("id").asString(), Duration.ofMinutes(2));

        assertThat(job.path("status").asString()).as(job.toString()).isEqualTo("succeeded");
        String model = job.path("fine_tuned_model").asString();
        for (Http replica : on) {
            Http.Reply classified = replica.postJson("/v1/classifications", Map.of("model", model,
                    "input", List.of("the cat sat on the mat and purred again")));
            assertThat(classified.status()).as(classified.toString()).isEqualTo(200);
            assertThat(classified.json().path("data").get(0).path("labels").get(0).path("label").asString())
                    .isEqualTo("animals");
        }
        System.out.println("a job created on one replica trained on a file uploaded to another; its model "
                + model + " was served by all 3");
    }

    @Test
    @Order(6)
    void aReplicaKilledUnderLoad_losesNoRecordOfARequestItsClientSawSucceed_andTheOthersKeepServing()
            throws Exception {
        String tenant = tenants.tenant("killed-under-load");
        Http member = admin.withKey(tenants.key(tenant, "member").secret());
        ConcurrentLinkedQueue<String> succeeded = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<Long> failuresAfterRecovery = new ConcurrentLinkedQueue<>();
        AtomicBoolean running = new AtomicBoolean(true);
        long[] killedAt = {Long.MAX_VALUE};
        ExecutorService threads = Executors.newFixedThreadPool(16);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < 16; t++) {
            done.add(threads.submit(() -> {
                while (running.get()) {
                    String id = "req_" + UUID.randomUUID().toString().replace("-", "");
                    long sent = System.nanoTime();
                    try {
                        Http.Reply reply = member.send(member.request("/v1/embeddings")
                                .header("Content-Type", "application/json").header("x-request-id", id)
                                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                                        "{\"model\": \"all-minilm-l6-v2\", \"input\": \"under load\"}")).build());
                        if (reply.status() == 200) {
                            succeeded.add(reply.header("x-request-id"));
                        } else if (sent - killedAt[0] > 2_000_000_000L) {
                            failuresAfterRecovery.add(sent);
                        }
                    } catch (UncheckedIOException e) {
                        // the killed replica's connections are cut: their clients saw no success
                        if (sent - killedAt[0] > 2_000_000_000L) {
                            failuresAfterRecovery.add(sent);
                        }
                    }
                }
                return null;
            }));
        }
        Thread.sleep(3_000);
        ReplicaProcess victim = replicas.get(2);
        killedAt[0] = System.nanoTime();
        victim.kill();
        assertThat(victim.isAlive()).isFalse();
        Thread.sleep(5_000);
        running.set(false);
        for (Future<?> future : done) {
            future.get();
        }
        threads.shutdown();
        replicas.remove(victim);

        Set<String> recorded = recordedRequests(tenant);
        assertThat(succeeded).isNotEmpty();
        assertThat(recorded).containsAll(succeeded);
        assertThat(new HashSet<>(succeeded)).hasSameSizeAs(succeeded);
        assertThat(failuresAfterRecovery).as("requests failed 2 s after the kill and later").isEmpty();
        System.out.println("kill -9 under load: " + succeeded.size() + " requests succeeded, all "
                + "recorded (" + recorded.size() + " records, the rest ran on the killed replica or were cut)");
    }

    @Test
    @Order(7)
    void theStoreStoppedAndRestarted_gives503WithRetryAfterMeanwhile_admitsNothingUnchecked_thenServesAgain()
            throws Exception {
        Http member = admin.withKey(tenants.key(tenants.tenant("store-outage"), "member").secret());
        assertThat(member.postJson("/v1/embeddings", EMBED).status()).isEqualTo(200);
        List<Http> direct = replicas.stream().map(r -> new Http(r.baseUrl(), null)).toList();

        postgres.stopServer();
        try {
            for (ReplicaProcess replica : replicas) {
                Http.Reply reply = memberOn(replica, member).postJson("/v1/embeddings", EMBED);
                assertThat(reply.status()).as(reply.toString()).isEqualTo(503);
                assertThat(reply.header("retry-after")).isNotBlank();
            }
            Http.Reply throughBalancer = member.postJson("/v1/embeddings", EMBED);
            assertThat(throughBalancer.status()).isEqualTo(503);
            assertThat(throughBalancer.header("retry-after")).isNotBlank();
            for (Http replica : direct) {
                assertThat(replica.get("/v2/health/ready").status()).as("not ready without the store")
                        .isEqualTo(503);
            }
        } finally {
            postgres.startServer();
        }
        long restarted = System.nanoTime();
        for (ReplicaProcess replica : replicas) {
            Http on = memberOn(replica, member);
            while (on.postJson("/v1/embeddings", EMBED).status() != 200) {
                assertThat(System.nanoTime() - restarted).as("served again").isLessThan(30_000_000_000L);
                Thread.sleep(200);
            }
        }
        for (ReplicaProcess replica : replicas) {
            String metrics = new Http(replica.baseUrl(), adminKey()).get("/metrics").text();
            assertThat(metrics.lines().filter(line -> line.startsWith("atrium_admission_unchecked_total"))
                    .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1))).sum())
                    .as("admitted unchecked").isZero();
        }
        System.out.println("store outage: 503 with Retry-After on every replica and the balancer; served again after "
                + (System.nanoTime() - restarted) / 1_000_000 + " ms");
    }

    private static Http memberOn(ReplicaProcess replica, Http member) {
        return new Http(replica.baseUrl(), member.key());
    }

    private static String adminKey() {
        return admin.key();
    }

    private static long window(Instant at) {
        return at.toEpochMilli() / WINDOW.toMillis();
    }

    /** The request ids of a tenant's usage records (the client's where it sent one), read from the store itself. */
    private static Set<String> recordedRequests(String tenant) throws Exception {
        Set<String> ids = new HashSet<>();
        try (Connection connection = DriverManager.getConnection(postgres.jdbcUrl(
                        store.substring(store.lastIndexOf('/') + 1, store.indexOf('?'))), PostgresServer.USER,
                postgres.password());
                PreparedStatement query = connection.prepareStatement(
                        "SELECT request_id, client_request_id FROM usage_records WHERE tenant_id = ?")) {
            query.setString(1, tenant);
            try (ResultSet rows = query.executeQuery()) {
                while (rows.next()) {
                    // the id a client sent is echoed in x-request-id and kept beside the server's own
                    ids.add(rows.getString(2) != null ? rows.getString(2) : rows.getString(1));
                }
            }
        }
        return ids;
    }

    private static List<Http.Reply> burst(int threads, int each, Supplier<Http.Reply> call) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<List<Http.Reply>>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            done.add(pool.submit(() -> {
                go.await();
                List<Http.Reply> replies = new ArrayList<>();
                for (int i = 0; i < each; i++) {
                    replies.add(call.get());
                }
                return replies;
            }));
        }
        go.countDown();
        List<Http.Reply> all = new ArrayList<>();
        for (Future<List<Http.Reply>> future : done) {
            all.addAll(future.get());
        }
        pool.shutdown();
        return all;
    }
}
