package dev.atrium.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.TempDirectories;
import dev.atrium.testing.Http;
import dev.atrium.testing.PostgresServer;
import dev.atrium.testing.TestServer;
import dev.atrium.testing.Tenants;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two replicas on one PostgreSQL database, each with a data directory of its own: what one changes (a key, a
 * price, an alias, a tenant) the other sees at once, through the change feed, though it had it cached; and a feed
 * that lost the store hears again once it is back.
 */
class ReplicaChangesTest {
    /** Well inside the backstop and the key cache's time-to-live (5 s): only a notification is this fast. */
    private static final Duration AT_ONCE = Duration.ofSeconds(2);

    private static PostgresServer postgres;
    private static TestServer first;
    private static TestServer second;
    private static Http admin;
    private static Http adminThere;
    private static Tenants tenants;

    @BeforeAll
    static void start() throws Exception {
        postgres = dev.atrium.testing.Stores.postgres();
        String store = postgres.newDatabase();
        Path one = TempDirectories.create("atrium-replica-");
        first = TestServer.start(one, Map.of("store", store), postgres.environment());
        second = TestServer.start(TempDirectories.create("atrium-replica-"), Map.of("store", store,
                "secrets-key-file", one.resolve("secrets.key").toString()), postgres.environment());
        admin = first.http();
        adminThere = new Http(second.baseUrl(), first.adminKey());
        tenants = new Tenants(admin);
    }

    @AfterAll
    static void stop() {
        if (second != null) {
            second.close();
        }
        if (first != null) {
            first.close();
        }
    }

    @Test
    void aKeyRevokedOnOneReplica_isRefusedOnTheOther_atOnce() throws Exception {
        Tenants.Key member = tenants.key(tenants.tenant("revoked-there"), "member");
        Http there = adminThere.withKey(member.secret());
        assertThat(there.get("/v1/models").status()).isEqualTo(200); // cached there now

        assertThat(admin.delete("/admin/keys/" + member.id()).status()).isEqualTo(200);
        assertThat(within(AT_ONCE, () -> there.get("/v1/models").status() == 401)).as("refused there").isTrue();
    }

    @Test
    void aPriceSetOnOneReplica_chargesTheOthersNextRequests() throws Exception {
        Tenants.Key member = tenants.key(tenants.tenant("priced-there"), "member");
        Http there = adminThere.withKey(member.secret());
        Map<String, Object> embed = Map.of("model", "all-minilm-l6-v2", "input", "a priced sentence");
        assertThat(there.postJson("/v1/embeddings", embed).status()).isEqualTo(200); // no price, cached there

        assertThat(admin.postJson("/admin/prices", Map.of("model", "all-minilm-l6-v2", "per_request", "0.5",
                "currency", "USD")).status()).isIn(200, 201);
        assertThat(within(AT_ONCE, () -> {
            assertThat(there.postJson("/v1/embeddings", embed).status()).isEqualTo(200);
            return admin.get("/admin/usage/records?limit=1").json().path("data").get(0).path("charge").asString()
                    .startsWith("0.5");
        })).as("charged there").isTrue();
        admin.postJson("/admin/prices", Map.of("model", "all-minilm-l6-v2", "per_request", "0", "currency", "USD"));
    }

    @Test
    void anAliasDeletedOnOneReplica_isGoneOnTheOther_atOnce() throws Exception {
        assertThat(admin.putJson("/admin/models/all-minilm-l6-v2/aliases/replicated", Map.of("version", 1)).status())
                .isEqualTo(200);
        Map<String, Object> embed = Map.of("model", "all-minilm-l6-v2:replicated", "input", "x");
        assertThat(within(AT_ONCE, () -> adminThere.postJson("/v1/embeddings", embed).status() == 200)).isTrue();

        assertThat(admin.delete("/admin/models/all-minilm-l6-v2/aliases/replicated").status()).isIn(200, 204);
        assertThat(within(AT_ONCE, () -> adminThere.postJson("/v1/embeddings", embed).status() == 404))
                .as("gone there").isTrue();
    }

    @Test
    void everyReplica_signsWithOneKey_keptInTheStore() {
        Http.Reply here = admin.get("/admin/signing-key");
        Http.Reply there = adminThere.get("/admin/signing-key");
        assertThat(here.status()).as(here.toString()).isEqualTo(200);
        assertThat(there.text()).isEqualTo(here.text());
    }

    @Test
    void workDoneExclusively_onOneReplica_makesAnotherWaitForIt_andAReplicaThatDiesGivesItUp() throws Exception {
        String store = postgres.newDatabase();
        try (Database here = Database.openPostgresql(StoreLocation.parse(store), postgres.password());
                Database there = Database.openPostgresql(StoreLocation.parse(store), postgres.password())) {
            java.util.concurrent.CountDownLatch holding = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            java.util.List<String> order = new java.util.concurrent.CopyOnWriteArrayList<>();
            Thread first = Thread.ofPlatform().start(() -> here.exclusively("first-start", () -> {
                order.add("here begins");
                holding.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                order.add("here ends");
            }));
            holding.await();
            Thread second = Thread.ofPlatform().start(() -> there.exclusively("first-start",
                    () -> order.add("there runs")));
            Thread.sleep(500);
            assertThat(order).containsExactly("here begins"); // there waits
            release.countDown();
            first.join(5_000);
            second.join(5_000);
            assertThat(order).containsExactly("here begins", "here ends", "there runs");
        }
        // a replica that dies holding it: its session ends, and with it the lock
        try (Database dying = Database.openPostgresql(StoreLocation.parse(store), postgres.password());
                Database survivor = Database.openPostgresql(StoreLocation.parse(store), postgres.password())) {
            java.util.concurrent.CountDownLatch holding = new java.util.concurrent.CountDownLatch(1);
            Thread.ofPlatform().daemon().start(() -> dying.exclusively("first-start", () -> {
                holding.countDown();
                try {
                    Thread.sleep(60_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
            holding.await();
            dying.close(); // its connections closed: as a replica killed
            AtomicInteger ran = new AtomicInteger();
            Thread after = Thread.ofPlatform().start(() -> survivor.exclusively("first-start", ran::incrementAndGet));
            after.join(10_000);
            assertThat(ran.get()).isEqualTo(1);
        }
    }

    @Test
    void replicasStartingTogetherOnANewStore_allStart_andRegisterTheBundledModelOnce() throws Exception {
        String store = postgres.newDatabase();
        byte[] secretsKey = new byte[32];
        new java.security.SecureRandom().nextBytes(secretsKey);
        Map<String, String> environment = new java.util.HashMap<>(postgres.environment());
        environment.put("ATRIUM_SECRETS_KEY", java.util.Base64.getEncoder().encodeToString(secretsKey));
        String adminKey = "atr-" + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(secretsKey);
        environment.put("ATRIUM_ADMIN_KEY", adminKey);
        java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(3);
        java.util.List<TestServer> started = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (var threads = java.util.concurrent.Executors.newFixedThreadPool(3)) {
            java.util.List<java.util.concurrent.Future<TestServer>> starts = new java.util.ArrayList<>();
            for (int i = 0; i < 3; i++) {
                starts.add(threads.submit(() -> {
                    Path directory = TempDirectories.create("atrium-replica-");
                    together.await();
                    TestServer server = TestServer.start(directory, Map.of("store", store), environment);
                    started.add(server);
                    return server;
                }));
            }
            for (var start : starts) {
                start.get(); // each started: none failed on a model another was registering
            }
            for (TestServer server : started) {
                Http on = new Http(server.baseUrl(), adminKey);
                tools.jackson.databind.JsonNode versions = on.get("/admin/models/all-minilm-l6-v2/versions").json();
                assertThat(versions.path("versions")).as(versions.toString()).hasSize(1);
                assertThat(on.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2",
                        "input", "one registration")).status()).isEqualTo(200);
            }
        } finally {
            started.forEach(TestServer::close);
        }
    }

    @Test
    void aFeedThatLostTheStore_forgetsEverything_andHearsAgainOnceItIsBack() throws Exception {
        try (PostgresServer own = PostgresServer.start()) {
            String store = own.newDatabase();
            AtomicInteger heard = new AtomicInteger();
            try (Database here = Database.openPostgresql(StoreLocation.parse(store), own.password());
                    Database other = Database.openPostgresql(StoreLocation.parse(store), own.password())) {
                here.changes().subscribe(ChangeFeed.Topic.PRICES, heard::incrementAndGet);
                Thread.sleep(300); // listening
                int before = heard.get();
                other.changes().publish(ChangeFeed.Topic.PRICES);
                assertThat(within(AT_ONCE, () -> heard.get() > before)).as("heard").isTrue();

                own.stopServer();
                int whileDown = heard.get();
                assertThat(within(AT_ONCE, () -> heard.get() > whileDown)).as("forgot on losing the store").isTrue();
                own.startServer();
                Thread.sleep(2_500); // listening again
                int after = heard.get();
                other.changes().publish(ChangeFeed.Topic.PRICES);
                assertThat(within(AT_ONCE, () -> heard.get() > after)).as("heard after the restart").isTrue();
            }
        }
    }

    private static boolean within(Duration limit, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(50);
        }
        return condition.getAsBoolean();
    }
}
